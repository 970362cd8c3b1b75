"""Verdicts per cell: is the candidate faster, slower, equivalent within the margin, or is it too early to say?

:func:`compare` takes a campaign (raw or normalized), normalizes it (:func:`analysis.normalize.normalize`) and
audits it (:func:`analysis.audit.audit`) itself, and answers for every cell (``by``: test x message size x pinning)
and metric with the ratio candidate/baseline of a location statistic, its confidence interval, a permutation
test, a TOST equivalence test and a verdict:

* **faster / slower**: the multiplicity-adjusted p-value is below ``alpha`` *and* the simultaneous CI excludes 1
  on that side (direction from the metric: lower latency is faster);
* **equivalent**: the TOST p-value is below ``alpha`` (the (1 - 2 alpha) CI lies inside
  ``[1/(1+margin), 1+margin]``);
* both: **faster but within margin** / **slower but within margin**;
* otherwise **inconclusive**, with the runs per model that would settle it (:func:`analysis.stats.runs_needed`).

Which effect the verdict rests on (the *headline*) is chosen per cell, and said, through :data:`HEADLINES`:

* the two models ran at the same CPU clock in the cell: the **raw** ratio (nothing to normalize);
* different clocks, and the regression model (:func:`analysis.model.fit_model`, within the cell's test and
  message size) could estimate the clock elasticity there: the **model-adjusted** effect. Dividing by GHz is right
  only for CPU-bound work (elasticity 1); on a wire-bound cell (elasticity 0) it would invent a difference, so
  the per-GHz ratio is shown beside the headline, never used for it by default;
* different clocks that the model cannot separate from the PV model (every run of one model at one clock, the
  other's at another): the **raw** ratio, with its CI widened to span the per-GHz CI too. For any elasticity
  between 0 and 1 the clock-corrected effect lies between the raw and the per-GHz ratio, so a verdict from the
  union holds whichever the regime; it says so in ``headline_reason``.

Which interval and test decide (the *route*, column ``route``) is chosen per cell and sample by one rule
(:mod:`analysis.cells`), validated in ``tests/validity/test_small_sample_validity.py``:

1. **paired t (log)**, on the within-round log ratios ``log(c_i / b_i)``, when the runs come in complete rounds
   (:mod:`analysis.blocking`: a ``block`` or ``trial`` column, one run of each model per round, rounds in run
   order) and there are at least :data:`~analysis.blocking.PAIRED_MIN_ROUNDS` rounds (column ``paired``); its
   variance is moderated across the paired cells (``moderated paired t (log)``) where there are at least
   :data:`~analysis.stats.small_sample.MIN_PAIRED_PRIOR_CELLS` of them;
2. **bootstrap BCa** with the permutation test's p-value when both models have at least
   :data:`~analysis.cells.BOOTSTRAP_MIN_RUNS` runs (where its coverage is validated);
3. otherwise **Welch t (log)**, each model's log variance moderated across the report's cells (Smyth 2004; only
   ever upward), reported as ``moderated Welch t (log)`` where the prior lends degrees of freedom.

The t routes estimate the ratio of geometric means (``statistic`` applies to the bootstrap route) and their
interval, p-value and TOST come from one t distribution. The exact permutation test cannot go below
``2 / C(n_b + n_c, n_b)`` (0.1 at 3 vs 3), so it never decides a small cell; column ``permutation_min_pvalue``
and a note say where it could not reach the adjusted level. The regression's effect (basis ``model-adjusted``)
has its own route, ``model Wald``; an effect whose standard error or p-value is not finite counts as not
estimable and the cell falls back to the bracket. Column ``basis`` names the strategy that made the headline
(``raw``, ``per-GHz``, ``model-adjusted``, ``bracket``; ``headline`` shows a bracket as ``raw``).

A faster/slower verdict needs the multiplicity-adjusted p-value below ``alpha`` and the simultaneous CI to
exclude 1; ``runs_needed`` is always above the runs an inconclusive cell has, at the simultaneous level.

Cells the audit excluded (one model only, too few runs) are listed with the reason in ``excluded``, not dropped
silently; a 2-vs-2 cell's reason says what such a cell can and cannot show. Multiplicity: p-values are adjusted across every compared cell and metric (:data:`CORRECTIONS`), and
every CI is shown at the matching simultaneous level (Bonferroni for Holm; the false-coverage-rate level
``1 - R alpha / m`` of Benjamini & Yekutieli (2005) for BH, with R the number of BH discoveries).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from patsy import PatsyError

from analysis.audit import AuditResult, audit, cell_label
from analysis.blocking import complete_rounds, round_column
from analysis.cells import (
    BASES,
    BOOTSTRAP_MIN_RUNS,
    Basis,
    Cell,
    Evidence,
    Priors,
    model_interval,
    route_evidence,
    t_route,
)
from analysis.ingest import Campaign
from analysis.memo import Memo, content_key, memoizes
from analysis.model import ModelResult, fit_model
from analysis.normalize import PER_GHZ, normalize
from analysis.schema import METRICS
from analysis.stats import (
    adjust_pvalues,
    equivalence_bounds,
    permutation_min_pvalue,
    runs_needed,
)
from analysis.vocabulary import CELL_KEY, VERDICTS, same_clock, verdict_label

__all__ = [
    "compare",
    "CompareResult",
    "VERDICTS",
    "DEFAULT_METRICS",
    "HEADLINES",
    "CORRECTIONS",
    "verdict",
    "format_compare",
    "headline_paragraph",
]

#: compared by default: those of these the campaign has (stream throughput, RR rate and latency)
DEFAULT_METRICS: tuple[str, ...] = ("throughput_bps", "transactions_per_s", "latency_mean_s")
_STATISTICS = ("mean", "median", "geomean")
#: search limit of runs_needed (a cell needing more is reported as needing this many: "more than we can run")
_MAX_RUNS = 1000


# --------------------------------------------------------------------------------------------------------------
# registries


@dataclass(frozen=True)
class _Correction:
    pvalue_method: str | None
    #: (family level, m, number of discoveries) -> per-interval confidence level
    level: Callable[[float, int, int], float]
    label: str


def _bonferroni_level(level: float, m: int, r: int) -> float:
    return 1 - (1 - level) / m


def _fcr_level(level: float, m: int, r: int) -> float:
    return 1 - max(r, 1) * (1 - level) / m


#: correction -> how p-values are adjusted and at which level the CIs are shown
CORRECTIONS: dict[str, _Correction] = {
    "holm": _Correction("holm", _bonferroni_level, "Holm-adjusted (simultaneous Bonferroni intervals)"),
    "bonferroni": _Correction("bonferroni", _bonferroni_level, "Bonferroni-adjusted"),
    "bh": _Correction("bh", _fcr_level, "Benjamini-Hochberg (false-coverage-rate intervals)"),
    "none": _Correction(None, lambda level, m, r: level, "unadjusted"),
}


def _choose_auto(cell: Cell) -> tuple[str, str]:
    """The headline for one cell: raw when the clocks match, else the model-adjusted effect where estimable."""
    cb, cc = cell.clock_mhz_baseline, cell.clock_mhz_candidate
    if not (np.isfinite(cb) and np.isfinite(cc)):
        return "raw", "the CPU clock is not recorded for every run, so the raw ratio is used (no normalization)"
    if same_clock(cb, cc):
        return "raw", f"both models ran at the same CPU clock ({cb:.0f} MHz), so the raw ratio needs no normalization"
    clocks = f"the models ran at different CPU clocks (mean {cb:.0f} MHz baseline, {cc:.0f} MHz candidate)"
    if cell.model_available:
        e = cell.elasticity
        return "model-adjusted", (
            f"{clocks}; the regression model estimates the clock elasticity at this size as {e['elasticity']:.2f} "
            f"[{e['ci_low']:.2f}, {e['ci_high']:.2f}] ({e['reading']}), so the verdict uses the clock-adjusted "
            "model effect, not a per-GHz division"
        )
    if cell.per_ghz_available:
        return "bracket", (
            f"{clocks} and {cell.model_missing}; for any elasticity in [0, 1] the true effect lies between the "
            "raw and the per-GHz ratio, so the verdict uses a CI spanning both"
        )
    return "raw", f"{clocks} and no clock adjustment is possible for this metric: the raw ratio is confounded"


def _choose(name: str) -> Callable[[Cell], tuple[str, str]]:
    def choose(cell: Cell) -> tuple[str, str]:
        if name == "per-GHz" and not cell.per_ghz_available:
            return "raw", "no per-GHz form of this metric: raw ratio"
        if name == "model-adjusted" and not cell.model_available:
            return "raw", "the model could not estimate a clock-adjusted effect here: raw ratio"
        return name, f"{name} effect requested"

    return choose


#: headline option -> chooser(cell) -> (basis used, reason); the basis names a strategy of analysis.cells.BASES
HEADLINES: dict[str, Callable[[Cell], tuple[str, str]]] = {
    "auto": _choose_auto,
    "raw": _choose("raw"),
    "per-GHz": _choose("per-GHz"),
    "model-adjusted": _choose("model-adjusted"),
}


def verdict(significant: bool, equivalent: bool, estimate: float, direction: str) -> str:
    """The verdict from the two decisions and the direction of the metric.

    >>> verdict(True, False, 1.2, "higher"), verdict(True, True, 1.02, "lower"), verdict(False, False, 1.0, "higher")
    ('faster', 'slower but within margin', 'inconclusive')
    """
    better = (estimate > 1) == (direction == "higher")
    side = "faster" if better else "slower"
    if significant and equivalent:
        return f"{side} but within margin"
    if significant:
        return side
    if equivalent:
        return "equivalent"
    return "inconclusive"


# --------------------------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class CompareResult:
    """Verdicts per cell and metric.

    Attributes
    ----------
    table : DataFrame
        One row per cell and metric (see :meth:`to_frame`).
    excluded : DataFrame
        The ``by`` columns, ``cell``, ``metric`` (<NA>: every metric), ``n_baseline``, ``n_candidate``, ``reason``.
    baseline, candidate, statistic, correction : str
    by : tuple of str
    metrics : tuple of str
    margin, alpha, confidence_level : float
        ``confidence_level`` is the per-interval (simultaneous) level of every CI in the table.
    audit : AuditResult
    models : dict
        metric -> :class:`~analysis.model.ModelResult` (only metrics with a cell at different clocks).
    values : DataFrame
        The compared runs: cell keys, ``cell``, ``metric``, ``run_id``, ``pv_model``, ``value``, ``per_ghz_value``,
        ``cpu_ghz`` (for plots).
    distributions : dict
        (row index, "raw" | "per-GHz") -> bootstrap distribution of the ratio.
    notes : tuple of str
    """

    table: pd.DataFrame
    excluded: pd.DataFrame
    baseline: str
    candidate: str
    by: tuple[str, ...]
    metrics: tuple[str, ...]
    statistic: str
    correction: str
    margin: float
    alpha: float
    confidence_level: float
    audit: AuditResult | None = field(default=None, repr=False)
    models: dict[str, ModelResult] = field(default_factory=dict, repr=False)
    values: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    distributions: dict[tuple[int, str], np.ndarray] = field(default_factory=dict, repr=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per cell and metric.

        Columns: the ``by`` keys, ``cell``, ``metric``, ``direction``, ``n_baseline``, ``n_candidate``,
        ``estimate``, ``ci_low``, ``ci_high`` (the headline ratio and its simultaneous CI), ``confidence_level``,
        ``pvalue``, ``pvalue_method``, ``pvalue_adjusted``, ``tost_pvalue``, ``verdict``, ``runs_needed``
        (inconclusive cells), ``headline`` (``raw`` | ``per-GHz`` | ``model-adjusted``), ``headline_reason``,
        ``raw_estimate``, ``raw_ci_low``, ``raw_ci_high``, ``per_ghz_estimate``, ``per_ghz_ci_low``,
        ``per_ghz_ci_high``, ``model_estimate``, ``model_ci_low``, ``model_ci_high``, ``clock_elasticity``,
        ``clock_reading``, ``clock_mhz_baseline``, ``clock_mhz_candidate``, ``route`` (the interval/test that
        decided: "bootstrap BCa", "Welch t (log)", "moderated Welch t (log)", "paired t (log)", "model Wald", ...),
        ``basis`` (``raw`` | ``per-GHz`` | ``model-adjusted`` | ``bracket``), ``paired`` (bool: within-round
        pairs), ``permutation_min_pvalue`` (smallest p an exact permutation test of these runs can give),
        ``t_route``, ``t_log_effect``, ``t_standard_error``, ``t_df`` (the headline sample's t route, also where
        the bootstrap decides: the statistic the sequential looks test; empty on the model-adjusted and bracket
        bases). The per-GHz ratio of a rate is that of
        rate / GHz (:data:`analysis.normalize.PER_GHZ`); of a time (latency), that of time x GHz (cycles).
        """
        return self.table.copy()

    def counts(self) -> pd.Series:
        """Number of rows per verdict (every verdict listed, zeros included)."""
        return self.table["verdict"].value_counts().reindex(list(VERDICTS), fill_value=0)

    def paragraph(self) -> str:
        """The headline in one paragraph of plain words (unwrapped)."""
        return headline_paragraph(self)

    def summary(self) -> str:
        """The headline paragraph, the table and the notes, as text."""
        return format_compare(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        para = html.escape(headline_paragraph(self))
        cols = [*self.by, "metric", "n_baseline", "n_candidate", "estimate", "ci_low", "ci_high",
                "pvalue_adjusted", "tost_pvalue", "verdict", "headline", "route", "paired", "raw_estimate",
                "per_ghz_estimate"]
        t = self.table.reindex(columns=cols)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
            for r in t.itertuples(index=False)
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<p>{para}</p><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
                + (f"<ol>{notes}</ol>" if notes else ""))


