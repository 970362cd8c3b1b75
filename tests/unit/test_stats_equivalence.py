"""Unit tests of analysis.stats.equivalence: welch-log TOST == statsmodels ttost_ind; bootstrap route."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttost_ind

from analysis.stats import TOSTResult, tost_ratio

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("margin", [0.02, 0.05, 0.2])
def test_welch_log_equals_statsmodels_ttost_ind(seed, margin):
    rng = np.random.default_rng(seed)
    b = rng.lognormal(0, 0.04, size=rng.integers(3, 30))
    c = rng.lognormal(rng.normal(0, 0.03), 0.06, size=rng.integers(3, 30))
    ours = tost_ratio(b, c, margin=margin, alpha=0.05)
    p, lower, upper = ttost_ind(c, b, 1 / (1 + margin), 1 + margin, usevar="unequal", transform=np.log)
    # same on the logs with explicit log bounds
    p2, _, _ = ttost_ind(np.log(c), np.log(b), -np.log1p(margin), np.log1p(margin), usevar="unequal")
    assert isinstance(ours, TOSTResult)
    assert abs(ours.pvalue - p) < 1e-10 and abs(ours.pvalue - p2) < 1e-10
    assert abs(ours.pvalue_lower - lower[1]) < 1e-10
    assert abs(ours.pvalue_upper - upper[1]) < 1e-10
    assert ours.equivalent == (p < 0.05)
    assert ours.bounds == pytest.approx((1 / (1 + margin), 1 + margin))
    assert ours.estimate == pytest.approx(np.exp(np.log(c).mean() - np.log(b).mean()))


def test_welch_log_ci_is_the_90_percent_welch_interval():
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    rng = np.random.default_rng(1)
    b, c = rng.lognormal(0, 0.05, 12), rng.lognormal(0.01, 0.05, 9)
    ours = tost_ratio(b, c)
    cm = CompareMeans(DescrStatsW(np.log(c)), DescrStatsW(np.log(b)))
    lo, hi = cm.tconfint_diff(alpha=0.10, usevar="unequal")
    assert ours.confidence_interval.low == pytest.approx(np.exp(lo), rel=1e-12)
    assert ours.confidence_interval.high == pytest.approx(np.exp(hi), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_bootstrap_route_consistent(seed):
    rng = np.random.default_rng(seed)
    b, c = rng.lognormal(0, 0.04, 15), rng.lognormal(rng.normal(0, 0.03), 0.04, 15)
    res = tost_ratio(b, c, method="bootstrap", rng=seed, n_resamples=4999)
    lo, hi = res.confidence_interval
    assert res.equivalent == (lo > res.bounds[0] and hi < res.bounds[1])
    # the BCa-inverted p-value is on the same side of alpha as the interval's verdict, except at the edge
    if min(abs(lo - res.bounds[0]), abs(hi - res.bounds[1])) > 0.002:
        assert (res.pvalue < res.alpha) == res.equivalent
    assert "90 % CI" in res.summary()
    assert res.to_frame().loc[0, "equivalent"] == res.equivalent


def test_bootstrap_percentile_pvalue_is_tail_fraction():
    rng = np.random.default_rng(2)
    b, c = rng.lognormal(0, 0.04, 15), rng.lognormal(0.02, 0.04, 15)
    res = tost_ratio(b, c, method="bootstrap", ci_method="percentile", rng=3, n_resamples=4999, expand=False)
    from analysis.stats import ratio_ci

    dist = ratio_ci(b, c, method="percentile", confidence_level=0.9, rng=3, n_resamples=4999).bootstrap_distribution
    assert res.pvalue_upper == pytest.approx(max(np.mean(dist >= 1.05), 0.5 / 4999), abs=1e-12)


def test_bootstrap_route_expanded_by_default_pvalue_mapped_back():
    # default: the (1 - 2 alpha) interval is ratio_ci's expanded one, and the bootstrap tail q is mapped back to
    # the nominal scale t_df(Phi^-1(q) / k), k and df from the textbook formulas
    rng = np.random.default_rng(2)
    b, c = rng.lognormal(0, 0.04, 8), rng.lognormal(0.02, 0.04, 8)
    res = tost_ratio(b, c, method="bootstrap", ci_method="percentile", rng=3, n_resamples=4999)
    from analysis.stats import ratio_ci

    ci = ratio_ci(b, c, method="percentile", confidence_level=0.9, rng=3, n_resamples=4999)
    assert res.confidence_interval == ci.confidence_interval
    assert any("small-sample expansion" in n for n in res.notes)
    vb, vc = b.var(ddof=1) / (8 * b.mean() ** 2), c.var(ddof=1) / (8 * c.mean() ** 2)
    k = np.sqrt((vb + vc) / ((vb + vc) * 7 / 8))
    df = (vb + vc) ** 2 / ((vb**2 + vc**2) / 7)
    q = max(np.mean(ci.bootstrap_distribution >= 1.05), 0.5 / 4999)
    assert res.pvalue_upper == pytest.approx(stats.t.cdf(stats.norm.ppf(q) / k, df), rel=1e-9)
    plain = tost_ratio(b, c, method="bootstrap", ci_method="percentile", rng=3, n_resamples=4999, expand=False)
    assert res.pvalue_upper > plain.pvalue_upper  # the expanded test is the more cautious one


@pytest.mark.parametrize("method", ["welch-log", "bootstrap"])
@pytest.mark.parametrize(("c", "equivalent"), [([1.02] * 4, True), ([1.2] * 4, False)])
def test_zero_variance_documented(method, c, equivalent):
    res = tost_ratio([1.0] * 4, c, method=method, rng=0, n_resamples=999)
    assert res.equivalent is equivalent
    assert res.pvalue == (0.0 if equivalent else 1.0)
    assert res.confidence_interval.low == res.confidence_interval.high
    assert any("zero variance" in n for n in res.notes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"margin": 0}, r"`margin` must be a relative margin in \(0, 10\)"),
        ({"margin": "5%"}, r"`margin` must be a relative margin"),
        ({"alpha": 0.5}, r"`alpha` must be a number strictly between 0 and 0.5"),
        ({"method": "t"}, r"`method` must be one of 'welch-log', 'bootstrap'"),
        ({"statistic": "median"}, r"`statistic`='median' needs method='bootstrap'"),
        ({"ci_method": "basic", "method": "bootstrap"}, r"`ci_method` must be one of 'bca', 'percentile'"),
        ({"n_resamples": 1}, r"`n_resamples` must be an integer >= 2"),
        ({"expand": "yes"}, r"`expand` must be True or False, got 'yes'"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tost_ratio([1.0, 1.1, 1.2], [1.0, 1.05, 1.1], **kwargs)


def test_sample_errors():
    with pytest.raises(ValueError, match=r"`baseline` needs at least 2 observations"):
        tost_ratio([1.0], [1.0, 2.0])
