"""Sequential verdicts: look at a campaign after every few rounds and stop each cell once it is settled.

Re-testing after every rerun inflates the false-verdict rate: each look is another chance for noise to cross the
line. A group-sequential design keeps the stated rate by spending it over the looks
(:mod:`analysis.stats.sequential`: Lan-DeMets alpha spending, O'Brien-Fleming type by default, Pocock on request).

**The look's statistic** (:func:`look_statistics`) is :func:`analysis.compare.compare` itself, run on the
campaign so far: the t route of each cell (:func:`analysis.cells.t_route`, compare's columns ``t_route``,
``t_log_effect``, ``t_standard_error``, ``t_df``), with the variance priors fitted across the campaign's cells
(settled cells stay in with their runs), so the small-sample routes lend each look the degrees of freedom the
cells share:

* rounds pair the models (every round of the cell holds one run of each model, as ``pvfair collect`` writes
  them) and there are at least 5 of them: the (moderated) paired t on the within-round log ratios;
* otherwise the (moderated) Welch t on the logs; where compare's headline is the bootstrap (10 or more unpaired
  runs) the look tests the Welch t it stands in for.

The effect is the ratio of geometric means candidate/baseline, ``exp(d)``. A cell whose headline has no single t
(model-adjusted, bracket, a design confound) is not tested before the last look. :func:`cell_statistics` computes
the same statistic from :class:`analysis.cells.Cell` objects (the simulation of :mod:`analysis.sequential_sim`).

**The decision at look k** (:func:`sequential_look`), with ``t_k`` the information fraction
(``(1/n_b + 1/n_c)^-1`` over its value at ``max_trials`` runs each; the last round spends what is left, ``t = 1``):

* *faster / slower*: ``|T| >= t_crit``, the two-sided boundary at level ``alpha / m`` (the Bonferroni share of
  each of the campaign's m cells x metrics: the level of the report's simultaneous intervals, which compare's
  Holm verdict also needs; Holm's step-down has no group-sequential form without closed testing);
* *equivalent*: both one-sided TOST statistics against ``[1/(1+margin), 1+margin]`` cross the one-sided boundary
  at level ``alpha`` (as the report's TOST, unadjusted: an intersection-union test);
* both: "... but within margin"; the verdict words are :func:`analysis.compare.verdict`'s;
* otherwise inconclusive: the cell runs on, up to ``max_trials``.

The boundaries (:func:`look_thresholds`): for a moderated t the z boundaries of the spending function mapped
through the t distribution at the look's df; for a plain t after earlier looks (no prior: 2-11 df) the boundaries
of simulated null paths of that sequence of paired / Welch statistics
(:func:`analysis.stats.sequential.exact_t_boundaries`; Welch's at the least favourable ratio of the models'
spreads), as the mapping lets such a sequence cross too often.

A metric settles at the first look whose verdict is not inconclusive and is not tested again; a cell leaves the
following rounds once every metric of it has settled. At the last look a cell never tested before (nothing of
its alpha spent) takes compare's verdict, so one look (``min_trials = max_trials``) gives exactly compare's
verdict; on the t routes the boundaries are then ``t_{1 - alpha/(2m)}`` and ``t_{1 - alpha}``, i.e. compare's own
test and TOST.

Each look's rows carry the repeated confidence interval (Jennison & Turnbull ch. 9): ``exp(d +/- t_crit se)``,
which covers the true ratio at every look simultaneously with probability ``1 - alpha/m``: the interval shown
against the boundary in the notebooks (:func:`analysis.plots.sequential.looks_plot`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.blocking import PAIRED_MIN_ROUNDS
from analysis.schema import metric_direction
from analysis.stats.sequential import SPENDING, exact_t_boundaries, sequential_boundaries, t_critical
from analysis.stats.small_sample import MIN_PAIRED_PRIOR_CELLS, MIN_PRIOR_DF, prior_df_cap
from analysis.vocabulary import CELL_KEY

__all__ = ["SequentialDesign", "look_statistics", "cell_statistics", "sequential_look", "settled_cells", "decide",
           "look_thresholds", "information_fraction", "first_look_outlook", "FirstLookOutlook", "LOOK_COLUMNS",
           "STAT_COLUMNS", "LOOKS_FILE", "SEQUENTIAL_FILE"]

#: files a sequential collection writes in the campaign folder (``metadata*``: ingest ignores them)
LOOKS_FILE = "metadata_looks.csv"
SEQUENTIAL_FILE = "metadata_sequential.json"
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


def _paired_look(runs: int, rounds: bool) -> bool:
    return rounds and runs >= PAIRED_MIN_ROUNDS


def _lent_df(cells: int, runs: int, rounds: bool) -> float:
    """The df the other cells can lend a cell's variance at a look of *runs* runs per model
    (:func:`analysis.stats.small_sample.prior_df_cap`): one variance per cell for the paired t's from
    :data:`PAIRED_MIN_ROUNDS` rounds, else one per model and cell for the Welch t's."""
    if _paired_look(runs, rounds):
        return prior_df_cap([runs - 1] * cells)
    return prior_df_cap([runs - 1] * (2 * cells), groups=2)


