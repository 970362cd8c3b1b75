"""Operating characteristics of a sequential design, by simulation with known truth.

:func:`simulate_sequential` draws campaigns of ``m`` cells whose runs are lognormal with a given CV and true
ratio candidate/baseline, optionally with a per-round drift shared by both models (what interleaved rounds
pair away), and applies the decision of :func:`analysis.sequential.decide` at every look of a
:class:`~analysis.sequential.SequentialDesign`, with either the alpha-spending boundaries or the naive rule
(the fixed-sample test repeated at every look). It reports the family-wise rate of any faster/slower verdict,
the share of cells settled at the first look, the power, and the expected runs per model per cell.
:func:`fixed_runs_for_power` gives the runs per model a fixed (one-look) design needs for a given power, the
yardstick of "runs saved".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from analysis.sequential import SequentialDesign, decide
from analysis.stats.sequential import exact_t_boundaries, sequential_boundaries, t_critical

__all__ = ["SimulationResult", "simulate_sequential", "fixed_runs_for_power"]


@dataclass(frozen=True)
class SimulationResult:
    """Simulated operating characteristics; rates are shares of campaigns (family-wise) or of cells."""

    campaigns: int
    cells: int
    familywise_rate: float  # campaigns with >= 1 faster/slower verdict in the wrong direction (all, if ratio 1)
    first_look_settled: float  # cells settled at the first look
    power: float  # cells with the right faster/slower verdict (0 when the ratio is 1)
    equivalent: float  # cells that stopped as equivalent
    expected_runs: float  # mean runs per model per cell

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def _statistics(eb: np.ndarray, ec: np.ndarray, n: int, route: str) -> tuple[np.ndarray, ...]:
    b, c = eb[..., :n], ec[..., :n]
    if route == "paired-log-t":
        diff = c - b
        return diff.mean(-1), diff.std(-1, ddof=1) / math.sqrt(n), np.full(diff.shape[:-1], n - 1.0)
    vb, vc = b.var(-1, ddof=1) / n, c.var(-1, ddof=1) / n
    se2 = vb + vc
    df = se2 ** 2 / ((vb ** 2 + vc ** 2) / (n - 1))
    return c.mean(-1) - b.mean(-1), np.sqrt(se2), df


def _thresholds(design: SequentialDesign, m: int, naive: bool, route: str, df: np.ndarray, k: int,
                ) -> tuple[np.ndarray, np.ndarray]:
    """t boundaries at look k: the design's (as :func:`analysis.sequential.look_thresholds`) or the naive ones."""
    rounds = design.look_rounds
    a2 = design.alpha_per_comparison(m)
    if naive:
        return t_critical(sps.norm.isf(a2 / 2), df), t_critical(sps.norm.isf(design.alpha), df)
    fr = [n / design.max_trials for n in rounds]
    if route == "paired-log-t" and k > 0:  # the whole sequence at once: a look's boundary ignores later looks
        sizes = [(n, n) for n in rounds]
        t2 = exact_t_boundaries(sizes, fr, a2, spending=design.spending, sides=2)[k]
        t1 = exact_t_boundaries(sizes, fr, design.alpha, spending=design.spending, sides=1)[k]
        return np.full(df.shape, t2), np.full(df.shape, t1)
    z2 = sequential_boundaries(fr, a2, spending=design.spending, sides=2)[k]
    z1 = sequential_boundaries(fr, design.alpha, spending=design.spending, sides=1)[k]
    return t_critical(z2, df), t_critical(z1, df)


def simulate_sequential(design: SequentialDesign, *, campaigns: int, cells: int, ratio: float, cv: float,
                        route: str = "paired-log-t", naive: bool = False, drift_cv: float = 0.0,
                        rng: np.random.Generator | int | None = None) -> SimulationResult:
    """Simulate *campaigns* campaigns of *cells* cells under the design (or the naive rule) and a known truth."""
    if route not in ("paired-log-t", "welch-log-t"):
        raise ValueError(f"route: expected 'paired-log-t' or 'welch-log-t', got {route!r}")
    rng = np.random.default_rng(rng)
    sigma = math.sqrt(math.log1p(cv ** 2))
    shape = (campaigns, cells, design.max_trials)
    drift = rng.normal(0, math.sqrt(math.log1p(drift_cv ** 2)), shape) if drift_cv else 0.0
    eb = rng.normal(0, sigma, shape) + drift
    ec = rng.normal(math.log(ratio), sigma, shape) + drift
    running = np.ones(shape[:2], bool)
    runs = np.full(shape[:2], design.max_trials, float)
    wrong = np.zeros(shape[:2], bool)
    right = np.zeros(shape[:2], bool)
    equiv = np.zeros(shape[:2], bool)
    first = np.zeros(shape[:2], bool)
    for k, n in enumerate(design.look_rounds):
        d, se, df = _statistics(eb, ec, n, route)
        t2, t1 = _thresholds(design, cells, naive, route, df, k)
        sig, eq = decide(d, se, t2, t1, design.margin)
        stop = running & (sig | eq)
        wrong |= stop & sig & ((np.sign(d) != np.sign(math.log(ratio))) | (ratio == 1))
        right |= stop & sig & (np.sign(d) == np.sign(math.log(ratio))) & (ratio != 1)
        equiv |= stop & eq & ~sig
        runs[stop] = n
        if k == 0:
            first = stop.copy()
        running &= ~stop
    return SimulationResult(campaigns=campaigns, cells=cells, familywise_rate=float(wrong.any(1).mean()),
                            first_look_settled=float(first.mean()), power=float(right.mean()),
                            equivalent=float(equiv.mean()), expected_runs=float(runs.mean()))


def fixed_runs_for_power(power: float, *, ratio: float, cv: float, alpha: float, route: str = "paired-log-t",
                         max_runs: int = 200) -> int:
    """Fewest runs per model of a one-look t test on the logs at two-sided *alpha* with at least *power*
    against *ratio* (noncentral t; paired: ``df = n - 1``, Welch with equal variances: ``df = 2n - 2``)."""
    sigma = math.sqrt(math.log1p(cv ** 2))
    for n in range(2, max_runs + 1):
        se = sigma * math.sqrt(2 / n)
        df = n - 1 if route == "paired-log-t" else 2 * n - 2
        crit = sps.t.isf(alpha / 2, df)
        nc = abs(math.log(ratio)) / se
        if sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc) >= power:
            return n
    return max_runs
