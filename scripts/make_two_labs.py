"""Regenerate the bundled two-lab example ``data/raw/two-labs`` (seeded, byte for byte).

Usage: ``python scripts/make_two_labs.py [--out DIR]`` (default ``data/raw/two-labs``). The folder's previous
content is replaced: ``lab-a/`` and ``lab-b/`` (raw netperf files, ``manifest.csv``, ``truth.csv`` relative to
each lab's reference), ``truth.csv`` (the planted venet / virtio-net+vhost ratio), ``published.csv`` and
``README.md`` are all written here, so the committed folder equals a fresh run (a unit test checks it).
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile

import pandas as pd

from analysis.simulate import CampaignSpec, simulate_campaign, true_ratios

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "data" / "raw" / "two-labs"
REFERENCE, VENET, VHOST = "virtio-net", "venet", "virtio-net+vhost"
TESTS = ("TCP_STREAM", "TCP_RR")
SIZES = (64, 1024, 16384)
#: lab A: venet against the plain virtio-net reference, on host A
LAB_A = CampaignSpec(
    name="lab-a", baseline=REFERENCE, candidate=VENET, tests=TESTS, stream_msg_sizes_bytes=SIZES, trials=5,
    true_ratio={("TCP_STREAM", 64): 1.40, ("TCP_STREAM", 1024): 1.30, ("TCP_STREAM", 16384): 1.0,
                ("TCP_RR", 1): 1.40},
    cv=0.03, host="lab-a-host", host_effect=1.0, roles={VENET: "candidate", REFERENCE: "reference"},
)
#: lab B: virtio-net + vhost-net against the same reference, on host B (a faster machine: every rate x 1.15)
LAB_B = CampaignSpec(
    name="lab-b", baseline=REFERENCE, candidate=VHOST, tests=TESTS, stream_msg_sizes_bytes=SIZES, trials=5,
    true_ratio={("TCP_STREAM", 64): 1.20, ("TCP_STREAM", 1024): 1.30, ("TCP_STREAM", 16384): 1.0,
                ("TCP_RR", 1): 1.25},
    cv=0.03, host="lab-b-host", host_effect=1.15, roles={VHOST: "baseline", REFERENCE: "reference"},
)
SEEDS = {"lab-a": 2009, "lab-b": 2010}
PUBLISHED = pd.DataFrame([{
    "pv_model": VENET, "test": "TCP_STREAM", "msg_size_bytes": 16384, "metric": "throughput_bps",
    "value": 940770000, "sd": "", "min": "", "max": "", "n": "", "host": "",
    "source": "AlacrityVM venet announcement, Sep 2009: 940.77 Mb/s TCP_STREAM, 16384-byte messages, GigE",
}])


def bridged_truth() -> pd.DataFrame:
    """venet / virtio-net+vhost per cell and metric: lab A's ratio over lab B's (the host effect cancels)."""
    a, b = true_ratios(LAB_A), true_ratios(LAB_B)
    m = a.merge(b, on=["test", "msg_size_bytes", "pinning", "metric", "tool", "both_models"], suffixes=("_a", "_b"))
    m["true_ratio"] = (m["true_ratio_a"] / m["true_ratio_b"]).round(6)
    return m[["test", "msg_size_bytes", "pinning", "metric", "true_ratio", "tool"]]


def _md(df: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines)


def format_readme(folder: pathlib.Path) -> str:
    truth = pd.read_csv(folder / "truth.csv")
    main = truth[truth.metric.isin(["throughput_bps", "transactions_per_s"])]
    rows = []
    for r in main.itertuples(index=False):
        ra, rb = LAB_A.ratio(r.test, r.msg_size_bytes), LAB_B.ratio(r.test, r.msg_size_bytes)
        rows.append({"test": r.test, "msg_size_bytes": r.msg_size_bytes, "metric": r.metric,
                     "venet / virtio-net (lab A)": f"{ra:.2f}", "vhost / virtio-net (lab B)": f"{rb:.2f}",
                     "true venet / vhost": f"{r.true_ratio:.3f}",
                     "confounded raw ratio": f"{r.true_ratio / LAB_B.host_effect:.3f}"})
    n_a = len(pd.read_csv(folder / "lab-a" / "manifest.csv"))
    n_b = len(pd.read_csv(folder / "lab-b" / "manifest.csv"))
    return f"""# Two labs: venet on host A, virtio-net + vhost on host B (simulated, 2009 thread)

