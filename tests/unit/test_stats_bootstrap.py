"""Unit tests of analysis.stats.bootstrap: closed-form jackknife, BCa vs scipy, batching, hierarchy, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.stats import RatioResult, bca_interval, ratio_ci, ratio_ci_batch
from analysis.stats.bootstrap import STATISTICS, _Hierarchy, _jackknife_terms

pytestmark = pytest.mark.unit

FUNCS = {"mean": np.mean, "median": np.median, "geomean": stats.gmean}


@pytest.fixture
def pair():
    rng = np.random.default_rng(42)
    return rng.lognormal(0, 0.1, size=15), rng.lognormal(0.05, 0.1, size=12)


@pytest.mark.parametrize("statistic", list(STATISTICS))
@pytest.mark.parametrize("n", [2, 3, 4, 7, 8])
def test_closed_form_leave_one_out_equals_brute_force(statistic, n):
    rng = np.random.default_rng(n)
    x = rng.lognormal(size=(3, n))
    x[1, : n // 2] = x[1, 0]  # ties
    loo = STATISTICS[statistic].loo(x)
    f = FUNCS[statistic]
    brute = np.array([[f(np.delete(row, i)) for i in range(n)] for row in x])
    # the jackknife formula only needs the multiset of values: compare sorted
    np.testing.assert_allclose(np.sort(loo, axis=1), np.sort(brute, axis=1), rtol=1e-12)


@pytest.mark.parametrize("statistic", list(STATISTICS))
def test_acceleration_equals_scipy_jackknife(statistic, pair):
    # scipy computes a with a brute-force jackknife; with n_resamples small the CI differs but a does not.
    b, c = pair
    f = FUNCS[statistic]
    theta_b = np.array([f(c) / f(np.delete(b, i)) for i in range(b.size)])
    theta_c = np.array([f(np.delete(c, i)) / f(b) for i in range(c.size)])
    nb, db = _jackknife_terms(theta_b[None])
    nc, dc = _jackknife_terms(theta_c[None])
    a_brute = (nb + nc) / (6 * (db + dc) ** 1.5)
    res = ratio_ci(b, c, statistic=statistic, n_resamples=99, rng=0)
    assert res.acceleration == pytest.approx(float(a_brute[0]), rel=1e-10)


@pytest.mark.parametrize("statistic", list(STATISTICS))
@pytest.mark.parametrize("method", ["bca", "percentile", "basic"])
def test_agrees_with_scipy_bootstrap(statistic, method, pair):
    b, c = pair
    f = FUNCS[statistic]
    # expand=False: the plain interval, which is scipy's (the default adds the small-sample expansion)
    ours = ratio_ci(b, c, statistic=statistic, method=method, n_resamples=20000, rng=1, expand=False)
    ref = stats.bootstrap(
        (b, c),
        lambda x, y, axis=-1: f(y, axis=axis) / f(x, axis=axis),
        method="BCa" if method == "bca" else method,
        n_resamples=20000,
        vectorized=True,
        rng=2,
    )
    # Monte-Carlo SD of a 2.5 % quantile with B = 20,000 is ~0.02 SE per run; the median's bootstrap
    # distribution is discrete, so its endpoints jump between order statistics: allow more there.
    tol = (0.12 if statistic != "median" else 0.35) * ref.standard_error
    assert ours.confidence_interval.low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.confidence_interval.high == pytest.approx(ref.confidence_interval.high, abs=tol)
    assert ours.standard_error == pytest.approx(ref.standard_error, rel=0.03)
    assert ours.estimate == pytest.approx(f(c) / f(b), rel=1e-12)


def test_bootstrap_mean_distribution_matches_theory():
    # the variance of a bootstrap mean is (n-1)/n * s^2 / n (plug-in variance / n)
    x = np.random.default_rng(3).lognormal(size=200)
    from analysis.stats.bootstrap import _boot_mean

    means = _boot_mean(x[None, :], 40000, np.random.default_rng(4))[0]
    assert means.mean() == pytest.approx(x.mean(), abs=4 * x.std() / np.sqrt(200 * 40000))
    assert means.var() == pytest.approx(x.var() / 200, rel=0.03)


def _table_route_sums(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Resampled sums of a small ``x`` by the fused kernel's table route (baseline a row of ones, as above)."""
    from analysis.stats._lazy import kernels
    from analysis.stats.bootstrap import _draw_sums

    k = kernels()
    n = x.size
    rng = np.random.default_rng(seed)
    blocks = -(-n_resamples // k.BLOCK)
    e64, e32 = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.float32)
    sums_c = _draw_sums(x[None, :])
    assert sums_c.shape[1] == n ** k.table_draws(n) > n  # the table route is taken
    ratio, *_ = k.ratio_of_sums(
        np.ones((1, n)), x[None, :], n_resamples, k.make_states(rng, blocks), k.make_states(rng, blocks),
        np.ones(1), False, e64, e64, e32, e32, np.empty((1, 0)), sums_c,
    )
    return ratio[0] * n