def _lends_a_prior(cells: int, runs: int, rounds: bool) -> bool:
    """Whether the variance prior can be fitted at a look of *runs* runs per model in every one of *cells* cells
    (compare's rule, :func:`analysis.stats.small_sample.moderated_variances`; the paired prior from
    ``MIN_PAIRED_PRIOR_CELLS`` cells)."""
    enough = cells >= (MIN_PAIRED_PRIOR_CELLS if _paired_look(runs, rounds) else 2)
    return enough and _lent_df(cells, runs, rounds) >= MIN_PRIOR_DF


@dataclass(frozen=True)
class FirstLookOutlook:
    """What the first look of a design can settle in a campaign of *cells* cells, known before any run.

    Where the other cells cannot lend a cell's variance a prior (fewer than ``MIN_PRIOR_DF`` df between them:
    1-3 cells at 3 runs; the paired t, from ``PAIRED_MIN_ROUNDS`` rounds, fewer than ``MIN_PAIRED_PRIOR_CELLS``
    cells), each cell's t stands on its own df at the first look (Welch's: at most ``2 (n - 1)``;
    paired: ``n - 1``), and an early O'Brien-Fleming boundary on so few df is far out: ``t_boundary`` (at
    ``alpha / cells``, the least any metric of the campaign faces). ``ratio_at(cv)`` turns it into the smallest
    difference that crosses it at a run-to-run CV. ``prior_from`` is the smallest ``--min-trials`` whose first look
    has the prior (None: never up to ``max_trials``); ``pocock_t_boundary`` the first boundary under Pocock.
    """

    cells: int
    runs: int
    looks: int
    spending: str
    paired: bool
    has_prior: bool
    own_df: int
    t_boundary: float
    pocock_t_boundary: float
    prior_from: int | None

    def ratio_at(self, cv: float, t: float | None = None) -> float:
        """The smallest ratio of geometric means whose t reaches *t* (default the boundary) at run CV *cv*."""
        sigma = math.sqrt(math.log1p(cv ** 2))
        return math.exp((self.t_boundary if t is None else t) * sigma * math.sqrt(2 / self.runs))

    def summary(self) -> str:
        """One paragraph for the terminal: empty where the first look has the prior or is the only look."""
        if self.has_prior or self.looks < 2:
            return ""
        if self.paired and 1 < self.cells < MIN_PAIRED_PRIOR_CELLS:
            lent = (f"the paired t from round {PAIRED_MIN_ROUNDS} takes a variance prior from "
                    f"{MIN_PAIRED_PRIOR_CELLS} cells on, this campaign has {self.cells}")
        elif self.cells > 1:
            lent = (f"{self.cells} cells of {self.runs} runs lend each other "
                    f"{_lent_df(self.cells, self.runs, self.paired):.0f} df, fewer than a variance prior needs "
                    f"({MIN_PRIOR_DF:.0f})")
        else:
            lent = "a single cell has no other cells to lend it a variance prior"
        text = (f"first look after round {self.runs}: {lent}, so each cell's t stands on its own {self.own_df} df "
                f"or fewer; the first --spending {self.spending} boundary (look 1 of {self.looks}, "
                f"alpha/{self.cells} with one metric per cell) is at |t| = {self.t_boundary:.1f} or beyond, which "
                f"a cell's expected t reaches from a {self.ratio_at(0.05):.2f}x difference at a run CV of 5 %; "
                "smaller differences settle at later looks.")
        sooner = [f"--min-trials {self.prior_from} (the prior from the first look)"] if self.prior_from else []
        if self.spending != "pocock":
            sooner.append(f"--spending pocock (|t| >= {self.pocock_t_boundary:.1f}: "
                          f"{self.ratio_at(0.05, self.pocock_t_boundary):.2f}x at CV 5 %)")
        return text + (f" Sooner: {' or '.join(sooner)}." if sooner else "")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def first_look_outlook(design: SequentialDesign, cells: int, *, rounds: bool = True) -> FirstLookOutlook:
    """:class:`FirstLookOutlook` of *design* over *cells* cells (*rounds*: runs paired in rounds, as collect
    writes them). The boundary is :func:`look_thresholds`' for the first look at the cell's own df."""
    if not isinstance(cells, int | np.integer) or cells < 1:
        raise ValueError(f"cells: expected a positive whole number, got {cells!r}")
    n, looks = design.min_trials, len(design.look_rounds)
    paired = _paired_look(n, rounds)
    own_df = n - 1 if paired else 2 * (n - 1)
    fraction = float(information_fraction(n, n, design.max_trials))
    route = "paired t (log)" if paired else "Welch t (log)"

    def boundary(spending: str) -> float:
        return float(look_thresholds([fraction], [(n, n)], [route], own_df, design.alpha_per_comparison(cells),
                                     design.alpha, spending)[1])
    prior_from = next((k for k in range(n + 1, design.max_trials + 1) if _lends_a_prior(cells, k, rounds)), None)
    return FirstLookOutlook(cells=int(cells), runs=n, looks=looks, spending=design.spending,
                            paired=paired, has_prior=_lends_a_prior(cells, n, rounds), own_df=own_df,
                            t_boundary=boundary(design.spending), pocock_t_boundary=boundary("pocock"),
                            prior_from=prior_from)