**Simulated data with a known truth**, written by `scripts/make_two_labs.py` (seeds {SEEDS["lab-a"]} for lab A, {SEEDS["lab-b"]} for lab B); running it again
rewrites this folder byte for byte (a unit test checks it). Each lab's files are netperf 2.7 classic output as in
`data/raw/demo`.

The 2009 dispute was argued by two sides benchmarking separately: "the other side can do similar benchmarks and
demonstrate they are as fast". Here each side brings its own folder:

- `lab-a/` ({n_a} runs, host `lab-a-host`): **venet** (role `candidate`) and plain **virtio-net** (role
  `reference`), {LAB_A.trials} runs per model per cell;
- `lab-b/` ({n_b} runs, host `lab-b-host`): **virtio-net + vhost-net** (role `baseline`) and the same plain
  **virtio-net** reference, {LAB_B.trials} runs per model per cell. Host B is a faster machine: every rate on it is
  x{LAB_B.host_effect:.2f}, whatever the model.
- `published.csv`: the thread's public figure, **venet 940.77 Mb/s TCP_STREAM with 16384-byte messages on GigE
  (Sep 2009)**, a single number without spread, run count or host.

`pvfair report data/raw/two-labs` merges the two lab folders into one comparison (this folder has no manifest of
its own: each subfolder with a `manifest.csv` is a side; `side` is recorded per run from the folder name). venet
against virtio-net + vhost is **completely confounded with the host (and the side)** in every cell: every venet run
is on host A, every vhost run on host B, so the raw ratio is the truth divided by the host effect. Because both labs
ran the virtio-net reference on their own host, the host effect is estimated from it and the cells are **bridged**:
ratio of ratios (venet / reference on A) / (vhost / reference on B), with a t interval that carries all four groups'
uncertainty, assuming no host x model interaction (stated; with one reference it cannot be tested).

## Planted truth (candidate venet / baseline virtio-net + vhost)

{_md(pd.DataFrame(rows))}

`truth.csv` holds every metric (rates, latency as the inverse of the RR rate, CPU utilization 1, service demand
the inverse ratio); `lab-a/truth.csv` and `lab-b/truth.csv` are each lab's model over its reference.

## What the report should say
- every venet/vhost cell: bridged through virtio-net, recovering the "true venet / vhost" column (the raw ratio,
  shown beside it, is the "confounded raw ratio");
- the published 940.77 Mb/s row: **cannot be compared**: a single number without a spread gives no interval, and
  with no shared host or reference it cannot rule out the host (nor the clock or pinning); it gets the runs that
  would settle it at a stated assumed CV.

Noise: lognormal, sd(log) = {LAB_A.cv}; one pinning (`split`); clocks at {LAB_A.nominal_mhz:.0f} MHz.
"""


def write(out: pathlib.Path) -> pathlib.Path:
    with tempfile.TemporaryDirectory() as tmp:
        staged = pathlib.Path(tmp) / "two-labs"
        for spec in (LAB_A, LAB_B):
            simulate_campaign(staged / spec.name, spec, seed=SEEDS[spec.name])
        bridged_truth().to_csv(staged / "truth.csv", index=False, lineterminator="\n")
        PUBLISHED.to_csv(staged / "published.csv", index=False, lineterminator="\n")
        (staged / "README.md").write_bytes(format_readme(staged).encode("utf-8"))
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help="folder to (re)write")
    args = parser.parse_args(argv)
    out = write(args.out)
    print(f"wrote {sum(1 for p in out.rglob('*') if p.is_file())} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
