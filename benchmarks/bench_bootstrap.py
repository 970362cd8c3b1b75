"""Speed and memory of the pvfair bootstrap against ``scipy.stats.bootstrap(method="BCa", vectorized=True)``.

Each case runs in its own subprocess, so that its peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is
its own; the figure printed is the peak of the whole child process (interpreter + numpy/scipy/numba + data +
work), and "after setup" is the peak before the timed call (imports, data, warm-up compile). Wall time is
the timed call only (numba kernels are compiled and cached by the warm-up call).

Cases:
  (a) n = 20,000 per model, B = 9,999, ratio of means: target >= 20x faster than scipy, CI endpoints agreeing
      within Monte-Carlo error (pvfair with ``expand=False``: the plain BCa interval that scipy computes);
  (b) 500 cells x n = 10 x B = 9,999: ``ratio_ci_batch`` (the default, expanded interval) vs a Python loop of
      scipy: target >= 20x;
  (c) n = 1,000,000 per model, B = 9,999: completes with peak RSS <= 1.5 GB (scipy not run: its jackknife
      would evaluate the statistic on 2 x 10^6 samples of 10^6 values);
  (d) the same for the ratio of medians (no target: what it costs).
(a) and (b) are timed ``--repeat`` times (default 3); speed-ups use the best times.

scipy runs with ``batch=500`` in (a): without it scipy materializes B x n resamples and an n x (n - 1) jackknife
array per sample (over 8 GB here). Usage::

    python benchmarks/bench_bootstrap.py            # all cases
    python benchmarks/bench_bootstrap.py --cases a b --n-large 200000   # a subset / a smaller (c)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

B = 9999
SEED = 20091105


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _timed(f, repeat: int) -> tuple[object, list[float]]:
    """Run ``f()`` ``repeat`` times; its last result and every wall time."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        res = f()
        times.append(time.perf_counter() - t)
    return res, times