def test_draw_sum_tables_enumerate_all_tuples():
    from analysis.stats._lazy import kernels

    x = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 7.0]])
    tab = kernels().draw_sum_tables(x, 3)
    for cell in range(2):
        expected = sorted(sum(x[cell, list(t)]) for t in np.ndindex(3, 3, 3))
        assert sorted(tab[cell]) == expected


@pytest.mark.parametrize(("n", "route"), [(3, "digits"), (10, "digits"), (17, "digits"), (41, "digits"),
                                          (3, "table"), (10, "table"), (12, "table"), (30, "table")])
def test_small_n_index_digits_give_multinomial_counts(n, route):
    # several indices come from one generator output for small n (base-n digits, or one draw of an m-draw sum):
    # the counts of a resample must still have the multinomial moments, mean 1, variance (n-1)/n and
    # covariance -1/n between positions
    from analysis.stats.bootstrap import _boot_mean

    pos = np.unique(np.linspace(0, n - 1, min(n, 8)).astype(int))  # tracked positions (<= 8: exact in float)
    x = np.zeros(n)
    x[pos] = 2.0 ** (6 * np.arange(pos.size))  # a resampled sum spells their counts in base 64 (counts < 64)
    if route == "digits":
        raw = _boot_mean(x[None, :], 100_000, np.random.default_rng(n))[0] * n
    else:
        raw = _table_route_sums(x, 100_000, n)
    sums = np.rint(raw).astype(np.int64)
    counts = np.stack([(sums >> (6 * j)) & 63 for j in range(pos.size)], axis=1).astype(float)
    if pos.size == n:
        assert (counts.sum(axis=1) == n).all()
    cov = np.cov(counts, rowvar=False)
    se = (n - 1) / n / np.sqrt(counts.shape[0])
    np.testing.assert_allclose(counts.mean(axis=0), 1.0, atol=5 * np.sqrt((n - 1) / n / counts.shape[0]))
    np.testing.assert_allclose(np.diag(cov), (n - 1) / n, atol=6 * se)
    np.testing.assert_allclose(cov[~np.eye(pos.size, dtype=bool)], -1 / n, atol=6 * se)


@pytest.mark.parametrize("stream", [False, True])
def test_bootstrap_median_distribution_matches_numpy_resampling(stream, monkeypatch):
    x = np.sort(np.random.default_rng(5).lognormal(size=11))
    import analysis.stats.bootstrap as boot
    from analysis.stats.bootstrap import _boot_median

    if stream:  # the large-n route (multiplicities from Poisson counts), forced on a small sample
        monkeypatch.setattr(boot, "STREAM_MIN", 2)
    ours = _boot_median(x[None, :], 40000, np.random.default_rng(6))[0]
    rng = np.random.default_rng(7)
    ref = np.median(x[rng.integers(0, 11, size=(40000, 11))], axis=1)
    # same discrete distribution: compare the probabilities of each attainable median
    values = np.unique(np.concatenate([ours, ref]))
    p_ours = np.array([(ours == v).mean() for v in values])
    p_ref = np.array([(ref == v).mean() for v in values])
    assert np.max(np.abs(p_ours - p_ref)) < 0.012


