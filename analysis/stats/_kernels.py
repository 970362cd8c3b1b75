"""Compiled resampling kernels (numba) behind :mod:`analysis.stats.bootstrap` and the permutation test.

Why a compiled kernel and not chunked numpy
-------------------------------------------
A bootstrap of a location statistic needs B x n random indices. Drawn with numpy they are materialized in blocks
(written to memory and read back for the gather), and numpy's ``Generator.integers`` costs as much per index
inside a kernel as outside it. The kernels here run their own generator (xoshiro256** with multiply-shift
indices, below) with its state in registers and never store an index: memory is O(n + B) whatever the size, so
even n = 1,000,000 runs in constant extra memory. benchmarks/bench_bootstrap.py measures the kernels against
numpy and ``scipy.stats.bootstrap``.

Compile time
------------
numba compiles these kernels on first use and caches the machine code beside the module (``cache=True``); a
fresh clone, and so every CI run, pays the compile once per cache. Inlining whole resampling routes into the
parallel kernel (numba ``inline="always"``) makes the compile of :func:`ratio_of_sums` very long, so the large-n
and plain-index routes (:func:`_resampled_sum`, :func:`_streamed_sum`, :func:`_streamed_pair`) are ordinary
compiled functions called once per replicate (the call is negligible next to their n-element loop), while the
small-n table route (:func:`_table_sum`, :func:`_side_sum`) and the generator stay inlined: at n = 10 the call
would cost as much as the replicate. benchmarks/bench_first_run.py times the first call on a cold cache.

Small and large samples
-----------------------
* Small n (<= 45): :func:`draw_sum_tables` lists, per cell, the sum of every m-tuple of observations
  (n**m <= 2,048 entries, 16 KB); one multiply-shift draw over the table is m independent uniform draws, so a
  replicate of n = 10 costs 4 table reads instead of 10 gathers (:func:`_table_sum`).
* Large n (>= 131,072, where random gathers start missing a 1 MB L2 cache): the sum of a
  resample is streamed (:func:`_streamed_sum`): one sequential pass draws a Poisson(lam) count per observation
  from a 4,096-bucket lookup table, lam = 1 - 4/sqrt(n); if the total t exceeds n the pass is redone (~3e-5 of
  passes), else n - t uniform draws are added. Given t, Poisson counts are Multinomial(t, 1/n), so the result is
  exactly Multinomial(n, 1/n): the ordinary bootstrap, not the Poisson-bootstrap approximation. One sequential
  pass replaces n random gathers that miss the cache.

Randomness and reproducibility
------------------------------
Each work item (a block of :data:`BLOCK` replicates of one cell) gets its own xoshiro256** state, drawn from the
caller's :class:`numpy.random.Generator` (4 x 64 random bits). Items are processed in parallel (``prange``), but
the result does not depend on the number of threads: same seed, same bootstrap distribution. Indices are made
from the top 53 bits of each output (``floor(u * n)`` with ``u`` uniform on [0, 1) at 2**-53 resolution), so the
bias of the index distribution is below n / 2**53; for n <= 65,536 the sum kernel splits each output into two
32-bit halves (Lemire's multiply-shift, bias below n / 2**32 <= 1.5e-5), halving the generator's share.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from . import _twins
from ._twins import BLOCK, SPLIT_MAX, SUMS_MAX, make_states  # noqa: F401  (re-exported, one definition)

__all__ = [
    "BLOCK",
    "make_states",
    "resample_sums",
    "resample_medians",
    "permutation_sums",
    "permutation_medians",
    "row_quantiles",
    "ratio_of_sums",
    "poisson_thresholds",
    "poisson_table",
    "table_draws",
    "draw_sum_tables",
    "digits_per_half",
]

_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_MASK32 = uint64(0xFFFFFFFF)

@njit(inline="always")
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(inline="always")
def _next(s0, s1, s2, s3):
    result = _rotl(s1 * uint64(5), 7) * uint64(9)
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@njit(inline="always")
def _state(states, item):
    """The xoshiro256** state of work item *item* (a row of *states*) as four words."""
    return states[item, 0], states[item, 1], states[item, 2], states[item, 3]


@njit(inline="always")
def _index(r, n):
    return int(float(r >> uint64(11)) * _INV53 * n)


#: compiled versions of the numba-free helpers in :mod:`analysis.stats._twins` (one definition for both routes)
digits_per_half = njit(cache=True)(_twins.digits_per_half)
table_draws = njit(cache=True)(_twins.table_draws)


@njit(cache=True, nogil=True)
def _resampled_sum(row, n, nn, k, s0, s1, s2, s3):
    """Sum of ``n`` values of ``row`` drawn with replacement; ``k = digits_per_half(n)``.

    For ``k >= 1`` each 64-bit output gives ``2 k`` indices: each 32-bit half ``h`` yields the base-n digits of
    ``floor(h n**k / 2**32)`` by repeated multiply-shift (``h <- h n``; index = high 32 bits; keep the low 32),
    a multiply-shift draw of a uniform integer in ``[0, n**k)``, so every k-tuple of indices has probability
    within a relative ``n**k / 2**32 <= 1.5e-5`` of uniform. ``k = 1`` is Lemire's multiply-shift on each half.
    Two accumulators keep the additions independent.
    """
    acc0 = 0.0
    acc1 = 0.0
    if k == 1:
        for _ in range(n // 2):
            r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            acc0 += row[int(((r >> uint64(32)) * nn) >> uint64(32))]
            acc1 += row[int(((r & _MASK32) * nn) >> uint64(32))]
        if n % 2:
            r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            acc0 += row[int(((r >> uint64(32)) * nn) >> uint64(32))]
    elif k > 1:
        per = 2 * k
        full = n // per
        for _ in range(full):
            r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            h = r >> uint64(32)
            lo = r & _MASK32
            for _j in range(k):
                h = h * nn
                lo = lo * nn
                acc0 += row[int(h >> uint64(32))]
                acc1 += row[int(lo >> uint64(32))]
                h &= _MASK32
                lo &= _MASK32
        rem = n - full * per
        if rem:
            r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            h = r >> uint64(32)
            lo = r & _MASK32
            for j in range(rem):
                if j % 2 == 0:
                    h = h * nn
                    acc0 += row[int(h >> uint64(32))]
                    h &= _MASK32
                else:
                    lo = lo * nn
                    acc1 += row[int(lo >> uint64(32))]
                    lo &= _MASK32
    else:
        for _ in range(n):
            r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            acc0 += row[_index(r, n)]
    return acc0 + acc1, s0, s1, s2, s3


@njit(parallel=True, cache=True, nogil=True)
def resample_sums(x, n_resamples, states):  # pragma: no cover - compiled
    """Sums of bootstrap resamples: x is (cells, n); returns (cells, n_resamples).

    ``states`` holds one state per (cell, block) item, cell-major: ``cells * ceil(B / BLOCK)`` rows. Indices as
    in :func:`_resampled_sum`.
    """
    cells, n = x.shape
    blocks = (n_resamples + BLOCK - 1) // BLOCK
    out = np.empty((cells, n_resamples))
    nn = uint64(n)
    k = digits_per_half(n)
    for item in prange(cells * blocks):
        cell = item // blocks
        blk = item % blocks
        s0, s1, s2, s3 = _state(states, item)
        row = x[cell]
        stop = min((blk + 1) * BLOCK, n_resamples)
        for b in range(blk * BLOCK, stop):
            total, s0, s1, s2, s3 = _resampled_sum(row, n, nn, k, s0, s1, s2, s3)
            out[cell, b] = total
    return out


#: bits of a 32-bit uniform that index the Poisson lookup table of the streaming route
TABLE_BITS = 12


def poisson_thresholds(lam: float) -> np.ndarray:
    """32-bit inversion thresholds of Poisson(``lam``): ``round(F(j) 2**32)`` for ``j = 0 .. K - 1``.

    A 32-bit uniform ``u`` maps to ``#{j : u >= thresholds[j]}``, which is Poisson(``lam``) up to a
    probability error below ``2**-32`` per value (rounding, and the tail beyond ``K`` folded into ``K``).
    """
    from scipy.stats import poisson

    j = np.arange(40)
    cdf = poisson.cdf(j, lam)
    k = int(np.argmax(1.0 - cdf < 2.0**-34)) + 1
    return np.round(cdf[:k] * 2.0**32).astype(np.uint64)


def poisson_table(thresholds: np.ndarray) -> np.ndarray:
    """Lookup table of the count for the top :data:`TABLE_BITS` bits of a 32-bit uniform (float32), -1 for the
    few buckets that contain a threshold (there the thresholds decide; see :func:`_poisson_count`)."""
    edges = np.arange(2**TABLE_BITS + 1, dtype=np.uint64) << np.uint64(32 - TABLE_BITS)
    low = (edges[:-1, None] >= thresholds[None, :]).sum(axis=1)
    high = ((edges[1:, None] - np.uint64(1)) >= thresholds[None, :]).sum(axis=1)
    return np.where(low == high, low, -1).astype(np.float32)


@njit(inline="always")
def _poisson_count(u, thr, tab):
    """Poisson count (as a float) of the 32-bit uniform ``u`` (uint64) by inversion: one table lookup, the
    thresholds only in the buckets that straddle one (~K / 4096 of draws). Exactly ``#{j : u >= thr[j]}``."""
    w = tab[u >> uint64(32 - TABLE_BITS)]
    if w < 0:
        c = 0
        for j in range(thr.shape[0]):
            c += int(u >= thr[j])
        return float(c)
    return float(w)


