"""Bridging two sides through a shared reference configuration: a ratio of ratios with both uncertainties.

When every run of the candidate stood on one host (or lab) and every run of the baseline on another, no data
inside the cell can tell the PV model from the host: the cell is *confounded* (:mod:`analysis.confound`). A
**reference** configuration (a PV model, e.g. plain virtio-net) measured on both hosts estimates the host effect,
and the two models are then compared through it::

    log R = [mean log C(host_c) - mean log REF(host_c)] - [mean log B(host_b) - mean log REF(host_b)]

i.e. ``R = (C / REF_c) / (B / REF_b)``: the candidate/baseline ratio with the host effect ``REF_c / REF_b``
divided out. Its standard error carries all four groups' sampling errors (the model part and the host part); the
interval is t-based on the log scale, at the report's simultaneous level, by one documented rule
(:data:`METHODS`, ``method="auto"``):

* every group has at most :data:`POOLED_MAX_RUNS` runs: the **pooled** t (one log-scale variance for the groups,
  df = runs - groups). Within one cell and tool a common CV is the standard assumption, and there its coverage is
  exact; Welch-Satterthwaite's df estimate is so noisy at 2-4 runs per group that its interval over-covers (98.4 %
  for a nominal 95 % at 2 runs per group, equal CVs). Under unequal CVs the pooled interval under-covers somewhat
  (about 92-94 % at 2-3 runs per group with a 4:1 spread ratio);
* more runs: **Welch-Satterthwaite** (unequal variances), whose coverage is then within a point of nominal.

Written here rather than through a regression library because the four-group Welch contrast is not a statsmodels
estimator; the unit tests check the pooled route against statsmodels OLS (the same contrast of a one-way model)
and the validity tests check coverage by simulation.

Assumption: **no host x model interaction** (the host multiplies every model's rate by the same factor). With two
or more references measured on both hosts it is tested: each reference gives its own host effect, and an F test
of the reference x host interaction (statsmodels OLS on the references' log rates) asks whether they differ. With
several references the host effect is their equally weighted mean.

:func:`bridge_plan` says, for a confounded cell without a bridge, which runs would settle it: the baseline on the
candidate's host (which removes the confound) or a reference on both hosts, and how many runs per cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = ["BridgeResult", "bridge_ratio", "bridge_plan", "runs_for_half_width", "MIN_BRIDGE_RUNS", "METHODS",
           "POOLED_MAX_RUNS"]

#: runs a group (candidate, baseline, each reference on each host) needs for its spread to enter the interval
MIN_BRIDGE_RUNS = 2
#: with "auto", the pooled interval is used while every group has at most this many runs, Welch beyond
POOLED_MAX_RUNS = 4


@dataclass(frozen=True)
class BridgeResult:
    """The candidate/baseline ratio through shared reference(s).

    Attributes
    ----------
    references : the reference configuration(s) (PV model names)
    estimate : the bridged ratio candidate/baseline (ratio of geometric means, host effect divided out)
    confidence_interval : (low, high) at ``confidence_level``
    log_effect, standard_error, df : the contrast on the log scale, its standard error, the t interval's df
    pvalue : two-sided t test of log R = 0; tost_pvalue : TOST against ``[1/(1+margin), 1+margin]``
    host_effect : REF on the candidate's host / REF on the baseline's host (each reference, then their mean)
    se_model, se_host : the two parts of the standard error (candidate and baseline runs; the references)
    interaction_pvalue : F test of reference x host (NaN with one reference: the assumption is untested)
    method : "pooled" or "welch" (the variance the interval uses)
    n : group -> runs
    notes : what the interval assumes, in words
    """

    references: tuple[str, ...]
    estimate: float
    confidence_interval: tuple[float, float]
    confidence_level: float
    log_effect: float
    standard_error: float
    df: float
    pvalue: float
    tost_pvalue: float
    host_effect: float
    se_model: float
    se_host: float
    interaction_pvalue: float
    method: str = "pooled"
    n: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row: the bridged effect with its parts."""
        return pd.DataFrame([{
            "references": ", ".join(self.references), "estimate": self.estimate,
            "ci_low": self.confidence_interval[0], "ci_high": self.confidence_interval[1],
            "confidence_level": self.confidence_level, "log_effect": self.log_effect,
            "standard_error": self.standard_error, "df": self.df, "pvalue": self.pvalue,
            "tost_pvalue": self.tost_pvalue, "host_effect": self.host_effect, "se_model": self.se_model,
            "se_host": self.se_host, "interaction_pvalue": self.interaction_pvalue,
        }])

    def summary(self) -> str:
        lo, hi = self.confidence_interval
        inter = ("untested (one reference)" if not np.isfinite(self.interaction_pvalue)
                 else f"reference x host interaction p = {self.interaction_pvalue:.3g}")
        return (f"bridged through {', '.join(self.references)}: ratio {self.estimate:.4f} "
                f"[{lo:.4f}, {hi:.4f}] at {100 * self.confidence_level:.3g} % ({self.method} t, df {self.df:.1f}); host "
                f"effect "
                f"{self.host_effect:.4f}; no host x model interaction assumed, {inter}")

    def __str__(self) -> str:
        return self.summary()


