"""One cell's evidence: the :class:`Cell` (its runs), the *route* that gives the interval and the p-value, and one
strategy per headline *basis* (raw, per-GHz, model-adjusted, bracket). :mod:`analysis.compare` reads these fields
to decide a verdict; nothing is recovered later from the prose of a reason.

The route rule, per cell and sample (raw or per-GHz values), documented in :mod:`analysis.compare`:

1. ``paired t (log)`` when the cell's runs come in complete rounds (:mod:`analysis.blocking`) and there are at
   least :data:`PAIRED_MIN_ROUNDS` of them;
2. ``bootstrap BCa`` when both models have at least :data:`BOOTSTRAP_MIN_RUNS` runs (its coverage is validated
   there; the p-value is the permutation test's, whose smallest attainable value is then far below any adjusted
   alpha);
3. otherwise ``Welch t (log)`` on the logs, its variances moderated across the report's cells
   (:func:`analysis.stats.moderated_variances`; then ``moderated Welch t (log)``).

The model-adjusted basis has one route, ``model Wald`` (the regression's Wald test and t interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from analysis.blocking import PAIRED_MIN_ROUNDS
from analysis.stats import (
    NO_PRIOR,
    LogTResult,
    VariancePrior,
    equivalence_bounds,
    log_t,
    moderated_variances,
    paired_log_t,
    permutation_test_ratio,
    ratio_ci,
    tost_ratio,
)
from analysis.stats.small_sample import MIN_PAIRED_PRIOR_CELLS
from analysis.vocabulary import same_clock

__all__ = ["Cell", "Evidence", "Basis", "BASES", "PAIRED_MIN_ROUNDS", "BOOTSTRAP_MIN_RUNS", "Priors", "route_evidence",
           "t_route", "model_interval"]

#: runs per model from which the bootstrap BCa decides (its coverage is validated at n >= 10, tests/validity)
BOOTSTRAP_MIN_RUNS = 10


@dataclass(frozen=True)
class Cell:
    """The runs of one cell and metric, and what the regression model knows about it."""

    keys: tuple[Any, ...]
    label: str
    metric: str
    direction: str
    b: np.ndarray
    c: np.ndarray
    b_ghz: np.ndarray | None
    c_ghz: np.ndarray | None
    ghz_b: np.ndarray
    ghz_c: np.ndarray
    #: runs are ordered by round (b[i] and c[i] share round i) and the rounds are complete
    paired: bool
    test: Any
    size: Any
    model_effect: Any = None
    elasticity: Any = None
    model_missing: str = ""

    @property
    def per_ghz_available(self) -> bool:
        return self.b_ghz is not None

    @property
    def clock_mhz_baseline(self) -> float:
        return float(self.ghz_b.mean() * 1000) if np.isfinite(self.ghz_b).all() else math.nan

    @property
    def clock_mhz_candidate(self) -> float:
        return float(self.ghz_c.mean() * 1000) if np.isfinite(self.ghz_c).all() else math.nan

    @property
    def clocks_differ(self) -> bool:
        cb, cc = self.clock_mhz_baseline, self.clock_mhz_candidate
        """The two models' mean clocks in the cell are both known and not :func:`~analysis.vocabulary.same_clock`."""
        return bool(np.isfinite(cb) and np.isfinite(cc) and not same_clock(cb, cc))

    @property
    def model_available(self) -> bool:
        """The model gives a clock-adjusted effect with a finite estimate, standard error and p-value here."""
        e = self.model_effect
        if e is None or not bool(e["clock_adjusted"]):
            return False
        vals = (float(e["log_effect"]), float(e["standard_error"]), float(e["pvalue"]))
        return all(np.isfinite(v) for v in vals) and vals[1] > 0


@dataclass(frozen=True)
class Priors:
    """Variance priors of the log values per (sample kind, model) and of the paired log ratios per kind."""

    unpaired: dict[tuple[str, str], VariancePrior] = field(default_factory=dict)
    paired: dict[str, VariancePrior] = field(default_factory=dict)

    @classmethod
    def fit(cls, cells: list[Cell]) -> Priors:
        """The priors across a report's *cells* (per sample kind and model; paired: per kind, from
        :data:`~analysis.stats.small_sample.MIN_PAIRED_PRIOR_CELLS` paired cells on)."""
        unpaired, paired = {}, {}
        for kind in ("raw", "per-GHz"):
            sel = [c for c in cells if kind == "raw" or c.per_ghz_available]
            pick = (lambda c: (c.b, c.c)) if kind == "raw" else (lambda c: (c.b_ghz, c.c_ghz))
            xs = [np.log(pick(c)[side]) for side in (0, 1) for c in sel]
            fit = moderated_variances([x.var(ddof=1) for x in xs], [x.size - 1 for x in xs],
                                      groups=["b"] * len(sel) + ["c"] * len(sel))
            unpaired[(kind, "b")], unpaired[(kind, "c")] = (fit.get(k, NO_PRIOR) for k in "bc")
            ds = [np.log(pick(c)[1]) - np.log(pick(c)[0]) for c in sel if c.paired]
            paired[kind] = (moderated_variances([d.var(ddof=1) for d in ds], [d.size - 1 for d in ds])
                            if len(ds) >= MIN_PAIRED_PRIOR_CELLS else NO_PRIOR)
        return cls(unpaired, paired)