# --------------------------------------------------------------------------------------------------------------
# input validation


def _compare_iv(campaign, baseline, candidate, metrics, by, margin, alpha, correction, normalized, statistic,
                n_resamples, rng, headline):
    if not isinstance(campaign, Campaign):
        raise TypeError(f"campaign: expected an analysis.ingest.Campaign, got {type(campaign).__name__}")
    models = set(campaign.runs["pv_model"].dropna().astype(str))
    for name, val in (("baseline", baseline), ("candidate", candidate)):
        if not isinstance(val, str) or val not in models:
            raise ValueError(f"{name}: expected one of the campaign's PV models {sorted(models)}, got {val!r}")
    if baseline == candidate:
        raise ValueError(f"candidate: must differ from baseline (both are {baseline!r})")
    present = set(campaign.measurements["metric"].dropna().astype(str))
    if metrics is None:
        metrics = tuple(m for m in DEFAULT_METRICS if m in present)
        if not metrics:
            raise ValueError(f"metrics: the campaign has none of the default metrics {list(DEFAULT_METRICS)}; "
                             f"name some of {sorted(present)}")
    else:
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        bad = [m for m in metrics if m not in METRICS or m not in present]
        if bad or not metrics:
            raise ValueError(f"metrics: expected metrics measured in the campaign ({sorted(present)}), got {bad}")
    by = (by,) if isinstance(by, str) else tuple(by)
    missing = [c for c in by if c not in campaign.runs.columns]
    if missing or not by:
        raise ValueError(f"by: expected columns of the runs table, e.g. the default cell key {CELL_KEY}; "
                         f"unknown: {missing}")
    if not (isinstance(margin, float | int) and 0 < margin < 1):
        raise ValueError(f"margin: expected a relative margin in (0, 1), e.g. 0.05 for +/-5 %, got {margin!r}")
    if not (isinstance(alpha, float | int) and 0 < alpha < 0.5):
        raise ValueError(f"alpha: expected a level in (0, 0.5), got {alpha!r}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction: expected one of {sorted(CORRECTIONS)}, got {correction!r}")
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic: expected one of {list(_STATISTICS)}, got {statistic!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 99:
        raise ValueError(f"n_resamples: expected an integer >= 99, got {n_resamples!r}")
    if headline not in HEADLINES:
        raise ValueError(f"headline: expected one of {sorted(HEADLINES)}, got {headline!r}")
    if not isinstance(normalized, bool):
        raise TypeError(f"normalized: expected True or False, got {normalized!r}")
    if not normalized and headline not in ("auto", "raw"):
        raise ValueError(f"headline: {headline!r} contradicts normalized=False (raw ratios only)")
    if rng is not None and not isinstance(rng, int | np.integer | np.random.Generator):
        raise TypeError(f"rng: expected None, an integer seed or a numpy.random.Generator, got {type(rng).__name__}")
    return metrics, by, float(margin), float(alpha), int(n_resamples), np.random.default_rng(rng), \
        ("raw" if not normalized else headline)


# --------------------------------------------------------------------------------------------------------------
# cells


def _per_ghz_values(meas: pd.DataFrame, metric: str, runs: pd.DataFrame) -> pd.Series | None:
    """run_id -> per-GHz value of *metric*: normalize's column for rates, value x GHz for times (cycles-like)."""
    if metric in PER_GHZ:
        m = meas[meas["metric"] == PER_GHZ[metric]]
        return pd.Series(m["value"].to_numpy(float), index=m["run_id"].astype(str).to_numpy())
    if METRICS[metric].unit == "s":
        m = meas[meas["metric"] == metric]
        ghz = runs.set_index("run_id")["cpu_ghz"]
        v = m["value"].to_numpy(float) * ghz.reindex(m["run_id"].astype(str)).to_numpy(float)
        return pd.Series(v, index=m["run_id"].astype(str).to_numpy())
    return None


def _model_lookup(models: dict[str, ModelResult], metric: str, test: Any, size: Any) -> tuple[Any, Any]:
    res = models.get(metric)
    if res is None or pd.isna(test) or pd.isna(size):
        return None, None
    e = res.effects[(res.effects["test"] == str(test)) & (res.effects["msg_size_bytes"] == int(size))]
    el = res.elasticities[(res.elasticities["test"] == str(test)) & (res.elasticities["msg_size_bytes"] == int(size))]
    if e.empty or el.empty:
        return None, None
    return e.iloc[0], el.iloc[0]


def _model_campaign(campaign: Campaign, excluded_runs: pd.DataFrame, baseline: str, candidate: str) -> Campaign:
    """The runs the regression sees: requested exclusions out, and (test, size) pairs measured by one model."""
    runs = campaign.runs[campaign.runs["pv_model"].isin([baseline, candidate])]
    if len(excluded_runs):
        runs = runs[~runs["run_id"].isin(excluded_runs["run_id"])]
    key = runs["test"].astype(str) + "|" + runs["msg_size_bytes"].astype(str)
    both = runs.groupby(key)["pv_model"].nunique()
    runs = runs[key.map(both).to_numpy() == 2]
    return Campaign(campaign.name, runs, campaign.measurements, campaign.intervals, campaign.rejects,
                    root=campaign.root)


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "" if not np.isfinite(v) else f"{float(v):.4g}"
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _label(by: Sequence[str], values: Sequence[Any]) -> str:
    parts = []
    for k, v in zip(by, values, strict=True):
        if pd.isna(v):
            parts.append(f"{k}=?")
        elif k == "msg_size_bytes":
            parts.append(f"{int(v)} B")
        elif k == "pinning":
            parts.append(f"{v} pinning")
        else:
            parts.append(str(v))
    return " ".join(parts)


# --------------------------------------------------------------------------------------------------------------
# compare


#: compare() results by content key (campaign tables, parameters, integer seed); see analysis.memo
_COMPARE_MEMO = Memo("compare", maxsize=8)


@memoizes(_COMPARE_MEMO)
def compare(
    campaign: Campaign,
    *,
    baseline: str,
    candidate: str,
    metrics: str | Sequence[str] | None = None,
    by: Sequence[str] = CELL_KEY,
    margin: float = 0.05,
    alpha: float = 0.05,
    correction: str = "holm",
    normalized: bool = True,
    statistic: str = "mean",
    n_resamples: int = 9999,
    rng: int | np.random.Generator | None = None,
    headline: str = "auto",
    exclude_outliers: bool = False,
    exclude_warmup: bool | str = True,
) -> CompareResult:
    """A verdict for every cell and metric: faster, slower, equivalent (within the margin), or inconclusive.

    Parameters
    ----------
    campaign : Campaign
        As :func:`analysis.ingest.load_campaign` returns it; normalized here when its runs have no ``cpu_ghz``.
    baseline, candidate : str
        The two PV models; every ratio is candidate/baseline.
    metrics : str or sequence of str, optional
        Default: those of :data:`DEFAULT_METRICS` the campaign measures.
    by : sequence of str
        Run columns defining a cell.
    margin : float
        Equivalence margin: equivalent means within ``[1/(1+margin), 1+margin]``.
    alpha : float
        Family-wise error rate (or FDR for ``"bh"``) of the faster/slower verdicts; level of each TOST test.
    correction : {"holm", "bonferroni", "bh", "none"}
        See :data:`CORRECTIONS`.
    normalized : bool
        False: the headline is always the raw ratio (per-GHz and model effects still shown beside it).
    statistic : {"mean", "median", "geomean"}
        Location statistic of the ratio (bootstrap CI and permutation test; TOST and runs-needed work on the
        logs, i.e. geometric means).
    n_resamples : int
        Bootstrap and permutation resamples.
    rng : int or numpy.random.Generator, optional
        Seed; the same seed gives the same table.
    headline : {"auto", "raw", "per-GHz", "model-adjusted"}
        Which effect the verdict rests on (:data:`HEADLINES`); "auto" chooses per cell and says why.
    exclude_outliers, exclude_warmup : bool (exclude_warmup also "detected")
        Passed to :func:`analysis.audit.audit` (declared warm-up runs are left out by default); excluded runs are
        listed in ``audit.excluded_runs``.

    Returns
    -------
    CompareResult

    Notes
    -----
    With an integer seed the result is memoized by content (:mod:`analysis.memo`): a second call on equal tables
    with the same parameters and seed returns the same (read-only) result, as the report's summary notebook does
    after the compare notebook. The audit inside is :func:`analysis.audit.audit`'s, memoized the same way, so the
    audit notebook's result is reused.
    """
    checked = _compare_iv(campaign, baseline, candidate, metrics, by, margin, alpha, correction, normalized,
                          statistic, n_resamples, rng, headline)
    seeded = isinstance(rng, int | np.integer) and not isinstance(rng, bool)
    # metrics, by, margin, alpha, n_resamples as checked, the effective headline, and the seed
    key = content_key("compare", campaign, baseline, candidate, correction, statistic, exclude_outliers,
                      exclude_warmup, checked[:5], checked[6], int(rng)) if seeded else None
    return _COMPARE_MEMO.get_or_compute(key, lambda: _compare(
        campaign, baseline, candidate, correction, statistic, exclude_outliers, exclude_warmup, *checked))


def _compare(campaign, baseline, candidate, correction, statistic, exclude_outliers, exclude_warmup,
             metrics, by, margin, alpha, n_resamples, gen, headline) -> CompareResult:
    """The comparison behind :func:`compare`, on validated arguments."""
    notes: list[str] = []
    camp = campaign if "cpu_ghz" in campaign.runs.columns else normalize(campaign)
    aud = audit(camp, baseline=baseline, candidate=candidate, by=by, exclude_outliers=exclude_outliers,
                exclude_warmup=exclude_warmup)
    runs = camp.runs[camp.runs["pv_model"].isin([baseline, candidate])].copy()
    if len(aud.excluded_runs):
        runs = runs[~runs["run_id"].isin(aud.excluded_runs["run_id"])]
        notes.append(f"{len(aud.excluded_runs)} run(s) excluded by the audit on request (outliers / warm-up)")
    runs["run_id"] = runs["run_id"].astype(str)
    runs["cell"] = [cell_label(by, v) for v in runs[list(by)].itertuples(index=False, name=None)]
    runs["cpu_ghz"] = pd.to_numeric(runs["cpu_ghz"], errors="coerce").astype("float64")
    excluded_rows = [_audit_exclusion(r, by) for _, r in aud.excluded_cells.iterrows()]
    meas = camp.measurements[camp.measurements["run_id"].isin(runs["run_id"])]
    cells, value_rows = _gather(runs, meas, metrics, by, baseline, candidate, set(aud.excluded_cells["cell"]),
                                excluded_rows)
    if not cells:
        notes.append(f"no cell has at least 2 runs of both {baseline!r} and {candidate!r} for {list(metrics)}: "
                     f"nothing was compared; every exclusion ({len(excluded_rows)}) is listed with its reason")
        return CompareResult(
            table=_empty_table(runs, by), excluded=_excluded_frame(excluded_rows, by), baseline=baseline,
            candidate=candidate, by=by, metrics=metrics, statistic=statistic, correction=correction,
            margin=margin, alpha=alpha, confidence_level=1 - alpha, audit=aud, models={},
            values=_empty_values(runs, by), distributions={}, notes=tuple(notes))
    # natural order: by the cell keys (numbers as numbers), then the metric's place in the request
    cells.sort(key=lambda c: (*[(pd.isna(v), "" if pd.isna(v) else v) for v in c.keys],
                              metrics.index(c.metric)))
    models, cells = _attach_models(camp, aud, cells, metrics, baseline, candidate, headline, notes)
    rows, distributions, level = _decide(cells, by, statistic=statistic, correction=correction, margin=margin,
                                         alpha=alpha, n_resamples=n_resamples, gen=gen, headline=headline,
                                         notes=notes)
    table = pd.DataFrame(rows)
    table["runs_needed"] = table["runs_needed"].astype("Int64")
    # design factors vs the model (analysis.confound): confounded, bridged or design-adjusted rows
    from analysis.confound import apply_design_confounds
    table = apply_design_confounds(table, camp, by=by, baseline=baseline, candidate=candidate, level=level,
                                   alpha=alpha, margin=margin, excluded_runs=aud.excluded_runs["run_id"])
    redone = table["headline"].isin(["bridged", "design-adjusted"])
    table.loc[redone, "basis"] = table.loc[redone, "headline"]
    return CompareResult(
        table=table, excluded=_excluded_frame(excluded_rows, by), baseline=baseline, candidate=candidate, by=by,
        metrics=metrics, statistic=statistic, correction=correction, margin=margin, alpha=alpha,
        confidence_level=level, audit=aud, models=models, values=pd.concat(value_rows, ignore_index=True),
        distributions=distributions, notes=tuple(notes))


def _audit_exclusion(r: pd.Series, by: Sequence[str]) -> dict:
    """An audit-excluded cell as a row of ``excluded``; a 2-vs-2 cell says plainly what it could and could not show."""
    reason = str(r["reason"])
    nb, nc = int(r["n_baseline"]), int(r["n_candidate"])
    if min(nb, nc) == 2:
        reason += (f"; at {nb} vs {nc} runs a model's spread rests on one degree of freedom, so a difference is "
                   "callable only if it is many times the run-to-run spread, equivalence cannot be shown, and a "
                   "single odd run cannot be told from a real effect: no verdict is given, and a third run of "
                   "each model makes the cell comparable")
    return {**{k: r[k] for k in by}, "cell": r["cell"], "metric": pd.NA, "n_baseline": nb, "n_candidate": nc,
            "reason": reason}


def _gather(runs, meas, metrics, by, baseline, candidate, excluded_labels, excluded_rows
            ) -> tuple[list[Cell], list[pd.DataFrame]]:
    """The comparable cells (>= 2 runs of each model with the metric), runs ordered by round where paired."""
    rcol = round_column(runs)
    order = "order_index" if "order_index" in runs.columns else None
    cells: list[Cell] = []
    value_rows: list[pd.DataFrame] = []
    for metric in metrics:
        m = meas[meas["metric"] == metric]
        vals = pd.Series(m["value"].to_numpy(float), index=m["run_id"].astype(str).to_numpy())
        ghz_vals = _per_ghz_values(meas, metric, runs)
        d = runs[runs["run_id"].isin(vals.index)].copy()
        d["value"] = vals.reindex(d["run_id"]).to_numpy()
        d["per_ghz_value"] = ghz_vals.reindex(d["run_id"]).to_numpy() if ghz_vals is not None else np.nan
        d = d[np.isfinite(d["value"]) & (d["value"] > 0)]
        for label, g in d.groupby("cell", sort=True):
            if label in excluded_labels:
                continue
            keys = tuple(g.iloc[0][list(by)].tolist())
            gb, gc = g[g["pv_model"] == baseline], g[g["pv_model"] == candidate]
            if len(gb) < 2 or len(gc) < 2:
                excluded_rows.append({**dict(zip(by, keys, strict=True)), "cell": label, "metric": metric,
                                      "n_baseline": len(gb), "n_candidate": len(gc),
                                      "reason": f"fewer than 2 runs of a model with {metric}"})
                continue
            pairs = complete_rounds(g.reset_index(drop=True), baseline=baseline, candidate=candidate, column=rcol,
                                    order=order)
            if pairs is not None:
                gg = g.reset_index(drop=True)
                gb, gc = gg.iloc[pairs[0]], gg.iloc[pairs[1]]
            pg_ok = ghz_vals is not None and bool(np.all(np.isfinite(g["per_ghz_value"]) & (g["per_ghz_value"] > 0)))
            tests = g["test"].dropna().unique() if "test" in g else []
            sizes = g["msg_size_bytes"].dropna().unique() if "msg_size_bytes" in g else []
            cells.append(Cell(
                keys=keys, label=label, metric=metric, direction=METRICS[metric].direction,
                b=gb["value"].to_numpy(float), c=gc["value"].to_numpy(float),
                b_ghz=gb["per_ghz_value"].to_numpy(float) if pg_ok else None,
                c_ghz=gc["per_ghz_value"].to_numpy(float) if pg_ok else None,
                ghz_b=gb["cpu_ghz"].to_numpy(float), ghz_c=gc["cpu_ghz"].to_numpy(float),
                paired=pairs is not None,
                test=tests[0] if len(tests) == 1 else pd.NA, size=sizes[0] if len(sizes) == 1 else pd.NA))
            value_rows.append(g[[*by, "cell", "run_id", "pv_model", "value", "per_ghz_value", "cpu_ghz"]]
                              .assign(metric=metric))
    return cells, value_rows


def _attach_models(camp, aud, cells, metrics, baseline, candidate, headline, notes
                   ) -> tuple[dict[str, ModelResult], list[Cell]]:
    """Fit the regression model for metrics with a cell at different clocks; give each cell its effect."""
    models: dict[str, ModelResult] = {}
    needs = set(metrics) if headline == "model-adjusted" else {c.metric for c in cells if c.clocks_differ}
    mcamp = _model_campaign(camp, aud.excluded_runs, baseline, candidate) if needs else None
    for metric in sorted(needs):
        try:
            models[metric] = fit_model(mcamp, metric=metric, baseline=baseline, candidate=candidate)
        except _FIT_ERRORS as exc:  # a valid but unlucky campaign: said in the notes, the cells fall back
            notes.append(f"{metric}: the regression model could not be fitted ({exc})")
    out = []
    for c in cells:
        eff, ela = _model_lookup(models, c.metric, c.test, c.size)
        if pd.isna(c.test) or pd.isna(c.size):
            missing = "the cell pools several tests or message sizes while the regression effect is per test and size"
        elif c.metric not in models:
            missing = "the regression model could not be fitted for this metric"
        elif eff is not None and bool(eff["clock_confounded"]):
            missing = "the clock cannot be separated from the PV model here"
        elif eff is not None and bool(eff["clock_adjusted"]) and not (
                np.isfinite(eff["standard_error"]) and np.isfinite(eff["pvalue"])):
            missing = "the regression model's standard error is not finite here (a run with leverage 1)"
        else:
            missing = "the regression model could not estimate the clock elasticity here"
        out.append(replace(c, model_effect=eff, elasticity=ela, model_missing=missing))
    return models, out


#: what a regression fit may raise on a valid campaign (a singular design, a level lost by one model)
_FIT_ERRORS = (ValueError, np.linalg.LinAlgError, PatsyError)


def _decide(cells, by, *, statistic, correction, margin, alpha, n_resamples, gen, headline, notes
            ) -> tuple[list[dict], dict[tuple[int, str], np.ndarray], float]:
    """Route and basis per cell, p-values adjusted across cells, intervals at the simultaneous level, verdicts."""
    priors = Priors.fit(cells)
    opts = {"statistic": statistic, "n_resamples": n_resamples, "rng": gen, "alpha": alpha}
    evid = [(route_evidence(c, "raw", priors, **opts),
             route_evidence(c, "per-GHz", priors, **opts) if c.per_ghz_available else None) for c in cells]
    chosen = [HEADLINES[headline](c) for c in cells]
    bases = [BASES[b] for b, _ in chosen]
    praw = np.array([bs.pvalue(c, r, g) for bs, c, (r, g) in zip(bases, cells, evid, strict=True)])
    corr = CORRECTIONS[correction]
    padj = praw.copy() if corr.pvalue_method is None else adjust_pvalues(praw, method=corr.pvalue_method)
    level = corr.level(1 - alpha, len(cells), int((padj < alpha).sum()))
    _permutation_note(cells, bases, evid, 1 - level, notes)
    rows, distributions = [], {}
    for i, (c, (r, g), bs, (_, reason)) in enumerate(zip(cells, evid, bases, chosen, strict=True)):
        raw_iv = r.interval(level)
        ghz_iv = g.interval(level) if g is not None else (np.nan, np.nan, np.nan)
        for kind, ev in (("raw", r), ("per-GHz", g)):
            if ev is not None and ev.distribution is not None:
                distributions[(i, kind)] = ev.distribution
        est, lo, hi = bs.interval(c, raw_iv, ghz_iv, level)
        tost_p = bs.tost(c, r, g, margin, alpha)
        significant = bool(padj[i] < alpha and (lo > 1 or hi < 1))
        v = verdict(significant, bool(tost_p < alpha), est, c.direction)
        need = np.nan
        if v == "inconclusive":
            need = _runs_needed(bs.samples(c), est, margin=margin, alpha=alpha, level=level,
                                n_have=min(len(c.b), len(c.c)), n_resamples=n_resamples, paired=bs.paired(r, g))
        mod = model_interval(c.model_effect, level)
        el = c.elasticity
        rows.append({
            **dict(zip(by, c.keys, strict=True)),
            "cell": c.label, "metric": c.metric, "direction": c.direction,
            "n_baseline": len(c.b), "n_candidate": len(c.c),
            "estimate": est, "ci_low": lo, "ci_high": hi, "confidence_level": level,
            "pvalue": float(praw[i]), "pvalue_method": _pvalue_method(bs, r, g), "pvalue_adjusted": float(padj[i]),
            "tost_pvalue": float(tost_p), "verdict": v, "runs_needed": need,
            "headline": "raw" if bs.basis == "bracket" else bs.basis, "headline_reason": reason,
            "raw_estimate": raw_iv[0], "raw_ci_low": raw_iv[1], "raw_ci_high": raw_iv[2],
            "per_ghz_estimate": ghz_iv[0], "per_ghz_ci_low": ghz_iv[1], "per_ghz_ci_high": ghz_iv[2],
            "model_estimate": mod[0], "model_ci_low": mod[1], "model_ci_high": mod[2],
            "clock_elasticity": float(el["elasticity"]) if el is not None else np.nan,
            "clock_reading": str(el["reading"]) if el is not None else "",
            "clock_mhz_baseline": c.clock_mhz_baseline, "clock_mhz_candidate": c.clock_mhz_candidate,
            "route": bs.route(r, g), "basis": bs.basis, "paired": bool(bs.paired(r, g)),
            "permutation_min_pvalue": permutation_min_pvalue(len(c.b), len(c.c)),
            **_t_columns(c, bs, priors),
        })
    return rows, distributions, level


def _t_columns(cell: Cell, bs: Basis, priors: Priors) -> dict[str, Any]:
    """The headline sample's t route (:func:`analysis.cells.t_route`) where the basis is one sample (raw or
    per-GHz): what the sequential looks test (:mod:`analysis.sequential`); empty on the other bases."""
    if bs.basis not in ("raw", "per-GHz"):
        return {"t_route": "", "t_log_effect": np.nan, "t_standard_error": np.nan, "t_df": np.nan}
    res = t_route(cell, bs.basis, priors)
    return {"t_route": res.method, "t_log_effect": res.log_effect, "t_standard_error": res.standard_error,
            "t_df": res.df}


def _pvalue_method(bs: Basis, r: Evidence, g: Evidence | None) -> str:
    if bs.basis == "model-adjusted":
        return "model Wald test"
    what = {"raw": "raw", "per-GHz": "per-GHz", "bracket": "max of raw and per-GHz"}[bs.basis]
    test = bs.route(r, g).replace("bootstrap BCa", "permutation")
    return f"{test} ({what})"


def _permutation_note(cells, bases, evid, alpha_each: float, notes: list[str]) -> None:
    """Say where the exact permutation test could not reach the per-cell level, so it only served as a check."""
    weak = [c for c, bs, (r, _) in zip(cells, bases, evid, strict=True)
            if bs.basis != "model-adjusted" and r.route != "bootstrap BCa"
            and permutation_min_pvalue(len(c.b), len(c.c)) >= alpha_each]
    if weak:
        n = sorted({(len(c.b), len(c.c)) for c in weak})
        pmin = ", ".join(f"{a} vs {b}: {permutation_min_pvalue(a, b):.3g}" for a, b in n)
        notes.append(f"{len(weak)} cell(s) have too few runs for an exact permutation test to reach the "
                     f"multiplicity-adjusted level {alpha_each:.3g} (smallest attainable two-sided p-value {pmin}); "
                     "the permutation test never decides such a cell: its verdict rests on the t route on the "
                     "logs named in the route column")


#: the verdict table's columns after the ``by`` keys, with their dtypes (an empty table has them too)
_TABLE_DTYPES: dict[str, str] = {
    "cell": "object", "metric": "object", "direction": "object", "n_baseline": "int64", "n_candidate": "int64",
    "estimate": "float64", "ci_low": "float64", "ci_high": "float64", "confidence_level": "float64",
    "pvalue": "float64", "pvalue_method": "object", "pvalue_adjusted": "float64", "tost_pvalue": "float64",
    "verdict": "object", "runs_needed": "Int64", "headline": "object", "headline_reason": "object",
    "raw_estimate": "float64", "raw_ci_low": "float64", "raw_ci_high": "float64",
    "per_ghz_estimate": "float64", "per_ghz_ci_low": "float64", "per_ghz_ci_high": "float64",
    "model_estimate": "float64", "model_ci_low": "float64", "model_ci_high": "float64",
    "clock_elasticity": "float64", "clock_reading": "object",
    "clock_mhz_baseline": "float64", "clock_mhz_candidate": "float64",
    "route": "object", "basis": "object", "paired": "bool", "permutation_min_pvalue": "float64",
    "t_route": "object", "t_log_effect": "float64", "t_standard_error": "float64", "t_df": "float64",
}


def _key_dtypes(runs: pd.DataFrame, by: Sequence[str]) -> dict[str, Any]:
    """The dtype each ``by`` key gets in a table built from per-cell Python values (as the verdict table is)."""
    return {k: pd.Series(runs[k].iloc[:1].tolist()).dtype if len(runs) else np.dtype(object) for k in by}


def _typed_empty(dtypes: dict[str, Any]) -> pd.DataFrame:
    text = pd.Series(["x"]).dtype  # pandas' inferred text dtype, as a table built from rows of str gets
    return pd.DataFrame({k: pd.Series(dtype=text if d == "object" else d) for k, d in dtypes.items()})


def _empty_table(runs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """A verdict table with no rows: every column present, with the dtypes a filled table has."""
    from analysis.confound import DESIGN_COLUMNS

    design = dict.fromkeys(DESIGN_COLUMNS, "object") | {"plan_runs": "Int64"}
    return _typed_empty(_key_dtypes(runs, by) | _TABLE_DTYPES | design)


def _empty_values(runs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    return _typed_empty({k: runs[k].dtype for k in by} | {
        "cell": "object", "run_id": "object", "pv_model": "object", "value": "float64", "per_ghz_value": "float64",
        "cpu_ghz": "float64", "metric": "object"})


def _excluded_frame(rows: list[dict], by: Sequence[str]) -> pd.DataFrame:
    cols = [*by, "cell", "metric", "n_baseline", "n_candidate", "reason"]
    return (pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)).reset_index(drop=True)


def _runs_needed(samples, est: float, *, margin: float, alpha: float, level: float, n_have: int,
                 n_resamples: int, paired: bool = False) -> float:
    """Runs per model to settle an inconclusive cell, always more than it has.

    A cell decided by the paired route is planned in rounds for the paired t, from the spread of its
    within-round log ratios (``runs_needed(paired=True)``), not from the runs' spread, which holds the drift
    between rounds that pairing cancels.

    Inside the margin: TOST power 80 % (each one-sided test at ``alpha``, as TOST is not adjusted). Outside: a
    CI at the simultaneous level (the multiplicity adjustment) narrow enough to exclude 1 with probability 80 %.
    The deciding test must be able to reach that level: the t routes reach any level at any n; where the
    bootstrap would take over (:data:`analysis.cells.BOOTSTRAP_MIN_RUNS`) its permutation p-value reaches
    ``2 / (n_resamples + 1)`` at best, and a level below that cannot be met by more runs (the notes say so).
    """
    b, c = samples
    lo_b, hi_b = equivalence_bounds(margin)
    if lo_b < est < hi_b:
        res = runs_needed(b, c, goal="equivalence", margin=margin, alpha=alpha, max_n=_MAX_RUNS, paired=paired)
    else:
        res = runs_needed(b, c, goal="ci_half_width", half_width=math.expm1(abs(math.log(est))), alpha=1 - level,
                          max_n=_MAX_RUNS, paired=paired)
    n = int(res.n_per_model)
    if n >= BOOTSTRAP_MIN_RUNS and 2 / (n_resamples + 1) >= 1 - level:
        n = _MAX_RUNS
    return float(min(_MAX_RUNS, max(n, n_have + 1)))


# --------------------------------------------------------------------------------------------------------------
# formatting


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f} %"


def _row_phrase(r: pd.Series, by: Sequence[str]) -> str:
    what = _label(by, [r[k] for k in by])
    metric = "" if r["metric"] in DEFAULT_METRICS[:2] else f" {r['metric']}"
    return f"{what}{metric} {_pct(r['estimate'])} [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}]"


def headline_paragraph(result: CompareResult) -> str:
    """The headline in one paragraph of plain words."""
    t = result.table
    by = result.by
    pct_level = f"{100 * result.confidence_level:.3g} %"
    parts = [
        f"{result.candidate} against {result.baseline} (baseline), ratio of {result.statistic}s candidate/baseline "
        f"in {len(t)} comparison(s), {CORRECTIONS[result.correction].label} at alpha = {result.alpha:g} "
        f"(each interval below at {pct_level}), equivalence margin ±{100 * result.margin:g} %."
    ]
    groups = []
    for v in VERDICTS:
        sel = t[t["verdict"] == v]
        if sel.empty:
            continue
        items = [_row_phrase(r, by) for _, r in sel.iterrows()]
        if v == "inconclusive":
            items = [f"{p} (about {int(n)} runs per model would settle it)" if pd.notna(n) else p
                     for p, n in zip(items, sel["runs_needed"], strict=True)]
        if v == "confounded":  # "confounded with host": the design factor named (analysis.confound)
            name = " / ".join(dict.fromkeys(sel["verdict_label"]))
        else:
            name = "the evidence is inconclusive" if v == "inconclusive" else verdict_label(v, result.margin)
        groups.append(f"{name} in {len(sel)}: " + "; ".join(items))
    if groups:
        parts.append(f"{result.candidate} is " + ", ".join(groups[:1]) + (". " if len(groups) == 1 else "; ")
                     + "; ".join(groups[1:]) + ("." if len(groups) > 1 else ""))
    else:
        parts.append("No cell could be compared: none has at least 2 runs of both models left after the audit's "
                     "exclusions (each is listed below with its reason).")
    adj = t[t["headline"] == "model-adjusted"]
    if len(adj):
        el = adj.drop_duplicates(["metric", *[k for k in ("test", "msg_size_bytes") if k in by]])
        elast = "; ".join(
            f"{_label([k for k in ('test', 'msg_size_bytes') if k in by], [r[k] for k in ('test', 'msg_size_bytes') if k in by])}: "
            f"{r['clock_elasticity']:.2f}, {r['clock_reading']}"
            for _, r in el.iterrows()
        )
        parts.append(
            f"In {len(adj)} of them the two models ran at different CPU clocks (e.g. "
            f"{adj['clock_mhz_baseline'].iloc[0]:.0f} MHz baseline vs {adj['clock_mhz_candidate'].iloc[0]:.0f} MHz "
            "candidate on average), so those verdicts rest on the regression effect adjusted for the clock, not on a "
            f"per-GHz division; the clock elasticity (1: CPU-bound, 0: wire-bound) is {elast}. The raw and per-GHz "
            "ratios are shown beside them."
        )
    brk = t[t["basis"] == "bracket"]
    if len(brk):
        parts.append(f"In {len(brk)} cell(s) the clocks differ but no clock adjustment was possible (see the notes), "
                     "so their intervals span both the raw and the per-GHz ratio.")
    ex = result.excluded
    if len(ex):
        items = [f"{_label(by, [r[k] for k in by])}"
                 + (f" ({r['metric']})" if pd.notna(r["metric"]) else "") + f": {r['reason']}"
                 for _, r in ex.iterrows()]
        parts.append(f"Not compared ({len(ex)}): " + "; ".join(items) + ".")
    if result.audit is not None:
        counts = result.audit.findings["severity"].value_counts()
        parts.append(f"The audit raised {int(counts.get('error', 0))} error(s) and {int(counts.get('warn', 0))} "
                     "warning(s); see its report before quoting these numbers.")
    return " ".join(parts)


def format_compare(result: CompareResult) -> str:
    """Text: the headline paragraph, the verdict table, then numbered notes."""
    import textwrap

    out = [textwrap.fill(headline_paragraph(result), width=110, break_on_hyphens=False), ""]
    t = result.table
    tab = pd.DataFrame({
        "cell": [_label(result.by, [r[k] for k in result.by]) for _, r in t.iterrows()],
        "metric": t["metric"],
        "n_b/n_c": [f"{a}/{b}" for a, b in zip(t["n_baseline"], t["n_candidate"], strict=True)],
        "ratio": t["estimate"].map(lambda x: f"{x:.4f}"),
        "CI": [f"[{a:.4f}, {b:.4f}]" for a, b in zip(t["ci_low"], t["ci_high"], strict=True)],
        "p_adj": t["pvalue_adjusted"].map(lambda x: f"{x:.3g}"),
        "p_TOST": t["tost_pvalue"].map(lambda x: f"{x:.3g}"),
        "verdict": t["verdict_label"] if "verdict_label" in t else t["verdict"],
        "headline": t["headline"],
        "route": t["route"],
        "raw": t["raw_estimate"].map(lambda x: f"{x:.4f}"),
        "per_GHz": t["per_ghz_estimate"].map(lambda x: "" if not np.isfinite(x) else f"{x:.4f}"),
        "runs_needed": t["runs_needed"].map(lambda x: "" if pd.isna(x) else str(int(x))),
    })
    widths = {c: max([len(c), *(len(str(v)) for v in tab[c])]) for c in tab.columns}
    out.append("  ".join(c.ljust(widths[c]) for c in tab.columns))
    for _, r in tab.iterrows():
        out.append("  ".join(str(r[c]).ljust(widths[c]) for c in tab.columns))
    notes = list(result.notes)
    notes += [f"{_label(result.by, [r[k] for k in result.by])} {r['metric']}: {r['headline_reason']}"
              for _, r in t.iterrows() if r["headline"] != "raw" or "different" in r["headline_reason"]]
    if notes:
        out += ["", "Notes:"] + [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(out)
