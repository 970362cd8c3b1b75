"""analysis.stats._twins: the numpy twins return the compiled kernels' numbers, bit for bit, and small calls take them.

The kernels (analysis.stats._kernels) are the independent implementation here: a different language and compiler,
per-element scalar loops instead of vectorized array steps. Equality of every output (distributions, counts,
moments, quantiles) on the index route (n above 16 draws per half), the multi-digit route, the m-draw table route
and the log scale is what lets a report pick either route by speed alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stats import _lazy, _twins

pytestmark = pytest.mark.unit

_EMPTY_U = np.empty(0, dtype=np.uint64)
_EMPTY_F = np.empty(0, dtype=np.float32)


def _sums(x, build):
    m = _twins.table_draws(x.shape[1])
    return np.empty((x.shape[0], 0)) if m < 2 else build(x, m)


@pytest.mark.parametrize("log_scale", [False, True])
@pytest.mark.parametrize(("nb", "nc", "cells", "b"), [(3, 3, 4, 999), (5, 4, 3, 300), (2, 7, 2, 129),
                                                       (10, 12, 3, 257), (24, 20, 2, 130)])
def test_ratio_of_sums_twin_equals_kernel(nb, nc, cells, b, log_scale):
    k = _lazy.kernels()
    rng = np.random.default_rng(nb * 100 + nc)
    xb, xc = rng.lognormal(size=(cells, nb)), rng.lognormal(size=(cells, nc))
    if log_scale:
        xb, xc = np.log(xb), np.log(xc)
    blocks = -(-b // _twins.BLOCK)
    sb = _twins.make_states(np.random.default_rng(1), cells * blocks)
    sc = _twins.make_states(np.random.default_rng(2), cells * blocks)
    for x in (xb, xc):  # the m-draw sum tables
        np.testing.assert_array_equal(_sums(x, _twins.draw_sum_tables), _sums(x, k.draw_sum_tables))
    args = (xb, xc, b, sb, sc, rng.uniform(0.8, 1.2, cells), log_scale, _EMPTY_U, _EMPTY_U, _EMPTY_F, _EMPTY_F,
            _sums(xb, k.draw_sum_tables), _sums(xc, k.draw_sum_tables))
    want = k.ratio_of_sums(*args)
    got = _twins.ratio_of_sums(*args)
    assert len(got) == len(want) == 6
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    dist = want[0]
    q = np.clip(rng.uniform(-0.05, 1.05, size=(cells, 3)), 0.0, 1.0)
    q[0, 0], q[-1, -1] = 0.0, 1.0
    np.testing.assert_array_equal(_twins.row_quantiles(dist, q), k.row_quantiles(dist, q))
    # numpy's own quantile (the 'linear' rule) agrees within rounding
    np.testing.assert_allclose(_twins.row_quantiles(dist, q)[0], np.quantile(dist[0], q[0]), rtol=1e-14)


@pytest.mark.parametrize(("n", "k", "b"), [(6, 3, 500), (20, 8, 300), (9, 4, 129)])
def test_permutation_sums_twin_equals_kernel(n, k, b):
    pooled = np.random.default_rng(n).normal(size=n)
    states = _twins.make_states(np.random.default_rng(3), -(-b // _twins.BLOCK))
    np.testing.assert_array_equal(_twins.permutation_sums(pooled, k, b, states),
                                  _lazy.kernels().permutation_sums(pooled, k, b, states))


def test_routes_the_twins_refuse():
    x = np.ones((1, _twins.TWIN_MAX_N + 1))
    states = _twins.make_states(np.random.default_rng(0), 1)
    with pytest.raises(NotImplementedError, match="compiled kernel is the faster route"):
        _twins.ratio_of_sums(x, x, 10, states, states, np.ones(1), False, _EMPTY_U, _EMPTY_U, _EMPTY_F, _EMPTY_F,
                             np.empty((1, 0)), np.empty((1, 0)))
    thr = np.ones(3, dtype=np.uint64)
    with pytest.raises(NotImplementedError, match="streaming route"):
        _twins.ratio_of_sums(x, x, 10, states, states, np.ones(1), False, thr, thr, _EMPTY_F, _EMPTY_F,
                             np.empty((1, 0)), np.empty((1, 0)))


def test_small_report_compiles_nothing():
    """A batch of small cells (the demo's sizes) runs on the twins: numba is not even imported."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from analysis.stats import ratio_ci_batch, permutation_test_ratio;"
            "rng = np.random.default_rng(0);"
            "cells = [(rng.lognormal(size=nb), rng.lognormal(size=nc)) for nb, nc in [(3, 3), (5, 4), (10, 8)]];"
            "r = ratio_ci_batch(cells, rng=1); p = permutation_test_ratio(cells[2][0], cells[2][1], rng=2);"
            "print('numba' in sys.modules, all(np.isfinite(x.confidence_interval.low) for x in r))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
    assert _lazy.COMPILE_NOTICE not in out.stderr


def test_compile_announced_once_and_not_for_a_cached_kernel(monkeypatch, capsys, tmp_path):
    from types import SimpleNamespace

    monkeypatch.setattr(_lazy, "_announced", [])
    cold = SimpleNamespace(signatures=[], _cache=SimpleNamespace(
        _cache_file=SimpleNamespace(_index_path=str(tmp_path / "missing.nbi"))))
    _lazy._announce(cold)
    _lazy._announce(cold)
    assert capsys.readouterr().err.count(_lazy.COMPILE_NOTICE) == 1
    monkeypatch.setattr(_lazy, "_announced", [])
    (tmp_path / "present.nbi").write_bytes(b"")
    cached = SimpleNamespace(signatures=[], _cache=SimpleNamespace(
        _cache_file=SimpleNamespace(_index_path=str(tmp_path / "present.nbi"))))
    _lazy._announce(cached)
    _lazy._announce(SimpleNamespace(signatures=["float64[:]"]))  # compiled in this process already
    assert capsys.readouterr().err == ""
    # the real kernels expose the index path the check reads
    index = _lazy.kernels().ratio_of_sums._cache._cache_file._index_path
    assert index.endswith(".nbi")
