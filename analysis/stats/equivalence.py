"""Equivalence of two PV models within a relative margin: TOST on the ratio candidate / baseline.

The bounds are symmetric on the log scale, ``(1 / (1 + margin), 1 + margin)``, so "within +/-5 %" treats
"5 % faster" and "5 % slower" alike. Equivalence is declared when the (1 - 2 alpha) confidence interval of the
ratio lies strictly inside the bounds, which is the same as both one-sided tests rejecting at level alpha
(Schuirmann 1987).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.special import ndtr, ndtri, stdtr, stdtrit

from ._results import ConfidenceInterval, TOSTResult
from ._validation import as_rng, as_sample, check_choice, check_n_resamples, check_unit_interval
from .bootstrap import STATISTICS, _expansion, _nominal_tail, ratio_ci

__all__ = ["tost_ratio", "TOST_METHODS", "equivalence_bounds"]


def equivalence_bounds(margin: float) -> tuple[float, float]:
    """``(1 / (1 + margin), 1 + margin)``."""
    return 1.0 / (1.0 + margin), 1.0 + margin


def _tost_welch_log(b, c, *, margin, alpha, **_):
    lb, lc = np.log(b), np.log(c)
    low, upp = (math.log(v) for v in equivalence_bounds(margin))
    d = float(lc.mean() - lb.mean())
    vb, vc = lb.var(ddof=1) / lb.size, lc.var(ddof=1) / lc.size
    se = math.sqrt(vb + vc)
    notes = []
    if se == 0:
        # both samples constant: the CI is the point; each one-sided test rejects iff the point is inside
        p_lo = 0.0 if d > low else 1.0
        p_hi = 0.0 if d < upp else 1.0
        ci = (d, d)
        notes.append("zero variance: both samples are constant; the CI is the point estimate [r, r]")
    else:
        df = (vb + vc) ** 2 / (vb**2 / (lb.size - 1) + vc**2 / (lc.size - 1))
        p_lo = float(stdtr(df, -(d - low) / se))
        p_hi = float(stdtr(df, (d - upp) / se))
        half = float(stdtrit(df, 1 - alpha)) * se
        ci = (d - half, d + half)
    return math.exp(d), ConfidenceInterval(math.exp(ci[0]), math.exp(ci[1])), p_lo, p_hi, notes


def _bca_one_sided_p(res, bound: float, side: str) -> float:
    """Achieved significance of 'ratio > bound' (side='lower') or 'ratio < bound' (side='upper').

    Inverts the BCa (or percentile, z0 = a = 0) quantile map: the level at which ``bound`` is exactly an
    endpoint of the one-sided interval (Efron & Tibshirani 1993, sec. 15.4, "bootstrap confidence levels").
    """
    dist = res.bootstrap_distribution
    B = dist.size
    z0 = res.bias_correction or 0.0
    a = res.acceleration or 0.0
    if side == "lower":
        q = np.count_nonzero(dist <= bound) / B
    else:
        q = np.count_nonzero(dist >= bound) / B
        z0 = -z0
        a = -a
    q = min(max(q, 0.5 / B), 1 - 0.5 / B)
    w = ndtri(q) - z0
    return float(ndtr(w / (1 + a * w) - z0))


def _tost_bootstrap(b, c, *, margin, alpha, n_resamples, rng, statistic, ci_method, expand):
    res = ratio_ci(
        b,
        c,
        statistic=statistic,
        method=ci_method,
        confidence_level=1 - 2 * alpha,
        n_resamples=n_resamples,
        rng=rng,
        expand=expand,
    )
    lo_b, hi_b = equivalence_bounds(margin)
    notes = list(res.notes)
    if res.confidence_interval.low == res.confidence_interval.high:  # documented point-mass case
        p_lo = 0.0 if res.estimate > lo_b else 1.0
        p_hi = 0.0 if res.estimate < hi_b else 1.0
    else:
        p_lo = _bca_one_sided_p(res, lo_b, "lower")
        p_hi = _bca_one_sided_p(res, hi_b, "upper")
        if expand:
            # the interval was read at expanded tails Phi(k t_df^-1(p)): map the bootstrap tails back to
            # nominal ones, so that p < alpha exactly when the (1 - 2 alpha) interval excludes the bound
            k, df = _expansion([(b, c)], statistic == "geomean")
            p_lo, p_hi = (float(_nominal_tail(np.array([p]), k, df)[0]) for p in (p_lo, p_hi))
    return res.estimate, res.confidence_interval, p_lo, p_hi, notes


#: method -> implementation returning (estimate, CI, p_lower, p_upper, notes)
TOST_METHODS = {"welch-log": _tost_welch_log, "bootstrap": _tost_bootstrap}


def _tost_ratio_iv(baseline, candidate, margin, alpha, method, n_resamples, rng, statistic, ci_method, expand):
    if not isinstance(expand, (bool, np.bool_)):
        raise ValueError(f"`expand` must be True or False, got {expand!r}")
    b = as_sample(baseline, "baseline")
    c = as_sample(candidate, "candidate")
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not (0 < margin < 10):
        raise ValueError(f"`margin` must be a relative margin in (0, 10), e.g. 0.05 for +/-5 %; got {margin!r}")
    alpha = check_unit_interval(alpha, "alpha", high=0.5)
    check_choice(method, "method", TOST_METHODS)
    check_choice(statistic, "statistic", STATISTICS)
    check_choice(ci_method, "ci_method", ("bca", "percentile"))
    if method == "welch-log" and statistic != "mean":
        raise ValueError(
            f"`statistic`={statistic!r} needs method='bootstrap'; the welch-log TOST always compares "
            "geometric means"
        )
    return b, c, float(margin), alpha, check_n_resamples(n_resamples, minimum=2), as_rng(rng)


def tost_ratio(
    baseline,
    candidate,
    *,
    margin: float = 0.05,
    alpha: float = 0.05,
    method: str = "welch-log",
    n_resamples: int = 9999,
    rng=None,
    statistic: str = "mean",
    ci_method: str = "bca",
    expand: bool = True,
) -> TOSTResult:
    """TOST equivalence test of the ratio candidate / baseline within ``(1/(1+margin), 1+margin)``.

    Parameters
    ----------
    baseline, candidate : array_like
        Strictly positive 1-D samples (at least 2 each).
    margin : float
        Relative equivalence margin (0.05: +/-5 %).
    alpha : float
        Level of each one-sided test, in (0, 0.5); the CI shown is the (1 - 2 alpha) one.
    method : {"welch-log", "bootstrap"}
        ``"welch-log"``: Welch t-tests on the logs (ratio of geometric means), identical to
        ``statsmodels.stats.weightstats.ttost_ind(candidate, baseline, 1/(1+margin), 1+margin,
        usevar="unequal", transform=np.log)``; ``statistic`` must then be "mean" (ignored: geometric means).
        ``"bootstrap"``: the (1 - 2 alpha) bootstrap CI of ``statistic``'s ratio (see :func:`ratio_ci`);
        p-values by inverting the BCa quantile map (percentile with ``ci_method="percentile"``).
    n_resamples, rng, statistic
        Bootstrap route only.
    ci_method : {"bca", "percentile"}
        Bootstrap route only.
    expand : bool
        Bootstrap route only: the small-sample expansion of the interval (on by default, see :func:`ratio_ci`;
        the (1 - 2 alpha) interval is read at wider tails ``Phi(k t_df^-1(alpha))`` and the one-sided p-values
        are mapped back the same way, so ``pvalue < alpha`` exactly when the interval lies inside the bounds).
        ``expand=False``: the plain bootstrap interval (as ``scipy.stats.bootstrap``) and its p-values.

    Returns
    -------
    TOSTResult
    """
    b, c, margin, alpha, n_resamples, rng = _tost_ratio_iv(
        baseline, candidate, margin, alpha, method, n_resamples, rng, statistic, ci_method, expand
    )
    estimate, ci, p_lo, p_hi, notes = TOST_METHODS[method](
        b,
        c,
        margin=margin,
        alpha=alpha,
        n_resamples=n_resamples,
        rng=rng,
        statistic=statistic,
        ci_method=ci_method,
        expand=expand,
    )
    bounds = equivalence_bounds(margin)
    pvalue = max(p_lo, p_hi)
    return TOSTResult(
        pvalue=float(pvalue),
        equivalent=bool(ci.low > bounds[0] and ci.high < bounds[1]),
        bounds=bounds,
        confidence_interval=ci,
        estimate=float(estimate),
        method=method,
        margin=margin,
        alpha=alpha,
        pvalue_lower=float(p_lo),
        pvalue_upper=float(p_hi),
        notes=tuple(notes),
    )