def _logs(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size < MIN_BRIDGE_RUNS or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name}: expected at least {MIN_BRIDGE_RUNS} finite positive values, got {a.size} "
                         f"({'non-positive or non-finite values' if a.size else 'none'})")
    return np.log(a)


def _bridge_ratio_iv(candidate, baseline, references, confidence_level, alpha, margin):
    c, b = _logs(candidate, "candidate"), _logs(baseline, "baseline")
    if not isinstance(references, Mapping) or not references:
        raise ValueError("references: expected a mapping name -> (runs on the candidate's host, runs on the "
                         "baseline's host), with at least one reference")
    refs = {}
    for name, pair in references.items():
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"references[{name!r}]: expected (runs on the candidate's host, runs on the "
                             "baseline's host)")
        refs[str(name)] = (_logs(pair[0], f"references[{name!r}] on the candidate's host"),
                           _logs(pair[1], f"references[{name!r}] on the baseline's host"))
    for arg, v, lo, hi in (("confidence_level", confidence_level, 0.5, 1.0), ("alpha", alpha, 0.0, 0.5),
                           ("margin", margin, 0.0, 1.0)):
        if not (isinstance(v, float | int) and lo < v < hi):
            raise ValueError(f"{arg}: expected a number in ({lo:g}, {hi:g}), got {v!r}")
    return c, b, refs


def _welch(groups) -> tuple[list[float], float]:
    """Each group's share of the contrast's variance (its own spread) and the Welch-Satterthwaite df."""
    parts = [w * w * g.var(ddof=1) / g.size for g, w in groups]
    var = sum(parts)
    denom = sum(p * p / (g.size - 1) for p, (g, _) in zip(parts, groups, strict=True))
    return parts, (var * var / denom if denom > 0 else float(sum(g.size - 1 for g, _ in groups)))


def _pooled(groups) -> tuple[list[float], float]:
    """Each group's share of the contrast's variance under one pooled log variance, and df = runs - groups."""
    dof = sum(g.size - 1 for g, _ in groups)
    sp2 = sum(float(((g - g.mean()) ** 2).sum()) for g, _ in groups) / dof
    return [w * w * sp2 / g.size for g, w in groups], float(dof)


#: interval method -> (groups) -> (variance parts, df); "auto" picks by :data:`POOLED_MAX_RUNS`
METHODS = {"pooled": _pooled, "welch": _welch}


def bridge_ratio(candidate, baseline, references: Mapping[str, tuple], *, confidence_level: float = 0.95,
                 alpha: float = 0.05, margin: float = 0.05, method: str = "auto") -> BridgeResult:
    """The candidate/baseline ratio through reference(s) measured on both sides' hosts.

    Parameters
    ----------
    candidate, baseline : array_like
        The two models' runs (positive rates or times), each on its own host.
    references : mapping
        reference name -> (its runs on the candidate's host, its runs on the baseline's host).
    confidence_level : float
        Level of the interval (the report's simultaneous level).
    alpha, margin : float
        Level and margin of the TOST equivalence test (its (1 - 2 alpha) interval inside the margin).
    method : {"auto", "pooled", "welch"}
        How the log-scale variance is estimated (see the module docstring).

    Examples
    --------
    >>> r = bridge_ratio([110, 112, 108], [90, 92, 88], {"ref": ([100, 101, 99], [80, 82, 78])})
    >>> round(r.estimate, 3), round(r.host_effect, 3)
    (0.978, 1.25)
    """
    c, b, refs = _bridge_ratio_iv(candidate, baseline, references, confidence_level, alpha, margin)
    if method not in (*METHODS, "auto"):
        raise ValueError(f"method: expected one of {['auto', *METHODS]}, got {method!r}")
    k = len(refs)
    # the contrast as weights on group means: +C - B - (1/k) sum(REF_c - REF_b)
    groups = [(c, 1.0), (b, -1.0)] + [(g, w) for rc, rb in refs.values() for g, w in ((rc, -1.0 / k), (rb, 1.0 / k))]
    log_effect = float(sum(w * g.mean() for g, w in groups))
    if method == "auto":
        method = "pooled" if max(g.size for g, _ in groups) <= POOLED_MAX_RUNS else "welch"
    parts, df = METHODS[method](groups)
    var = float(sum(parts))
    se_model, se_host = math.sqrt(sum(parts[:2])), math.sqrt(sum(parts[2:]))
    se = math.sqrt(var)
    dist = sps.t(df)
    q = dist.ppf(0.5 + confidence_level / 2)
    if se > 0:
        t = log_effect / se
        pvalue = float(2 * dist.sf(abs(t)))
        lo_b, hi_b = math.log(1 / (1 + margin)), math.log(1 + margin)
        tost = float(max(dist.sf((log_effect - lo_b) / se), dist.cdf((log_effect - hi_b) / se)))
    else:
        pvalue = 0.0 if log_effect != 0 else 1.0
        tost = 0.0 if abs(log_effect) < math.log(1 + margin) else 1.0
    host_logs = [rc.mean() - rb.mean() for rc, rb in refs.values()]
    inter = _interaction_pvalue(refs) if k >= 2 else math.nan
    notes = ["assumes no host x model interaction: the host multiplies every model's rate by the same factor"]
    if k >= 2:
        notes.append(f"tested with {k} references: reference x host interaction F test p = {inter:.3g}")
    else:
        notes.append("one reference only: the no-interaction assumption is stated, not tested (a second shared "
                     "configuration would test it)")
    n = {"candidate": int(c.size), "baseline": int(b.size)}
    for name, (rc, rb) in refs.items():
        n[f"{name} (candidate's host)"], n[f"{name} (baseline's host)"] = int(rc.size), int(rb.size)
    return BridgeResult(
        references=tuple(refs), estimate=math.exp(log_effect),
        confidence_interval=(math.exp(log_effect - q * se), math.exp(log_effect + q * se)),
        confidence_level=float(confidence_level), log_effect=log_effect, standard_error=se, df=float(df),
        pvalue=pvalue, tost_pvalue=tost, host_effect=math.exp(float(np.mean(host_logs))), se_model=se_model,
        se_host=se_host, interaction_pvalue=float(inter), method=method, n=n, notes=tuple(notes),
    )


