"""t routes on the log scale for the run counts real campaigns have (3-9 runs per model), and the paired route.

* :func:`log_t` -- Welch's t on the logs: the effect is the ratio of geometric means, the interval
  ``exp(d +/- t_q se)``; its p-value can reach any level at any n, unlike the exact permutation test whose smallest
  two-sided p-value is ``2 / C(n_b + n_c, n_b)`` (0.1 at 3 vs 3: :func:`permutation_min_pvalue`).
* :func:`paired_log_t` -- the paired t on within-round log ratios ``log(c_i / b_i)``: a round (one run of each
  model, run back to back) shares drift and machine state, which the difference cancels (RMIT, Abedi & Brecht
  2017; duet benchmarking, Bulej et al. 2020).
* :func:`moderated_variances` -- empirical-Bayes moderation of the per-cell variances (Smyth 2004, the limma
  model for "3 replicates, many features"): each cell's variance is shrunk toward a prior fitted across the
  report's cells, ``s2_post = (d0 s0^2 + d s^2) / (d0 + d)`` on ``d0 + d`` degrees of freedom. With 3 runs a
  variance has 2 df, so a t at the simultaneous level of a 14-cell report needs |t| > 19; the prior lends the df
  the cells share. Where the cells' variances disagree the fitted ``d0`` is small and the route is plain Welch.
  One departure from limma, for the few cells of a benchmark report whose spreads may differ tenfold: a variance
  is only ever moderated *upward* (``max(s^2, s2_post)``), so the prior lends degrees of freedom but never makes a
  noisy cell look quiet. With cells whose CV ranges over 2-20 % plain moderation let the family-wise rate of a
  14-cell A/A report rise to about 8 %; the upward-only rule keeps it at the nominal 5 % (``tests/validity``).
  The prior's ``d0`` and ``s0^2`` are fitted by maximum likelihood (a sample variance is ``s0^2 F(d, d0)``), not by
  limma's method of moments: with the 12 variances of a 6-cell, 3-run campaign the moment estimate of ``d0`` fell
  below 3 in 14 % of campaigns whose cells share one CV (maximum likelihood: below 5 in 4 %), so those campaigns
  lost the prior they deserved, while for cells whose CVs spread over 2-20 % it uses no prior at least as often
  (14 cells: 88 % below 5 against 80 % of moment fits below 3). Written here (not taken from a library) because
  limma's ``squeezeVar`` has no maintained Python port among the project's dependencies and scipy's generic
  ``f.fit`` neither shares ``d0`` across groups nor caps it; it is checked against ``scipy.stats.f.fit`` and by
  simulation in ``tests/validity``.

Every function works on strictly positive samples and returns a :class:`LogTResult` whose interval and TOST are
dual to its p-value (the same t distribution and standard error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize as _opt
from scipy import special as _sp

from ._results import ConfidenceInterval
from ._validation import as_sample

__all__ = ["LogTResult", "log_t", "paired_log_t", "moderated_variances", "permutation_min_pvalue",
           "VariancePrior", "NO_PRIOR", "MIN_PRIOR_DF", "MIN_PAIRED_PRIOR_CELLS", "prior_df_cap"]

#: smallest fitted prior df that is used: below it the cells' variances disagree too much for the scaled
#: inverse-chi-square prior to describe them, and lending those df to a report's noisiest cells raises the
#: family-wise rate of a 14-cell A/A report whose CVs spread over 2-20 % (there the fit is below 5 in 88 % of
#: reports, against 1.4 % for 14 cells sharing one CV), so no prior is used
MIN_PRIOR_DF = 5.0
#: fewest paired cells (per sample kind) a paired prior is fitted from. The prior is fitted from every cell,
#: the tested one included, and credited with the other cells' df: with 4 cells of 6 rounds that credit is a
#: quarter too generous and the family-wise rate of a 4-cell A/A report rose to 6.3 % (plain paired t: 5.2 %;
#: 10,000 simulated reports); from 6 cells it is no higher than the plain paired t's (tests/validity)
MIN_PAIRED_PRIOR_CELLS = 6
#: largest prior df used (an estimate above it means "the cells share one variance"); also at most the df of the
#: cells the prior is fitted from
MAX_PRIOR_DF = 60.0


@dataclass(frozen=True)
class VariancePrior:
    """The prior of :func:`moderated_variances`: ``df`` (d0) and ``variance`` (s0^2) of the log values."""

    df: float
    variance: float

    def moderate(self, s2: float, df: float) -> tuple[float, float]:
        """The posterior variance and its degrees of freedom for one sample variance ``s2`` on ``df``."""
        if not (self.df > 0 and np.isfinite(self.variance)):
            return s2, df
        return max(s2, (self.df * self.variance + df * s2) / (self.df + df)), self.df + df


NO_PRIOR = VariancePrior(0.0, math.nan)


class _ProfileLikelihood:
    """The log-likelihood of prior df ``d0`` with each group's ``s0^2`` at its maximum, and those ``s0^2``.

    Under the prior ``s2 / s0^2 ~ F(d, d0)``; for fixed ``d0`` the score in ``log s0^2`` is monotone, so each
    group's ``s0^2`` is the root of ``sum((d + d0) w / (1 + w)) = sum(d)`` with ``w = d s2 / (d0 s0^2)``: Newton
    on all groups at once, started from the previous ``d0``'s roots (the optimiser's steps are small), and
    bisection for a group where Newton stalls.
    """

    def __init__(self, s2: np.ndarray, d: np.ndarray, index: np.ndarray, groups: int):
        self.s2, self.d, self.index, self.groups = s2, d, index, groups
        self.df_sum = np.bincount(index, d, groups)
        self.ds2 = d * s2
        self.constant = float((-_sp.gammaln(d / 2) - np.log(s2)).sum())
        self.log_s0 = np.log(np.bincount(index, s2, groups) / np.bincount(index, minlength=groups))

    def _score(self, log_s0: np.ndarray, d0: float) -> tuple[np.ndarray, np.ndarray]:
        w = self.ds2 / (d0 * np.exp(log_s0[self.index]))
        a = (self.d + d0) * w / (1 + w)
        return (np.bincount(self.index, a, self.groups) - self.df_sum,
                -np.bincount(self.index, a / (1 + w), self.groups))

    def log_scales(self, d0: float) -> np.ndarray:
        """Each group's ``log s0^2`` at prior df *d0*."""
        t = self.log_s0.copy()
        for _ in range(30):
            f, slope = self._score(t, d0)
            step = f / slope
            t -= np.clip(step, -2.0, 2.0)
            if np.abs(step).max() < 1e-10:
                self.log_s0 = t
                return t
        for k in range(self.groups):  # Newton stalled: bisect each group's root on its own
            x = self.s2[self.index == k]

            def score(u: float, k: int = k) -> float:
                v = t.copy()
                v[k] = u
                return float(self._score(v, d0)[0][k])
            t[k] = _opt.brentq(score, math.log(x.min()) - 30, math.log(x.max()) + 30, xtol=1e-10)
        return t

    def __call__(self, d0: float) -> float:
        w = self.ds2 / (d0 * np.exp(self.log_scales(d0)[self.index]))
        d = self.d
        return self.constant + float((_sp.gammaln((d + d0) / 2) - _sp.gammaln(d0 / 2) + d / 2 * np.log(w)
                                      - (d + d0) / 2 * np.log1p(w)).sum())


