"""Sequential verdicts: look at a campaign after every few rounds and stop each cell once it is settled.

Re-testing after every rerun inflates the false-verdict rate: each look is another chance for noise to cross the
line. A group-sequential design keeps the stated rate by spending it over the looks
(:mod:`analysis.stats.sequential`: Lan-DeMets alpha spending, O'Brien-Fleming type by default, Pocock on request).

**The look's statistic** (:func:`look_statistics`) is t-based on the log metric, the route that can reach the
adjusted alpha at 3 runs per model (the permutation p-value cannot go below 0.1 at 3 vs 3):

* rounds pair the models (every round, i.e. ``trial``, of the cell holds one run of each model, as ``pvfair
  collect`` writes them): a paired t on the within-round log ratios, ``df = n - 1``;
* otherwise Welch's t on the logs, Welch-Satterthwaite df.

The effect is the ratio of geometric means candidate/baseline, ``exp(d)``. Cells, metrics and their directions
are those of :func:`analysis.compare.compare` (:data:`analysis.vocabulary.CELL_KEY`,
:data:`analysis.compare.DEFAULT_METRICS`, :mod:`analysis.schema`); warm-up runs are left out as there.

**The decision at look k** (:func:`sequential_look`), with ``t_k`` the information fraction (paired: pairs /
``max_trials``; Welch: ``(1/n_b + 1/n_c)^-1`` over its value at ``max_trials`` each; the last round spends what
is left, ``t = 1``):

* *faster / slower*: ``|T| >= t_crit``, the two-sided boundary at level ``alpha / m`` (the Bonferroni share of
  each of the campaign's m cells x metrics: the level of the report's simultaneous intervals, so Holm and
  Bonferroni both use it; Holm's step-down has no group-sequential form without closed testing), mapped from the z
  scale through the t distribution at the look's df (:func:`analysis.stats.sequential.t_critical`);
* *equivalent*: both one-sided TOST statistics against ``[1/(1+margin), 1+margin]`` cross the one-sided boundary
  at level ``alpha`` (as the report's TOST, unadjusted: an intersection-union test);
* both: "... but within margin"; the verdict words are :func:`analysis.compare.verdict`'s;
* otherwise inconclusive: the cell runs on, up to ``max_trials``.

A metric settles at the first look whose verdict is not inconclusive and is not tested again; a cell leaves the
following rounds once every metric of it has settled. With one look (``min_trials = max_trials``) the boundaries
are ``z_{1 - alpha/(2m)}`` and ``z_{1 - alpha}``, i.e. exactly the fixed-sample t test and TOST.

Each look's rows carry the repeated confidence interval (Jennison & Turnbull ch. 9): ``exp(d +/- t_crit se)``,
which covers the true ratio at every look simultaneously with probability ``1 - alpha/m``: the interval shown
against the boundary in the notebooks (:func:`analysis.plots.sequential.looks_plot`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.schema import metric_direction
from analysis.stats.sequential import SPENDING, exact_t_boundaries, sequential_boundaries, t_critical
from analysis.vocabulary import CELL_KEY

__all__ = ["SequentialDesign", "look_statistics", "sequential_look", "settled_cells", "decide", "look_thresholds",
           "LOOK_COLUMNS",
           "ROUTES", "LOOKS_FILE", "SEQUENTIAL_FILE"]

#: files a sequential collection writes in the campaign folder (``metadata*``: ingest ignores them)
LOOKS_FILE = "metadata_looks.csv"
SEQUENTIAL_FILE = "metadata_sequential.json"
#: the look statistic's route -> what it is
ROUTES: dict[str, str] = {
    "paired-log-t": "paired t on within-round log ratios (one run of each model per round)",
    "welch-log-t": "Welch t on the log metric",
}
_CORRECTIONS = ("holm", "bonferroni", "none")


@dataclass(frozen=True)
class SequentialDesign:
    """The stopping rule: when to look, how the error rate is spent, the margin of equivalence.

    >>> SequentialDesign(min_trials=3, max_trials=8, look_every=2).look_rounds
    (3, 5, 7, 8)
    """

    min_trials: int = 3
    max_trials: int = 12
    look_every: int = 1
    alpha: float = 0.05
    margin: float = 0.05
    spending: str = "obrien-fleming"
    correction: str = "holm"

    def __post_init__(self) -> None:
        for name in ("min_trials", "max_trials", "look_every"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive whole number, got {v!r}")
        if self.min_trials < 2:
            raise ValueError(f"min_trials: expected at least 2 (a t statistic needs 2 runs per model), got "
                             f"{self.min_trials}")
        if self.max_trials < self.min_trials:
            raise ValueError(f"max_trials: expected at least min_trials ({self.min_trials}), got {self.max_trials}")
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha: expected a level in (0, 0.5), got {self.alpha!r}")
        if not 0 < self.margin < 1:
            raise ValueError(f"margin: expected a relative margin in (0, 1), e.g. 0.05, got {self.margin!r}")
        if self.spending not in SPENDING:
            raise ValueError(f"spending: expected one of {sorted(SPENDING)}, got {self.spending!r}")
        if self.correction not in _CORRECTIONS:
            raise ValueError(f"correction: expected one of {list(_CORRECTIONS)}, got {self.correction!r}")

    @property
    def look_rounds(self) -> tuple[int, ...]:
        """Rounds after which the campaign is analysed: the minimum, every ``look_every`` after it, the maximum."""
        rounds = list(range(self.min_trials, self.max_trials + 1, self.look_every))
        if rounds[-1] != self.max_trials:
            rounds.append(self.max_trials)
        return tuple(rounds)

    def alpha_per_comparison(self, m: int) -> float:
        """The two-sided level of one cell x metric among *m*."""
        return self.alpha if self.correction == "none" else self.alpha / max(int(m), 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------- statistic


STAT_COLUMNS = ("metric", "direction", "route", "n_baseline", "n_candidate", "n_pairs", "log_ratio", "se", "df",
                "note")


def _paired(cell: pd.DataFrame, baseline: str, candidate: str) -> pd.DataFrame | None:
    """Per-round (baseline, candidate) values when every round has one run of each model, else None."""
    if "trial" not in cell or cell["trial"].isna().any():
        return None
    counts = cell.groupby(["trial", "pv_model"]).size().unstack(fill_value=0)
    if not {baseline, candidate} <= set(counts.columns) or not (counts[[baseline, candidate]] == 1).all().all():
        return None
    wide = cell.pivot(index="trial", columns="pv_model", values="value")
    return wide[[baseline, candidate]] if len(wide) >= 2 else None


def _cell_statistic(cell: pd.DataFrame, baseline: str, candidate: str) -> dict[str, Any]:
    pos = cell["value"] > 0
    note = "" if pos.all() else f"{int((~pos).sum())} non-positive value(s) left out (log scale)"
    cell = cell[pos]
    b = np.log(cell.loc[cell["pv_model"] == baseline, "value"].to_numpy(float))
    c = np.log(cell.loc[cell["pv_model"] == candidate, "value"].to_numpy(float))
    out = {"n_baseline": len(b), "n_candidate": len(c), "n_pairs": 0, "note": note}
    wide = _paired(cell, baseline, candidate)
    if wide is not None:
        diff = np.log(wide[candidate].to_numpy(float)) - np.log(wide[baseline].to_numpy(float))
        n = len(diff)
        return out | {"route": "paired-log-t", "n_pairs": n, "log_ratio": float(diff.mean()),
                      "se": float(diff.std(ddof=1) / math.sqrt(n)), "df": float(n - 1)}
    if len(b) < 2 or len(c) < 2:
        return out | {"route": "welch-log-t", "log_ratio": np.nan, "se": np.nan, "df": np.nan,
                      "note": "; ".join(filter(None, [note, "fewer than 2 runs of a model: no t statistic"]))}
    vb, vc = b.var(ddof=1) / len(b), c.var(ddof=1) / len(c)
    se2 = vb + vc
    df = se2 ** 2 / (vb ** 2 / (len(b) - 1) + vc ** 2 / (len(c) - 1)) if se2 > 0 else float(len(b) + len(c) - 2)
    return out | {"route": "welch-log-t", "log_ratio": float(c.mean() - b.mean()), "se": float(math.sqrt(se2)),
                  "df": float(df)}


def look_statistics(campaign: Any, baseline: str, candidate: str, *, metrics: Sequence[str] | None = None,
                    by: Sequence[str] = CELL_KEY) -> pd.DataFrame:
    """The t statistic on the log metric of every cell and metric of a campaign (see the module docstring).

    Returns a frame with the ``by`` columns and :data:`STAT_COLUMNS`; a cell that has a model with fewer than two
    runs gets NaN statistics and says why in ``note``.
    """
    from analysis.compare import DEFAULT_METRICS

    runs, meas = campaign.runs, campaign.measurements
    for model in (baseline, candidate):
        if model not in set(runs["pv_model"]):
            raise ValueError(f"baseline/candidate: model {model!r} not in the campaign's runs; expected one of "
                             f"{sorted(set(runs['pv_model']))}")
    if "warmup" in runs:
        runs = runs[~runs["warmup"].fillna(False).astype(bool)]
    runs = runs[runs["pv_model"].isin([baseline, candidate])]
    wanted = list(metrics) if metrics is not None else [m for m in DEFAULT_METRICS if m in set(meas["metric"])]
    cols = [*by, "run_id", "pv_model"] + (["trial"] if "trial" in runs and "trial" not in by else [])
    data = meas[meas["metric"].isin(wanted)].merge(runs[cols], on="run_id")
    rows = []
    for key, cell in data.groupby([*by, "metric"], sort=True, dropna=False):
        stat = _cell_statistic(cell, baseline, candidate)
        rows.append(dict(zip([*by, "metric"], key, strict=True)) | {"direction": metric_direction(key[-1])} | stat)
    return pd.DataFrame(rows, columns=[*by, *STAT_COLUMNS])


# ---------------------------------------------------------------------------------------------------- decision


LOOK_COLUMNS = ("look", "round", "metric", "direction", "route", "n_baseline", "n_candidate", "df", "fraction",
                "z_boundary", "t_boundary", "z_equivalence", "t_equivalence", "t_statistic", "estimate", "rci_low",
                "rci_high", "tost_low", "tost_high", "verdict", "settled", "note")


def _fraction(stat: pd.Series, design: SequentialDesign, final: bool) -> float:
    if final:
        return 1.0
    if stat["route"] == "paired-log-t":
        return min(stat["n_pairs"] / design.max_trials, 1.0)
    info = 1 / (1 / stat["n_baseline"] + 1 / stat["n_candidate"])
    return min(info / (design.max_trials / 2), 1.0)


def decide(log_ratio: np.ndarray, se: np.ndarray, t_two: np.ndarray, t_one: np.ndarray,
           margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized look decision on the t scale: (significant, equivalent) per element.

    *significant*: ``|d / se| >= t_two``; *equivalent*: both TOST statistics ``(d + log(1+margin)) / se`` and
    ``(log(1+margin) - d) / se`` reach ``t_one``.
    """
    d, s = np.asarray(log_ratio, float), np.asarray(se, float)
    lm = math.log1p(margin)
    with np.errstate(divide="ignore", invalid="ignore"):
        significant = np.abs(d / s) >= t_two
        equivalent = np.minimum((d + lm) / s, (lm - d) / s) >= t_one
    return significant & np.isfinite(d), equivalent & np.isfinite(d)


