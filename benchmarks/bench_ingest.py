"""Ingest speed: ~10,000 raw files of mixed tools -> Parquet, beside the bare cost of reading the same files.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py [--files 10000] [--source simulate|samples] [--profile]

``--source simulate`` (default when :func:`analysis.simulate.simulate_campaign` is available) writes a simulated
campaign with every tool the simulator writes (``CampaignSpec.tools``); ``--source samples`` writes copies of the
real samples in ``tests/data/samples`` (all four tools: netperf classic / omni CSV / omni key=value, iperf3 JSON,
iperf 2 text and CSV, sockperf) with the trailing digits of their decimal numbers redrawn, so files differ.

Both timings run in the same process on the same files, after one untimed warm-up read so both see a warm page
cache: *bare read* opens and reads every file; *ingest* is :func:`analysis.ingest.ingest_campaign` plus
:func:`analysis.ingest.write_campaign` (hash, parse, manifest checks, tables, Parquet). Target: ingest at >= 25 %
of the bare read rate. Prints files/s and MB/s for both and their ratio, then the share of the ingest time spent in
the parsers alone; ``--profile`` adds a cProfile listing.

Parsing runs in this process: a process pool (fork, 2 workers) is slower on a 2-core machine, since sending each
file's tables between processes costs more than parsing them.

What limits it is the interpreted Python each file costs (parse, manifest cells, reconcile, tables, Parquet)
against the open and read of a small file; the last line printed says how fast ingest would be with parsing
free.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import math
import pstats
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from analysis import parsers
from analysis.ingest import ingest_campaign, write_campaign
from analysis.manifest import list_campaign_files

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "data" / "samples"
#: a decimal number with >= 2 digits after the point (not a percentile label, an IP or a 0.0... interval start):
#: the digits after the first one are redrawn, the same way for every copy of the number in a file, so values
#: vary by a few per cent at most and a file stays self-consistent
_DECIMAL = re.compile(r"(?<!percentile )(?<![\d.])(\d+\.\d)(\d+)(?![\d.])")


def _redraw(match: re.Match, rng: np.random.Generator, memo: dict[str, str]) -> str:
    token = match.group()
    head, tail = match.groups()
    if float(token) == 0.0:
        return token
    if token not in memo:
        memo[token] = head + "".join(str(d) for d in rng.integers(0, 10, len(tail)))
    return memo[token]


def _samples_campaign(out: Path, n: int, seed: int) -> Path:
    """*n* files cycling through the real samples, decimals redrawn; manifest names each one."""
    rng = np.random.default_rng(seed)
    sources = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md")
    texts = [(p.parent.name, p.stem, p.suffix, p.read_text()) for p in sources]
    out.mkdir(parents=True)
    rows = ["file,pv_model,pinning,trial,order_index"]
    for i in range(n):
        tool, stem, suffix, text = texts[i % len(texts)]
        memo: dict[str, str] = {}
        varied = _DECIMAL.sub(lambda m, memo=memo: _redraw(m, rng, memo), text)
        rel = f"{tool}/{i:05d}_{stem}{suffix}"
        (out / tool).mkdir(exist_ok=True)
        (out / rel).write_text(varied)
        model = "B" if "_B_" in stem else "A"
        rows.append(f"{rel},{model},split,{i // len(texts)},{i}")
    (out / "manifest.csv").write_text("\n".join(rows) + "\n")
    return out


def _simulated_campaign(out: Path, n: int, seed: int) -> Path:
    from analysis.simulate import TOOLS, CampaignSpec, simulate_campaign

    spec = CampaignSpec(name="bench", tests=("TCP_STREAM", "TCP_MAERTS", "TCP_RR", "UDP_RR", "TCP_CRR"),
                        stream_msg_sizes_bytes=(64, 256, 1024, 4096, 16384, 65536),
                        pinnings=("split", "same-core"), trials=1, tools=tuple(TOOLS))
    probe = simulate_campaign(out.parent / "probe", spec, seed=seed)
    per_trial = len(list_campaign_files(probe))
    shutil.rmtree(probe)
    trials = max(1, math.ceil(n / per_trial))
    return simulate_campaign(out, CampaignSpec(**{**spec.__dict__, "trials": trials}), seed=seed)


GENERATORS = {"samples": _samples_campaign, "simulate": _simulated_campaign}


def _bare_read(root: Path, files: list[str]) -> int:
    total = 0
    for rel in files:
        with open(root / rel, "rb") as fh:
            total += len(fh.read())
    return total


def main(argv: list[str] | None = None) -> int:
    try:
        import analysis.simulate  # noqa: F401

        default_source = "simulate"
    except ImportError:
        default_source = "samples"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000, help="number of raw files (default 10000)")
    ap.add_argument("--source", choices=sorted(GENERATORS), default=default_source)
    ap.add_argument("--seed", type=int, default=20091105)
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions; the best is reported")
    ap.add_argument("--profile", action="store_true", help="print a cProfile listing of one ingest")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pvfair-bench-") as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        raw = GENERATORS[args.source](tmp_path / "raw" / "bench", args.files, args.seed)
        files = list_campaign_files(raw)
        print(f"generated {len(files)} files ({args.source}) in {time.perf_counter() - t0:.1f} s")
        nbytes = _bare_read(raw, files)  # warm-up: both timings below see a warm page cache

        bare, ingest = math.inf, math.inf
        for i in range(args.repeat):  # interleaved, so load changes hit both alike
            t0 = time.perf_counter()
            _bare_read(raw, files)
            bare = min(bare, time.perf_counter() - t0)
            t0 = time.perf_counter()
            campaign = ingest_campaign(raw)
            write_campaign(campaign, tmp_path / f"out{i}")
            ingest = min(ingest, time.perf_counter() - t0)
        s = campaign.summary
        mb = nbytes / 1e6
        print(f"campaign: {s['seen']} seen, {s['ingested']} ingested, {s['rejected']} rejected "
              f"{s['rejected_by_reason']}; {s['measurements']} measurements, {s['intervals']} intervals")
        print(f"bare read          : {len(files) / bare:8.0f} files/s  {mb / bare:7.1f} MB/s  ({bare:.3f} s, "
              f"{mb:.1f} MB)")
        ratio = bare / ingest
        print(f"ingest             : {len(files) / ingest:8.0f} files/s  {mb / ingest:7.1f} MB/s  ({ingest:.3f} s "
              f"incl. Parquet) = {100 * ratio:.1f} % of bare read (target >= 25 %: "
              f"{'met' if ratio >= 0.25 else 'NOT met'})")
        texts = [(rel, parsers.read_text(raw / rel)) for rel in files]
        parse = math.inf
        for _ in range(args.repeat):  # best of the repeats, with the collector paused as ingest pauses it
            gc.disable()
            try:
                t0 = time.perf_counter()
                for rel, text in texts:
                    try:
                        parsers.parse_text(text, rel)
                    except parsers.ParseError:
                        pass
                parse = min(parse, time.perf_counter() - t0)
            finally:
                gc.enable()
        print(f"of which the parsers alone (parse_text on text in memory): {parse:.3f} s = "
              f"{100 * parse / ingest:.0f} % of the ingest time; without them ingest would run at "
              f"{100 * bare / max(ingest - parse, 1e-9):.0f} % of bare read")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            write_campaign(ingest_campaign(raw), tmp_path / "outp")
            prof.disable()
            pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