def moderated_variances(variances, dfs, groups=None) -> VariancePrior | dict:
    """Fit the scaled inverse-chi-square prior of sample variances by maximum likelihood.

    Under the prior a sample variance on ``d`` df is ``s0^2`` times an ``F(d, d0)`` variable (Smyth 2004; Wright &
    Simon 2003); ``d0`` and ``s0^2`` maximise that likelihood. With *groups* (e.g. the PV model of each variance)
    every group gets its own ``s0^2`` and they share one ``d0``: how much a variance varies from cell to cell is a
    property of the campaign, and estimating it from both models' cells halves its noise (returns group -> prior).
    Fewer than 3 usable variances, or a fitted ``d0`` below :data:`MIN_PRIOR_DF`, give no prior (d0 = 0).
    """
    s2 = np.asarray(variances, dtype=float)
    d = np.asarray(dfs, dtype=float)
    g = np.zeros(s2.size, dtype=int) if groups is None else np.asarray(groups)
    labels = list(dict.fromkeys(g.tolist()))
    ok = np.isfinite(s2) & (s2 > 0) & (d > 0)
    s2, d, g = s2[ok], d[ok], g[ok]
    out = dict.fromkeys(labels, NO_PRIOR)
    present = list(dict.fromkeys(g.tolist()))
    if s2.size - len(present) < 2 or any((g == k).sum() < 2 for k in present):
        return out if groups is not None else NO_PRIOR
    cap = prior_df_cap(d, len(present))
    if cap >= MIN_PRIOR_DF:
        likelihood = _ProfileLikelihood(s2, d, np.array([present.index(k) for k in g.tolist()]), len(present))
        fit = _opt.minimize_scalar(lambda t: -likelihood(math.exp(t)), bounds=(math.log(0.2), math.log(cap)),
                                   method="bounded", options={"xatol": 1e-3})
        d0 = math.exp(fit.x)
        if d0 >= MIN_PRIOR_DF:  # else the cells' spreads disagree: each cell stands on its own variance
            scales = np.exp(likelihood.log_scales(d0))
            out.update({k: VariancePrior(d0, float(v)) for k, v in zip(present, scales, strict=True)})
    return out if groups is not None else out[labels[0]] if labels else NO_PRIOR