def test_same_seed_same_result_and_generator_accepted(pair):
    b, c = pair
    r1 = ratio_ci(b, c, rng=123, n_resamples=999)
    r2 = ratio_ci(b, c, rng=np.random.default_rng(123), n_resamples=999)
    r3 = ratio_ci(b, c, rng=124, n_resamples=999)
    np.testing.assert_array_equal(r1.bootstrap_distribution, r2.bootstrap_distribution)
    assert r1.confidence_interval == r2.confidence_interval
    assert not np.array_equal(r1.bootstrap_distribution, r3.bootstrap_distribution)


def test_result_type_frame_summary_html(pair):
    b, c = pair
    r = ratio_ci(b, c, rng=1, n_resamples=999)
    assert isinstance(r, RatioResult)
    assert r.confidence_interval.low < r.estimate < r.confidence_interval.high
    assert r.bootstrap_distribution.shape == (999,)
    assert (r.n_baseline, r.n_candidate, r.method, r.statistic) == (15, 12, "bca", "mean")
    frame = r.to_frame()
    assert frame.shape[0] == 1
    assert frame.loc[0, "pct_change"] == pytest.approx((r.estimate - 1) * 100)
    assert "95 % CI" in r.summary()
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        r.estimate = 2.0  # frozen


def test_html_is_escaped():
    from analysis.stats._results import _render_html

    out = _render_html("<b>", [("x<y", "a&b")], ("<script>",))
    assert "<script>" not in out and "&lt;script&gt;" in out and "x&lt;y" in out and "a&amp;b" in out


def test_zero_variance_gives_point_interval_with_note():
    r = ratio_ci([2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0], rng=0, n_resamples=999)
    assert r.confidence_interval == (1.5, 1.5)
    assert r.standard_error == 0
    assert any("zero variance" in n for n in r.notes)
    assert not np.isnan(r.acceleration)


def test_one_constant_sample_is_fine():
    r = ratio_ci([2.0, 2.0, 2.0, 2.0], [3.0, 3.1, 2.9, 3.05], rng=0, n_resamples=999)
    assert r.confidence_interval.low < 1.5 < r.confidence_interval.high or r.confidence_interval.low <= 1.5
    assert [n for n in r.notes if "small-sample expansion" not in n] == []


def test_bca_undefined_falls_back_to_percentile_with_note():
    # theta_hat below every bootstrap replicate: z0 = -inf
    res = bca_interval(0.0, np.linspace(1, 2, 100), np.array([0.1, 0.2, 0.3]))
    assert any("BCa is undefined" in n for n in res.notes)
    assert res.confidence_interval.low == pytest.approx(np.quantile(np.linspace(1, 2, 100), 0.025))


def test_batch_matches_single_cell_distributionally():
    rng = np.random.default_rng(8)
    cells = [(rng.lognormal(0, 0.05, 10), rng.lognormal(0.02, 0.05, 10)) for _ in range(4)]
    cells.append((rng.lognormal(0, 0.05, 7), rng.lognormal(0, 0.05, 13)))  # unequal sizes
    batch = ratio_ci_batch(cells, rng=9, n_resamples=20000)
    assert len(batch) == 5
    for (b, c), rb in zip(cells, batch, strict=True):
        single = ratio_ci(b, c, rng=10, n_resamples=20000)
        assert rb.estimate == single.estimate
        assert rb.acceleration == pytest.approx(single.acceleration, rel=1e-10)
        tol = 0.12 * single.standard_error
        assert rb.confidence_interval.low == pytest.approx(single.confidence_interval.low, abs=tol)
        assert rb.confidence_interval.high == pytest.approx(single.confidence_interval.high, abs=tol)
    # cells are resampled independently of each other
    corr = np.corrcoef(batch[0].bootstrap_distribution, batch[1].bootstrap_distribution)[0, 1]
    assert abs(corr) < 0.05