# ---------------------------------------------------------------------------------------------------- statistic


STAT_COLUMNS = ("metric", "direction", "route", "n_baseline", "n_candidate", "log_ratio", "se", "df",
                "fixed_verdict", "note")


def look_statistics(campaign: Any, baseline: str, candidate: str, *, metrics: Sequence[str] | None = None,
                    by: Sequence[str] = CELL_KEY, **compare_options: Any) -> pd.DataFrame:
    """The look statistic of every cell and metric of a campaign: :func:`analysis.compare.compare` itself.

    ``route``, ``log_ratio``, ``se``, ``df`` are compare's ``t_route``, ``t_log_effect``, ``t_standard_error``,
    ``t_df`` (the cell's t route with the variance priors fitted across the campaign's cells); ``fixed_verdict``
    is compare's verdict, which decides a cell at the last look if it was never tested before. A cell whose
    headline has no single t (model-adjusted, bracket, a design confound) or that compare excluded gets NaN
    statistics and says why in ``note``. Returns a frame with the ``by`` columns and :data:`STAT_COLUMNS`.
    """
    from analysis.compare import compare

    res = compare(campaign, baseline=baseline, candidate=candidate, metrics=metrics, by=tuple(by),
                  **({"rng": 0} | compare_options))
    t = res.table
    rows = [{**{k: r[k] for k in by}, "metric": r["metric"], "direction": r["direction"],
             "route": r["t_route"] or r["route"], "n_baseline": int(r["n_baseline"]),
             "n_candidate": int(r["n_candidate"]), "log_ratio": r["t_log_effect"], "se": r["t_standard_error"],
             "df": r["t_df"], "fixed_verdict": r["verdict"],
             "note": "" if r["t_route"] else f"basis {r['basis']}: no t statistic; compare's verdict at the last look"}
            for _, r in t.iterrows()]
    for _, r in res.excluded.iterrows():
        for metric in [r["metric"]] if pd.notna(r["metric"]) else res.metrics:
            rows.append({**{k: r[k] for k in by}, "metric": metric, "direction": metric_direction(metric),
                         "route": "", "n_baseline": int(r["n_baseline"]), "n_candidate": int(r["n_candidate"]),
                         "log_ratio": np.nan, "se": np.nan, "df": np.nan, "fixed_verdict": "inconclusive",
                         "note": f"not compared: {r['reason']}"})
    return pd.DataFrame(rows, columns=[*by, *STAT_COLUMNS])