@njit(cache=True, nogil=True)
def _streamed_sum(row, n, thr, tab, s0, s1, s2, s3):
    """Sum of a bootstrap resample of ``row`` by one sequential pass (no random gathers into a large array).

    Exact multinomial counts from Poisson counts: with ``W_i`` iid Poisson(lam), lam < 1, and ``T = sum W_i``,
    the counts given ``T = t`` are Multinomial(t, 1/n); if ``t <= n``, adding ``n - t`` uniform draws gives
    Multinomial(n, 1/n), the ordinary bootstrap. ``t > n`` (lam = 1 - 4/sqrt(n): probability ~3e-5) is
    rejected and the pass redone, which leaves the law given ``T = t`` unchanged. Each 64-bit output gives two
    32-bit uniforms (:func:`_poisson_count`).
    """
    while True:
        acc0 = 0.0
        acc1 = 0.0
        tot = 0.0
        for i in range(0, n - 1, 2):
            r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            w0 = _poisson_count(r >> uint64(32), thr, tab)
            w1 = _poisson_count(r & _MASK32, thr, tab)
            acc0 += w0 * row[i]
            acc1 += w1 * row[i + 1]
            tot += w0 + w1
        if n % 2:
            r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            w0 = _poisson_count(r >> uint64(32), thr, tab)
            acc0 += w0 * row[n - 1]
            tot += w0
        if tot <= n:
            break
    for _ in range(n - int(tot)):
        r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
        acc0 += row[_index(r, n)]
    return acc0 + acc1, s0, s1, s2, s3


