"""Audit: everything that makes a baseline-vs-candidate comparison unfair, named, with what to do about it.

:func:`audit` runs every check in :data:`CHECKS` on a :class:`~analysis.ingest.Campaign` and returns an
:class:`AuditResult` whose ``findings`` table has one row per problem: ``severity`` (``error`` | ``warn`` |
``info``), ``check``, ``cell`` (the comparison cell, e.g. ``test=TCP_STREAM, msg_size_bytes=64, pinning=split``, or
``campaign``), ``pv_model`` and ``metric`` where one applies, ``detail`` and a plain-words ``suggestion``.

A *cell* is one combination of the ``by`` columns (default test x message size x pinning); the metric audited in
a cell is, by default, its primary rate: the first of :data:`PRIMARY_METRICS` the cell has.

Checks and thresholds (module constants, so a report can quote them):

* ``balance``: standardized mean difference (SMD, Austin 2009: difference of means over the root mean of the two
  variances) for :data:`NUMERIC_COVARIATES`; warn when ``|SMD| > 0.1`` *and* the means differ by more than the
  covariate's practical tolerance (a 2398 vs 2401 MHz reading is jitter, not a confound: with a few MHz of
  ``/proc/cpuinfo`` jitter the SMD of two equal clocks exceeds 0.1 by chance). For :data:`CATEGORY_COVARIATES`
  the mix per model (a missing value counts as its own level ``<missing>``); warn when a level occurs for one model
  only or the total-variation distance of the two mixes exceeds :data:`MIX_TOLERANCE`, info for a smaller
  difference. The per-level SMD of proportions goes into ``balance`` for the Love plot.
* ``one_model_cell``: cells measured by one model only (warn; listed in ``excluded_cells``).
* ``too_few_runs``: fewer than 3 runs of a model in a cell (error; excluded), fewer than 5 (warn).
* ``drift``: within each model, OLS of the (sign-adjusted, so up is better) log metric on run order
  (``order_index``, else ``start_time`` in hours) with a fixed level per cell x clock band x metric and per
  session: the within-group slope, so cells, clocks and boots do not leak into it. Warn when the Bonferroni-adjusted
  CI (family-wise 1 % over models x metrics) excludes 0 *and* the fitted change over the model's runs exceeds
  :data:`DRIFT_MIN_CHANGE`; info when only the first holds.
* ``order``: Wald-Wolfowitz runs test on the sequence of models in run order; blocks (one-sided p < 0.01 and fewer
  than half the model switches a random order gives) confound time with the model.
* ``simpson``: within each cell without the stratum, the pooled candidate/baseline ratio of means across a stratum
  (pinning; CPU frequency band, see :func:`frequency_bands`) differs in sign from every within-stratum ratio (at
  least two strata measured by both models).
* ``outlier``: robust z = 0.6745 (x - median) / MAD within cell x model x clock band, ``|z| > 3.5`` (Iglewicz &
  Hoaglin 1993): info. With 5-10 runs the MAD is noisy (a simulation gives 10-20 % of clean normal samples of that
  size a ``|z| > 3.5`` value), so the run is a warning only when it is also more than :data:`OUTLIER_WARN_Z`
  times the campaign's pooled run-to-run sd (of log values) from its cell's median.
* ``warmup``: runs the manifest marks ``warmup`` (warn while they are included), and the first run of every
  session of a model (the whole campaign without ``session``) compared with the other runs of its cell, model and
  band: a warning when it is more than 3.5 pooled sds slower than their median; and across sessions when a
  one-sided Wilcoxon signed-rank test (>= 6 sessions) finds first runs slower (p < 0.01) by more than 1 % on median.
* ``settings``: a cell whose runs differ in a setting outside the cell key that changes what is measured
  (:data:`analysis.vocabulary.MEASUREMENT_SETTINGS`: the tool's own mode, parallel streams, UDP target bandwidth;
  and the direction, e.g. iperf3 UDP forward and ``-R``, which share the canonical ``UDP_STREAM``): warn, naming the
  values and how to split the cell (``by=(*CELL_KEY, column)``).
* ``confidence``: netperf's own ``confidence_met == False`` (warn per cell).
* ``cpu_mhz_change``: the clock before and after a run differ by more than 5 % (warn per cell).
* ``missing_info``: runs without a CPU frequency (per-GHz values are NaN) or without pinning (warn).
* ``rejects``: one finding per reject reason, listing the files (warn).
* ``ignored``: files in the campaign folder that are not runs (README, logs, ``.pvfairignore`` matches), listed with
  their count (info; they are not rejects).
* ``blocked``: whether the design is blocked, i.e. which cells' runs come in complete rounds of one run of each
  model (:mod:`analysis.blocking`; info), which compare pairs.

Outliers and warm-up runs are reported, never dropped silently. Runs *declared* warm-up (the manifest's ``warmup``
column, as ``pvfair collect`` writes its warm-up blocks) are excluded by default (``exclude_warmup=True``;
``False`` keeps them, ``"detected"`` also excludes the first-of-session runs the ``warmup`` check finds slow);
outliers only with ``exclude_outliers``. Excluded runs are listed in ``excluded_runs`` (with their count in the
findings); all other checks then run without them.

How the checks are put together: :data:`CHECKS` maps each check's name to a :class:`Check` (the function and the
:data:`FACTS` it reads, such as ``coverage`` or ``balance``); a fact is computed once per audit, on first use, so
no check depends on another having run, and :data:`CHECK_NAMES` (every name a finding's ``check`` column takes,
with what it means) fixes the order findings are listed in. A new check is a function, a :data:`CHECKS` entry and a
:data:`CHECK_NAMES` entry, all here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ingest import Campaign, default_baseline
from analysis.memo import Memo, content_key, memoizes
from analysis.parsers import PARSERS
from analysis.schema import METRICS
from analysis.vocabulary import CELL_KEY, CLOCK_TOLERANCE, MEASUREMENT_SETTINGS

__all__ = [
    "audit",
    "AuditResult",
    "CHECKS",
    "CHECK_NAMES",
    "Check",
    "FACTS",
    "SEVERITIES",
    "PRIMARY_METRICS",
    "NUMERIC_COVARIATES",
    "CATEGORY_COVARIATES",
    "SMD_THRESHOLD",
    "MIX_TOLERANCE",
    "ROBUST_Z",
    "DRIFT_MIN_CHANGE",
    "OUTLIER_WARN_Z",
    "FREQ_CHANGE_TOLERANCE",
    "FREQ_BAND_GAP",
    "cell_label",
    "frequency_bands",
    "format_findings",
]

SEVERITIES: tuple[str, ...] = ("error", "warn", "info")
#: the metric audited per cell by default: the first of these the cell has
PRIMARY_METRICS: tuple[str, ...] = ("throughput_bps", "transactions_per_s", "latency_mean_s", "latency_p50_s")
#: numeric covariate -> practical tolerance: relative difference of the model means below which |SMD| > 0.1 is
#: reported as info only (measurement jitter); the clock's is :data:`analysis.vocabulary.CLOCK_TOLERANCE`
NUMERIC_COVARIATES: dict[str, float] = {"cpu_mhz": CLOCK_TOLERANCE, "streams": 0.0, "mtu_bytes": 0.0,
                                       "duration_s": 0.02}
CATEGORY_COVARIATES: tuple[str, ...] = ("pinning", "governor", "host", "host_kernel", "guest_kernel", "mtu_bytes",
                                        "tool")
SMD_THRESHOLD = 0.1
#: total-variation distance of two category mixes above which the difference is a warning
MIX_TOLERANCE = 0.05
ROBUST_Z = 3.5
#: fitted drift over a model's runs (relative) below which a significant slope is reported as info only
DRIFT_MIN_CHANGE = 0.02
#: family-wise error rate of the drift tests (Bonferroni over models x metrics)
DRIFT_ALPHA = 0.01
#: robust z against the campaign's pooled run-to-run scale above which an outlier is a warning
OUTLIER_WARN_Z = 5.0
FREQ_CHANGE_TOLERANCE = 0.05
#: relative gap between sorted clocks that starts a new frequency band
FREQ_BAND_GAP = 0.05
ORDER_ALPHA = 0.01
WARMUP_ALPHA = 0.01
WARMUP_MIN_DEFICIT = 0.01
MIN_RUNS_ERROR = 3
MIN_RUNS_WARN = 5
_MISSING = "<missing>"
_FINDING_COLUMNS = ["severity", "check", "cell", "pv_model", "metric", "detail", "suggestion"]


# ------------------------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True)
class AuditResult:
    """What :func:`audit` found.

    Attributes
    ----------
    findings : DataFrame
        ``severity, check, cell, pv_model, metric, detail, suggestion``; errors first.
    excluded_cells : DataFrame
        The ``by`` columns, ``cell``, ``n_baseline``, ``n_candidate`` and ``reason`` of every cell the comparison
        must leave out (one model only, or fewer than 3 runs of a model).
    excluded_runs : DataFrame
        ``run_id, pv_model, cell, reason``: outliers / warm-up runs excluded on request (else empty).
    balance : DataFrame
        ``covariate, kind, smd, mix_difference, baseline, candidate, flagged``: one row per covariate.
    coverage : DataFrame
        The ``by`` columns, ``cell``, ``n_baseline``, ``n_candidate``, ``status`` (ok | one model | too few | few).
    options : dict
        The arguments the audit ran with (baseline, candidate, metrics, by, exclude_outliers, exclude_warmup).
    """

    findings: pd.DataFrame
    excluded_cells: pd.DataFrame
    excluded_runs: pd.DataFrame
    balance: pd.DataFrame
    coverage: pd.DataFrame
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        """True when any finding has severity ``error``."""
        return bool((self.findings["severity"] == "error").any())

    @property
    def baseline(self) -> str:
        return self.options["baseline"]

    @property
    def candidate(self) -> str:
        return self.options["candidate"]

    def to_frame(self) -> pd.DataFrame:
        """The findings, one row per problem (a copy)."""
        return self.findings.copy()

    def summary(self) -> str:
        """Plain-text report: counts, numbered findings with suggestions, exclusions."""
        return format_findings(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        counts = self.findings["severity"].value_counts()
        head = (f"<p><b>Audit</b>: {html.escape(str(self.baseline))} (baseline) vs "
                f"{html.escape(str(self.candidate))} (candidate): "
                + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in SEVERITIES) + "</p>")
        rows = []
        for i, f in enumerate(self.findings.itertuples(index=False), 1):
            cells = [str(i), f.severity, f.check, f.cell, "" if pd.isna(f.pv_model) else f.pv_model,
                     f.detail, f.suggestion]
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        table = ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in
                                                 ["#", "severity", "check", "cell", "model", "detail", "suggestion"])
                 + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
        extra = ""
        if len(self.excluded_cells):
            extra += f"<p>{len(self.excluded_cells)} cell(s) excluded from comparisons.</p>"
        if len(self.excluded_runs):
            extra += f"<p>{len(self.excluded_runs)} run(s) excluded on request (see excluded_runs).</p>"
        return head + table + extra


def format_findings(result: AuditResult, *, max_findings: int | None = None) -> str:
    """Text rendering of an :class:`AuditResult` (what ``summary()`` returns)."""
    f = result.findings
    counts = f["severity"].value_counts()
    lines = [f"Audit: {result.baseline} (baseline) vs {result.candidate} (candidate) -- "
             + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in SEVERITIES)]
    shown = f if max_findings is None else f.head(max_findings)
    for i, row in enumerate(shown.itertuples(index=False), 1):
        model = "" if pd.isna(row.pv_model) else f" [{row.pv_model}]"
        lines.append(f"{i}. {row.severity.upper()} {row.check} ({row.cell}){model}: {row.detail}")
        lines.append(f"   -> {row.suggestion}")
    if len(shown) < len(f):
        lines.append(f"... and {len(f) - len(shown)} more findings")
    if len(result.excluded_cells):
        lines.append(f"Excluded cells ({len(result.excluded_cells)}):")
        for row in result.excluded_cells.itertuples(index=False):
            lines.append(f"  {row.cell}: {row.reason}")
    if len(result.excluded_runs):
        lines.append(f"Excluded runs ({len(result.excluded_runs)}, on request):")
        for row in result.excluded_runs.itertuples(index=False):
            lines.append(f"  {row.run_id}: {row.reason}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------------
# helpers


def cell_label(keys: Sequence[str], values: Sequence[Any]) -> str:
    """``"test=TCP_STREAM, msg_size_bytes=64, pinning=split"``; ``"campaign"`` when there are no keys."""
    if not keys:
        return "campaign"
    return ", ".join(f"{k}={'<NA>' if _isna(v) else v}" for k, v in zip(keys, values, strict=True))


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def frequency_bands(cpu_mhz: pd.Series, *, gap: float = FREQ_BAND_GAP) -> pd.Series:
    """Group clocks into bands: sorted distinct values, a new band where a value exceeds the previous by > *gap*.

    Returns labels like ``"1596-1604 MHz"`` (``<NA>`` for an unknown clock), index of *cpu_mhz*.

    >>> frequency_bands(pd.Series([2400.0, 1598.0, 2403.0, 1601.0])).tolist()
    ['2400-2403 MHz', '1598-1601 MHz', '2400-2403 MHz', '1598-1601 MHz']
    """
    x = pd.to_numeric(cpu_mhz, errors="coerce").astype("float64")
    values = np.sort(x.dropna().unique())
    out = pd.Series(pd.NA, index=cpu_mhz.index, dtype="string")
    if len(values) == 0:
        return out
    starts = [0] + [i for i in range(1, len(values)) if values[i] > values[i - 1] * (1 + gap)]
    bounds = list(zip(starts, [*starts[1:], len(values)], strict=True))
    for lo_i, hi_i in bounds:
        lo, hi = values[lo_i], values[hi_i - 1]
        label = f"{lo:.0f} MHz" if round(lo) == round(hi) else f"{lo:.0f}-{hi:.0f} MHz"
        out[(x >= lo) & (x <= hi)] = label
    return out


def _finding(severity: str, check: str, cell: str, detail: str, suggestion: str, *, pv_model: Any = pd.NA,
             metric: Any = pd.NA) -> dict[str, Any]:
    return {"severity": severity, "check": check, "cell": cell, "pv_model": pv_model, "metric": metric,
            "detail": detail, "suggestion": suggestion}


def _list(items: Sequence[Any], limit: int = 8) -> str:
    items = [str(i) for i in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


@dataclass(frozen=True)
class _Ctx:
    """What the checks read, built once by :func:`audit` after the requested exclusions; the shared tables the
    checks and the result both need (:data:`FACTS`) are computed from it on first use by :meth:`fact`."""

    campaign: Campaign
    runs: pd.DataFrame  # the two models' runs (after requested exclusions), with audit_cell, audit_order, audit_band
    all_runs: pd.DataFrame  # the two models' runs before exclusions
    values: pd.DataFrame  # run_id, metric, value, sign, audit_cell, pv_model, audit_order, audit_band, session
    baseline: str
    candidate: str
    by: tuple[str, ...]
    metrics: tuple[str, ...] | None
    order_label: str
    excluded: pd.DataFrame  # run_id, pv_model, cell, reason of the runs excluded on request
    outliers: list[dict]  # robust-z outliers of every run (:func:`_detect_outliers`)
    warmup: dict  # declared and detected warm-up runs (:func:`_detect_warmup`)
    facts: dict[str, Any] = field(default_factory=dict, compare=False)

    def fact(self, name: str) -> Any:
        """The shared fact *name* (:data:`FACTS`), computed on the first call and kept."""
        if name not in self.facts:
            self.facts[name] = FACTS[name](self)
        return self.facts[name]


class _TableFact(NamedTuple):
    """A fact that is a table of the result together with the findings read off it."""

    table: pd.DataFrame
    findings: list[dict]


# ------------------------------------------------------------------------------------------------------------
# validation and preparation


def _audit_iv(campaign, baseline, candidate, metrics, by, exclude_outliers, exclude_warmup):
    if not isinstance(campaign, Campaign):
        raise TypeError(f"campaign: expected an analysis.ingest.Campaign, got {type(campaign).__name__}")
    runs = campaign.runs
    for col in ("run_id", "pv_model"):
        if col not in runs.columns:
            raise ValueError(f"campaign.runs: missing column {col!r}")
    for col in ("run_id", "metric", "value"):
        if col not in campaign.measurements.columns:
            raise ValueError(f"campaign.measurements: missing column {col!r}")
    if isinstance(by, str):
        by = (by,)
    try:
        by = tuple(by)
    except TypeError:
        raise TypeError(f"by: expected a sequence of column names, got {by!r}") from None
    for col in by:
        if not isinstance(col, str) or col not in runs.columns:
            raise ValueError(f"by: unknown column {col!r}; expected columns of campaign.runs, e.g. the default "
                             f"cell key {CELL_KEY}")
    models = [m for m in pd.unique(runs["pv_model"].dropna())]
    if baseline is None and candidate is None:
        if len(models) != 2:
            raise ValueError(f"baseline, candidate: the campaign has {len(models)} pv_models {sorted(models)}; "
                             "expected exactly two, or name baseline= and candidate=")
        baseline = default_baseline(campaign, models)
        candidate = next(m for m in models if m != baseline)
    elif baseline is None or candidate is None:
        given = baseline if candidate is None else candidate
        others = [m for m in models if m != given]
        if len(others) != 1:
            raise ValueError(f"baseline, candidate: only one given ({given!r}) and the other is ambiguous among "
                             f"{sorted(others)}; name both")
        baseline, candidate = (given, others[0]) if candidate is None else (others[0], given)
    for arg, m in (("baseline", baseline), ("candidate", candidate)):
        if m not in models:
            raise ValueError(f"{arg}: {m!r} is not a pv_model of the campaign; expected one of {sorted(models)}")
    if baseline == candidate:
        raise ValueError(f"baseline, candidate: both are {baseline!r}; expected two different pv_models")
    if metrics is not None:
        if isinstance(metrics, str):
            metrics = (metrics,)
        metrics = tuple(metrics)
        for m in metrics:
            if m not in METRICS:
                raise ValueError(f"metrics: unknown metric {m!r}; expected names from analysis.schema.METRICS")
        present = set(campaign.measurements["metric"].dropna())
        if not set(metrics) & present:
            raise ValueError(f"metrics: none of {list(metrics)} is measured in the campaign; it has "
                             f"{sorted(present)}")
    if not isinstance(exclude_outliers, (bool, np.bool_)):
        raise TypeError(f"exclude_outliers: expected True or False, got {exclude_outliers!r}")
    if not (isinstance(exclude_warmup, (bool, np.bool_)) or exclude_warmup == "detected"):
        raise TypeError(f"exclude_warmup: expected True or False (declared warm-up runs) or 'detected', got "
                        f"{exclude_warmup!r}")
    warm = exclude_warmup if exclude_warmup == "detected" else bool(exclude_warmup)
    return str(baseline), str(candidate), metrics, by, bool(exclude_outliers), warm


def _order(runs: pd.DataFrame) -> tuple[pd.Series, str]:
    """Run order: ``order_index`` (sorted by session first when it restarts per session), else start_time."""
    if "order_index" in runs.columns and runs["order_index"].notna().any():
        return pd.to_numeric(runs["order_index"], errors="coerce").astype("float64"), "order_index"
    if "start_time" in runs.columns and runs["start_time"].notna().any():
        t = pd.to_datetime(runs["start_time"], utc=True)
        hours = (t - t.min()).dt.total_seconds() / 3600.0
        return hours.astype("float64"), "start_time (hours)"
    return pd.Series(np.nan, index=runs.index), ""


def _prepare(campaign, baseline, candidate, metrics, by) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The two models' runs with their cell, order and clock band, the audited values, and the order's name."""
    runs = campaign.runs
    runs = runs[runs["pv_model"].isin([baseline, candidate])].copy()
    runs["pv_model"] = runs["pv_model"].astype("string")
    for col in by:
        if runs[col].dtype == object:
            runs[col] = runs[col].astype("string")
    runs["audit_cell"] = [cell_label(by, vals) for vals in runs[list(by)].itertuples(index=False, name=None)] \
        if by else "campaign"
    runs["audit_order"], order_label = _order(runs)
    mhz = runs["cpu_mhz"] if "cpu_mhz" in runs.columns else pd.Series(np.nan, index=runs.index)
    runs["audit_band"] = frequency_bands(mhz).fillna(_MISSING)
    if "session" not in runs.columns:
        runs["session"] = pd.NA
    runs = runs.reset_index(drop=True)

    ms = campaign.measurements[["run_id", "metric", "value"]].dropna()
    ms = ms[ms["run_id"].isin(runs["run_id"])]
    ms = ms.merge(runs[["run_id", "pv_model", "audit_cell", "audit_order", "audit_band", "session"]], on="run_id")
    if metrics is None:
        present = ms.groupby("audit_cell")["metric"].agg(lambda s: set(s))
        primary = {c: next((m for m in PRIMARY_METRICS if m in have), None) for c, have in present.items()}
        ms = ms[[primary.get(c) == m for c, m in zip(ms["audit_cell"], ms["metric"], strict=True)]]
    else:
        ms = ms[ms["metric"].isin(metrics)]
    ms = ms[ms["value"] > 0].copy()
    ms["sign"] = [1.0 if METRICS[m].higher_is_better else -1.0 for m in ms["metric"]]
    return runs, ms.reset_index(drop=True), order_label