def look_thresholds(route: str, sizes: Sequence[tuple[int, int]], fractions: Sequence[float], df: float,
                    alpha_two: float, alpha_one: float, spending: str) -> tuple[float, float, float, float]:
    """(z two-sided, t two-sided, z one-sided, t one-sided) boundaries of the last of these looks.

    Paired route: :func:`analysis.stats.sequential.exact_t_boundaries` (first-crossing probabilities of the paired
    t sequence equal the spent increments); Welch route: the z boundaries mapped through the t distribution at the
    look's Welch df (:func:`analysis.stats.sequential.t_critical`), which tests/validity shows holds the level.
    """
    z2 = sequential_boundaries(fractions, alpha_two, spending=spending, sides=2)[-1]
    z1 = sequential_boundaries(fractions, alpha_one, spending=spending, sides=1)[-1]
    if route == "paired-log-t" and len(sizes) > 1:
        t2 = exact_t_boundaries(sizes, fractions, alpha_two, spending=spending, sides=2)[-1]
        t1 = exact_t_boundaries(sizes, fractions, alpha_one, spending=spending, sides=1)[-1]
    else:
        t2, t1 = t_critical(z2, df).item(), t_critical(z1, df).item()
    return float(z2), float(t2), float(z1), float(t1)


def _history(previous: pd.DataFrame | None, key: tuple, by: Sequence[str]) -> pd.DataFrame:
    if previous is None or previous.empty:
        return pd.DataFrame(columns=LOOK_COLUMNS)
    mask = np.ones(len(previous), bool)
    for col, v in zip([*by, "metric"], key, strict=True):
        mask &= (previous[col].astype(str) == str(v)).to_numpy()
    return previous[mask]