@njit(cache=True, nogil=True)
def _streamed_pair(rb, rc, n, thr, tab, b0, b1, b2, b3, c0, c1, c2, c3):
    """:func:`_streamed_sum` of two equal-size rows in one pass (two independent generator chains in flight);
    a side whose total exceeds ``n`` is redone alone."""
    ab0 = 0.0
    ab1 = 0.0
    ac0 = 0.0
    ac1 = 0.0
    tb = 0.0
    tc = 0.0
    for i in range(0, n - 1, 2):
        r, b0, b1, b2, b3 = _next(b0, b1, b2, b3)
        q, c0, c1, c2, c3 = _next(c0, c1, c2, c3)
        wb0 = _poisson_count(r >> uint64(32), thr, tab)
        wb1 = _poisson_count(r & _MASK32, thr, tab)
        wc0 = _poisson_count(q >> uint64(32), thr, tab)
        wc1 = _poisson_count(q & _MASK32, thr, tab)
        ab0 += wb0 * rb[i]
        ab1 += wb1 * rb[i + 1]
        ac0 += wc0 * rc[i]
        ac1 += wc1 * rc[i + 1]
        tb += wb0 + wb1
        tc += wc0 + wc1
    if n % 2:
        r, b0, b1, b2, b3 = _next(b0, b1, b2, b3)
        q, c0, c1, c2, c3 = _next(c0, c1, c2, c3)
        wb0 = _poisson_count(r >> uint64(32), thr, tab)
        wc0 = _poisson_count(q >> uint64(32), thr, tab)
        ab0 += wb0 * rb[n - 1]
        ac0 += wc0 * rc[n - 1]
        tb += wb0
        tc += wc0
    sb, b0, b1, b2, b3 = _finish_pass(rb, n, thr, tab, tb, ab0, ab1, b0, b1, b2, b3)
    sc, c0, c1, c2, c3 = _finish_pass(rc, n, thr, tab, tc, ac0, ac1, c0, c1, c2, c3)
    return sb, sc, b0, b1, b2, b3, c0, c1, c2, c3


