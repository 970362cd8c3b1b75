"""Two-sample hypothesis tests on the ratio candidate / baseline: permutation, Welch on logs, Mann-Whitney.

All return :class:`~analysis.stats._results.TestResult`; the sign convention is the same everywhere: the
statistic is positive when the candidate is larger, ``alternative="greater"`` means "candidate larger".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from scipy import stats as _sps
from scipy.special import stdtr

from . import _twins
from ._lazy import run
from ._results import TestResult
from ._validation import as_rng, as_sample, check_choice, check_n_resamples

__all__ = ["permutation_test_ratio", "welch_log", "mann_whitney", "ALTERNATIVES"]


def _p_less(null: np.ndarray, observed: float, adjustment: int) -> float:
    gamma = abs(np.finfo(float).eps * 100 * observed)
    return (np.sum(null <= observed + gamma) + adjustment) / (null.size + adjustment)


def _p_greater(null: np.ndarray, observed: float, adjustment: int) -> float:
    gamma = abs(np.finfo(float).eps * 100 * observed)
    return (np.sum(null >= observed - gamma) + adjustment) / (null.size + adjustment)


def _p_two_sided(null: np.ndarray, observed: float, adjustment: int) -> float:
    return min(1.0, 2 * min(_p_less(null, observed, adjustment), _p_greater(null, observed, adjustment)))


#: alternative -> p-value from a null distribution (scipy.stats.permutation_test's rules, incl. its tolerance)
ALTERNATIVES: dict[str, Callable[[np.ndarray, float, int], float]] = {
    "two-sided": _p_two_sided,
    "greater": _p_greater,
    "less": _p_less,
}


# statistic -> (transform of the pooled values, null log-ratios from sums/medians)
def _null_sum_based(log_scale: bool):
    def null(pooled: np.ndarray, k: int, n_resamples: int, rng, exact: bool) -> np.ndarray:
        z = np.log(pooled) if log_scale else pooled
        total = z.sum()
        m = z.size - k
        if exact:
            idx = np.array(list(itertools.combinations(range(z.size), k)))
            sums = z[idx].sum(axis=1)
        else:
            sums = run("permutation_sums", k * n_resamples, z, k, n_resamples, _states(rng, n_resamples))
        if log_scale:
            return (total - sums) / m - sums / k
        return np.log(((total - sums) / m) / (sums / k))

    return null


def _null_median(pooled, k, n_resamples, rng, exact):
    if exact:
        idx = np.array(list(itertools.combinations(range(pooled.size), k)))
        mask = np.zeros((idx.shape[0], pooled.size), dtype=bool)
        np.put_along_axis(mask, idx, True, axis=1)
        med_b = np.median(pooled[idx], axis=1)
        rest = np.broadcast_to(pooled, mask.shape)[~mask].reshape(idx.shape[0], -1)
        med_c = np.median(rest, axis=1)
    else:
        states = _states(rng, n_resamples)
        med_b, med_c = run("permutation_medians", 3 * pooled.size * n_resamples, pooled, k, n_resamples, states)
    return np.log(med_c / med_b)


def _states(rng, n_resamples):
    return _twins.make_states(rng, -(-n_resamples // _twins.BLOCK))


#: largest number of splits enumerated exactly (bounded memory: splits x n_b indices)
_EXACT_MAX = 250_000

_POINT = {
    "mean": lambda b, c: math.log(c.mean() / b.mean()),
    "geomean": lambda b, c: float(np.log(c).mean() - np.log(b).mean()),
    "median": lambda b, c: math.log(np.median(c) / np.median(b)),
}
_NULL = {"mean": _null_sum_based(False), "geomean": _null_sum_based(True), "median": _null_median}


def _permutation_test_ratio_iv(baseline, candidate, statistic, alternative, n_resamples, rng):
    b = as_sample(baseline, "baseline")
    c = as_sample(candidate, "candidate")
    check_choice(statistic, "statistic", _NULL)
    check_choice(alternative, "alternative", ALTERNATIVES)
    n_resamples = check_n_resamples(n_resamples)
    return b, c, n_resamples, as_rng(rng)


def permutation_test_ratio(
    baseline,
    candidate,
    *,
    statistic: str = "mean",
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    rng=None,
) -> TestResult:
    """Permutation test of ``log(statistic(candidate) / statistic(baseline))``.

    The labels of the pooled sample are permuted; when the number of distinct splits
    ``C(n_b + n_c, n_b)`` is at most ``n_resamples`` the null distribution is enumerated exactly, otherwise
    ``n_resamples`` random splits are drawn and the p-value counts the observed split
    (``(k + 1) / (B + 1)``), as ``scipy.stats.permutation_test`` does (same tolerance for ties). Exact
    enumeration is capped at 250,000 splits (memory); above that the test is randomized.

    Parameters
    ----------
    baseline, candidate : array_like
        Strictly positive 1-D samples (at least 2 each).
    statistic : {"mean", "median", "geomean"}
    alternative : {"two-sided", "greater", "less"}
        ``"greater"``: the candidate's statistic is larger.
    n_resamples : int
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    TestResult
        ``statistic`` is the observed log ratio; ``null_distribution`` the permutation distribution.
    """
    b, c, n_resamples, rng = _permutation_test_ratio_iv(
        baseline, candidate, statistic, alternative, n_resamples, rng
    )
    pooled = np.concatenate([b, c])
    n_splits = math.comb(pooled.size, b.size)
    exact = n_splits <= min(n_resamples, _EXACT_MAX)
    null = _NULL[statistic](pooled, b.size, n_resamples, rng, exact)
    observed = _POINT[statistic](b, c)
    pvalue = float(np.clip(ALTERNATIVES[alternative](null, observed, 0 if exact else 1), 0, 1))
    notes = (f"exact: all {null.size} splits enumerated",) if exact else ()
    return TestResult(
        statistic=observed,
        pvalue=pvalue,
        alternative=alternative,
        method=f"permutation test, log ratio of {statistic}s",
        null_distribution=null,
        notes=notes,
    )


def _welch_log_iv(baseline, candidate, alternative):
    b = as_sample(baseline, "baseline")
    c = as_sample(candidate, "candidate")
    check_choice(alternative, "alternative", ALTERNATIVES)
    return b, c


def _zero_variance_t(diff: float, alternative: str) -> tuple[float, float]:
    """Limit of the t-test when both samples are constant: t is 0 or +/-inf."""
    stat = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    p = {
        "two-sided": 1.0 if diff == 0 else 0.0,
        "greater": 1.0 if diff <= 0 else 0.0,
        "less": 1.0 if diff >= 0 else 0.0,
    }[alternative]
    return stat, p


def welch_log(baseline, candidate, *, alternative: str = "two-sided") -> TestResult:
    """Welch's t-test on the logs: ``scipy.stats.ttest_ind(log(candidate), log(baseline), equal_var=False)``.

    Computed directly (Welch-Satterthwaite df, ``scipy.special.stdtr``): the same numbers as scipy without its
    per-call overhead, which matters in simulations and reports of many cells.

    It tests the ratio of geometric means (the mean log ratio). When both samples are constant the t statistic
    is documented as its limit (0 if the logs are equal, else +/-inf, p-value 1 or 0) with a note.

    Parameters
    ----------
    baseline, candidate : array_like
        Strictly positive 1-D samples (at least 2 each).
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    TestResult
    """
    b, c = _welch_log_iv(baseline, candidate, alternative)
    lb, lc = np.log(b), np.log(c)
    if np.ptp(lb) == 0 and np.ptp(lc) == 0:
        stat, p = _zero_variance_t(float(lc[0] - lb[0]), alternative)
        return TestResult(
            statistic=stat,
            pvalue=p,
            alternative=alternative,
            method="Welch t-test on logs",
            df=float(b.size + c.size - 2),
            notes=("zero variance: both samples are constant; the t statistic is its limit (0 or +/-inf)",),
        )
    vb, vc = lb.var(ddof=1) / lb.size, lc.var(ddof=1) / lc.size
    t = float((lc.mean() - lb.mean()) / math.sqrt(vb + vc))
    df = float((vb + vc) ** 2 / (vb**2 / (lb.size - 1) + vc**2 / (lc.size - 1)))
    return TestResult(
        statistic=t,
        pvalue=float(_T_PVALUE[alternative](t, df)),
        alternative=alternative,
        method="Welch t-test on logs",
        df=df,
    )


#: alternative -> p-value of a t statistic (scipy.special.stdtr is the t CDF; no per-call scipy.stats overhead)
_T_PVALUE = {
    "two-sided": lambda t, df: min(1.0, 2.0 * stdtr(df, -abs(t))),
    "greater": lambda t, df: stdtr(df, -t),
    "less": lambda t, df: stdtr(df, t),
}


def mann_whitney(baseline, candidate, *, alternative: str = "two-sided") -> TestResult:
    """Mann-Whitney U test, ``scipy.stats.mannwhitneyu(candidate, baseline)`` (U of the candidate).

    When all observations are tied the test has no information: U = n_b n_c / 2 and p-value 1, with a note.

    Parameters
    ----------
    baseline, candidate : array_like
        1-D samples (at least 2 each; any sign).
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    TestResult
    """
    b, c = _mann_whitney_iv(baseline, candidate, alternative)
    if np.ptp(np.concatenate([b, c])) == 0:
        return TestResult(
            statistic=b.size * c.size / 2,
            pvalue=1.0,
            alternative=alternative,
            method="Mann-Whitney U",
            notes=("all observations are tied: U = n_b n_c / 2 and the p-value is 1",),
        )
    res = _sps.mannwhitneyu(c, b, alternative=alternative)
    return TestResult(
        statistic=float(res.statistic), pvalue=float(res.pvalue), alternative=alternative, method="Mann-Whitney U"
    )


def _mann_whitney_iv(baseline, candidate, alternative):
    b = as_sample(baseline, "baseline", positive=False)
    c = as_sample(candidate, "candidate", positive=False)
    check_choice(alternative, "alternative", ALTERNATIVES)
    return b, c
