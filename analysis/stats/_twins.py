"""numpy twins of the compiled kernels in :mod:`analysis.stats._kernels`, for calls with little work.

Why twins
---------
numba compiles a kernel on its first call and caches the machine code beside the module; a fresh clone (and so
every CI run and every new user's first ``pvfair report``) pays that compile, far longer for the fused ratio
kernel than the resampling of a report of small cells (3-10 runs, B = 9,999: a few million elements) takes in
numpy. Below
:data:`analysis.stats._lazy.NUMPY_MAX_WORK` resampled elements a call therefore takes the numpy twin and nothing is
compiled; above it the kernel is the faster route and is compiled (once, announced).

The twins are the same algorithms, not approximations: the same xoshiro256** streams (one state per work item of
:data:`BLOCK` replicates, advanced with the same uint64 arithmetic, vectorized across items), the same index maps
(multiply-shift, the m-draw sum tables) and the same order of floating-point additions, so a twin returns the same
numbers as its kernel (tests/unit/test_stats_twins.py checks that bit for bit) and a report does not depend on
which route ran. The large-n streaming route (Poisson counts) has no twin: it only arises far above the threshold.

``BLOCK``, :func:`make_states`, :func:`digits_per_half` and :func:`table_draws` live here (numba-free) and are
re-exported by :mod:`analysis.stats._kernels`, so both routes share one definition of the work items.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "BLOCK",
    "SPLIT_MAX",
    "SUMS_MAX",
    "make_states",
    "digits_per_half",
    "table_draws",
    "draw_sum_tables",
    "ratio_of_sums",
    "row_quantiles",
    "permutation_sums",
    "TWINS",
]

#: replicates per work item (fixed, so results do not depend on the thread count)
BLOCK = 128
#: largest n for which one 64-bit output is split into two 32-bit multiply-shift indices
SPLIT_MAX = 1 << 16
#: largest table of m-draw sums used for small samples (entries; 16 KB, stays in L1)
SUMS_MAX = 2048
#: largest sample (per side, or permutation draw count) a twin takes: its Python loop runs once per draw of a
#: replicate (vectorized over items), so its cost grows with n whatever the number of cells
TWIN_MAX_N = 24

_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_U = np.uint64
_MASK32 = _U(0xFFFFFFFF)
_S32 = _U(32)


def make_states(rng: np.random.Generator, n_items: int) -> np.ndarray:
    """Draw ``n_items`` independent xoshiro256** states (uint64[n_items, 4]) from ``rng``."""
    states = rng.integers(0, np.iinfo(np.uint64).max, size=(n_items, 4), dtype=np.uint64, endpoint=True)
    states[:, 0] |= np.uint64(1)  # never the all-zero state
    return states


def digits_per_half(n: int) -> int:
    """Indices drawn from each 32-bit half of a generator output for a sample of size ``n``: the largest
    ``k <= 4`` with ``n**k <= SPLIT_MAX`` (so the bias stays below ``SPLIT_MAX / 2**32``), 0 above SPLIT_MAX (one
    53-bit index per output)."""
    if n > SPLIT_MAX:
        return 0
    k = 1
    while k < 4 and n ** (k + 1) <= SPLIT_MAX:
        k += 1
    return k


def table_draws(n: int) -> int:
    """Draws per table entry for a sample of size ``n``: the largest ``m <= 3`` with ``n**m <= SUMS_MAX``, or 1
    (no table) when even ``n**2`` is too large."""
    m = 1
    while m < 3 and n ** (m + 1) <= SUMS_MAX:
        m += 1
    return m


class _Streams:
    """xoshiro256** states of many work items, advanced together (one uint64 row per state word)."""

    def __init__(self, states: np.ndarray):
        self.s = np.ascontiguousarray(states.T)  # (4, items): each word a contiguous row

    def next(self) -> np.ndarray:
        s0, s1, s2, s3 = self.s
        x = s1 * _U(5)
        result = ((x << _U(7)) | (x >> _U(57))) * _U(9)
        t = s1 << _U(17)
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3[:] = (s3 << _U(45)) | (s3 >> _U(19))
        return result


def _exp(x: np.ndarray) -> np.ndarray:
    """The C library's ``exp``, as the compiled kernel calls it (numpy's own SIMD ``exp`` can differ by 1 ulp)."""
    return np.fromiter(map(math.exp, x.tolist()), dtype=np.float64, count=x.shape[0])


def _index(r: np.ndarray, n) -> np.ndarray:
    """``floor(u n)`` with ``u`` the top 53 bits of ``r`` as a uniform on [0, 1) (``n`` scalar or array)."""
    return ((r >> _U(11)).astype(np.float64) * _INV53 * n).astype(np.int64)


def _mulshift(u: np.ndarray, size: np.uint64) -> np.ndarray:
    return ((u * size) >> _S32).astype(np.int64)


def _resampled_sum(flat: np.ndarray, base: np.ndarray, n: int, st: _Streams) -> np.ndarray:
    """Twin of ``_kernels._resampled_sum`` for every item at once: ``flat[base + i]`` is item's row element i."""
    k = digits_per_half(n)
    nn = _U(n)
    acc0 = np.zeros(base.shape[0])
    acc1 = np.zeros(base.shape[0])
    if k == 1:
        for _ in range(n // 2):
            r = st.next()
            acc0 += flat[base + _mulshift(r >> _S32, nn)]
            acc1 += flat[base + _mulshift(r & _MASK32, nn)]
        if n % 2:
            r = st.next()
            acc0 += flat[base + _mulshift(r >> _S32, nn)]
    elif k > 1:
        per = 2 * k
        full = n // per
        for _ in range(full):
            r = st.next()
            h, lo = r >> _S32, r & _MASK32
            for _j in range(k):
                h, lo = h * nn, lo * nn
                acc0 += flat[base + (h >> _S32).astype(np.int64)]
                acc1 += flat[base + (lo >> _S32).astype(np.int64)]
                h, lo = h & _MASK32, lo & _MASK32
        rem = n - full * per
        if rem:
            r = st.next()
            h, lo = r >> _S32, r & _MASK32
            for j in range(rem):
                if j % 2 == 0:
                    h = h * nn
                    acc0 += flat[base + (h >> _S32).astype(np.int64)]
                    h = h & _MASK32
                else:
                    lo = lo * nn
                    acc1 += flat[base + (lo >> _S32).astype(np.int64)]
                    lo = lo & _MASK32
    else:
        for _ in range(n):
            acc0 += flat[base + _index(st.next(), n)]
    return acc0 + acc1


def _table_sum(flat: np.ndarray, base: np.ndarray, sums: np.ndarray, sbase: np.ndarray, n: int, m: int,
               st: _Streams) -> np.ndarray:
    """Twin of ``_kernels._table_sum``: ``n // m`` draws from the m-draw sums, ``n % m`` single draws."""
    size = _U(n**m)
    nn = _U(n)
    full = n // m
    total = full + n - full * m
    acc0 = np.zeros(base.shape[0])
    acc1 = np.zeros(base.shape[0])
    r = None
    for j in range(total):
        if j % 2 == 0:
            r = st.next()
            u = r >> _S32
        else:
            u = r & _MASK32
        v = sums[sbase + _mulshift(u, size)] if j < full else flat[base + _mulshift(u, nn)]
        if j % 2 == 0:
            acc0 += v
        else:
            acc1 += v
    return acc0 + acc1


def _side(x: np.ndarray, sums: np.ndarray, cell: np.ndarray, st: _Streams):
    """A closure drawing one resampled sum per item of one side (table route when ``sums`` has columns)."""
    n = x.shape[1]
    flat = np.ascontiguousarray(x).ravel()
    base = cell * n
    if sums.shape[1] > 0 and table_draws(n) > 1:
        m = table_draws(n)
        sflat = np.ascontiguousarray(sums).ravel()
        sbase = cell * sums.shape[1]
        return lambda: _table_sum(flat, base, sflat, sbase, n, m, st)
    return lambda: _resampled_sum(flat, base, n, st)


def ratio_of_sums(xb, xc, n_resamples, states_b, states_c, theta, log_scale, thr_b, thr_c, tab_b, tab_c,
                  sums_b, sums_c):
    """Twin of ``_kernels.ratio_of_sums`` for the index and table routes (no Poisson thresholds)."""
    if thr_b.shape[0] or thr_c.shape[0]:
        raise NotImplementedError("the streaming route (Poisson thresholds) has no numpy twin")
    cells, nb = xb.shape
    nc = xc.shape[1]
    if max(nb, nc) > TWIN_MAX_N:
        raise NotImplementedError(f"samples above {TWIN_MAX_N}: the compiled kernel is the faster route")
    blocks = (n_resamples + BLOCK - 1) // BLOCK
    items = cells * blocks
    cell = np.arange(items) // blocks
    first = (np.arange(items) % blocks) * BLOCK
    side_b = _side(xb, sums_b, cell, _Streams(states_b[:items]))
    side_c = _side(xc, sums_c, cell, _Streams(states_c[:items]))
    th = np.asarray(theta, dtype=np.float64)[cell]
    out = np.empty((cells, blocks * BLOCK))
    below = np.zeros(items, dtype=np.int64)
    s_d = np.zeros(items)
    s_dd = np.zeros(items)
    lo = np.full(items, np.inf)
    hi = np.full(items, -np.inf)
    view = out.reshape(cells, blocks, BLOCK)
    for j in range(BLOCK):
        sb = side_b()
        sc = side_c()
        ratio = _exp(sc / nc - sb / nb) if log_scale else (sc * nb) / (sb * nc)
        view[:, :, j] = ratio.reshape(cells, blocks)
        live = first + j < n_resamples  # the last block of a cell may be partial
        r, t = ratio[live], th[live]
        below[live] += r < t
        d = r - t
        s_d[live] += d
        s_dd[live] += d * d
        lo[live] = np.minimum(lo[live], r)
        hi[live] = np.maximum(hi[live], r)
    return out[:, :n_resamples].copy(), below, s_d, s_dd, lo, hi


def draw_sum_tables(x: np.ndarray, m: int) -> np.ndarray:
    """Twin of ``_kernels.draw_sum_tables``: entry ``a n + b`` of each level is ``prefix a + x[b]``."""
    cells, n = x.shape
    out = np.array(x, dtype=np.float64)
    for _ in range(m - 1):
        out = (out[:, :, None] + x[:, None, :]).reshape(cells, -1)
    return out


def row_quantiles(dist: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Twin of ``_kernels.row_quantiles``: numpy's 'linear' rule, ``x_(lo) + frac (x_(lo+1) - x_(lo))``."""
    cells, B = dist.shape
    h = (B - 1) * q
    lo = np.floor(h).astype(np.int64)
    frac = h - lo
    s = np.sort(dist, axis=1)
    inner = (lo >= 0) & (lo < B - 1)
    i0 = np.clip(lo, 0, B - 1)
    i1 = np.clip(lo + 1, 0, B - 1)
    p0 = np.take_along_axis(s, i0, axis=1)
    p1 = np.take_along_axis(s, i1, axis=1)
    out = p0 + frac * (p1 - p0)
    edge = np.where(lo >= B - 1, s[:, -1:], s[:, :1])
    return np.where(inner, out, edge)


def permutation_sums(pooled: np.ndarray, k: int, n_resamples: int, states: np.ndarray) -> np.ndarray:
    """Twin of ``_kernels.permutation_sums``: partial Fisher-Yates, one buffer per block kept across it."""
    n = pooled.shape[0]
    if k > TWIN_MAX_N:
        raise NotImplementedError(f"more than {TWIN_MAX_N} draws: the compiled kernel is the faster route")
    blocks = (n_resamples + BLOCK - 1) // BLOCK
    st = _Streams(states[:blocks])
    buf = np.tile(np.asarray(pooled, dtype=np.float64), (blocks, 1))
    rows = np.arange(blocks)
    out = np.empty((blocks, BLOCK))
    for b in range(BLOCK):
        acc = np.zeros(blocks)
        for i in range(k):
            j = i + _index(st.next(), n - i)
            tmp = buf[:, i].copy()
            buf[:, i] = buf[rows, j]
            buf[rows, j] = tmp
            acc += buf[:, i]
        out[:, b] = acc
    return out.ravel()[:n_resamples].copy()


#: kernel name -> its numpy twin (used by :func:`analysis.stats._lazy.run` for small calls)
TWINS = {
    "ratio_of_sums": ratio_of_sums,
    "draw_sum_tables": draw_sum_tables,
    "row_quantiles": row_quantiles,
    "permutation_sums": permutation_sums,
}