@njit(inline="always")
def _finish_pass(row, n, thr, tab, total, a0, a1, s0, s1, s2, s3):
    """The resampled sum of one side of a streamed pass whose Poisson counts add up to *total* (partial sums *a0*,
    *a1*): redone alone by :func:`_streamed_sum` when *total* exceeds ``n``, else topped up with ``n - total``
    uniform draws (added to *a0*, as :func:`_streamed_sum` does)."""
    if total > n:
        return _streamed_sum(row, n, thr, tab, s0, s1, s2, s3)
    for _ in range(n - int(total)):
        r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
        a0 += row[_index(r, n)]
    return a0 + a1, s0, s1, s2, s3


@njit(parallel=True, cache=True, nogil=True)
def draw_sum_tables(x, m):  # pragma: no cover - compiled
    """``out[cell, t] = sum_j x[cell, d_j(t)]`` over the m base-n digits ``d_j`` of ``t`` in ``[0, n**m)``: the
    sum of m draws for every m-tuple of indices (so one uniform draw in ``[0, n**m)`` is m uniform draws)."""
    cells, n = x.shape
    size = n**m
    out = np.empty((cells, size))
    for cell in prange(cells):
        out[cell, :n] = x[cell]
        width = n
        for _ in range(m - 1):
            for a in range(width - 1, -1, -1):  # in place, from the top: entry a*n + b = prefix a + x[b]
                base = out[cell, a]
                for b in range(n):
                    out[cell, a * n + b] = base + x[cell, b]
            width *= n
    return out


@njit(inline="always")
def _table_sum(row, sums, n, nn, m, s0, s1, s2, s3):
    """Resampled sum of ``row`` from ``n // m`` draws of m-draw sums (``sums`` = :func:`draw_sum_tables` row,
    index by multiply-shift of a 32-bit half over ``n**m <= SUMS_MAX`` entries: bias below 2048 / 2**32) plus
    ``n % m`` single draws; one 32-bit half per draw."""
    size = uint64(sums.shape[0])
    full = n // m
    total = full + n - full * m
    acc0 = 0.0
    acc1 = 0.0
    r = uint64(0)
    for j in range(total):
        if j % 2 == 0:
            r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
            u = r >> uint64(32)
        else:
            u = r & _MASK32
        if j < full:
            v = sums[int((u * size) >> uint64(32))]
        else:
            v = row[int((u * nn) >> uint64(32))]
        if j % 2 == 0:
            acc0 += v
        else:
            acc1 += v
    return acc0 + acc1, s0, s1, s2, s3