@pytest.mark.parametrize("statistic", list(STATISTICS))
def test_hierarchy_with_singleton_groups_is_the_ordinary_bootstrap(statistic, pair):
    b, c = pair
    flat = ratio_ci(b, c, statistic=statistic, n_resamples=20000, rng=1)
    hier = ratio_ci(
        b, c, statistic=statistic, n_resamples=20000, rng=2, groups=([np.arange(b.size)], [np.arange(c.size)])
    )
    # leave-one-group-out with singleton groups is the ordinary jackknife: identical acceleration
    assert hier.acceleration == pytest.approx(flat.acceleration, rel=1e-9)
    tol = (0.12 if statistic != "median" else 0.35) * flat.standard_error
    assert hier.confidence_interval.low == pytest.approx(flat.confidence_interval.low, abs=tol)
    assert hier.confidence_interval.high == pytest.approx(flat.confidence_interval.high, abs=tol)
    assert any("hierarchical" in n for n in hier.notes)


def test_hierarchy_structure_two_levels():
    x = np.arange(1.0, 11.0)
    host = np.array(["h1"] * 6 + ["h2"] * 4)
    session = np.array([1, 1, 2, 2, 2, 3, 1, 1, 2, 2])  # session labels repeat across hosts: nested by host
    h = _Hierarchy(x, [host, session])
    assert h.n_top == 2
    np.testing.assert_array_equal(h.child_count[0], [3, 2])  # h1 has 3 sessions, h2 has 2
    np.testing.assert_array_equal(h.child_count[1], [2, 3, 1, 2, 2])  # runs per session
    np.testing.assert_array_equal(h.child_start[1], [0, 2, 5, 6, 8])


def test_hierarchical_resampling_draws_whole_groups():
    # within-group values identical, groups differ: every resample mean is a mean of drawn group values
    x = np.repeat([1.0, 2.0, 4.0], 3)
    h = _Hierarchy(x, [np.repeat([0, 1, 2], 3)])
    means = h.resample(STATISTICS["mean"], 5000, np.random.default_rng(0))
    attainable = {np.mean(c) for c in np.array(np.meshgrid([1, 2, 4], [1, 2, 4], [1, 2, 4])).reshape(3, -1).T}
    assert set(np.round(np.unique(means), 12)) <= {round(v, 12) for v in attainable}
    assert means.var() == pytest.approx(np.var([1, 2, 4]) / 3, rel=0.06)


def test_hierarchical_wider_than_flat_under_session_effects():
    rng = np.random.default_rng(11)
    sess = np.repeat(np.arange(4), 8)
    b = rng.lognormal(np.repeat(rng.normal(0, 0.05, 4), 8), 0.01)
    c = rng.lognormal(np.repeat(rng.normal(0, 0.05, 4), 8), 0.01)
    flat = ratio_ci(b, c, rng=1, n_resamples=4000)
    hier = ratio_ci(b, c, rng=1, n_resamples=4000, groups=([sess], [sess]))
    assert hier.standard_error > 2 * flat.standard_error