def _data(n: int, cells: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(SEED + n + cells)
    s = np.sqrt(np.log1p(0.05**2))
    return [(rng.lognormal(0, s, n), 1.01 * rng.lognormal(0, s, n)) for _ in range(cells)]


def _ratio_of_means(x, y, axis=-1):
    return np.mean(y, axis=axis) / np.mean(x, axis=axis)


def _out(times: list[float], setup: float, **extra) -> dict:
    return {"wall_s": min(times), "median_s": float(np.median(times)), "times": times, "setup_rss_mb": setup} | extra


def case_a_pvfair(n: int, repeat: int) -> dict:
    from analysis.stats import ratio_ci

    (b, c) = _data(n)[0]
    ratio_ci(b[:50], c[:50], n_resamples=99, rng=0)  # warm-up: load the compiled kernels
    setup = _rss_mb()
    # expand=False: the plain BCa interval, as scipy computes it (the default adds the small-sample expansion,
    # a change of ~1e-4 SE at this n, and no extra time)
    res, times = _timed(lambda: ratio_ci(b, c, n_resamples=B, rng=1, expand=False), repeat)
    return _out(times, setup, ci=list(res.confidence_interval), se=res.standard_error)


def case_a_scipy(n: int, repeat: int) -> dict:
    from scipy import stats

    (b, c) = _data(n)[0]
    setup = _rss_mb()
    res, times = _timed(
        lambda: stats.bootstrap(
            (b, c), _ratio_of_means, method="BCa", n_resamples=B, vectorized=True, batch=500, rng=2
        ),
        repeat,
    )
    return _out(times, setup, ci=list(res.confidence_interval), se=res.standard_error)


def case_b_pvfair(cells: int, repeat: int) -> dict:
    from analysis.stats import ratio_ci_batch

    data = _data(10, cells)
    ratio_ci_batch(data[:2], n_resamples=99, rng=0)
    setup = _rss_mb()
    # the product's default interval (BCa with the small-sample expansion): what a report runs
    res, times = _timed(lambda: ratio_ci_batch(data, n_resamples=B, rng=1), repeat)
    return _out(times, setup, ci0=list(res[0].confidence_interval), se0=res[0].standard_error)


def case_b_scipy(cells: int, repeat: int) -> dict:
    from scipy import stats

    data = _data(10, cells)
    rng = np.random.default_rng(2)
    setup = _rss_mb()
    res, times = _timed(
        lambda: [
            stats.bootstrap((b, c), _ratio_of_means, method="BCa", n_resamples=B, vectorized=True, rng=rng)
            for b, c in data
        ],
        repeat,
    )
    return _out(times, setup, ci0=list(res[0].confidence_interval), se0=res[0].standard_error)


def _large(n: int, repeat: int, statistic: str) -> dict:
    from analysis.stats import ratio_ci

    (b, c) = _data(n)[0]
    ratio_ci(b[:50], c[:50], n_resamples=99, rng=0, statistic=statistic)
    ratio_ci(b[:200_000], c[:200_000], n_resamples=2, rng=0, statistic=statistic)  # warm-up the streaming route
    setup = _rss_mb()
    res, times = _timed(lambda: ratio_ci(b, c, n_resamples=B, rng=1, statistic=statistic), repeat)
    return _out(times, setup, ci=list(res.confidence_interval), se=res.standard_error)


def case_c_pvfair(n: int, repeat: int) -> dict:
    return _large(n, repeat, "mean")


def case_d_pvfair(n: int, repeat: int) -> dict:
    return _large(n, repeat, "median")


CASES = {
    "a-pvfair": case_a_pvfair,
    "a-scipy": case_a_scipy,
    "b-pvfair": case_b_pvfair,
    "b-scipy": case_b_scipy,
    "c-pvfair": case_c_pvfair,
    "d-pvfair": case_d_pvfair,
}


def _child(name: str, size: int, repeat: int) -> dict:
    out = CASES[name](size, repeat)
    out["peak_rss_mb"] = _rss_mb()
    return out


def _spawn(name: str, size: int, repeat: int = 1) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, "--size", str(size), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONHASHSEED": "0"},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(label: str, r: dict) -> str:
    times = f"best {r['wall_s']:8.3f} s, median {r['median_s']:8.3f} s of {len(r['times'])}"
    return f"  {label:<34} {times}   peak RSS {r['peak_rss_mb']:7.1f} MB (after setup {r['setup_rss_mb']:.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=["a", "b", "c", "d"], choices=["a", "b", "c", "d"])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of cases (a) and (b): best and median")
    parser.add_argument("--n-large", type=int, default=1_000_000, help="n per model in case (c)")
    parser.add_argument("--cells", type=int, default=500, help="cells in case (b)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.size, args.repeat)))
        return 0

    print(f"pvfair bootstrap benchmark: B = {B}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print("speed-ups compare the best times (the median times are shown for the spread)")
    ok = True
    if "a" in args.cases:
        p, s = _spawn("a-pvfair", 20_000, args.repeat), _spawn("a-scipy", 20_000, args.repeat)
        speedup = s["wall_s"] / p["wall_s"]
        diff = max(abs(x - y) for x, y in zip(p["ci"], s["ci"], strict=True))
        tol = 0.12 * s["se"]  # ~5 Monte-Carlo SDs of a 2.5 % quantile difference at B = 9,999
        print("(a) n = 20,000 per model, ratio of means, BCa (pvfair with expand=False, as scipy)")
        print(_row("pvfair ratio_ci", p))
        print(_row("scipy.stats.bootstrap (batch=500)", s))
        print(f"  speed-up {speedup:.1f}x (target >= 20x); CI pvfair {np.round(p['ci'], 6).tolist()} "
              f"scipy {np.round(s['ci'], 6).tolist()}; max endpoint difference {diff:.2e} (MC tolerance {tol:.2e})")
        ok &= speedup >= 20 and diff <= tol
    if "b" in args.cases:
        p, s = _spawn("b-pvfair", args.cells, args.repeat), _spawn("b-scipy", args.cells, args.repeat)
        speedup = s["wall_s"] / p["wall_s"]
        print(f"(b) {args.cells} cells x n = 10 x B = {B}, ratio of means, BCa (pvfair: default expanded interval)")
        print(_row("pvfair ratio_ci_batch", p))
        print(_row("scipy.stats.bootstrap, Python loop", s))
        print(f"  speed-up {speedup:.1f}x (target >= 20x); cell 0 CI pvfair {np.round(p['ci0'], 5).tolist()} "
              f"scipy {np.round(s['ci0'], 5).tolist()}")
        ok &= speedup >= 20
    if "c" in args.cases:
        p = _spawn("c-pvfair", args.n_large)
        print(f"(c) n = {args.n_large:,} per model, B = {B}, ratio of means, BCa")
        print(_row("pvfair ratio_ci", p))
        print(f"  peak RSS {p['peak_rss_mb']:.0f} MB (target <= 1536 MB); CI {np.round(p['ci'], 6).tolist()}")
        print("  scipy: not run (BCa jackknife = 2 x 10^6 evaluations on 10^6 values each)")
        ok &= p["peak_rss_mb"] <= 1536
    if "d" in args.cases:
        p = _spawn("d-pvfair", args.n_large)
        print(f"(d) n = {args.n_large:,} per model, B = {B}, ratio of medians, BCa (no target: what it costs)")
        print(_row("pvfair ratio_ci", p))
        print(f"  CI {np.round(p['ci'], 6).tolist()}")
    print("all targets met" if ok else "some targets missed (see above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