class Evidence:
    """The evidence of one route on one pair of samples: estimate, interval at any level, p-value, TOST."""

    route: str
    paired: bool = False
    distribution: np.ndarray | None = None

    def pvalue(self) -> float:
        raise NotImplementedError

    def interval(self, level: float) -> tuple[float, float, float]:
        """(estimate, low, high) at *level*."""
        raise NotImplementedError

    def tost(self, margin: float, alpha: float) -> float:
        raise NotImplementedError


class _TEvidence(Evidence):
    def __init__(self, res: LogTResult, paired: bool):
        self.res, self.paired = res, paired
        self.route = res.method

    def pvalue(self) -> float:
        return self.res.pvalue

    def interval(self, level):
        lo, hi = self.res.confidence_interval(level)
        return self.res.estimate, lo, hi

    def tost(self, margin, alpha):
        return self.res.tost_pvalue(margin)


class _BootEvidence(Evidence):
    route = "bootstrap BCa"

    def __init__(self, b, c, *, statistic, n_resamples, rng, alpha):
        self.b, self.c, self.statistic, self.n_resamples, self.rng = b, c, statistic, n_resamples, rng
        self._p: float | None = None

    def pvalue(self):
        if self._p is None:
            self._p = permutation_test_ratio(self.b, self.c, statistic=self.statistic,
                                             n_resamples=self.n_resamples, rng=self.rng).pvalue
        return self._p

    def interval(self, level):
        r = ratio_ci(self.b, self.c, statistic=self.statistic, confidence_level=level,
                     n_resamples=self.n_resamples, rng=self.rng)
        self.distribution = r.bootstrap_distribution
        return r.estimate, r.confidence_interval.low, r.confidence_interval.high

    def tost(self, margin, alpha):
        return tost_ratio(self.b, self.c, margin=margin, alpha=alpha).pvalue


def route_evidence(cell: Cell, kind: str, priors: Priors, *, statistic: str, n_resamples: int,
                   rng: np.random.Generator, alpha: float) -> Evidence:
    """The route rule (module docstring) for the cell's *kind* of sample ("raw" or "per-GHz")."""
    b, c = (cell.b, cell.c) if kind == "raw" else (cell.b_ghz, cell.c_ghz)
    if not (cell.paired and len(b) >= PAIRED_MIN_ROUNDS) and min(len(b), len(c)) >= BOOTSTRAP_MIN_RUNS:
        return _BootEvidence(b, c, statistic=statistic, n_resamples=n_resamples, rng=rng, alpha=alpha)
    res = t_route(cell, kind, priors)
    return _TEvidence(res, paired=res.method.endswith("paired t (log)"))


def t_route(cell: Cell, kind: str, priors: Priors) -> LogTResult:
    """The cell's t route (rule 1, else rule 3): the paired t from :data:`PAIRED_MIN_ROUNDS` complete rounds, else
    the (moderated) Welch t; where the bootstrap decides (rule 2) this is the t it stands in for. The sequential
    looks (:mod:`analysis.sequential`) test this statistic at every look."""
    b, c = (cell.b, cell.c) if kind == "raw" else (cell.b_ghz, cell.c_ghz)
    if cell.paired and len(b) >= PAIRED_MIN_ROUNDS:
        return paired_log_t(b, c, prior=priors.paired.get(kind, _NONE))
    pb, pc = priors.unpaired.get((kind, "b"), _NONE), priors.unpaired.get((kind, "c"), _NONE)
    if not (pb.df > 0 and pc.df > 0):  # both models moderated or neither: a Welch df mixing a 2-df variance with
        pb = pc = _NONE                # a moderated one misstates the tail the adjusted level lives in
    return log_t(b, c, prior_baseline=pb, prior_candidate=pc)


_NONE = VariancePrior(0.0, math.nan)


# --------------------------------------------------------------------------------------------------------------
# one strategy per headline basis