# ---------------------------------------------------------------- errors (each message matched)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"baseline": [1.0]}, r"`baseline` needs at least 2 observations, got 1"),
        ({"candidate": [1.0, np.nan, 2.0]}, r"`candidate` contains NaN or infinite values .*index 1"),
        ({"candidate": [1.0, np.inf]}, r"`candidate` contains NaN or infinite"),
        ({"baseline": [1.0, 0.0, 2.0]}, r"`baseline` must be strictly positive .*index 1"),
        ({"baseline": [[1.0, 2.0]]}, r"`baseline` must be a 1-D array of numbers, got an array of shape \(1, 2\)"),
        ({"baseline": ["a", "b"]}, r"`baseline` must be a 1-D array of numbers; it could not be converted"),
        ({"statistic": "mode"}, r"`statistic` must be one of 'mean', 'median', 'geomean'; got 'mode'"),
        ({"method": "bc"}, r"`method` must be one of 'bca', 'percentile', 'basic'; got 'bc'"),
        ({"confidence_level": 95}, r"`confidence_level` must be a number strictly between 0 and 1, got 95"),
        ({"n_resamples": 1}, r"`n_resamples` must be an integer >= 2, got 1"),
        ({"n_resamples": 10.5}, r"`n_resamples` must be an integer >= 2, got 10.5"),
        ({"rng": np.random.RandomState(0)}, r"`rng` must be None, an int seed.*got RandomState"),
        ({"rng": -1}, r"`rng` seed must be a non-negative integer, got -1"),
    ],
)
def test_ratio_ci_errors(kwargs, match):
    args = {"baseline": [1.0, 2.0, 3.0], "candidate": [2.0, 3.0, 4.0]} | kwargs
    b, c = args.pop("baseline"), args.pop("candidate")
    with pytest.raises(ValueError, match=match):
        ratio_ci(b, c, **args)


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        ([[0, 0, 1]], r"`groups` must be a pair \(baseline_groups, candidate_groups\)"),
        (([[0, 0]], [[0, 1, 1]]), r"`groups` for baseline, level 1: expected 3 labels .*shape \(2,\)"),
        (([[0, 1, 1]], []), r"`groups` for candidate must be a non-empty sequence of label arrays"),
        (([[0, 0, 0]], [[0, 1, 1]]), r"`groups` for baseline: the top level has 1 group; .*at least 2"),
        (([[0, 1, 1], [0, 0, 1]], [[0, 1, 1]]), r"`groups`: baseline has 2 nesting levels but candidate has 1"),
    ],
)
def test_group_errors(groups, match):
    with pytest.raises(ValueError, match=match):
        ratio_ci([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], groups=groups)


@pytest.mark.parametrize(
    ("cells", "match"),
    [
        ([], r"`cells` must be a non-empty sequence of \(baseline, candidate\) array pairs"),
        ([([1.0, 2.0],)], r"`cells\[0\]` must be a \(baseline, candidate\) pair of arrays"),
        ([([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0])], r"`cells\[1\] candidate` needs at least 2"),
    ],
)
def test_batch_errors(cells, match):
    with pytest.raises(ValueError, match=match):
        ratio_ci_batch(cells)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.nan, [1.0, 2.0], [1.0, 2.0]), r"`theta_hat` must be a finite number"),
        ((1.0, [1.0, 2.0], "x"), r"`jackknife` must be a 1-D array of leave-one-out values"),
        ((1.0, [1.0, 2.0], [[1.0, np.nan]]), r"`jackknife\[0\]` contains NaN"),
        ((1.0, [1.0], [[1.0, 2.0]]), r"`bootstrap_distribution` needs at least 2 observations"),
    ],
)
def test_bca_interval_errors(args, match):
    with pytest.raises(ValueError, match=match):
        bca_interval(*args)


def test_expand_reads_a_wider_level_computed_from_t_and_n():
    from scipy.special import ndtr, stdtrit

    from analysis.stats.bootstrap import _expanded_levels

    b = np.array([1.0, 1.1, 1.2, 1.3, 1.4])
    c = 2 * b  # same relative spread: df = 2 (n - 1), factor sqrt(n / (n - 1))
    level = _expanded_levels(0.95, [(b, c)], log_scale=False)[0]
    expected = 2 * ndtr(np.sqrt(5 / 4) * stdtrit(8, 0.975)) - 1
    assert level == pytest.approx(expected, rel=1e-12)
    assert _expanded_levels(0.95, [(np.ones(3), np.ones(3))], log_scale=False)[0] == 0.95


