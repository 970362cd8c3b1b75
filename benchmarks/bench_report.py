"""Wall time of ``pvfair report`` on a campaign beside the bare cost of the same machinery.

*full*: ``pvfair report data/raw/demo`` in a fresh process (the CLI: imports, one kernel, six notebooks, HTML
exports, the PDF, provenance).
*bare*: the same wrapper in a fresh process on copies of the same notebooks whose code cells are emptied (the
parameters cells stay, so the same parameters are checked and injected), plus the PDF export: kernel start-up,
papermill, nbconvert and WeasyPrint without any analysis.

The ratio full / bare says how much of what users wait for is the analysis itself (target <= 1.5). Both are run
*repeat* times, alternating, after one untimed warm-up of each (numba's on-disk cache, font caches); the medians
are printed (wall time, and per notebook / the PDF). A run during which a source under ``analysis/`` changed is
flagged: numba then recompiles its cached kernels, which is not the report's cost.

Usage: ``.venv/bin/python benchmarks/bench_report.py [CAMPAIGN] [--repeat N] [--no-warmup]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

import analysis
from analysis.notebook import resolve_campaign
from analysis.runner import NOTEBOOK_DIR, NOTEBOOKS

_RUN = """
import json, sys
from analysis.runner import run_report
res = run_report(sys.argv[1], out_dir=sys.argv[2], notebook_dir=sys.argv[3], progress=False)
print(json.dumps(dict(res.seconds)))
"""


def empty_code_cells(src_dir: Path, dst_dir: Path) -> Path:
    """Copies of the report notebooks with every code cell but the parameters cell emptied."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        nb = nbformat.read(src_dir / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
                cell.source = ""
        nbformat.write(nb, dst_dir / f"{name}.ipynb")
    return dst_dir


def _source_stamp() -> dict[str, int]:
    """Modification times of the package's sources (numba recompiles its cached kernels when one changes)."""
    pkg = Path(analysis.__file__).resolve().parent
    return {str(p): p.stat().st_mtime_ns for p in pkg.rglob("*.py")}


def timed(campaign: Path, out: Path, notebook_dir: Path) -> tuple[float, dict]:
    before = _source_stamp()
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", _RUN, str(campaign), str(out), str(notebook_dir)],
                         capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"report failed:\n{res.stderr[-3000:]}")
    changed = [Path(p).name for p, t in _source_stamp().items() if before.get(p) != t]
    if changed:
        print(f"  warning: {', '.join(sorted(changed))} changed during this run; its time includes recompiling "
              "numba kernels, not the report's cost", file=sys.stderr)
    return wall, json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign", nargs="?", default="data/raw/demo")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args(argv)
    campaign = resolve_campaign(args.campaign)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bare_dir = empty_code_cells(NOTEBOOK_DIR, tmp / "bare_notebooks")
        runs = {"full": NOTEBOOK_DIR, "bare": bare_dir}
        if not args.no_warmup:
            for kind, nb_dir in runs.items():
                timed(campaign, tmp / f"warm_{kind}", nb_dir)
        walls: dict[str, list[float]] = {"full": [], "bare": []}
        parts: dict[str, dict[str, list[float]]] = {"full": {}, "bare": {}}
        for i in range(args.repeat):
            for kind, nb_dir in runs.items():
                wall, seconds = timed(campaign, tmp / f"{kind}_{i}", nb_dir)
                walls[kind].append(wall)
                for step, secs in seconds.items():
                    parts[kind].setdefault(step, []).append(secs)
    full, bare = statistics.median(walls["full"]), statistics.median(walls["bare"])
    print(f"campaign {campaign.name}: {len(NOTEBOOKS)} notebooks, median of {args.repeat} run(s), wall seconds")
    for kind in ("full", "bare"):
        detail = ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in parts[kind].items())
        print(f"  {kind:4s} {statistics.median(walls[kind]):6.1f} s   ({detail})")
    print(f"  ratio full / bare = {full / bare:.2f}  (target <= 1.5)")
    print("  load average (1, 5, 15 min) at the end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
          + f" on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