@dataclass
class Basis:
    """How a basis turns a cell's evidence into the headline: p-value, interval, TOST and the runs-needed samples.

    ``raw`` and ``per_ghz`` are the cell's route evidence on raw and per-GHz values (None where absent).
    """

    basis: str = ""

    def route(self, raw: Evidence, per_ghz: Evidence | None) -> str:
        return raw.route

    def paired(self, raw: Evidence, per_ghz: Evidence | None) -> bool:
        return raw.paired

    def pvalue(self, cell: Cell, raw: Evidence, per_ghz: Evidence | None) -> float:
        return raw.pvalue()

    def interval(self, cell: Cell, raw_iv, ghz_iv, level: float) -> tuple[float, float, float]:
        return raw_iv

    def tost(self, cell: Cell, raw: Evidence, per_ghz: Evidence | None, margin: float, alpha: float) -> float:
        return raw.tost(margin, alpha)

    def samples(self, cell: Cell) -> tuple[np.ndarray, np.ndarray]:
        return cell.b, cell.c


class _Raw(Basis):
    def __init__(self):
        super().__init__("raw")


class _PerGhz(Basis):
    def __init__(self):
        super().__init__("per-GHz")

    def route(self, raw, per_ghz):
        return per_ghz.route

    def paired(self, raw, per_ghz):
        return per_ghz.paired

    def pvalue(self, cell, raw, per_ghz):
        return per_ghz.pvalue()

    def interval(self, cell, raw_iv, ghz_iv, level):
        return ghz_iv

    def tost(self, cell, raw, per_ghz, margin, alpha):
        return per_ghz.tost(margin, alpha)

    def samples(self, cell):
        return cell.b_ghz, cell.c_ghz


class _Bracket(Basis):
    """Clocks differ and no adjustment is possible: significant only when raw and per-GHz both are
    (intersection-union), interval the union of both, equivalent only when both are."""

    def __init__(self):
        super().__init__("bracket")

    def route(self, raw, per_ghz):
        return raw.route if raw.route == per_ghz.route else f"{raw.route} / {per_ghz.route}"

    def paired(self, raw, per_ghz):
        return raw.paired and per_ghz.paired

    def pvalue(self, cell, raw, per_ghz):
        return max(raw.pvalue(), per_ghz.pvalue())

    def interval(self, cell, raw_iv, ghz_iv, level):
        return raw_iv[0], min(raw_iv[1], ghz_iv[1]), max(raw_iv[2], ghz_iv[2])

    def tost(self, cell, raw, per_ghz, margin, alpha):
        return max(raw.tost(margin, alpha), per_ghz.tost(margin, alpha))


class _ModelAdjusted(Basis):
    """The regression's clock-adjusted effect: its Wald test, t interval and TOST."""

    def __init__(self):
        super().__init__("model-adjusted")

    def route(self, raw, per_ghz):
        return "model Wald"

    def paired(self, raw, per_ghz):
        return False

    def pvalue(self, cell, raw, per_ghz):
        return float(cell.model_effect["pvalue"])

    def interval(self, cell, raw_iv, ghz_iv, level):
        return model_interval(cell.model_effect, level)

    def tost(self, cell, raw, per_ghz, margin, alpha):
        e = cell.model_effect
        lo_b, hi_b = equivalence_bounds(margin)
        dist = sps.t(e["df"]) if np.isfinite(e["df"]) else sps.norm()
        se = float(e["standard_error"])
        p_lower = dist.sf((e["log_effect"] - math.log(lo_b)) / se)
        p_upper = dist.cdf((e["log_effect"] - math.log(hi_b)) / se)
        return float(max(p_lower, p_upper))

    def samples(self, cell):
        """Values brought to a common clock with the model's elasticity (for the runs-needed spread)."""
        ref = np.nanmean(np.concatenate([cell.ghz_b, cell.ghz_c]))
        el = float(cell.elasticity["elasticity"])
        e = el if np.isfinite(el) else 0.0
        return cell.b * (ref / cell.ghz_b) ** e, cell.c * (ref / cell.ghz_c) ** e


def model_interval(e: Any, level: float) -> tuple[float, float, float]:
    """(estimate, low, high) of the model's effect at *level*; NaN where it has no finite estimate and SE."""
    if e is None or not (np.isfinite(e["log_effect"]) and np.isfinite(e["standard_error"])):
        return (math.nan, math.nan, math.nan)
    q = (sps.t(e["df"]) if np.isfinite(e["df"]) else sps.norm()).ppf(0.5 + level / 2)
    se = float(e["standard_error"])
    return (float(np.exp(e["log_effect"])), float(np.exp(e["log_effect"] - q * se)),
            float(np.exp(e["log_effect"] + q * se)))


#: headline basis -> its strategy
BASES: dict[str, Basis] = {b.basis: b for b in (_Raw(), _PerGhz(), _Bracket(), _ModelAdjusted())}