@njit(inline="always")
def _side_sum(row, sums, m, n, nn, k, thr, tab, s0, s1, s2, s3):
    """Resampled sum by streaming when ``thr`` holds Poisson thresholds, from the m-draw sums table when there
    is one (small n), else by random indices."""
    if thr.shape[0] > 0:
        return _streamed_sum(row, n, thr, tab, s0, s1, s2, s3)
    if m > 1:
        return _table_sum(row, sums, n, nn, m, s0, s1, s2, s3)
    return _resampled_sum(row, n, nn, k, s0, s1, s2, s3)


@njit(inline="always")
def _moments(ratio, th, cnt, a1, a2, mn, mx):
    """Running count below ``th``, sums of ``d`` and ``d**2`` (``d = ratio - th``), min and max."""
    if ratio < th:
        cnt += 1
    d = ratio - th
    return cnt, a1 + d, a2 + d * d, min(mn, ratio), max(mx, ratio)


@njit(parallel=True, cache=True, nogil=True)
def ratio_of_sums(  # pragma: no cover - compiled
    xb, xc, n_resamples, states_b, states_c, theta, log_scale, thr_b, thr_c, tab_b, tab_c, sums_b, sums_c
):
    """Fused two-sample bootstrap of a ratio of means (or of geometric means when ``log_scale``, x = logs).

    Resamples baseline rows ``xb`` (cells, n_b) and candidate rows ``xc`` (cells, n_c) independently (separate
    states), writes the ratio distribution (cells, B), and per (cell, block) item the count of replicates below
    ``theta[cell]``, the sums of ``d`` and ``d**2`` with ``d = ratio - theta`` (for the SE) and min/max, so that
    no further pass over the distribution is needed except the two quantile selections. A side whose
    ``thr_*`` holds Poisson thresholds (:func:`poisson_thresholds`, with ``tab_*`` from :func:`poisson_table`;
    both empty otherwise) is resampled by streaming (:func:`_streamed_sum`), the route for large n; a side with
    a table of m-draw sums ``sums_*`` (:func:`draw_sum_tables`, (cells, n**m); (cells, 0) otherwise) draws
    from it (:func:`_table_sum`), the route for small n.
    """
    cells, nb = xb.shape
    nc = xc.shape[1]
    blocks = (n_resamples + BLOCK - 1) // BLOCK
    out = np.empty((cells, n_resamples))
    items = cells * blocks
    below = np.zeros(items, dtype=np.int64)
    s_d = np.zeros(items)
    s_dd = np.zeros(items)
    lo = np.empty(items)
    hi = np.empty(items)
    nnb = uint64(nb)
    nnc = uint64(nc)
    k_b = digits_per_half(nb)
    k_c = digits_per_half(nc)
    m_b = table_draws(nb) if sums_b.shape[1] > 0 else 1
    m_c = table_draws(nc) if sums_c.shape[1] > 0 else 1
    paired = nb == nc and thr_b.shape[0] > 0 and thr_c.shape[0] == thr_b.shape[0]
    plain = thr_b.shape[0] == 0 and thr_c.shape[0] == 0 and m_b == 1 and m_c == 1
    for item in prange(items):
        cell = item // blocks
        blk = item % blocks
        b0, b1, b2, b3 = _state(states_b, item)
        c0, c1, c2, c3 = _state(states_c, item)
        rb = xb[cell]
        rc = xc[cell]
        th = theta[cell]
        cnt = 0
        a1 = 0.0
        a2 = 0.0
        mn = np.inf
        mx = -np.inf
        stop = min((blk + 1) * BLOCK, n_resamples)
        # the route is fixed per call: one loop per route keeps each loop body small (the gather loop runs
        # ~2x slower when the streaming and table code share its body)
        if plain:
            for b in range(blk * BLOCK, stop):
                sb, b0, b1, b2, b3 = _resampled_sum(rb, nb, nnb, k_b, b0, b1, b2, b3)
                sc, c0, c1, c2, c3 = _resampled_sum(rc, nc, nnc, k_c, c0, c1, c2, c3)
                ratio = np.exp(sc / nc - sb / nb) if log_scale else (sc * nb) / (sb * nc)
                out[cell, b] = ratio
                cnt, a1, a2, mn, mx = _moments(ratio, th, cnt, a1, a2, mn, mx)
        elif paired:
            for b in range(blk * BLOCK, stop):
                sb, sc, b0, b1, b2, b3, c0, c1, c2, c3 = _streamed_pair(
                    rb, rc, nb, thr_b, tab_b, b0, b1, b2, b3, c0, c1, c2, c3
                )
                ratio = np.exp(sc / nc - sb / nb) if log_scale else (sc * nb) / (sb * nc)
                out[cell, b] = ratio
                cnt, a1, a2, mn, mx = _moments(ratio, th, cnt, a1, a2, mn, mx)
        else:
            for b in range(blk * BLOCK, stop):
                sb, b0, b1, b2, b3 = _side_sum(rb, sums_b[cell], m_b, nb, nnb, k_b, thr_b, tab_b, b0, b1, b2, b3)
                sc, c0, c1, c2, c3 = _side_sum(rc, sums_c[cell], m_c, nc, nnc, k_c, thr_c, tab_c, c0, c1, c2, c3)
                ratio = np.exp(sc / nc - sb / nb) if log_scale else (sc * nb) / (sb * nc)
                out[cell, b] = ratio
                cnt, a1, a2, mn, mx = _moments(ratio, th, cnt, a1, a2, mn, mx)
        below[item] = cnt
        s_d[item] = a1
        s_dd[item] = a2
        lo[item] = mn
        hi[item] = mx
    return out, below, s_d, s_dd, lo, hi


