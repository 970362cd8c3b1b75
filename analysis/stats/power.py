"""Runs per model that would settle an inconclusive cell, from the observed spread.

The model is lognormal noise: the log of a run's metric has SD ``s`` (pooled over both models), so the CV per
run is ``sqrt(exp(s**2) - 1)``, and the effect is the ratio of geometric means. Both goals use the Welch test on
logs with equal runs per model (df = 2n - 2):

* ``"equivalence"``: power of the TOST (:func:`~analysis.stats.equivalence.tost_ratio`, welch-log) to declare
  equivalence within ``margin`` when the true ratio is ``assumed_ratio``. Power from the noncentral t
  (``1 - P(t1 <= t_c) - P(t2 >= -t_c)``, exact for each one-sided test, a tight lower bound for both).
* ``"ci_half_width"``: the (1 - alpha) CI of the ratio has relative half-width at most ``half_width`` with
  probability ``power`` (Kupper & Hafner 1989: the SD estimate follows ``s * sqrt(chi2_df / df)``).

``paired=True`` plans rounds for the paired t on within-round log ratios (compare's ``paired t (log)`` route):
``s`` is then the SD of ``log(c_i / b_i)`` over the observed rounds, the standard error ``s / sqrt(n)`` and
df = n - 1. A round level shared by the pair (drift, machine state) is not in that SD, which is why the paired
route needs fewer rounds than the unpaired one needs runs when rounds differ.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import special as _spc
from scipy import stats as _sps

from ._results import RunsNeededResult
from ._validation import as_sample, check_choice, check_unit_interval

__all__ = ["runs_needed", "tost_power", "GOALS"]


def _df_se(n: np.ndarray, sd_log: float, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """Degrees of freedom and standard error of the log effect with ``n`` runs per model (or ``n`` rounds)."""
    if paired:
        return n - 1, sd_log * np.sqrt(1.0 / n)
    return 2 * n - 2, sd_log * np.sqrt(2.0 / n)


def tost_power(n, *, log_ratio: float, sd_log: float, margin: float, alpha: float = 0.05,
               paired: bool = False) -> np.ndarray:
    """Power of the welch-log TOST with ``n`` runs per model, or of the paired TOST with ``n`` rounds (vectorized
    over ``n``; ``sd_log`` is then the SD of the within-round log ratios)."""
    n = np.asarray(n, dtype=float)
    df, se = _df_se(n, sd_log, paired)
    low, upp = -math.log1p(margin), math.log1p(margin)
    # scipy.special's t quantile and noncentral t CDF directly (the distribution objects' argument checks cost
    # more than the arithmetic when runs_needed scans n for every inconclusive cell of a report)
    tc = _spc.stdtrit(df, 1 - alpha)
    nc1, nc2 = (log_ratio - low) / se, (log_ratio - upp) / se
    p1 = _spc.nctdtr(df, nc1, tc)  # lower test fails to reject
    p2 = 1.0 - _spc.nctdtr(df, nc2, -tc)  # upper test fails to reject
    bad = ~(np.isfinite(p1) & np.isfinite(p2))
    if bad.any():  # far tails, where the special function gives up: the distribution object's algorithm
        p1, p2 = np.array(p1, dtype=float), np.array(p2, dtype=float)
        dfb, tcb = np.broadcast_to(df, bad.shape)[bad], np.broadcast_to(tc, bad.shape)[bad]
        p1[bad] = _sps.nct.cdf(tcb, dfb, np.broadcast_to(nc1, bad.shape)[bad])
        p2[bad] = _sps.nct.sf(-tcb, dfb, np.broadcast_to(nc2, bad.shape)[bad])
    return np.clip(1.0 - p1 - p2, 0.0, 1.0)


def half_width_assurance(n, *, sd_log: float, half_width: float, alpha: float = 0.05,
                         paired: bool = False) -> np.ndarray:
    """P(relative half-width of the (1 - alpha) welch-log CI <= half_width) with ``n`` runs per model (or of the
    paired t CI with ``n`` rounds)."""
    n = np.asarray(n, dtype=float)
    df, se_per_sd = _df_se(n, 1.0, paired)
    w = math.log1p(half_width)
    s_max = w / (_spc.stdtrit(df, 1 - alpha / 2) * se_per_sd)
    return _spc.chdtr(df, df * (s_max / sd_log) ** 2)


def _goal_equivalence(ns, *, log_ratio, sd_log, margin, alpha, half_width, paired=False):
    return tost_power(ns, log_ratio=log_ratio, sd_log=sd_log, margin=margin, alpha=alpha, paired=paired)


def _goal_half_width(ns, *, log_ratio, sd_log, margin, alpha, half_width, paired=False):
    return half_width_assurance(ns, sd_log=sd_log, half_width=half_width, alpha=alpha, paired=paired)


#: goal -> probability of success as a function of runs per model
GOALS = {"equivalence": _goal_equivalence, "ci_half_width": _goal_half_width}


def _smallest_n(prob, target: float, max_n: int, *, scan: int = 32) -> tuple[int, float] | None:
    """Smallest n in [2, max_n] with ``prob(n) >= target``: a vectorized scan of n <= ``scan``, then doubling to a
    bracket and bisection inside it (both success probabilities increase with n)."""
    ns = np.arange(2, min(max_n, scan) + 1)
    p = prob(ns)
    ok = np.flatnonzero(p >= target)
    if ok.size:
        return int(ns[ok[0]]), float(p[ok[0]])
    if max_n <= scan:
        return None
    lo = scan  # prob(lo) < target
    hi = min(2 * lo, max_n)
    while not prob(np.array([hi]))[0] >= target:
        if hi == max_n:
            return None
        lo, hi = hi, min(2 * hi, max_n)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if prob(np.array([mid]))[0] >= target:
            hi = mid
        else:
            lo = mid
    return hi, float(prob(np.array([hi]))[0])


def _runs_needed_iv(baseline, candidate, goal, margin, power, alpha, half_width, assumed_ratio, max_n):
    b = as_sample(baseline, "baseline")
    c = as_sample(candidate, "candidate")
    check_choice(goal, "goal", GOALS)
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not (0 < margin < 10):
        raise ValueError(f"`margin` must be a relative margin in (0, 10), e.g. 0.05 for +/-5 %; got {margin!r}")
    power = check_unit_interval(power, "power")
    alpha = check_unit_interval(alpha, "alpha", high=0.5)
    if goal == "ci_half_width":
        if half_width is None:
            raise ValueError("`half_width` is required for goal='ci_half_width' (e.g. 0.02 for +/-2 %)")
        if isinstance(half_width, bool) or not isinstance(half_width, numbers.Real) or not half_width > 0:
            raise ValueError(f"`half_width` must be a positive relative width, got {half_width!r}")
    if assumed_ratio is not None and (
        isinstance(assumed_ratio, bool) or not isinstance(assumed_ratio, numbers.Real) or not assumed_ratio > 0
    ):
        raise ValueError(f"`assumed_ratio` must be a positive number or None, got {assumed_ratio!r}")
    if isinstance(max_n, bool) or not isinstance(max_n, numbers.Integral) or max_n < 2:
        raise ValueError(f"`max_n` must be an integer >= 2, got {max_n!r}")
    return b, c, float(margin), power, alpha, half_width, assumed_ratio, int(max_n)


def runs_needed(
    baseline,
    candidate,
    *,
    goal: str = "equivalence",
    margin: float = 0.05,
    power: float = 0.8,
    alpha: float = 0.05,
    half_width: float | None = None,
    assumed_ratio: float | None = None,
    max_n: int = 100_000,
    paired: bool = False,
) -> RunsNeededResult:
    """Smallest number of runs per model that reaches ``goal`` with probability ``power``.

    Parameters
    ----------
    baseline, candidate : array_like
        The observed runs (strictly positive, at least 2 each); only their spread (and, by default, their
        ratio of geometric means) is used.
    goal : {"equivalence", "ci_half_width"}
    margin : float
        Equivalence margin (goal "equivalence").
    power : float
        Target probability of declaring equivalence, or of reaching the half-width.
    alpha : float
        Level of each one-sided TOST test, or 1 - level of the CI (goal "ci_half_width").
    half_width : float, optional
        Target relative half-width of the CI, e.g. 0.02 for +/-2 % (required for "ci_half_width").
    assumed_ratio : float, optional
        True ratio to plan for; default the observed ratio of geometric means.
    paired : bool
        The runs are paired by round (``baseline[i]`` and ``candidate[i]`` share round i): plan rounds for the
        paired t, from the spread of the within-round log ratios (module docstring).
    max_n : int
        Search limit. If the goal is not reached by ``max_n`` (e.g. the assumed ratio lies outside the
        equivalence bounds), ``n_per_model == max_n``, ``achieved_power < power`` and a note says so.

    Returns
    -------
    RunsNeededResult
    """
    b, c, margin, power, alpha, half_width, assumed_ratio, max_n = _runs_needed_iv(
        baseline, candidate, goal, margin, power, alpha, half_width, assumed_ratio, max_n
    )
    lb, lc = np.log(b), np.log(c)
    if paired:
        if lb.size != lc.size:
            raise ValueError(f"candidate: paired rounds need one run of each model per round, got {lb.size} "
                             f"baseline and {lc.size} candidate runs")
        sd_log = float(np.std(lc - lb, ddof=1))
    else:
        sd_log = math.sqrt(
            ((lb.size - 1) * lb.var(ddof=1) + (lc.size - 1) * lc.var(ddof=1)) / (lb.size + lc.size - 2)
        )
    ratio = float(np.exp(lc.mean() - lb.mean())) if assumed_ratio is None else float(assumed_ratio)
    cv = math.sqrt(math.expm1(sd_log**2))
    notes: list[str] = []
    if sd_log == 0:
        notes.append("zero variance: both samples are constant; 2 runs per model already settle the cell")
        n, achieved = 2, 1.0
    else:
        def prob(ns):
            return GOALS[goal](
                ns, log_ratio=math.log(ratio), sd_log=sd_log, margin=margin, alpha=alpha, half_width=half_width,
                paired=paired,
            )

        found = _smallest_n(prob, power, max_n)
        if found is not None:
            n, achieved = found
        else:
            n, achieved = max_n, float(prob(np.array([max_n]))[0])
            why = (
                f"the assumed ratio {ratio:.4g} lies outside the equivalence bounds, so equivalence cannot be shown"
                if goal == "equivalence" and abs(math.log(ratio)) >= math.log1p(margin)
                else "the goal is not reached"
            )
            notes.append(f"{why}; power at max_n={max_n} is {achieved:.3f} < {power}")
    expected_hw = None
    if goal == "ci_half_width":
        df, se = _df_se(np.asarray(float(n)), sd_log, paired)
        expected_hw = math.expm1(float(_sps.t.ppf(1 - alpha / 2, df)) * float(se))
    return RunsNeededResult(
        n_per_model=n,
        goal=goal,
        assumed_ratio=ratio,
        cv=cv,
        target_power=power,
        achieved_power=achieved,
        expected_half_width=expected_hw,
        margin=margin if goal == "equivalence" else None,
        alpha=alpha,
        notes=tuple(notes),
    )