def sequential_look(stats: pd.DataFrame, design: SequentialDesign, *, look: int, round: int, m: int,
                    previous: pd.DataFrame | None = None, by: Sequence[str] = CELL_KEY) -> pd.DataFrame:
    """Decide every not yet settled cell x metric at one look; returns this look's rows (:data:`LOOK_COLUMNS`).

    Parameters
    ----------
    stats : :func:`look_statistics` of the campaign so far
    design : the stopping rule
    look, round : this look's number (1-based) and the rounds finished
    m : the campaign's number of cells x metrics (fixed at the first look: the Bonferroni share ``alpha / m``)
    previous : the rows of the earlier looks (their fractions make this look's boundaries)
    """
    from analysis.compare import verdict

    final = round >= design.max_trials
    a2 = design.alpha_per_comparison(m)
    rows = []
    for _, st in stats.iterrows():
        key = tuple(st[c] for c in [*by, "metric"])
        hist = _history(previous, key, by)
        if bool(hist["settled"].astype(bool).any()) if len(hist) else False:
            continue
        base = {c: st[c] for c in [*by, "metric", "direction", "route", "n_baseline", "n_candidate", "df"]}
        base |= {"look": look, "round": round, "note": st["note"]}
        tested = hist[np.isfinite(hist["fraction"].astype(float))] if len(hist) else hist
        frac = _fraction(st, design, final) if np.isfinite(st["se"]) else np.nan
        if not np.isfinite(frac) or (len(tested) and frac <= float(tested["fraction"].astype(float).max())):
            why = "no t statistic" if not np.isfinite(frac) else "no new runs since the last look"
            rows.append(base | {"fraction": np.nan, "verdict": "inconclusive", "settled": False,
                                "note": "; ".join(filter(None, [st["note"], why]))})
            continue
        fracs = [*tested["fraction"].astype(float), frac]
        paired = st["route"] == "paired-log-t" and (tested["route"] == "paired-log-t").all()
        sizes = [*zip(tested["n_baseline"].astype(int), tested["n_candidate"].astype(int), strict=True),
                 (int(st["n_baseline"]), int(st["n_candidate"]))]
        z2, t2, z1, t1 = look_thresholds("paired-log-t" if paired else "welch-log-t", sizes, fracs, st["df"], a2,
                                         design.alpha, design.spending)
        sig, eq = (x.item() for x in decide(st["log_ratio"], st["se"], t2, t1, design.margin))
        est = math.exp(st["log_ratio"])
        v = verdict(bool(sig), bool(eq), est, st["direction"])
        rows.append(base | {
            "fraction": frac, "z_boundary": z2, "t_boundary": t2, "z_equivalence": z1, "t_equivalence": t1,
            "t_statistic": st["log_ratio"] / st["se"] if st["se"] > 0 else np.nan, "estimate": est,
            "rci_low": math.exp(st["log_ratio"] - t2 * st["se"]), "rci_high": math.exp(st["log_ratio"] + t2 * st["se"]),
            "tost_low": math.exp(st["log_ratio"] - t1 * st["se"]), "tost_high": math.exp(st["log_ratio"] + t1 * st["se"]),
            "verdict": v, "settled": v != "inconclusive"})
    return pd.DataFrame(rows, columns=[*by, *LOOK_COLUMNS])


def settled_cells(looks: pd.DataFrame, stats: pd.DataFrame, by: Sequence[str] = CELL_KEY) -> set[tuple]:
    """Cells (``by`` values, as strings) every metric of which has settled in *looks*."""
    if looks is None or looks.empty:
        return set()
    done = {tuple(str(r[c]) for c in [*by, "metric"]) for _, r in looks[looks["settled"].astype(bool)].iterrows()}
    out: dict[tuple, bool] = {}
    for _, r in stats.iterrows():
        cell = tuple(str(r[c]) for c in by)
        out[cell] = out.get(cell, True) and (*cell, str(r["metric"])) in done
    return {c for c, ok in out.items() if ok}