@njit(inline="always")
def _kth_from_counts(counts, k):
    """Index of the k-th smallest (0-based) element given multiplicities of sorted values."""
    c = 0
    for i in range(counts.shape[0]):
        c += counts[i]
        if c > k:
            return i
    return counts.shape[0] - 1


@njit(parallel=True, cache=True, nogil=True)
def resample_medians(xs, n_resamples, states, thr, tab):  # pragma: no cover - compiled
    """Medians of bootstrap resamples of row-sorted ``xs`` (cells, n); returns (cells, n_resamples).

    A resample is held as multiplicities of the sorted values (O(n) memory per thread), and its median is read
    off the running count: no sort per resample. With Poisson thresholds ``thr`` and table ``tab`` (the large-n
    route, see :func:`_streamed_sum`; empty arrays otherwise) the multiplicities are written in one sequential
    pass (exact multinomial: Poisson counts, rejection of totals above n, uniform top-up) instead of n random
    increments.
    """
    cells, n = xs.shape
    blocks = (n_resamples + BLOCK - 1) // BLOCK
    out = np.empty((cells, n_resamples))
    k_hi = n // 2
    k_lo = (n - 1) // 2
    stream = thr.shape[0] > 0
    for item in prange(cells * blocks):
        cell = item // blocks
        blk = item % blocks
        s0, s1, s2, s3 = _state(states, item)
        counts = np.zeros(n, dtype=np.int64)
        stop = min((blk + 1) * BLOCK, n_resamples)
        for b in range(blk * BLOCK, stop):
            if stream:
                while True:
                    tot = 0.0
                    for i in range(0, n - 1, 2):
                        r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                        w0 = _poisson_count(r >> uint64(32), thr, tab)
                        w1 = _poisson_count(r & _MASK32, thr, tab)
                        counts[i] = int(w0)
                        counts[i + 1] = int(w1)
                        tot += w0 + w1
                    if n % 2:
                        r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                        w0 = _poisson_count(r >> uint64(32), thr, tab)
                        counts[n - 1] = int(w0)
                        tot += w0
                    if tot <= n:
                        break
                for _ in range(n - int(tot)):
                    r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                    counts[_index(r, n)] += 1
            else:
                counts[:] = 0
                for _ in range(n):
                    r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
                    counts[_index(r, n)] += 1
            i_lo = _kth_from_counts(counts, k_lo)
            i_hi = i_lo if k_hi == k_lo else _kth_from_counts(counts, k_hi)
            out[cell, b] = 0.5 * (xs[cell, i_lo] + xs[cell, i_hi])
    return out


