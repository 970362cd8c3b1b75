"""A fresh clone's first ``pvfair report`` against the next one (target: first <= 1.5 x warm).

For each round the repository's committed HEAD is cloned into a temporary folder (no ``__pycache__``, so no numba
cache and no byte-compiled modules), the demo is ingested, then ``pvfair report data/raw/demo`` runs twice in fresh
processes with the clone first on ``PYTHONPATH``: *first* (cold) and *warm*. Printed per round: both wall times,
their ratio, how many numba cache index files the clone holds afterwards (0: nothing was compiled) and whether the
compile notice appeared. The venv is this interpreter's (the clone is not installed).

Usage: ``.venv/bin/python benchmarks/bench_first_run.py [--rounds N] [--campaign data/raw/demo]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTICE = "compiling resampling kernels"


def _pvfair(clone: Path, *args: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(clone)}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "analysis.cli", *args], cwd=clone, env=env, capture_output=True,
                         text=True, check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"pvfair {' '.join(args)} failed:\n{res.stderr[-3000:]}")
    return wall, res.stdout + res.stderr


def one_round(campaign: str) -> tuple[float, float, int, bool]:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "pvfair"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        _pvfair(clone, "ingest", campaign)
        first, log_first = _pvfair(clone, "report", campaign, "--quiet")
        warm, _ = _pvfair(clone, "report", campaign, "--quiet")
        caches = sum(1 for _ in clone.glob("analysis/**/__pycache__/*.nbi"))
        notebooks = "".join(p.read_text(encoding="utf-8") for p in (clone / "reports").glob("*/04_compare.ipynb"))
        return first, warm, caches, NOTICE in log_first or NOTICE in notebooks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--campaign", default="data/raw/demo")
    args = parser.parse_args(argv)
    print(f"{args.campaign}: first report of a fresh clone vs the next one (wall seconds, fresh processes)")
    for i in range(args.rounds):
        first, warm, caches, notice = one_round(args.campaign)
        print(f"  round {i + 1}: first {first:6.1f} s  warm {warm:6.1f} s  ratio {first / warm:.2f} (target <= 1.5)"
              f"  numba cache files {caches}  compile notice {'yes' if notice else 'no'}")
    print("  load average (1, 5, 15 min) at the end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
          + f" on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