def cell_statistics(cells: Sequence[Any], kind: str = "raw") -> list[Any]:
    """The t route of each :class:`analysis.cells.Cell` as compare decides it (priors fitted across *cells*):
    the statistic behind compare's ``t_*`` columns, for simulations that skip ingest and audit
    (:mod:`analysis.sequential_sim`)."""
    from analysis.cells import Priors, t_route

    priors = Priors.fit(list(cells))
    return [t_route(c, kind, priors) for c in cells]


# ---------------------------------------------------------------------------------------------------- decision


LOOK_COLUMNS = ("look", "round", "metric", "direction", "route", "n_baseline", "n_candidate", "df", "fraction",
                "z_boundary", "t_boundary", "z_equivalence", "t_equivalence", "t_statistic", "estimate", "rci_low",
                "rci_high", "tost_low", "tost_high", "verdict", "settled", "note")


def information_fraction(n_baseline: Any, n_candidate: Any, max_trials: int) -> Any:
    """``(1/n_b + 1/n_c)^-1`` over its value at ``max_trials`` runs each (``n / max_trials`` for n pairs)."""
    info = 1 / (1 / np.asarray(n_baseline, float) + 1 / np.asarray(n_candidate, float))
    return np.minimum(info / (max_trials / 2), 1.0)


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


def look_thresholds(fractions: Sequence[float], sizes: Sequence[tuple[int, int]], routes: Sequence[str], df: Any,
                    alpha_two: float, alpha_one: float, spending: str) -> tuple[float, Any, float, Any]:
    """(z two-sided, t two-sided, z one-sided, t one-sided) boundaries of the last of these looks.

    *fractions*, *sizes* (runs per model) and *routes* (compare's ``t_route``) of the cell's looks so far. A
    moderated t (its df lent by the other cells) gets the z boundaries of the spending function mapped through
    the t distribution at its df (:func:`analysis.stats.sequential.t_critical`; *df* may be an array); a plain
    paired or Welch t after earlier looks, whose few df make the mapped sequence cross too often, gets the
    boundaries of simulated null paths of that sequence (:func:`analysis.stats.sequential.exact_t_boundaries`).
    tests/validity checks both by simulation.
    """
    z2, exact2, z1, exact1 = _thresholds(tuple(float(f) for f in fractions),
                                         tuple((int(a), int(b)) for a, b in sizes), tuple(map(str, routes)),
                                         float(alpha_two), float(alpha_one), spending)
    if exact2 is None:
        return z2, t_critical(z2, df), z1, t_critical(z1, df)
    return z2, np.full(np.shape(df), exact2)[()], z1, np.full(np.shape(df), exact1)[()]


