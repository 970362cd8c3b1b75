"""analysis.stats.small_sample: the t routes on logs against scipy, the variance prior against its definition."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import special, stats

from analysis.stats import (
    log_t,
    moderated_variances,
    paired_log_t,
    permutation_min_pvalue,
    permutation_test_ratio,
)
from analysis.stats.small_sample import VariancePrior

pytestmark = pytest.mark.unit

B = np.array([101.0, 97.5, 103.2])
C = np.array([51.0, 49.2, 55.1, 50.3])


def test_log_t_without_prior_is_scipy_welch_on_logs():
    res = log_t(B, C)
    ref = stats.ttest_ind(np.log(C), np.log(B), equal_var=False)
    assert res.method == "Welch t (log)"
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    assert res.df == pytest.approx(ref.df, rel=1e-10)
    ci = ref.confidence_interval(0.99)
    lo, hi = res.confidence_interval(0.99)
    assert (lo, hi) == pytest.approx((math.exp(ci.low), math.exp(ci.high)), rel=1e-10)
    assert res.estimate == pytest.approx(stats.gmean(C) / stats.gmean(B), rel=1e-12)


def test_paired_log_t_is_scipy_ttest_rel_on_logs():
    b, c = np.array([100.0, 104.0, 98.0, 110.0, 95.0]), np.array([90.0, 95.0, 87.0, 101.0, 85.0])
    res = paired_log_t(b, c)
    ref = stats.ttest_rel(np.log(c), np.log(b))
    assert res.method == "paired t (log)" and res.df == 4
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert res.confidence_interval(0.95) == pytest.approx((math.exp(ci.low), math.exp(ci.high)), rel=1e-10)
    with pytest.raises(ValueError, match=r"candidate: a paired test needs one run of each model per round"):
        paired_log_t(b, c[:4])


def test_tost_is_dual_to_the_interval():
    res = log_t(B * 1.01, B)  # ratio near 1, small spread
    alpha, margin = 0.05, 0.05
    lo, hi = res.confidence_interval(1 - 2 * alpha)
    inside = 1 / (1 + margin) < lo and hi < 1 + margin
    assert (res.tost_pvalue(margin) < alpha) == inside
    # the one-sided p-value at the bound equals alpha exactly when the bound is the interval's end
    bound = math.log(hi)
    p = special.stdtr(res.df, (res.log_effect - bound) / res.standard_error)
    assert p == pytest.approx(alpha, rel=1e-8)


def test_prior_recovers_a_common_variance_and_lends_degrees_of_freedom():
    rng = np.random.default_rng(4)
    sd = 0.05
    x = rng.normal(0, sd, size=(400, 3))
    prior = moderated_variances(x.var(axis=1, ddof=1), np.full(400, 2))
    assert prior.df > 20  # one common variance: a large prior df
    assert math.sqrt(prior.variance) == pytest.approx(sd, rel=0.1)
    # spreads that disagree tenfold: a small prior df
    sds = np.repeat([0.005, 0.05], 200)
    y = rng.normal(0, 1, size=(400, 3)) * sds[:, None]
    assert moderated_variances(y.var(axis=1, ddof=1), np.full(400, 2)).df < 2
    assert moderated_variances([0.1, 0.2], [2, 2]).df == 0  # too few cells: no prior


def test_prior_matches_scipy_maximum_likelihood_of_the_f_distribution():
    # independent reference: scipy's generic ML fit of s2 = s0^2 F(2, d0), dfn and location held fixed
    rng = np.random.default_rng(5)
    for n, d0 in ((50, 12.0), (400, 8.0)):
        s2 = 0.0025 * rng.chisquare(2, n) / 2 / (rng.chisquare(d0, n) / d0)
        prior = moderated_variances(s2, np.full(n, 2))
        _, dfd, _, scale = stats.f.fit(s2, fdfn=2, floc=0)
        assert prior.df == pytest.approx(dfd, rel=2e-3) and prior.variance == pytest.approx(scale, rel=1e-3)


def test_prior_df_is_capped_at_the_other_cells_degrees_of_freedom():
    # 6 cells of 2 df sharing one variance: the prior carries at most the other cells' 10 df
    s2 = 0.0025 * np.array([0.9, 1.0, 1.1, 0.95, 1.05, 1.0])
    prior = moderated_variances(s2, np.full(6, 2))
    assert prior.df == pytest.approx(10.0, rel=1e-3)
    assert prior.variance == pytest.approx(0.0025, rel=0.1)


def test_moderation_only_raises_a_variance():
    prior = VariancePrior(6.0, 0.01)
    assert prior.moderate(0.04, 2) == (0.04, 8.0)  # a noisy cell keeps its own variance
    v, df = prior.moderate(0.001, 2)
    assert v == pytest.approx((6 * 0.01 + 2 * 0.001) / 8) and df == 8.0
    res = log_t(B, C, prior_baseline=prior, prior_candidate=prior)
    assert res.method == "moderated Welch t (log)" and res.df > log_t(B, C).df


@pytest.mark.parametrize(("nb", "nc"), [(2, 2), (3, 3), (3, 4), (4, 4), (5, 5)])
def test_permutation_min_pvalue_is_what_the_exact_test_attains(nb, nc):
    # perfectly separated samples: the most extreme split of all
    b, c = np.arange(1.0, nb + 1), np.arange(100.0, 100 + nc)
    got = permutation_test_ratio(b, c, n_resamples=10**6, rng=0).pvalue
    assert got == pytest.approx(permutation_min_pvalue(nb, nc), rel=1e-12)
    assert permutation_min_pvalue(nb, nc) == pytest.approx(2 / len(list(itertools.combinations(range(nb + nc), nb))))


def test_prior_scale_falls_back_to_bisection_where_newton_stalls():
    # started 60 e-folds away, Newton's clipped steps of 2 cannot arrive in 30 iterations: bisection must find
    # the same roots as Newton from a good start
    from analysis.stats.small_sample import _ProfileLikelihood

    rng = np.random.default_rng(3)
    s2 = 0.0025 * rng.chisquare(2, 12) / 2
    d, index = np.full(12, 2.0), np.repeat([0, 1], 6)
    want = _ProfileLikelihood(s2, d, index, 2).log_scales(8.0)
    far = _ProfileLikelihood(s2, d, index, 2)
    far.log_s0 = np.array([60.0, -60.0])
    np.testing.assert_allclose(far.log_scales(8.0), want, rtol=0, atol=1e-8)
