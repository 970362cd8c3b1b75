"""Scale figures of a lab's archive, each printed beside its target.

1. *reports on Dask*: ``--campaigns`` (default 20) demo-size simulated campaigns (:data:`analysis.simulate.DEMO_SPEC`,
   150 runs each) reported by :func:`analysis.fanout.run_reports` on a ``LocalCluster`` of 1 worker, then of 2
   workers (the same code path, the scheduler's address passed in); target speed-up >= 1.8x on 2 cores. Each
   worker is one core: its kernels run numba with one thread (``NUMBA_NUM_THREADS=1``), as Dask's nanny already
   does for BLAS and OpenMP; otherwise the bootstrap kernels of a single report already use both cores and the
   figure measures numba's threading, not the distribution.
2. *per-cell history query*: an archive of ``--archive-campaigns`` (default 1,000) simulated campaigns of 96 runs
   (about 100k runs; :func:`analysis.simulate.simulate_archive`); the query is one cell's series: per campaign in
   version order, each model's run count and mean of the metric for one (test, message size, pinning), through
   DuckDB over the Parquet dataset (median of 5 runs after one warm-up), on the views (every query reads the
   partitions' files) and on a connection that loaded the tables into memory once; target < 1 s.
3. *archive add throughput*: files/s of ``archive.add`` on those campaigns (hash, parse, write Parquet) against the
   bare read of the same files (open and read every byte, page cache warm).

Usage: ``.venv/bin/python benchmarks/bench_scale.py [--campaigns N] [--archive-campaigns N] [--skip-reports]
[--skip-archive] [--work DIR]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import archive  # noqa: E402
from analysis.simulate import DEMO_SPEC, ArchiveSpec, CampaignSpec, simulate_archive, simulate_campaign  # noqa: E402

CELL_SQL = """
SELECT c.campaign, c.guest_kernel, r.pv_model, count(*) AS n, avg(m.value) AS mean_value
FROM runs r JOIN measurements m USING (campaign, run_id) JOIN campaigns c USING (campaign)
WHERE r.test = 'TCP_STREAM' AND r.msg_size_bytes = 64 AND r.pinning = 'split' AND m.metric = 'throughput_bps'
GROUP BY ALL
"""


def bench_reports(n: int, work: Path) -> tuple[float, float]:
    from distributed import LocalCluster

    from analysis.fanout import run_reports

    raws = [simulate_campaign(work / "raw" / f"demo{i:02d}", replace(DEMO_SPEC, name=f"demo{i:02d}"), seed=i)
            for i in range(n)]
    times = []
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                          env={"NUMBA_NUM_THREADS": "1"}) as c:
            t0 = time.perf_counter()
            run_reports(raws, scheduler=c.scheduler_address, out_dir=work / f"reports{workers}", progress=False)
            times.append(time.perf_counter() - t0)
        print(f"  {n} reports on {workers} worker(s): {times[-1]:.1f} s", flush=True)
    return times[0], times[1]


def bench_archive(n: int, work: Path) -> tuple[float, int, float, float, int]:
    spec = ArchiveSpec(n_campaigns=n, campaign=CampaignSpec(name="nightly", tests=("TCP_STREAM", "TCP_RR"),
                                                            stream_msg_sizes_bytes=(64, 1024, 16384), trials=12))
    t0 = time.perf_counter()
    folders = simulate_archive(work / "sim", spec, seed=0)
    print(f"  simulated {n} campaigns in {time.perf_counter() - t0:.0f} s", flush=True)
    files = [p for f in folders for p in f.iterdir() if p.is_file()]
    t0 = time.perf_counter()
    for p in files:
        p.read_bytes()
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = archive.add(folders, work / "archive")
    add_s = time.perf_counter() - t0
    n_runs = int(res.to_frame()["n_runs"].sum())
    timings = []
    for materialize in (False, True):
        t0 = time.perf_counter()
        con = archive.connect(work / "archive", materialize=materialize)
        opened = time.perf_counter() - t0
        con.execute(CELL_SQL).df()  # warm-up: file listing and metadata
        q = []
        for _ in range(5):
            t0 = time.perf_counter()
            frame = con.execute(CELL_SQL).df()
            q.append(time.perf_counter() - t0)
        con.close()
        assert frame["campaign"].nunique() == n, "the cell query missed campaigns"
        timings.append((statistics.median(q), opened))
    return timings, n_runs, len(files) / add_s, len(files) / bare, len(files)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaigns", type=int, default=20, help="demo-size campaigns reported (default 20)")
    ap.add_argument("--archive-campaigns", type=int, default=1000, help="campaigns in the archive (default 1000)")
    ap.add_argument("--skip-reports", action="store_true", help="only the archive figures")
    ap.add_argument("--skip-archive", action="store_true", help="only the reports figure")
    ap.add_argument("--work", default=None, help="a new folder to work in and keep (default: a temporary one)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pvfair-bench-scale-") as tmp:
        work = Path(args.work or tmp)
        rows = []
        if not args.skip_reports:
            t1, t2 = bench_reports(args.campaigns, work)
            rows.append((f"{args.campaigns} reports, 1 -> 2 workers", f"{t1 / t2:.2f}x ({t1:.0f} s -> {t2:.0f} s)",
                         ">= 1.8x"))
        if args.skip_archive:
            return _print(rows)
        timings, n_runs, add_rate, read_rate, n_files = bench_archive(args.archive_campaigns, work)
        (q_view, _), (q_mat, load) = timings
        rows.append((f"per-cell history query, {args.archive_campaigns} campaigns / {n_runs} runs (views)",
                     f"{q_view * 1000:.0f} ms", "< 1 s"))
        rows.append(("  same, connect(materialize=True)", f"{q_mat * 1000:.0f} ms after a {load:.1f} s load", "< 1 s"))
        rows.append((f"archive add, {n_files} files", f"{add_rate:.0f} files/s vs bare read {read_rate:.0f} files/s "
                     f"({read_rate / add_rate:.0f}x)", "(reported)"))
    return _print(rows)


def _print(rows: list[tuple[str, str, str]]) -> int:
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'measured':<50}  target")
    for name, got, target in rows:
        print(f"{name:<{width}}  {got:<50}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