# ------------------------------------------------------------------------------------------------------------
# checks


def _smd(b: np.ndarray, c: np.ndarray) -> float:
    mb, mc = b.mean(), c.mean()
    vb = b.var(ddof=1) if len(b) > 1 else 0.0
    vc = c.var(ddof=1) if len(c) > 1 else 0.0
    denom = math.sqrt((vb + vc) / 2)
    if denom == 0:
        return 0.0 if mb == mc else math.copysign(math.inf, mc - mb)
    return float((mc - mb) / denom)


def _numeric_summary(x: np.ndarray) -> str:
    if len(x) == 0:
        return "no values"
    return f"mean {x.mean():.6g}, sd {x.std(ddof=1) if len(x) > 1 else 0:.3g}, n {len(x)}"


def _mix(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna(_MISSING).value_counts(normalize=True)


def _low_clock_hint(ctx: _Ctx) -> str:
    runs = ctx.runs
    if "cpu_mhz" not in runs.columns:
        return ""
    mhz = pd.to_numeric(runs["cpu_mhz"], errors="coerce")
    top = mhz.max()
    low = runs[mhz < top * (1 - FREQ_BAND_GAP)]
    if low.empty:
        return ""
    parts = []
    for model, g in low.groupby("pv_model"):
        bands = sorted(g["audit_band"].unique())
        parts.append(f"{model}'s {len(g)} runs at {', '.join(bands)}")
    return "; ".join(parts)


def _balance(ctx: _Ctx) -> _TableFact:
    """The ``balance`` table (one row per covariate) and its findings."""
    runs, out, rows = ctx.runs, [], []
    is_b, is_c = runs["pv_model"] == ctx.baseline, runs["pv_model"] == ctx.candidate
    for cov, tol in NUMERIC_COVARIATES.items():
        if cov not in runs.columns:
            continue
        x = pd.to_numeric(runs[cov], errors="coerce").astype("float64")
        b, c = x[is_b].dropna().to_numpy(), x[is_c].dropna().to_numpy()
        if len(b) == 0 or len(c) == 0:
            rows.append({"covariate": cov, "kind": "numeric", "smd": np.nan, "mix_difference": np.nan,
                         "baseline": _numeric_summary(b), "candidate": _numeric_summary(c), "flagged": False})
            continue
        smd = _smd(b, c)
        rel = abs(c.mean() - b.mean()) / max(abs(b.mean()), abs(c.mean()), 1e-300)
        flagged = abs(smd) > SMD_THRESHOLD and rel > tol
        rows.append({"covariate": cov, "kind": "numeric", "smd": smd, "mix_difference": np.nan,
                     "baseline": _numeric_summary(b), "candidate": _numeric_summary(c), "flagged": flagged})
        if flagged:
            detail = (f"{cov}: standardized mean difference {smd:+.2f} (> {SMD_THRESHOLD}); baseline "
                      f"{ctx.baseline} {_numeric_summary(b)}, candidate {ctx.candidate} {_numeric_summary(c)}")
            out.append(_finding("warn", "balance", "campaign", detail, _BALANCE_ADVICE.get(cov, _BALANCE_DEFAULT)(
                ctx, cov), metric=pd.NA))
    for cov in CATEGORY_COVARIATES:
        if cov not in runs.columns or runs[cov].isna().all():
            continue
        pb, pc = _mix(runs.loc[is_b, cov]), _mix(runs.loc[is_c, cov])
        if not is_b.any() or not is_c.any():
            continue
        levels = sorted(set(pb.index) | set(pc.index))
        pb, pc = pb.reindex(levels, fill_value=0.0), pc.reindex(levels, fill_value=0.0)
        tvd = float(0.5 * (pb - pc).abs().sum())
        smds = [_smd_prop(pb[lv], pc[lv]) for lv in levels]
        smd = max(smds, key=abs) if smds else 0.0
        only = [lv for lv in levels if (pb[lv] == 0) != (pc[lv] == 0)]
        flagged = tvd > MIX_TOLERANCE or bool(only)
        desc_b = ", ".join(f"{lv} {pb[lv] * 100:.0f} %" for lv in levels if pb[lv] > 0)
        desc_c = ", ".join(f"{lv} {pc[lv] * 100:.0f} %" for lv in levels if pc[lv] > 0)
        rows.append({"covariate": cov, "kind": "category", "smd": smd, "mix_difference": tvd,
                     "baseline": desc_b, "candidate": desc_c, "flagged": flagged})
        if tvd == 0:
            continue
        detail = (f"{cov} mix differs (total variation {tvd:.2f}"
                  + (f"; only one model has {_list(only)}" if only else "")
                  + f"): {ctx.baseline}: {desc_b}; {ctx.candidate}: {desc_c}")
        advice = _MIX_ADVICE.get(cov, "run both models with the same {cov} or compare within each {cov}").format(
            cov=cov, b=ctx.baseline, c=ctx.candidate)
        out.append(_finding("warn" if flagged else "info", "balance", "campaign", detail, advice))
    table = pd.DataFrame(rows, columns=["covariate", "kind", "smd", "mix_difference", "baseline", "candidate",
                                        "flagged"])
    return _TableFact(table, out)


def _check_balance(ctx: _Ctx) -> list[dict]:
    return ctx.fact("balance").findings


def _smd_prop(pb: float, pc: float) -> float:
    denom = math.sqrt((pb * (1 - pb) + pc * (1 - pc)) / 2)
    if denom == 0:
        return 0.0 if pb == pc else math.copysign(math.inf, pc - pb)
    return float((pc - pb) / denom)


def _clock_advice(ctx: _Ctx, cov: str) -> str:
    hint = _low_clock_hint(ctx)
    rerun = f"re-run {hint}" if hint else "re-run the slower-clocked runs"
    return (f"pin the governor to performance and {rerun}, or compare per-GHz metrics (analysis.normalize) / "
            "use the frequency-adjusted model effect")


_BALANCE_DEFAULT = lambda ctx, cov: (  # noqa: E731
    f"run both models with the same {cov}, or use the model's {cov}-adjusted effect")
_BALANCE_ADVICE: dict[str, Callable[[_Ctx, str], str]] = {
    "cpu_mhz": _clock_advice,
    "duration_s": lambda ctx, cov: "run both models for the same test length (netperf -l, iperf -t)",
}
_MIX_ADVICE: dict[str, str] = {
    "pinning": ("pinning is a stratum: compare within each pinning (pvfair does by default) and give both models "
                "the same pinning plan; never quote the effect pooled across pinnings"),
    "governor": ("set the cpufreq governor to performance for both models (or compare per-GHz metrics); an "
                 "ondemand governor lets the clock differ between runs"),
    "host": "run both models on the same host(s), or compare within each host",
    "host_kernel": "run both models on the same host kernel, or compare within each kernel",
    "guest_kernel": "run both models with the same guest kernel (the model under test aside)",
    "mtu_bytes": "give both models the same MTU: packet size changes per-packet costs",
    "tool": "measure both models with the same tool(s): tools differ in what they count",
}


def _coverage(ctx: _Ctx) -> _TableFact:
    """Runs per model in every cell, with its status (``ok``, ``few``, ``too few``, ``one model``), and the
    ``one_model_cell`` / ``too_few_runs`` findings."""
    runs, by, out = ctx.runs, ctx.by, []
    keys = list(by) if by else None
    rows = []
    groups = runs.groupby(keys, dropna=False, sort=True) if keys else [((), runs)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        nb = int((g["pv_model"] == ctx.baseline).sum())
        nc = int((g["pv_model"] == ctx.candidate).sum())
        cell = g["audit_cell"].iloc[0]
        if nb == 0 or nc == 0:
            only, missing = (ctx.candidate, ctx.baseline) if nb == 0 else (ctx.baseline, ctx.candidate)
            status, reason = "one model", f"measured by {only} only ({max(nb, nc)} runs), none of {missing}"
            out.append(_finding("warn", "one_model_cell", cell, reason + "; excluded from comparisons",
                                f"run {missing} in this cell too, or leave the cell out of any claim",
                                pv_model=only))
        elif min(nb, nc) < MIN_RUNS_ERROR:
            status, reason = "too few", f"too few runs: {nb} of {ctx.baseline}, {nc} of {ctx.candidate}; a comparison needs at least {MIN_RUNS_ERROR} of each"
            out.append(_finding("error", "too_few_runs", cell, reason + "; excluded from comparisons",
                                "run at least 5 (better 10) runs of each model in this cell"))
        elif min(nb, nc) < MIN_RUNS_WARN:
            status, reason = "few", ""
            out.append(_finding("warn", "too_few_runs", cell,
                                f"few runs: {nb} of {ctx.baseline}, {nc} of {ctx.candidate}; fewer than {MIN_RUNS_WARN} of either gives wide CIs",
                                "run at least 5 (better 10) runs of each model in this cell"))
        else:
            status, reason = "ok", ""
        rows.append({**dict(zip(by, key, strict=True)), "cell": cell, "n_baseline": nb, "n_candidate": nc,
                     "status": status, "reason": reason})
    return _TableFact(pd.DataFrame(rows, columns=[*by, "cell", "n_baseline", "n_candidate", "status", "reason"]), out)


def _check_coverage(ctx: _Ctx) -> list[dict]:
    return ctx.fact("coverage").findings


def _centered(ctx: _Ctx) -> pd.DataFrame:
    """Audited values with ``y = sign * log(value / mean of its cell x model x band)`` (up is better)."""
    v = ctx.values[ctx.values["run_id"].isin(ctx.runs["run_id"])].copy()
    if v.empty:
        v["y"] = []
        return v
    grp = v.groupby(["audit_cell", "pv_model", "audit_band", "metric"], dropna=False)["value"]
    v["y"] = v["sign"] * np.log(v["value"] / grp.transform("mean"))
    v["audit_n"] = grp.transform("size")
    return v


def _check_drift(ctx: _Ctx) -> list[dict]:
    from statsmodels.regression.linear_model import OLS

    if not ctx.order_label:
        return [_finding("info", "drift", "campaign", "no run order (order_index or start_time): drift and "
                         "interleaving cannot be checked", "record order_index or start_time for every run")]
    v = _centered(ctx)
    v = v[v["audit_order"].notna() & (v["audit_n"] >= 2)]
    group_col = "metric" if ctx.metrics is not None else None
    tests = []
    for model in (ctx.baseline, ctx.candidate):
        vm = v[v["pv_model"] == model]
        for metric, g in (vm.groupby(group_col) if group_col else [("primary metric", vm)]):
            if len(g) >= 6 and g["audit_order"].nunique() > 2:
                tests.append((model, metric, g))
    out = []
    alpha = DRIFT_ALPHA / max(len(tests), 1)
    for model, metric, g in tests:
        x = g["audit_order"].to_numpy(dtype=float)
        # within estimator: log value on order with a fixed level per cell x band x metric (and per session), so
        # cells, clocks and boots do not leak into the slope
        groups = g[["audit_cell", "audit_band", "metric"]].astype("string").agg(" | ".join, axis=1)
        parts = [pd.Series(x - x.mean(), index=g.index, name="order"),
                 pd.get_dummies(groups, dtype=float)]
        sessions = g["session"].astype("string").fillna(_MISSING)
        if sessions.nunique() > 1:
            parts.append(pd.get_dummies(sessions, drop_first=True, dtype=float))
        design = pd.concat(parts, axis=1)
        if len(g) <= design.shape[1] + 2:
            continue
        y = (g["sign"] * np.log(g["value"])).to_numpy(dtype=float)
        fit = OLS(y, design.to_numpy()).fit()
        slope = float(fit.params[0])
        lo, hi = (float(b) for b in fit.conf_int(alpha)[0])
        span = float(x.max() - x.min())
        change = math.expm1(slope * span)
        if lo <= 0 <= hi:
            continue
        metric_name = ", ".join(sorted(g["metric"].unique())) if group_col is None else metric
        unit = "run" if ctx.order_label == "order_index" else "hour"
        detail = (f"{model}'s {metric_name} {'improves' if slope > 0 else 'degrades'} with {ctx.order_label}: "
                  f"{slope * 100:+.3f} % per {unit} (CI {lo * 100:+.3f} to {hi * 100:+.3f} %, "
                  f"{(1 - alpha) * 100:.1f} % Bonferroni), {_pct(change)} over its {len(g)} runs")
        severity = "warn" if abs(change) > DRIFT_MIN_CHANGE else "info"
        out.append(_finding(
            severity, "drift", "campaign", detail,
            "find what changed over the campaign (thermal throttling, host load, caches, a leaking backend) and "
            "re-run interleaved; meanwhile use the model's order-adjusted effect and check the earliest and latest "
            "runs agree", pv_model=model, metric=pd.NA if group_col is None else metric))
    return out


def _runs_test(seq: np.ndarray) -> tuple[int, float, float, float]:
    """Wald-Wolfowitz runs test on a boolean sequence, normal approximation without continuity correction.

    Returns (switches, expected switches, z, one-sided p for too few runs); switches = runs - 1.
    """
    seq = np.asarray(seq, dtype=bool)
    n1, n2 = int(seq.sum()), int((~seq).sum())
    n = n1 + n2
    switches = int((seq[1:] != seq[:-1]).sum())
    expected = 2.0 * n1 * n2 / n
    var = 2.0 * n1 * n2 * (2.0 * n1 * n2 - n) / (n**2 * (n - 1))
    z = (switches - expected) / math.sqrt(var) if var > 0 else 0.0
    return switches, expected, z, float(stats.norm.cdf(z))


def _check_order(ctx: _Ctx) -> list[dict]:
    if not ctx.order_label:
        return []
    r = ctx.runs[ctx.runs["audit_order"].notna()].sort_values(["audit_order", "run_id"], kind="stable")
    seq = (r["pv_model"] == ctx.candidate).to_numpy()
    n = len(seq)
    if seq.sum() < 2 or (~seq).sum() < 2:
        return []
    switches, expected, z, p = _runs_test(seq)
    detail = (f"{switches} model switches along {ctx.order_label} for {n} runs, {expected:.1f} expected in a "
              f"random order (runs test z = {z:.2f}, one-sided p = {p:.2g})")
    if p < ORDER_ALPHA and switches < 0.5 * expected:
        return [_finding("warn", "order", "campaign", "models were run in blocks: " + detail,
                         "blocks confound time with the model: randomize and interleave the run order (pvfair "
                         "collect does), or at least alternate models; check the drift findings")]
    return [_finding("info", "order", "campaign", "models were interleaved: " + detail, "nothing to do")]


_STRATA: dict[str, str] = {"pinning": "pinning", "frequency band": "audit_band"}


def _check_simpson(ctx: _Ctx) -> list[dict]:
    v = ctx.values[ctx.values["run_id"].isin(ctx.runs["run_id"])]
    extra = [c for c in dict.fromkeys(["pinning", *ctx.by]) if c in ctx.runs.columns and c not in v.columns]
    v = v.merge(ctx.runs[["run_id", *extra]], on="run_id")
    b, c = ctx.baseline, ctx.candidate
    out = []
    for name, col in _STRATA.items():
        if col not in v.columns:
            continue
        vv = v[v[col].notna() & (v[col] != _MISSING)]
        if vv.empty or vv[col].nunique() < 2:
            continue
        keys = [k for k in ctx.by if k != col]
        pooled = vv.groupby([*keys, "metric", "pv_model"], dropna=False)["value"].mean().unstack("pv_model")
        strata = vv.groupby([*keys, "metric", col, "pv_model"], dropna=False)["value"].mean().unstack("pv_model")
        if b not in pooled.columns or c not in pooled.columns:
            continue
        pooled_lr = np.log(pooled[c] / pooled[b]).dropna()
        strata_lr = np.log(strata[c] / strata[b]).dropna()
        for key, p_lr in pooled_lr.items():
            key = key if isinstance(key, tuple) else (key,)
            try:
                s_lr = strata_lr.loc[key]
            except KeyError:
                continue
            if len(s_lr) < 2:
                continue
            signs = set(np.sign(s_lr.to_numpy()))
            if len(signs) != 1 or 0 in signs or np.sign(p_lr) in (0, *signs):
                continue
            metric = key[-1]
            cell = cell_label(keys, key[:-1])
            detail = (f"{metric}: pooled across {name} the candidate/baseline ratio is "
                      f"{_pct(math.expm1(p_lr))}, but within every {name} it has the other sign ("
                      + "; ".join(f"{lv}: {_pct(math.expm1(x))}" for lv, x in s_lr.items())
                      + f") -- Simpson's paradox from an unequal {name} mix")
            out.append(_finding("warn", "simpson", cell, detail,
                                f"report the effect within each {name} (never the pooled one) and give both "
                                f"models the same {name} mix", metric=metric))
    return out


def _robust_z(x: np.ndarray, center: float | None = None, ref: np.ndarray | None = None) -> np.ndarray:
    ref = x if ref is None else ref
    med = np.median(ref) if center is None else center
    mad = np.median(np.abs(ref - np.median(ref)))
    if mad == 0:
        return np.zeros_like(x, dtype=float)
    return 0.6745 * (x - med) / mad


def _pooled_scale(v: pd.DataFrame) -> float:
    """Run-to-run sd of log values, pooled over every cell x model x band x metric with >= 4 runs.

    The classical pooled sd (deviations from each group's mean, ``N - G`` degrees of freedom) after leaving out
    values with a within-group robust ``|z| > 3.5``, so a gross outlier does not inflate it. Pooling makes the scale
    stable where the MAD of one cell's 5-10 runs is not.
    """
    ss, dof = 0.0, 0
    for _, g in v.groupby(["audit_cell", "pv_model", "audit_band", "metric"], dropna=False):
        if len(g) < 4:
            continue
        lx = np.log(g["value"].to_numpy(dtype=float))
        lx = lx[np.abs(_robust_z(lx)) <= ROBUST_Z]
        if len(lx) >= 2:
            ss += float(((lx - lx.mean()) ** 2).sum())
            dof += len(lx) - 1
    scale = math.sqrt(ss / dof) if dof else math.nan
    return scale if scale > 0 else math.nan


def _detect_outliers(v: pd.DataFrame, scale: float) -> list[dict]:
    """Robust-z outliers of the audited values *v* within cell x model x band x metric (*scale*: the pooled sd)."""
    flagged = []
    for _, g in v.groupby(["audit_cell", "pv_model", "audit_band", "metric"], dropna=False):
        if len(g) < 4:
            continue
        x = g["value"].to_numpy(dtype=float)
        z = _robust_z(x)
        med = float(np.median(x))
        for row, zi, xi in zip(g.itertuples(index=False), z, x, strict=True):
            if abs(zi) > ROBUST_Z:
                flagged.append({"run_id": row.run_id, "pv_model": row.pv_model, "cell": row.audit_cell,
                                "metric": row.metric, "z": float(zi), "deviation": xi / med - 1,
                                "z_pooled": math.log(xi / med) / scale})
    return flagged


def _check_outliers(ctx: _Ctx) -> list[dict]:
    out = []
    excluded = set(ctx.excluded["run_id"])
    for f in ctx.outliers:
        severity = "warn" if abs(f["z_pooled"]) > OUTLIER_WARN_Z else "info"
        state = "excluded on request" if f["run_id"] in excluded else "kept in the comparison"
        out.append(_finding(
            severity, "outlier", f["cell"],
            f"run {f['run_id']}: {f['metric']} {_pct(f['deviation'])} from the median of its cell, robust z "
            f"{f['z']:+.1f} (|z| > {ROBUST_Z}), {f['z_pooled']:+.1f} against the campaign's pooled spread; {state}",
            "look at the run's raw output and the host's state at that time; re-run it, or use exclude_outliers="
            "True and say so", pv_model=f["pv_model"], metric=f["metric"]))
    return out


def _detect_warmup(runs: pd.DataFrame, values: pd.DataFrame, scale: float) -> dict[str, Any]:
    """Declared warm-up runs, first-of-session suspects and the systematic test, over all the prepared runs."""
    declared = []
    if "warmup" in runs.columns:
        declared = runs.loc[runs["warmup"].fillna(False).astype(bool), "run_id"].tolist()
    v = values[~values["run_id"].isin(declared) & values["audit_order"].notna()]
    has_session = bool(v["session"].notna().any())
    # the first run of each session (boot) of each model; the whole campaign is one session without `session`
    skeys = ["session", "pv_model"] if has_session else ["pv_model"]
    firsts = (v.sort_values(["audit_order", "run_id"], kind="stable")
              .groupby(skeys, dropna=False, sort=True)["run_id"].first().tolist())
    deficits, suspects = [], []
    for run_id in firsts:
        first = v[v["run_id"] == run_id].iloc[0]
        same = ((v["audit_cell"] == first["audit_cell"]) & (v["pv_model"] == first["pv_model"])
                & (v["audit_band"] == first["audit_band"]) & (v["metric"] == first["metric"]))
        rest = v[same & (v["run_id"] != run_id)]
        if len(rest) < 3:
            continue
        x_rest = rest["value"].to_numpy(dtype=float)
        d = float(first["sign"] * math.log(first["value"] / np.median(x_rest)))
        deficits.append(d)
        # sd of log(first / median of the rest) under no warm-up: scale * sqrt(1 + pi / (2 n_rest))
        z = d / (scale * math.sqrt(1 + math.pi / (2 * len(x_rest))))
        if z < -ROBUST_Z:
            suspects.append({"run_id": run_id, "pv_model": first["pv_model"], "cell": first["audit_cell"],
                             "metric": first["metric"], "z": z, "deficit": d})
    systematic = None
    if len(deficits) >= 6 and np.any(np.asarray(deficits) != 0):
        p = float(stats.wilcoxon(deficits, alternative="less").pvalue)
        med = float(np.median(deficits))
        systematic = {"p": p, "median": med, "n": len(deficits),
                      "fires": p < WARMUP_ALPHA and med < -WARMUP_MIN_DEFICIT, "firsts": firsts}
    return {"declared": declared, "suspects": suspects, "systematic": systematic, "session": has_session}


def _check_warmup(ctx: _Ctx) -> list[dict]:
    info = ctx.warmup
    excluded = set(ctx.excluded["run_id"])
    out = []
    unit = "session" if info["session"] else "model (no session recorded)"
    if info["declared"]:
        kept = [r for r in info["declared"] if r not in excluded]
        if kept:
            out.append(_finding("warn", "warmup", "campaign",
                                f"{len(kept)} run(s) marked warmup in the manifest are kept in the comparison: "
                                f"{_list(kept)}",
                                "use exclude_warmup=True (the report then lists them), or drop them from the "
                                "manifest"))
        else:
            out.append(_finding("info", "warmup", "campaign",
                                f"{len(info['declared'])} run(s) marked warmup in the manifest excluded from the "
                                f"comparison: {_list(info['declared'])}",
                                "nothing to do (exclude_warmup=False includes them)"))
    for s in info["suspects"]:
        state = "excluded on request" if s["run_id"] in excluded else "kept in the comparison"
        out.append(_finding("warn", "warmup", s["cell"],
                            f"run {s['run_id']}, the first of its {unit}, is slower than the rest: {s['metric']} "
                            f"{_pct(math.expm1(s['deficit']))} vs their median (z {s['z']:+.1f} against the campaign's pooled run-to-run spread); {state}",
                            "add a discarded warm-up run at the start of every session, or use exclude_warmup=True",
                            pv_model=s["pv_model"], metric=s["metric"]))
    sy = info["systematic"]
    if sy is not None and sy["fires"]:
        out.append(_finding("warn", "warmup", "campaign",
                            f"first runs of each session are slower than the rest: median "
                            f"{_pct(math.expm1(sy['median']))} over {sy['n']} sessions (Wilcoxon one-sided p = {sy['p']:.2g})",
                            "add a discarded warm-up run at the start of every session, or use exclude_warmup=True"))
    return out


def _per_cell_runs(ctx: _Ctx, mask: pd.Series, check: str, what: str, suggestion: str) -> list[dict]:
    out = []
    hit = ctx.runs[mask.to_numpy()]
    for (cell, model), g in hit.groupby(["audit_cell", "pv_model"], sort=True):
        n = int(((ctx.runs["audit_cell"] == cell) & (ctx.runs["pv_model"] == model)).sum())
        out.append(_finding("warn", check, cell, f"{len(g)} of {n} runs of {model} {what}: "
                            f"{_list(g['run_id'].tolist())}", suggestion, pv_model=model))
    return out


def _check_settings(ctx: _Ctx) -> list[dict]:
    """Cells whose runs differ in a setting outside the cell key that changes the measured quantity."""
    runs, out = ctx.runs, []
    cols = [c for c in (*MEASUREMENT_SETTINGS, "direction") if c in runs.columns and c not in ctx.by]
    for cell, g in runs.groupby("audit_cell", sort=True):
        for col in cols:
            counts = g[col].astype("string").fillna("<NA>").value_counts(sort=False).sort_index()
            if len(counts) < 2:
                continue
            mix = ", ".join(f"{v} ({n} runs)" for v, n in counts.items())
            out.append(_finding("warn", "settings", cell,
                                f"the cell pools runs with different {col}: {mix}; they measure different "
                                f"things, but {col} is not in the cell key {tuple(ctx.by)}",
                                f"split the cell with by=(*CELL_KEY, {col!r}), or keep one {col} per campaign"))
    return out


def _check_confidence(ctx: _Ctx) -> list[dict]:
    if "confidence_met" not in ctx.runs.columns:
        return []
    mask = ctx.runs["confidence_met"].astype("boolean").eq(False).fillna(False)
    return _per_cell_runs(ctx, mask, "confidence", "did not reach netperf's requested confidence (-i/-I)",
                          "raise netperf's -i maximum iterations or -l test length, or quiet the host; the runs are "
                          "kept, but their own spread is larger than asked for")


def _check_cpu_mhz_change(ctx: _Ctx) -> list[dict]:
    runs = ctx.runs
    if not {"cpu_mhz_before", "cpu_mhz_after"} <= set(runs.columns):
        return []
    b = pd.to_numeric(runs["cpu_mhz_before"], errors="coerce")
    a = pd.to_numeric(runs["cpu_mhz_after"], errors="coerce")
    mask = ((a - b).abs() / b > FREQ_CHANGE_TOLERANCE).fillna(False)
    return _per_cell_runs(ctx, mask, "cpu_mhz_change",
                          f"changed CPU clock by more than {FREQ_CHANGE_TOLERANCE * 100:g} % between before and "
                          "after the run", "pin the governor to performance (and disable turbo) so the clock holds "
                          "during a run; their per-GHz values use the mean of before and after")


def _check_missing_info(ctx: _Ctx) -> list[dict]:
    runs, out = ctx.runs, []
    specs = {
        "cpu_mhz": ("no CPU frequency: their per-GHz metrics are NaN and the clock cannot be checked",
                    "record cpu_mhz_before / cpu_mhz_after in the manifest (pvfair collect does)"),
        "pinning": ("no pinning recorded: they cannot be compared within a pinning stratum",
                    "record the pinning (taskset/affinity of guest vCPUs, vhost and the benchmark) in the manifest"),
    }
    for col, (what, suggestion) in specs.items():
        if col not in runs.columns:
            missing = runs
        else:
            missing = runs[runs[col].isna()]
        for model, g in missing.groupby("pv_model", sort=True):
            n = int((runs["pv_model"] == model).sum())
            out.append(_finding("warn", "missing_info", "campaign",
                                f"{len(g)} of {n} runs of {model} have {what}: {_list(g['run_id'].tolist())}",
                                suggestion, pv_model=model))
    return out


def _check_rejects(ctx: _Ctx) -> list[dict]:
    rej = ctx.campaign.rejects
    if rej is None or len(rej) == 0 or "reason" not in rej.columns:
        return []
    out = []
    for reason, g in rej.groupby("reason", sort=True):
        files = g["source_file"].astype("string").fillna("?").tolist() if "source_file" in g else []
        first = str(g["detail"].iloc[0]) if "detail" in g.columns and pd.notna(g["detail"].iloc[0]) else ""
        out.append(_finding("warn", "rejects", "campaign",
                            f"{len(g)} input(s) rejected ({reason}): {_list(files)}"
                            + (f"; e.g. {first}" if first else ""),
                            _REJECT_ADVICE.get(str(reason), "fix or remove these inputs and re-ingest")))
    return out


def _check_ignored(ctx: _Ctx) -> list[dict]:
    ign = getattr(ctx.campaign, "ignored", None)
    if ign is None or len(ign) == 0 or "path" not in ign.columns:
        return []
    return [_finding("info", "ignored", "campaign",
                     f"{len(ign)} file(s) in the campaign folder are not runs and were ignored: "
                     f"{_list(ign['path'].astype('string').fillna('?').tolist())}",
                     "nothing to do; a file that is a run needs a manifest row (list others in .pvfairignore)")]


_REJECT_ADVICE: dict[str, str] = {
    "parse_error": "re-run these benchmarks (the output is incomplete or not a supported tool's) and re-ingest",
    "tool_error": "the tool reported the run failed: fix the cause (server down, port, timeout) and re-run it",
    "missing_file": "add the missing file to the campaign folder or remove its manifest row",
    "no_manifest_row": "add a manifest row for these files (model, pinning, clock) or move them out",
    "manifest_mismatch": "correct the manifest row or the file: they disagree on a value the file itself states",
    "unsafe_path": "keep every file inside the campaign folder",
    "invalid_manifest_row": "fill in the missing or invalid manifest values",
    "duplicate_manifest_row": "name each file in one manifest row only",
    "unknown_tool": f"pass tool output pvfair can parse ({', '.join(sorted(PARSERS))})",
    "marked_failed": "nothing to do if the mark is right: the manifest says the run failed; re-run it for a full cell",
    "excluded_in_manifest": "nothing to do if the exclusion is deliberate: the manifest excludes the run",
}

def _check_blocked(ctx: _Ctx) -> list[dict]:
    """Whether the design is blocked: cells whose runs come in complete rounds (:mod:`analysis.blocking`)."""
    from analysis.blocking import PAIRED_MIN_ROUNDS, complete_rounds, round_column

    col = round_column(ctx.runs)
    cells = [g.reset_index(drop=True) for _, g in ctx.runs.groupby("audit_cell", sort=True)]
    if col is None:
        return [_finding("info", "blocked", "campaign", "the design is not blocked: no run carries a round "
                         "(a block or trial column), so compare uses the unpaired route in every cell",
                         "run both models in randomized rounds, one run of each per round (pvfair collect does): "
                         "pairing within rounds removes drift and machine-state noise")]
    done = [complete_rounds(g, baseline=ctx.baseline, candidate=ctx.candidate, column=col,
                            order="audit_order") is not None for g in cells]
    k = int(sum(done))
    if k == 0:
        return [_finding("info", "blocked", "campaign",
                         f"the design is not blocked: runs carry a {col} column but no cell has complete rounds "
                         f"(exactly one run of each model per {col}, the rounds one after another in run order)",
                         "interleave the models in rounds of one run each (pvfair collect does), or record the "
                         "real rounds in a block column")]
    rest = [c["audit_cell"].iloc[0] for c, ok in zip(cells, done, strict=True) if not ok]
    detail = (f"the design is blocked by {col}: {k} of {len(cells)} cell(s) have complete rounds (one run of each "
              f"model per round, rounds in run order); compare pairs their runs within rounds (paired t on the log "
              f"ratios) where a cell has at least {PAIRED_MIN_ROUNDS} rounds")
    if rest:
        detail += f"; not blocked: {_list(rest)}"
    return [_finding("info", "blocked", "campaign", detail, "nothing to do" if not rest else
                     "complete the rounds of the cells listed (one run of each model per round)")]
def _check_design(ctx: _Ctx) -> list[dict]:
    """Design factors (host, kernels, qemu, governor, firmware, side) confounded with the model per cell."""
    from analysis.confound import design_findings  # it imports cell_label from here

    return design_findings(ctx.runs, baseline=ctx.baseline, candidate=ctx.candidate, cell_column="audit_cell")


#: the tables checks and the result share: name -> function(ctx) -> the fact, computed once per audit on first use
#: (:meth:`_Ctx.fact`); a check names those it reads in :attr:`Check.needs`
FACTS: dict[str, Callable[[_Ctx], Any]] = {
    "coverage": _coverage,
    "balance": _balance,
}


@dataclass(frozen=True)
class Check:
    """One audit check: *run* (ctx) -> findings, and the :data:`FACTS` it reads (*needs*). A check depends on no
    other check, so :data:`CHECKS` may run in any order."""

    run: Callable[[_Ctx], list[dict]]
    needs: tuple[str, ...] = ()


#: check name -> :class:`Check`
CHECKS: dict[str, Check] = {
    "rejects": Check(_check_rejects),
    "ignored": Check(_check_ignored),
    "missing_info": Check(_check_missing_info),
    "balance": Check(_check_balance, needs=("balance",)),
    "one_model_cell": Check(_check_coverage, needs=("coverage",)),
    "order": Check(_check_order),
    "drift": Check(_check_drift),
    "simpson": Check(_check_simpson),
    "outlier": Check(_check_outliers),
    "warmup": Check(_check_warmup),
    "settings": Check(_check_settings),
    "confidence": Check(_check_confidence),
    "cpu_mhz_change": Check(_check_cpu_mhz_change),
    "blocked": Check(_check_blocked),
    "design_confound": Check(_check_design),
}

#: every name a finding's ``check`` column takes -> what its findings are about (the words of the report's
#: "confounds" list); within a severity, findings are listed in this order
CHECK_NAMES: dict[str, str] = {
    "rejects": "rejected input files",
    "ignored": "files that are not runs (ignored)",
    "missing_info": "missing clock or pinning information",
    "balance": "covariate imbalance between the models",
    "one_model_cell": "cells measured by one model only",
    "order": "models run in blocks, not interleaved",
    "drift": "drift with run order",
    "simpson": "Simpson's paradox across a stratum",
    "outlier": "outliers",
    "warmup": "warm-up runs",
    "settings": "cells pooling different streams, target rates or tool modes",
    "confidence": "netperf confidence not achieved",
    "cpu_mhz_change": "CPU clock changed during runs",
    "blocked": "whether the runs come in complete rounds",
    "design_confound": "design factors (host, kernel, side, ...) confounded with the model",
    "too_few_runs": "cells with too few runs",
    "exclusions": "runs excluded on request",
}


#: audit() results by content key (the campaign's tables, the validated arguments); see analysis.memo
_AUDIT_MEMO = Memo("audit", maxsize=8)


@memoizes(_AUDIT_MEMO)
def audit(
    campaign: Campaign,
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    metrics: Sequence[str] | None = None,
    by: Sequence[str] = CELL_KEY,
    exclude_outliers: bool = False,
    exclude_warmup: bool | str = True,
) -> AuditResult:
    """Audit a campaign for everything that makes the baseline-vs-candidate comparison unfair.

    Parameters
    ----------
    campaign : Campaign
        As :func:`analysis.ingest.load_campaign` (optionally :func:`analysis.normalize.normalize`) returns it.
    baseline, candidate : str, optional
        The two ``pv_model`` values. Default (the campaign must have exactly two, else a ValueError names them):
        the baseline is :func:`analysis.ingest.default_baseline`'s (the ``role`` column, else the manifest's first
        row, else the earliest run), the candidate the other. Runs of other models are ignored.
    metrics : sequence of str, optional
        Metrics to audit (drift, Simpson, outliers, warm-up); default: each cell's primary rate
        (:data:`PRIMARY_METRICS`).
    by : sequence of str
        The run columns that define a comparison cell.
    exclude_outliers : bool
        Exclude robust-z outliers before the other checks (listed in ``excluded_runs`` and the findings). Default:
        report them only.
    exclude_warmup : bool or "detected"
        True (default): exclude the runs the manifest declares warm-up (``warmup`` column); False: keep them (the
        ``warmup`` check warns); ``"detected"``: also the first-of-session runs the check finds slow.

    Returns
    -------
    AuditResult
        See the module docstring for every check and threshold.

    Notes
    -----
    Memoized by content (:mod:`analysis.memo`): a second call on equal tables with the same arguments (after
    validation, so an inferred baseline keys like a named one) returns the same, read-only result, as compare and
    the report's notebooks do.
    """
    checked = _audit_iv(campaign, baseline, candidate, metrics, by, exclude_outliers, exclude_warmup)
    key = content_key("audit", campaign, *checked)
    return _AUDIT_MEMO.get_or_compute(key, lambda: _audit(campaign, *checked))


def _audit(campaign: Campaign, baseline: str, candidate: str, metrics: tuple[str, ...] | None, by: tuple[str, ...],
           exclude_outliers: bool, exclude_warmup: bool | str) -> AuditResult:
    """The audit behind :func:`audit`, on validated arguments."""
    runs, values, order_label = _prepare(campaign, baseline, candidate, metrics, by)
    scale = _pooled_scale(values)
    outliers = _detect_outliers(values, scale)
    warm = _detect_warmup(runs, values, scale)
    excluded = _exclusions(runs, outliers, warm, exclude_outliers, exclude_warmup)
    kept = runs[~runs["run_id"].isin(excluded["run_id"])].reset_index(drop=True) if len(excluded) else runs
    ctx = _Ctx(campaign, kept, runs, values, baseline, candidate, by, metrics, order_label, excluded, outliers, warm)
    findings = _run_checks(ctx, CHECKS)
    coverage = ctx.fact("coverage").table
    excluded_cells = coverage[coverage["status"].isin(["one model", "too few"])].drop(columns="status")
    options = {"baseline": baseline, "candidate": candidate, "metrics": metrics, "by": by,
               "exclude_outliers": exclude_outliers, "exclude_warmup": exclude_warmup,
               "order": ctx.order_label}
    return AuditResult(findings=findings, excluded_cells=excluded_cells.reset_index(drop=True),
                       excluded_runs=ctx.excluded.reset_index(drop=True), balance=ctx.fact("balance").table,
                       coverage=coverage.drop(columns="reason").reset_index(drop=True), options=options)


def _exclusions(runs: pd.DataFrame, outliers: list[dict], warm: dict, exclude_outliers: bool,
                exclude_warmup: bool | str) -> pd.DataFrame:
    """``run_id, pv_model, cell, reason`` of the runs excluded on request (warm-up first, then outliers)."""
    w = {r: "warm-up (manifest)" for r in warm["declared"]} if exclude_warmup else {}
    if exclude_warmup == "detected":
        for s in warm["suspects"]:
            w.setdefault(s["run_id"], f"warm-up: first of its session, robust z {s['z']:+.1f}")
        if warm["systematic"] is not None and warm["systematic"]["fires"]:
            for r in warm["systematic"]["firsts"]:
                w.setdefault(r, "warm-up: first run of its session (first runs are systematically slower)")
    excluded = [{"run_id": r, "reason": why} for r, why in w.items()]
    if exclude_outliers:
        seen = {e["run_id"] for e in excluded}
        for f in outliers:
            if f["run_id"] not in seen:
                seen.add(f["run_id"])
                excluded.append({"run_id": f["run_id"], "reason": f"outlier: {f['metric']} robust z {f['z']:+.1f}"})
    columns = ["run_id", "pv_model", "cell", "reason"]
    if not excluded:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    ex = pd.DataFrame(excluded)
    info = runs.set_index("run_id")
    ex["pv_model"] = ex["run_id"].map(info["pv_model"])
    ex["cell"] = ex["run_id"].map(info["audit_cell"])
    return ex[columns].astype("string")


def _run_checks(ctx: _Ctx, checks: Mapping[str, Check]) -> pd.DataFrame:
    """Every check's findings (each check's needs computed first), errors first, then in :data:`CHECK_NAMES`
    order; within a check, in the order it found them."""
    found: list[dict] = []
    for check in checks.values():
        for need in check.needs:
            ctx.fact(need)
        found.extend(check.run(ctx))
    if len(ctx.excluded):
        found.append(_finding("info", "exclusions", "campaign",
                              f"{len(ctx.excluded)} run(s) excluded on request before the other checks: "
                              f"{_list(ctx.excluded['run_id'].tolist())}",
                              "say so wherever the results are quoted (the report lists them)"))
    findings = pd.DataFrame(found, columns=_FINDING_COLUMNS)
    if findings.empty:
        findings = pd.DataFrame({c: pd.Series(dtype="string") for c in _FINDING_COLUMNS})
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    check_rank = {c: i for i, c in enumerate(CHECK_NAMES)}
    findings = findings.assign(_s=findings["severity"].map(rank), _c=findings["check"].map(check_rank))
    return (findings.sort_values(["_s", "_c"], kind="stable").drop(columns=["_s", "_c"])
            .reset_index(drop=True).astype("string"))