def test_expand_is_the_default_widens_and_notes(pair):
    b, c = pair
    plain = ratio_ci(b, c, rng=1, n_resamples=4999, expand=False)
    wide = ratio_ci(b, c, rng=1, n_resamples=4999)
    assert wide.confidence_interval == ratio_ci(b, c, rng=1, n_resamples=4999, expand=True).confidence_interval
    np.testing.assert_array_equal(wide.bootstrap_distribution, plain.bootstrap_distribution)  # same resamples
    assert wide.confidence_interval.low < plain.confidence_interval.low
    assert wide.confidence_interval.high > plain.confidence_interval.high
    assert wide.confidence_level == 0.95
    assert any("small-sample expansion" in n for n in wide.notes)
    assert not any("small-sample expansion" in n for n in plain.notes)
    batch = ratio_ci_batch([(b, c)], rng=1, n_resamples=4999)[0]
    assert batch.notes == wide.notes
    assert batch.confidence_interval == wide.confidence_interval
    hier = ratio_ci(b, c, rng=1, n_resamples=999, groups=([np.arange(15) % 5], [np.arange(12) % 4]))
    assert any("small-sample expansion" in n for n in hier.notes)


def test_expanded_percentile_interval_reads_the_t_corrected_quantiles(pair):
    # independent check of the expansion on the percentile route: the endpoints are the numpy quantiles of the
    # bootstrap distribution at tails Phi(k t_df^-1(0.025)), k and df from the textbook formulas
    b, c = pair
    res = ratio_ci(b, c, method="percentile", rng=3, n_resamples=4999)
    vb, vc = b.var(ddof=1) / (b.size * b.mean() ** 2), c.var(ddof=1) / (c.size * c.mean() ** 2)
    k = np.sqrt((vb + vc) / (vb * (b.size - 1) / b.size + vc * (c.size - 1) / c.size))
    df = (vb + vc) ** 2 / (vb**2 / (b.size - 1) + vc**2 / (c.size - 1))
    tail = stats.norm.cdf(k * stats.t.ppf(0.025, df))
    expected = np.quantile(res.bootstrap_distribution, [tail, 1 - tail])
    np.testing.assert_allclose(res.confidence_interval, expected, rtol=1e-12)


def test_expand_error():
    with pytest.raises(ValueError, match=r"`expand` must be True or False, got 'yes'"):
        ratio_ci([1.0, 2.0], [1.0, 2.0], expand="yes")


def test_progress_bar_option(pair, capsys):
    b, c = pair
    groups = ([np.arange(15) % 5], [np.arange(12) % 4])
    quiet = ratio_ci(b, c, rng=1, n_resamples=199, groups=groups)
    shown = ratio_ci(b, c, rng=1, n_resamples=199, groups=groups, progress=True)
    np.testing.assert_array_equal(quiet.bootstrap_distribution, shown.bootstrap_distribution)
    assert "hierarchical bootstrap" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"`progress` must be True or False, got 1"):
        ratio_ci(b, c, progress=1)


# ---------------------------------------------------------------- streaming route for large samples


