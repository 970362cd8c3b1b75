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

from analysis.cells import Cell
from analysis.sequential import SequentialDesign, cell_statistics, decide, look_thresholds

__all__ = ["SimulationResult", "simulate_sequential", "fixed_runs_for_power", "ROUTES"]


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


ROUTES = ("paired", "welch")


def _cells(eb: np.ndarray, ec: np.ndarray, runs: np.ndarray, paired: bool) -> list[Cell]:
    """One campaign's cells as compare sees them: cell i has its first runs[i] runs of each model."""
    return [Cell(keys=(i,), label=str(i), metric="throughput_bps", direction="higher", b=np.exp(eb[i, :n]),
                 c=np.exp(ec[i, :n]), b_ghz=None, c_ghz=None, ghz_b=np.full(n, np.nan), ghz_c=np.full(n, np.nan),
                 paired=paired, test=None, size=None) for i, n in enumerate(runs)]


def _campaign(eb, ec, design: SequentialDesign, naive: bool, paired: bool, sign: float) -> dict[str, np.ndarray]:
    """Looks over one campaign (cells x rounds of log values): per cell its stop round, verdict flags, first look."""
    m = eb.shape[0]
    a2 = design.alpha_per_comparison(m)
    running = np.ones(m, bool)
    runs = np.full(m, design.look_rounds[0])
    out = {k: np.zeros(m, bool) for k in ("wrong", "right", "equiv", "first")}
    routes: list[str] = []  # the route of the running cells at each look (one prior per campaign: the same)
    for k, n in enumerate(design.look_rounds):
        runs[running] = n
        res = cell_statistics(_cells(eb, ec, runs, paired))
        d, se, df = (np.array([getattr(r, a) for r in res]) for a in ("log_effect", "standard_error", "df"))
        routes.append(res[int(np.argmax(running))].method)
        looks = [(1.0, n)] if naive else [(r / design.max_trials, r) for r in design.look_rounds[:k + 1]]
        _, t2, _, t1 = look_thresholds([f for f, _ in looks], [(r, r) for _, r in looks],
                                       routes[-len(looks):], df, a2, design.alpha, design.spending)
        sig, eq = decide(d, se, t2, t1, design.margin)
        stop = running & (sig | eq)
        out["wrong"] |= stop & sig & ((np.sign(d) != sign) | (sign == 0))
        out["right"] |= stop & sig & (np.sign(d) == sign) & (sign != 0)
        out["equiv"] |= stop & eq & ~sig
        if k == 0:
            out["first"] = stop.copy()
        running &= ~stop
        if not running.any():
            break
    return out | {"runs": np.where(running, design.max_trials, runs)}


def simulate_sequential(design: SequentialDesign, *, campaigns: int, cells: int, ratio: float, cv: float,
                        route: str = "paired", naive: bool = False, drift_cv: float = 0.0,
                        cv_candidate: float | None = None,
                        rng: np.random.Generator | int | None = None) -> SimulationResult:
    """Simulate *campaigns* campaigns of *cells* cells under the design (or the naive rule) and a known truth.

    *route* ``"paired"``: every round holds one run of each model (as ``pvfair collect`` writes them), so compare
    takes the paired t from 5 rounds and the Welch t before; ``"welch"``: runs without rounds (Welch t at every
    look). At every look the statistic is compare's (:func:`analysis.sequential.cell_statistics`, priors fitted
    across the campaign's cells, settled cells kept at their runs) and the boundaries those of
    :func:`analysis.sequential.look_thresholds`. *cv_candidate* (default *cv*) gives the candidate's runs their
    own CV: a Welch t's null law depends on the ratio of the models' spreads.
    """
    if route not in ROUTES:
        raise ValueError(f"route: expected one of {ROUTES}, got {route!r}")
    rng = np.random.default_rng(rng)
    sigma = math.sqrt(math.log1p(cv ** 2))
    shape = (campaigns, cells, design.max_trials)
    drift = rng.normal(0, math.sqrt(math.log1p(drift_cv ** 2)), shape) if drift_cv else 0.0
    eb = rng.normal(0, sigma, shape) + drift
    sigma_c = sigma if cv_candidate is None else math.sqrt(math.log1p(cv_candidate ** 2))
    ec = rng.normal(math.log(ratio), sigma_c, shape) + drift
    sign = float(np.sign(math.log(ratio)))
    res = [_campaign(eb[i], ec[i], design, naive, route == "paired", sign) for i in range(campaigns)]
    get = lambda k: np.stack([r[k] for r in res])  # noqa: E731
    return SimulationResult(campaigns=campaigns, cells=cells, familywise_rate=float(get("wrong").any(1).mean()),
                            first_look_settled=float(get("first").mean()), power=float(get("right").mean()),
                            equivalent=float(get("equiv").mean()), expected_runs=float(get("runs").mean()))


def fixed_runs_for_power(power: float, *, ratio: float, cv: float, alpha: float, route: str = "paired",
                         max_runs: int = 200) -> int:
    """Fewest runs per model of a one-look t test on the logs at two-sided *alpha* with at least *power*
    against *ratio* (noncentral t; paired: ``df = n - 1``, Welch with equal variances: ``df = 2n - 2``)."""
    sigma = math.sqrt(math.log1p(cv ** 2))
    for n in range(2, max_runs + 1):
        se = sigma * math.sqrt(2 / n)
        df = n - 1 if route == "paired" else 2 * n - 2
        crit = sps.t.isf(alpha / 2, df)
        nc = abs(math.log(ratio)) / se
        if sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc) >= power:
            return n
    return max_runs
