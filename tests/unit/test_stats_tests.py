"""Unit tests of analysis.stats.tests against scipy: Welch on logs, Mann-Whitney, permutation test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.stats import TestResult, mann_whitney, permutation_test_ratio, welch_log

pytestmark = pytest.mark.unit

FUNCS = {"mean": np.mean, "median": np.median, "geomean": stats.gmean}
ALTS = ["two-sided", "greater", "less"]


@pytest.fixture
def pair():
    rng = np.random.default_rng(7)
    return rng.lognormal(0, 0.05, size=14), rng.lognormal(0.03, 0.08, size=11)


@pytest.mark.parametrize("alternative", ALTS)
def test_welch_log_equals_scipy(pair, alternative):
    b, c = pair
    ours = welch_log(b, c, alternative=alternative)
    ref = stats.ttest_ind(np.log(c), np.log(b), equal_var=False, alternative=alternative)
    assert isinstance(ours, TestResult)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
    assert ours.df == pytest.approx(ref.df, rel=1e-12)
    assert ours.to_frame().loc[0, "pvalue"] == ours.pvalue
    assert "p-value" in ours.summary()


@pytest.mark.parametrize(("c", "stat", "p"), [([2.0, 2.0], 0.0, 1.0), ([3.0, 3.0], math.inf, 0.0)])
def test_welch_log_zero_variance_documented(c, stat, p):
    res = welch_log([2.0, 2.0, 2.0], c)
    assert res.statistic == stat and res.pvalue == p
    assert "zero variance" in res.notes[0]


@pytest.mark.parametrize("alternative", ALTS)
def test_mann_whitney_equals_scipy(pair, alternative):
    b, c = pair
    ours = mann_whitney(b, c, alternative=alternative)
    ref = stats.mannwhitneyu(c, b, alternative=alternative)
    assert ours.statistic == ref.statistic
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-12)


def test_mann_whitney_all_tied_documented():
    res = mann_whitney([1.0, 1.0, 1.0], [1.0, 1.0])
    assert (res.statistic, res.pvalue) == (3.0, 1.0)
    assert "tied" in res.notes[0]


@pytest.mark.parametrize("statistic", list(FUNCS))
@pytest.mark.parametrize("alternative", ALTS)
def test_permutation_exact_equals_scipy(statistic, alternative):
    rng = np.random.default_rng(3)
    b, c = rng.lognormal(0, 0.1, 6), rng.lognormal(0.1, 0.1, 5)  # C(11, 6) = 462 splits: exact in both
    f = FUNCS[statistic]
    ours = permutation_test_ratio(b, c, statistic=statistic, alternative=alternative, rng=0)
    ref = stats.permutation_test(
        (b, c),
        lambda x, y, axis=-1: np.log(f(y, axis=axis) / f(x, axis=axis)),
        vectorized=True,
        alternative=alternative,
        n_resamples=9999,
    )
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert ours.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
    np.testing.assert_allclose(np.sort(ours.null_distribution), np.sort(ref.null_distribution), rtol=1e-9)
    assert "exact" in ours.notes[0]


@pytest.mark.parametrize("statistic", list(FUNCS))
def test_permutation_randomized_agrees_with_scipy_within_mc_error(statistic, pair):
    b, c = pair
    f = FUNCS[statistic]
    ours = permutation_test_ratio(b, c, statistic=statistic, n_resamples=20000, rng=1)
    ref = stats.permutation_test(
        (b, c),
        lambda x, y, axis=-1: np.log(f(y, axis=axis) / f(x, axis=axis)),
        vectorized=True,
        n_resamples=20000,
        rng=2,
    )
    se = math.sqrt(2 * ref.pvalue * (1 - ref.pvalue) / 20000) * 2  # two-sided doubles the count
    assert ours.pvalue == pytest.approx(ref.pvalue, abs=5 * se + 1e-4)
    # null distributions agree: same mean and spread
    assert np.std(ours.null_distribution) == pytest.approx(np.std(ref.null_distribution), rel=0.03)


def test_permutation_same_seed_same_pvalue(pair):
    b, c = pair
    r1 = permutation_test_ratio(b, c, rng=5, n_resamples=999)
    r2 = permutation_test_ratio(b, c, rng=5, n_resamples=999)
    assert r1.pvalue == r2.pvalue


def test_permutation_all_equal_gives_pvalue_one():
    assert permutation_test_ratio([2.0] * 8, [2.0] * 8, rng=0).pvalue == 1.0


@pytest.mark.parametrize(
    ("func", "kwargs", "match"),
    [
        (welch_log, {"alternative": "bigger"}, r"`alternative` must be one of 'two-sided', 'greater', 'less'"),
        (mann_whitney, {"alternative": "x"}, r"`alternative` must be one of"),
        (permutation_test_ratio, {"statistic": "max"}, r"`statistic` must be one of 'mean', 'geomean', 'median'"),
        (permutation_test_ratio, {"n_resamples": 0}, r"`n_resamples` must be an integer >= 1, got 0"),
        (permutation_test_ratio, {"alternative": "x"}, r"`alternative` must be one of"),
        (permutation_test_ratio, {"rng": "seed"}, r"`rng` must be None, an int seed"),
    ],
)
def test_errors(func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], **kwargs)


@pytest.mark.parametrize("func", [welch_log, permutation_test_ratio])
def test_non_positive_rejected_for_log_ratio(func):
    with pytest.raises(ValueError, match=r"`candidate` must be strictly positive"):
        func([1.0, 2.0], [-1.0, 2.0])


def test_mann_whitney_accepts_any_sign_but_not_nan():
    assert mann_whitney([-1.0, 0.0, 1.0], [2.0, 3.0]).pvalue > 0
    with pytest.raises(ValueError, match=r"`baseline` contains NaN"):
        mann_whitney([np.nan, 1.0], [1.0, 2.0])


def test_exact_enumeration_is_capped():
    rng = np.random.default_rng(4)
    b, c = rng.lognormal(size=10), rng.lognormal(size=10)  # C(20, 10) = 184,756 splits
    exact = permutation_test_ratio(b, c, n_resamples=200_000, rng=0)
    assert exact.null_distribution.size == 184_756 and "exact" in exact.notes[0]
    b, c = rng.lognormal(size=11), rng.lognormal(size=11)  # C(22, 11) = 705,432 > cap: randomized
    randomized = permutation_test_ratio(b, c, n_resamples=1_000_000, rng=0)
    assert randomized.null_distribution.size == 1_000_000 and not randomized.notes