def _stream_sums(x: np.ndarray, lam: float, n_resamples: int, seed: int) -> np.ndarray:
    """Resampled sums of ``x`` by the streaming kernel (baseline a row of ones: its resampled sum is the count
    total, which must be exactly n, so the ratio times n is the candidate's resampled sum)."""
    from analysis.stats._lazy import kernels

    k = kernels()
    n = x.size
    rng = np.random.default_rng(seed)
    blocks = -(-n_resamples // k.BLOCK)
    thr = k.poisson_thresholds(lam)
    tab = k.poisson_table(thr)
    none = np.empty((1, 0))
    ratio, *_ = k.ratio_of_sums(
        np.ones((1, n)), x[None, :], n_resamples, k.make_states(rng, blocks), k.make_states(rng, blocks),
        np.ones(1), False, thr, thr, tab, tab, none, none,
    )
    return ratio[0] * n


def test_poisson_thresholds_invert_the_poisson_cdf():
    from analysis.stats._lazy import kernels

    thr = kernels().poisson_thresholds(0.9)
    u = np.random.default_rng(0).integers(0, 2**32, size=400_000, dtype=np.uint64)
    counts = (u[:, None] >= thr[None, :]).sum(axis=1)
    values, freq = np.unique(counts, return_counts=True)
    expected = stats.poisson.pmf(values, 0.9) * u.size
    expected[-1] += stats.poisson.sf(values[-1], 0.9) * u.size
    assert stats.chisquare(freq, expected * freq.sum() / expected.sum()).pvalue > 1e-3
    assert thr.size >= 5 and stats.poisson.sf(thr.size, 0.9) < 2.0**-33
    # the lookup table gives the same count as the thresholds wherever it is not marked ambiguous (-1)
    tab = kernels().poisson_table(thr)
    bucket = tab[(u >> np.uint64(32 - kernels().TABLE_BITS)).astype(np.int64)]
    known = bucket >= 0
    np.testing.assert_array_equal(bucket[known], counts[known])
    assert known.mean() > 0.99


@pytest.mark.parametrize("lam", [0.5, 0.9])
def test_streaming_counts_are_exactly_multinomial(lam):
    # x = 1, 10, 100, 1000: a resampled sum spells the counts (c0, c1, c2, c3) in decimal digits, so the law of
    # the sums is the law of the counts; compare with scipy's multinomial pmf over all 35 compositions of 4
    x = np.array([1.0, 10.0, 100.0, 1000.0])
    sums = np.rint(_stream_sums(x, lam, 60_000, 1)).astype(int)
    digits = np.stack([sums // 10**j % 10 for j in range(4)], axis=1)
    assert (digits.sum(axis=1) == 4).all()  # every resample has exactly n draws
    compositions = [c for c in np.ndindex(5, 5, 5, 5) if sum(c) == 4]
    observed = np.array([np.sum(sums == c[0] + 10 * c[1] + 100 * c[2] + 1000 * c[3]) for c in compositions])
    expected = np.array([stats.multinomial.pmf(c, 4, [0.25] * 4) for c in compositions]) * sums.size
    assert observed.sum() == sums.size
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_streaming_mean_has_the_bootstrap_variance():
    x = np.random.default_rng(3).lognormal(size=501)
    means = _stream_sums(x, 1 - 4 / np.sqrt(501), 40_000, 4) / 501
    assert means.mean() == pytest.approx(x.mean(), abs=4 * x.std() / np.sqrt(501 * 40_000))
    assert means.var() == pytest.approx(x.var() / 501, rel=0.03)  # plug-in variance / n, as for the gathers


@pytest.mark.parametrize("statistic", ["mean", "geomean", "median"])
def test_streaming_route_agrees_with_the_random_index_route(statistic, monkeypatch):
    import analysis.stats.bootstrap as boot

    rng = np.random.default_rng(5)
    b, c = rng.lognormal(0, 0.05, 3000), rng.lognormal(0.01, 0.05, 2999)
    gathered = ratio_ci(b, c, statistic=statistic, n_resamples=20000, rng=1, expand=False)
    monkeypatch.setattr(boot, "STREAM_MIN", 2)
    streamed = ratio_ci(b, c, statistic=statistic, n_resamples=20000, rng=2, expand=False)
    tol = (0.12 if statistic != "median" else 0.35) * gathered.standard_error
    assert streamed.confidence_interval.low == pytest.approx(gathered.confidence_interval.low, abs=tol)
    assert streamed.confidence_interval.high == pytest.approx(gathered.confidence_interval.high, abs=tol)
    assert streamed.standard_error == pytest.approx(gathered.standard_error, rel=0.03 if statistic != "median" else 0.06)
    assert streamed.acceleration == gathered.acceleration