def prior_df_cap(dfs, groups: int = 1) -> float:
    """Largest prior df :func:`moderated_variances` may fit from variances on *dfs* in *groups* groups.

    The prior cannot carry more information than the other cells hold: at most their degrees of freedom (with a
    handful of cells, an unbounded d0 would treat a variance pooled from 20 df as if known exactly), and at most
    :data:`MAX_PRIOR_DF`. Below :data:`MIN_PRIOR_DF` no prior is fitted: 3 cells of 3 runs lend each other 4 df.

    >>> prior_df_cap([2] * 6, groups=2), prior_df_cap([2] * 12, groups=2)
    (4.0, 10.0)
    """
    d = np.asarray(dfs, dtype=float)
    return min(MAX_PRIOR_DF, float(d.sum() / groups - d.mean())) if d.size else 0.0


def permutation_min_pvalue(n_baseline: int, n_candidate: int) -> float:
    """Smallest two-sided p-value an exact permutation test of n_b vs n_c runs can give: ``2 / C(n_b + n_c, n_b)``.

    >>> round(permutation_min_pvalue(3, 3), 3), round(permutation_min_pvalue(5, 5), 4)
    (0.1, 0.0079)
    """
    return min(1.0, 2.0 / math.comb(n_baseline + n_candidate, n_baseline))


@dataclass(frozen=True)
class LogTResult:
    """A t route on the log ratio: ``log_effect`` (log of the ratio of geometric means), its standard error and df.

    The interval, the two-sided p-value and the TOST all come from the same t(df) distribution.
    """

    log_effect: float
    standard_error: float
    df: float
    method: str
    prior_df: float = 0.0

    @property
    def estimate(self) -> float:
        return math.exp(self.log_effect)

    @property
    def pvalue(self) -> float:
        if self.standard_error == 0:
            return 1.0 if self.log_effect == 0 else 0.0
        return float(min(1.0, 2.0 * _sp.stdtr(self.df, -abs(self.log_effect) / self.standard_error)))

    def confidence_interval(self, level: float) -> ConfidenceInterval:
        q = float(_sp.stdtrit(self.df, 0.5 + level / 2)) * self.standard_error
        return ConfidenceInterval(math.exp(self.log_effect - q), math.exp(self.log_effect + q))

    def tost_pvalue(self, margin: float) -> float:
        """max of the two one-sided p-values against ``[1/(1+margin), 1+margin]``."""
        bound = math.log1p(margin)
        if self.standard_error == 0:
            return 0.0 if abs(self.log_effect) < bound else 1.0
        p_lo = float(_sp.stdtr(self.df, -(self.log_effect + bound) / self.standard_error))
        p_hi = float(_sp.stdtr(self.df, (self.log_effect - bound) / self.standard_error))
        return max(p_lo, p_hi)


def log_t(baseline, candidate, *, prior_baseline: VariancePrior = NO_PRIOR,
          prior_candidate: VariancePrior = NO_PRIOR) -> LogTResult:
    """Welch's t on the logs, each model's variance optionally moderated by its prior.

    Without priors this is ``scipy.stats.ttest_ind(log(c), log(b), equal_var=False)`` (checked in the tests).
    """
    b = np.log(as_sample(baseline, "baseline"))
    c = np.log(as_sample(candidate, "candidate"))
    vb, db = prior_baseline.moderate(float(b.var(ddof=1)), b.size - 1.0)
    vc, dc = prior_candidate.moderate(float(c.var(ddof=1)), c.size - 1.0)
    ub, uc = vb / b.size, vc / c.size
    se = math.sqrt(ub + uc)
    df = (ub + uc) ** 2 / (ub**2 / db + uc**2 / dc) if se > 0 else float(db + dc)
    moderated = prior_baseline.df > 0 or prior_candidate.df > 0
    return LogTResult(float(c.mean() - b.mean()), se, float(df),
                      "moderated Welch t (log)" if moderated else "Welch t (log)",
                      prior_df=float(min(prior_baseline.df, prior_candidate.df)))


def paired_log_t(baseline, candidate, *, prior: VariancePrior = NO_PRIOR) -> LogTResult:
    """Paired t on ``log(candidate_i / baseline_i)``, one pair per round (same order in both arrays)."""
    b = np.log(as_sample(baseline, "baseline"))
    c = np.log(as_sample(candidate, "candidate"))
    if b.size != c.size:
        raise ValueError(f"candidate: a paired test needs one run of each model per round, got {b.size} baseline "
                         f"and {c.size} candidate runs")
    d = c - b
    v, df = prior.moderate(float(d.var(ddof=1)), d.size - 1.0)
    return LogTResult(float(d.mean()), math.sqrt(v / d.size), float(df),
                      "moderated paired t (log)" if prior.df > 0 else "paired t (log)", prior_df=prior.df)