@njit(inline="always")
def _shuffle_head(buf, k, n, s0, s1, s2, s3):
    """Partial Fisher-Yates in place: ``buf[:k]`` becomes a uniform random draw without replacement of its ``n``
    elements (the rest stays a permutation of the others); returns the advanced generator state."""
    for i in range(k):
        r, s0, s1, s2, s3 = _next(s0, s1, s2, s3)
        j = i + _index(r, n - i)
        tmp = buf[i]
        buf[i] = buf[j]
        buf[j] = tmp
    return s0, s1, s2, s3


@njit(parallel=True, cache=True, nogil=True)
def permutation_sums(pooled, k, n_resamples, states):  # pragma: no cover - compiled
    """Sum of the first ``k`` elements of random permutations of ``pooled`` (partial Fisher-Yates)."""
    n = pooled.shape[0]
    blocks = (n_resamples + BLOCK - 1) // BLOCK
    out = np.empty(n_resamples)
    for blk in prange(blocks):
        s0, s1, s2, s3 = _state(states, blk)
        buf = pooled.copy()
        for b in range(blk * BLOCK, min((blk + 1) * BLOCK, n_resamples)):
            s0, s1, s2, s3 = _shuffle_head(buf, k, n, s0, s1, s2, s3)
            acc = 0.0
            for i in range(k):  # in draw order: the twin adds in the same order
                acc += buf[i]
            out[b] = acc
    return out


@njit(parallel=True, cache=True, nogil=True)
def permutation_medians(pooled, k, n_resamples, states):  # pragma: no cover - compiled
    """Medians of the first ``k`` and of the remaining elements of random permutations of ``pooled``."""
    n = pooled.shape[0]
    blocks = (n_resamples + BLOCK - 1) // BLOCK
    out = np.empty((2, n_resamples))
    for blk in prange(blocks):
        s0, s1, s2, s3 = _state(states, blk)
        buf = pooled.copy()
        for b in range(blk * BLOCK, min((blk + 1) * BLOCK, n_resamples)):
            s0, s1, s2, s3 = _shuffle_head(buf, k, n, s0, s1, s2, s3)
            out[0, b] = np.median(buf[:k])
            out[1, b] = np.median(buf[k:])
    return out