def _interaction_pvalue(refs: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> float:
    """F test of reference x host on the references' log values (statsmodels OLS, nested models)."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    rows = [{"y": v, "ref": name, "host": side} for name, pair in refs.items()
            for side, g in zip(("c", "b"), pair, strict=True) for v in g]
    d = pd.DataFrame(rows)
    small = smf.ols("y ~ C(ref) + C(host)", data=d).fit()
    full = smf.ols("y ~ C(ref) * C(host)", data=d).fit()
    if full.df_resid < 1:
        return math.nan
    return float(anova_lm(small, full)["Pr(>F)"].iloc[1])


def runs_for_half_width(sd_log: float, half_width_log: float, *, confidence_level: float, groups: int = 2,
                        max_n: int = 1000) -> int:
    """Smallest runs per group n with t(level, df) x sd x sqrt(groups / n) <= half_width (log scale).

    *groups* counts the groups of n runs in the contrast (2 for a two-model comparison on one host, 4 for a
    bridge through one reference); df = groups x (n - 1). At least 3 runs; *max_n* when even that is not enough.

    >>> runs_for_half_width(0.03, 0.05, confidence_level=0.95)
    5
    """
    if not (np.isfinite(sd_log) and sd_log > 0) or not (np.isfinite(half_width_log) and half_width_log > 0):
        return 3
    for n in range(3, max_n + 1):
        q = sps.t(groups * (n - 1)).ppf(0.5 + confidence_level / 2)
        if q * sd_log * math.sqrt(groups / n) <= half_width_log:
            return n
    return max_n


def bridge_plan(*, factor: str, candidate: str, baseline: str, candidate_levels: Sequence[str],
                baseline_levels: Sequence[str], sd_log: float, estimate: float, margin: float,
                confidence_level: float, reference: str | None = None) -> str:
    """What to run so a confounded cell can be compared: the baseline on the candidate's level of *factor*
    (removes the confound), or a reference on both levels (a bridge), with the runs per cell each needs.

    The run counts plan for a CI at *confidence_level* narrow enough to tell the observed effect from 1 (or, when
    the observed effect is within the margin, to fit inside it), at the cell's observed spread *sd_log*.
    """
    target = abs(math.log(estimate)) if np.isfinite(estimate) and estimate > 0 else math.nan
    if not np.isfinite(target) or target < math.log(1 + margin):
        target = math.log(1 + margin) / 2
    n_direct = runs_for_half_width(sd_log, target, confidence_level=confidence_level, groups=2)
    n_bridge = runs_for_half_width(sd_log, target, confidence_level=confidence_level, groups=4)
    lc, lb = ", ".join(map(str, candidate_levels)), ", ".join(map(str, baseline_levels))
    ref = reference or "a reference configuration (e.g. the same plain virtio-net setup)"
    return (f"run {baseline} on {factor} {lc} (where {candidate} ran), {n_direct} runs per cell, and compare "
            f"there; or bridge: run {ref} on {factor} {lc} and on {factor} {lb}, {n_bridge} runs per cell on each, "
            f"with {n_bridge} runs of each model (plan at sd(log) {sd_log:.3g}, "
            f"{100 * confidence_level:.3g} % intervals)")