@functools.lru_cache(maxsize=4096)
def _thresholds(fractions, sizes, routes, alpha_two, alpha_one, spending):
    """z boundaries, and the simulated t boundaries where the last look's t is plain after earlier looks."""
    z2 = float(sequential_boundaries(fractions, alpha_two, spending=spending, sides=2)[-1])
    z1 = float(sequential_boundaries(fractions, alpha_one, spending=spending, sides=1)[-1])
    if len(fractions) == 1 or routes[-1].startswith("moderated"):
        return z2, None, z1, None
    paired = [r.endswith("paired t (log)") for r in routes]
    t2 = exact_t_boundaries(sizes, fractions, alpha_two, spending=spending, sides=2, paired=paired)[-1]
    t1 = exact_t_boundaries(sizes, fractions, alpha_one, spending=spending, sides=1, paired=paired)[-1]
    return z2, float(t2), z1, float(t1)


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
    final = round >= design.max_trials
    rows = []
    for _, st in stats.iterrows():
        key = tuple(st[c] for c in [*by, "metric"])
        hist = _history(previous, key, by)
        if len(hist) and bool(hist["settled"].astype(bool).any()):
            continue
        base = {c: st[c] for c in [*by, "metric", "direction", "route", "n_baseline", "n_candidate", "df"]}
        base |= {"look": look, "round": round, "note": st["note"]}
        tested = hist[np.isfinite(hist["fraction"].astype(float))] if len(hist) else hist
        rows.append(base | _decide_row(st, design, final, tested, design.alpha_per_comparison(m)))
    return pd.DataFrame(rows, columns=[*by, *LOOK_COLUMNS])


def _decide_row(st: pd.Series, design: SequentialDesign, final: bool, tested: pd.DataFrame,
                a2: float) -> dict[str, Any]:
    """One cell x metric at one look: boundaries, repeated CI, verdict (see the module docstring)."""
    from analysis.compare import verdict

    untested_final = final and not len(tested)  # nothing spent yet: the fixed-sample verdict is compare's own
    fixed = {"verdict": st["fixed_verdict"], "settled": st["fixed_verdict"] != "inconclusive"}
    if not np.isfinite(st["se"]):
        return {"fraction": np.nan, **(fixed if untested_final else {"verdict": "inconclusive", "settled": False})}
    frac = 1.0 if final else float(information_fraction(st["n_baseline"], st["n_candidate"], design.max_trials))
    if len(tested) and frac <= float(tested["fraction"].astype(float).max()):
        return {"fraction": np.nan, "verdict": "inconclusive", "settled": False,
                "note": "; ".join(filter(None, [st["note"], "no new runs since the last look"]))}
    sizes = [*zip(tested["n_baseline"].astype(int), tested["n_candidate"].astype(int), strict=True),
             (int(st["n_baseline"]), int(st["n_candidate"]))]
    z2, t2, z1, t1 = look_thresholds([*tested["fraction"].astype(float), frac], sizes,
                                     [*tested["route"].astype(str), str(st["route"])], st["df"], a2, design.alpha,
                                     design.spending)
    t2, t1 = float(t2), float(t1)
    d, se = float(st["log_ratio"]), float(st["se"])
    sig, eq = (bool(x.item()) for x in decide(d, se, t2, t1, design.margin))
    v = verdict(sig, eq, math.exp(d), st["direction"])
    return {"fraction": frac, "z_boundary": z2, "t_boundary": t2, "z_equivalence": z1, "t_equivalence": t1,
            "t_statistic": d / se if se > 0 else np.nan, "estimate": math.exp(d),
            "rci_low": math.exp(d - t2 * se), "rci_high": math.exp(d + t2 * se),
            "tost_low": math.exp(d - t1 * se), "tost_high": math.exp(d + t1 * se),
            **(fixed if untested_final else {"verdict": v, "settled": v != "inconclusive"})}


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