@njit(cache=True, nogil=True)
def _row_order_pairs(row, ranks, step, buf):  # pragma: no cover - compiled
    """``(x_(r), x_(r+1))`` of ``row`` for every rank ``r`` in ``ranks`` (0-based, 0 <= r <= len(row) - 2).

    Brackets each pair between order statistics of the subsample ``row[::step]`` (found by selection) with a
    generous margin, then one pass over the row counts, for every rank at once, the values below its bracket and
    collects those inside it (into ``buf``, at least (len(ranks), B), reused across rows); the pair is then
    selected among the collected values. O(B) per row, no sort; falls back to a full selection when a bracket
    misses (never in practice; the result is exact either way).
    """
    B = row.shape[0]
    k = ranks.shape[0]
    sub = row[::step].copy()
    m = sub.shape[0]
    lo_i = np.empty(k, dtype=np.int64)
    hi_i = np.empty(k, dtype=np.int64)
    for j in range(k):
        p = (ranks[j] + 0.5) / B
        centre = p * m
        pad = 4.0 * np.sqrt(m * p * (1.0 - p)) + 3.0
        lo_i[j] = int(np.floor(centre - pad))
        hi_i[j] = int(np.ceil(centre + pad))
    kth = np.empty(2 * k, dtype=np.int64)
    for j in range(k):
        kth[2 * j] = min(max(lo_i[j], 0), m - 1)
        kth[2 * j + 1] = min(max(hi_i[j], 0), m - 1)
    part = np.partition(sub, np.unique(kth))
    lo_v = np.empty(k)
    hi_v = np.empty(k)
    for j in range(k):
        lo_v[j] = part[lo_i[j]] if lo_i[j] > 0 else -np.inf
        hi_v[j] = part[hi_i[j]] if hi_i[j] < m - 1 else np.inf
    below = np.zeros(k, dtype=np.int64)
    count = np.zeros(k, dtype=np.int64)
    if k == 2:  # the usual two-sided interval: scalars in registers
        l0, h0, l1, h1 = lo_v[0], hi_v[0], lo_v[1], hi_v[1]
        n0 = 0
        n1 = 0
        c0 = 0
        c1 = 0
        for v in row:
            n0 += v < l0
            n1 += v < l1
            if l0 <= v <= h0:
                buf[0, c0] = v
                c0 += 1
            if l1 <= v <= h1:
                buf[1, c1] = v
                c1 += 1
        below[0], below[1], count[0], count[1] = n0, n1, c0, c1
    else:
        for v in row:
            for j in range(k):
                if v < lo_v[j]:
                    below[j] += 1
                elif v <= hi_v[j]:
                    buf[j, count[j]] = v
                    count[j] += 1
    out = np.empty((k, 2))
    for j in range(k):
        r = ranks[j] - below[j]
        if r >= 0 and r + 1 < count[j]:
            inside = np.partition(buf[j, : count[j]], r)
            out[j, 0] = inside[r]
            out[j, 1] = np.min(inside[r + 1 :])
        else:
            full = np.partition(row.copy(), ranks[j])
            out[j, 0] = full[ranks[j]]
            out[j, 1] = np.min(full[ranks[j] + 1 :])
    return out


@njit(cache=True, nogil=True)
def _row_quantiles_one(row, q, out, step, buf):  # pragma: no cover - compiled
    """Quantiles ``q`` of one row into ``out`` (see :func:`row_quantiles`)."""
    B = row.shape[0]
    k = q.shape[0]
    ranks = np.empty(k, dtype=np.int64)
    frac = np.empty(k)
    inner = np.zeros(k, dtype=np.bool_)
    for j in range(k):
        h = (B - 1) * q[j]
        lo = int(np.floor(h))
        if lo >= B - 1:
            out[j] = np.max(row)
        elif lo < 0:
            out[j] = np.min(row)
        else:
            ranks[j] = lo
            frac[j] = h - lo
            inner[j] = True
    idx = np.flatnonzero(inner)
    if idx.shape[0] == 0:
        return
    pairs = _row_order_pairs(row, ranks[idx], step, buf)
    for t in range(idx.shape[0]):
        j = idx[t]
        out[j] = pairs[t, 0] + frac[j] * (pairs[t, 1] - pairs[t, 0])


@njit(parallel=True, cache=True, nogil=True)
def row_quantiles(dist, q):  # pragma: no cover - compiled
    """``q[i, j]``-quantiles of row ``dist[i]`` by numpy's default ('linear') rule.

    ``h = (B - 1) q``; value = ``x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)])``, with the order
    statistics of all of a row's quantiles from one pass of :func:`_row_order_pairs` (O(B) per row, no sort).
    """
    cells, B = dist.shape
    k = q.shape[1]
    out = np.empty((cells, k))
    step = 16 if B >= 1024 else 1
    chunk = 16  # rows per work item: the collection buffer is allocated once per item, not per row
    for c in prange((cells + chunk - 1) // chunk):
        buf = np.empty((k, B))
        for i in range(c * chunk, min((c + 1) * chunk, cells)):
            _row_quantiles_one(dist[i], q[i], out[i], step, buf)
    return out
