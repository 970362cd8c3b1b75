"""Design factors confounded with the PV model: refuse the verdict, adjust for the factor, or bridge.

A cell compares the candidate's runs with the baseline's. When every candidate run stood on one host and every
baseline run on another, the ratio compares host + model against host + model: no analysis of that cell can say
which part is the model's. The factors in scope are :data:`analysis.vocabulary.DESIGN_FACTORS` (host, host kernel,
guest kernel, qemu version, governor, NIC/driver firmware, side), read from the run columns of the same name or an
alias (:data:`FACTOR_ALIASES`: ``lab`` for ``side``, ``qemu`` for ``qemu_version``, ...). Per cell and factor:

* **completely confounded**: no level of the factor holds runs of both models (or several partly confounded
  factors together separate the models: the model indicator lies in the span of their dummies). The verdict is
  ``"confounded"`` (printed "confounded with host", :func:`analysis.vocabulary.verdict_label`); the raw effect and
  its interval stay in the table, not attributed to the model. If a **reference** configuration (another PV
  model) was measured at both models' levels of the factor, the cell is **bridged** instead
  (:mod:`analysis.bridge`): the ratio of ratios, basis ``bridged``, assumption stated. Otherwise the row carries a
  **bridging plan** (which runs, where, how many per cell).
* **partly confounded**: some level holds both models but the two models' mixes differ. The factor enters the
  cell's log-linear model as a term, as the clock does (``log y ~ model + C(factor) [+ log GHz]``, OLS with the
  conventional covariance, t interval at the table's simultaneous level), and the basis says so
  (``design-adjusted``).
* **governor**: it acts on the runs through the CPU clock. Where the clock is recorded for every run of the
  cell, the clock handling of :mod:`analysis.compare` covers it (reported as info, not a confound); where it is
  not, the governor counts as any other factor.

A factor missing for every run of a cell says nothing and is skipped; a value missing for some runs is a level of
its own (an unrecorded host cannot be shown to be the same host).

Multiplicity: a rewritten row keeps the table's simultaneous level for its interval; its adjusted p-value is the
Bonferroni one (``min(1, m p)``, m rows), consistent with that level, and it decides only when its interval also
excludes 1. :func:`apply_design_confounds` is the one hook :func:`analysis.compare.compare` calls on its table;
:func:`design_findings` is the audit's check, so the audit, the verdict table, the text and the PDF read one
decision (the ``confounded_with`` / ``design_terms`` / ``bridge_reference`` columns), never prose.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.bridge import bridge_plan, bridge_ratio, runs_for_half_width
from analysis.vocabulary import DESIGN_FACTORS, confounded_label, verdict_label

__all__ = [
    "FACTOR_ALIASES",
    "DESIGN_COLUMNS",
    "CellDesign",
    "factor_columns",
    "cell_design",
    "apply_design_confounds",
    "design_findings",
    "design_summary",
    "format_design_html",
]

#: design factor -> run columns that may carry it, first present wins
FACTOR_ALIASES: dict[str, tuple[str, ...]] = {
    "host": ("host", "hostname"),
    "host_kernel": ("host_kernel",),
    "guest_kernel": ("guest_kernel",),
    "qemu_version": ("qemu_version", "qemu"),
    "governor": ("governor",),
    "nic_firmware": ("nic_firmware", "nic_driver", "driver_firmware", "firmware"),
    "side": ("side", "lab"),
}
assert tuple(FACTOR_ALIASES) == DESIGN_FACTORS  # one list of factors (vocabulary), aliases here

#: columns :func:`apply_design_confounds` adds to the verdict table
DESIGN_COLUMNS: tuple[str, ...] = ("confounded_with", "design_terms", "bridge_reference", "bridge_plan",
                                   "plan_runs", "design_note", "verdict_label")
_MISSING = "<not recorded>"
#: clock column whose presence on every run lets the clock handling cover the governor
_CLOCK = "cpu_mhz"


@dataclass(frozen=True)
class CellDesign:
    """How the design factors sit against the PV model in one cell.

    Attributes
    ----------
    complete : factors that alone separate the models (no shared level), or, when none does, the partly
        confounded factors that together do
    partial : factors with a shared level but different mixes (entered as terms)
    mediated : factors whose effect the clock handling covers (the governor, with the clock recorded)
    levels : factor -> (baseline's levels, candidate's levels)
    """

    complete: tuple[str, ...] = ()
    partial: tuple[str, ...] = ()
    mediated: tuple[str, ...] = ()
    levels: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)

    @property
    def confounded_with(self) -> str:
        """``"host"``, ``"host and side"``, or ``""``."""
        f = [_words(x) for x in self.complete]
        return f[0] if len(f) == 1 else (", ".join(f[:-1]) + " and " + f[-1] if f else "")


def _words(factor: str) -> str:
    return factor.replace("_", " ")


def factor_columns(runs: pd.DataFrame) -> dict[str, str]:
    """Design factor -> the run column carrying it (only factors with at least one recorded value)."""
    out = {}
    for factor, names in FACTOR_ALIASES.items():
        col = next((c for c in names if c in runs.columns and runs[c].notna().any()), None)
        if col is not None:
            out[factor] = col
    return out


def _levels(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().fillna(_MISSING).replace("", _MISSING)


def cell_design(cell_runs: pd.DataFrame, *, baseline: str, candidate: str,
                columns: dict[str, str] | None = None) -> CellDesign:
    """Which design factors are completely, partly or not confounded with the model in one cell's runs."""
    runs = cell_runs[cell_runs["pv_model"].isin([baseline, candidate])]
    columns = factor_columns(runs) if columns is None else columns
    is_c = (runs["pv_model"] == candidate).to_numpy()
    clock_known = _CLOCK in runs.columns and bool(pd.to_numeric(runs[_CLOCK], errors="coerce").notna().all())
    complete, partial, mediated, levels = [], [], [], {}
    for factor, col in columns.items():
        if col not in runs.columns or runs[col].isna().all():
            continue
        lv = _levels(runs[col])
        lb, lc = tuple(sorted(set(lv[~is_c]))), tuple(sorted(set(lv[is_c])))
        levels[factor] = (lb, lc)
        pb = lv[~is_c].value_counts(normalize=True)
        pc = lv[is_c].value_counts(normalize=True)
        tvd = 0.5 * float(pb.subtract(pc, fill_value=0.0).abs().sum())
        if tvd < 1e-12:
            continue
        if factor == "governor" and clock_known:
            mediated.append(factor)
        elif not set(lb) & set(lc):
            complete.append(factor)
        else:
            partial.append(factor)
    if not complete and len(partial) > 1 and _separates(runs, [columns[f] for f in partial], is_c):
        complete, partial = list(partial), []
    return CellDesign(tuple(complete), tuple(partial), tuple(mediated), levels)


def _separates(runs: pd.DataFrame, cols: Sequence[str], is_c: np.ndarray) -> bool:
    """True when the model indicator lies in the span of the factors' dummies (jointly confounded)."""
    x = pd.get_dummies(pd.DataFrame({c: _levels(runs[c]) for c in cols}), drop_first=True).to_numpy(float)
    x = np.column_stack([np.ones(len(runs)), x])
    z = is_c.astype(float)
    coef, *_ = np.linalg.lstsq(x, z, rcond=None)
    return bool(np.allclose(x @ coef, z, atol=1e-8))


# --------------------------------------------------------------------------------------------------------------
# the hook into compare


def _apply_iv(table, campaign, by, baseline, candidate, level, alpha, margin):
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table: expected the verdict DataFrame of compare, got {type(table).__name__}")
    for arg, v in (("level", level), ("alpha", alpha), ("margin", margin)):
        if not (isinstance(v, float | int) and 0 < v < 1):
            raise ValueError(f"{arg}: expected a number in (0, 1), got {v!r}")
    if not hasattr(campaign, "runs") or not hasattr(campaign, "measurements"):
        raise TypeError(f"campaign: expected an analysis.ingest.Campaign, got {type(campaign).__name__}")
    missing = [k for k in by if k not in campaign.runs.columns]
    if missing:
        raise ValueError(f"by: columns {missing} are not in the campaign's runs")


def apply_design_confounds(table: pd.DataFrame, campaign, *, by: Sequence[str], baseline: str, candidate: str,
                           level: float, alpha: float, margin: float,
                           excluded_runs: Iterable[str] = ()) -> pd.DataFrame:
    """The verdict table with design confounds decided: confounded, bridged or design-adjusted rows.

    Parameters
    ----------
    table : the table :func:`analysis.compare.compare` built (one row per cell and metric)
    campaign : the (normalized) campaign compare ran on, with every PV model's runs (references included)
    by : the cell keys; baseline, candidate : the two models
    level : the table's simultaneous confidence level; alpha, margin : the verdict's level and margin
    excluded_runs : run ids the comparison left out (outliers / warm-up on request)

    Returns
    -------
    DataFrame
        A copy with :data:`DESIGN_COLUMNS` added; rows of confounded cells have verdict ``"confounded"`` (their
        raw effect kept), bridged rows headline ``"bridged"``, adjusted rows headline ``"design-adjusted"``.
    """
    _apply_iv(table, campaign, by, baseline, candidate, level, alpha, margin)
    out = table.copy()
    for col in DESIGN_COLUMNS:
        out[col] = pd.array([pd.NA] * len(out), dtype="Int64") if col == "plan_runs" else ""
    if out.empty:
        return out
    from analysis.audit import cell_label  # the cell label compare's rows carry

    excluded = set(map(str, excluded_runs))
    runs = campaign.runs[~campaign.runs["run_id"].astype(str).isin(excluded)].copy()
    runs["run_id"] = runs["run_id"].astype(str)
    runs["_cell"] = [cell_label(tuple(by), v) for v in runs[list(by)].itertuples(index=False, name=None)]
    columns = factor_columns(runs[runs["pv_model"].isin([baseline, candidate])])
    meas = campaign.measurements[campaign.measurements["metric"].isin(set(out["metric"]))]
    m_rows = len(out)
    for i, row in out.iterrows():
        cell = runs[runs["_cell"] == row["cell"]]
        d = _with_values(cell, meas, row["metric"])
        design = cell_design(d, baseline=baseline, candidate=candidate, columns=columns)
        ctx = _RowCtx(row, d, design, columns, baseline, candidate, level, alpha, margin, m_rows)
        if design.complete:
            update = _bridged(ctx) or _confounded(ctx)
        elif design.partial:
            update = _adjusted(ctx) or _confounded(ctx, joint=True)
        else:
            update = {}
        for k, v in update.items():
            out.at[i, k] = v
    out["verdict_label"] = [verdict_label(v, margin, c or None) for v, c in
                            zip(out["verdict"], out["confounded_with"], strict=True)]
    if "runs_needed" in out:
        out["runs_needed"] = pd.array(out["runs_needed"], dtype="Int64")
    return out


@dataclass(frozen=True)
class _RowCtx:
    row: pd.Series
    runs: pd.DataFrame  # the cell's runs of every model with a value of the row's metric
    design: CellDesign
    columns: dict[str, str]
    baseline: str
    candidate: str
    level: float
    alpha: float
    margin: float
    m_rows: int


def _with_values(cell: pd.DataFrame, meas: pd.DataFrame, metric: str) -> pd.DataFrame:
    m = meas[meas["metric"] == metric]
    vals = pd.Series(m["value"].to_numpy(float), index=m["run_id"].astype(str).to_numpy())
    d = cell.copy()
    d["_value"] = vals.reindex(d["run_id"]).to_numpy()
    return d[np.isfinite(d["_value"]) & (d["_value"] > 0)]


def _decide(ctx: _RowCtx, est: float, lo: float, hi: float, p: float, tost_p: float) -> dict:
    from analysis.compare import verdict  # compare imports this module; the verdict rule lives there

    padj = min(1.0, p * ctx.m_rows)
    significant = bool(padj < ctx.alpha and (lo > 1 or hi < 1))
    v = verdict(significant, bool(tost_p < ctx.alpha), est, str(ctx.row["direction"]))
    return {"estimate": est, "ci_low": lo, "ci_high": hi, "pvalue": p, "pvalue_adjusted": padj,
            "tost_pvalue": tost_p, "verdict": v}


def _key(d: pd.DataFrame, ctx: _RowCtx, factors: Sequence[str]) -> pd.Series:
    return pd.Series(list(zip(*[_levels(d[ctx.columns[f]]) for f in factors], strict=True)), index=d.index)


def _confounded(ctx: _RowCtx, joint: bool = False) -> dict:
    design = ctx.design
    factors = design.complete if design.complete else design.partial
    name = design.confounded_with or " and ".join(_words(f) for f in factors)
    f0 = factors[0]
    lb, lc = design.levels[f0]
    sd = _row_sd_log(ctx)
    plan = bridge_plan(factor=_words(f0), candidate=ctx.candidate, baseline=ctx.baseline, candidate_levels=lc,
                       baseline_levels=lb, sd_log=sd, estimate=float(ctx.row["estimate"]), margin=ctx.margin,
                       confidence_level=ctx.level)
    note = (f"every {ctx.candidate} run of this cell ran on {_words(f0)} {', '.join(lc)} and every "
            f"{ctx.baseline} run on {', '.join(lb)}: the ratio compares {_words(f0)} + model against "
            f"{_words(f0)} + model, so no verdict is attributed to the PV model (the effect is shown, not "
            "attributed); no reference configuration was measured on both, so it cannot be bridged")
    if joint:
        note = (f"{name} together separate the two models in this cell (the model indicator lies in the span of "
                "their levels): the effect cannot be told from theirs, so no verdict is attributed to the model")
    return {"verdict": "confounded", "confounded_with": name, "runs_needed": pd.NA, "bridge_plan": plan,
            "plan_runs": _plan_runs(sd, float(ctx.row["estimate"]), ctx),
            "design_note": note,
            "headline_reason": f"{ctx.row['headline_reason']}; confounded with {name}: {note}"}


def _plan_runs(sd: float, estimate: float, ctx: _RowCtx) -> int:
    """Runs per cell of the direct plan (the baseline on the candidate's host), to rank the cells' plans."""
    target = abs(math.log(estimate)) if estimate > 0 else math.nan
    if not np.isfinite(target) or target < math.log(1 + ctx.margin):
        target = math.log(1 + ctx.margin) / 2
    return runs_for_half_width(sd, target, confidence_level=ctx.level)


def _row_sd_log(ctx: _RowCtx) -> float:
    """The run-to-run sd of log values behind the row's headline interval (its width at the table's level), so a
    plan accounts for the clock adjustment the headline already made."""
    r = ctx.row
    nb, nc = float(r["n_baseline"]), float(r["n_candidate"])
    lo, hi = float(r["ci_low"]), float(r["ci_high"])
    if not (lo > 0 and hi > lo and nb > 1 and nc > 1):
        return math.nan
    q = sps.t(nb + nc - 2).ppf(0.5 + ctx.level / 2)
    return (math.log(hi) - math.log(lo)) / (2 * q) / math.sqrt(1 / nb + 1 / nc)


def _bridged(ctx: _RowCtx) -> dict | None:
    """The confounded row through reference model(s) measured at both models' levels, or None."""
    factors = ctx.design.complete
    d = ctx.runs
    key = _key(d, ctx, factors)
    kc = set(key[d["pv_model"] == ctx.candidate])
    kb = set(key[d["pv_model"] == ctx.baseline])
    refs = {}
    for model, g in d[~d["pv_model"].isin([ctx.baseline, ctx.candidate])].groupby("pv_model"):
        at_c = g.loc[key[g.index].isin(kc), "_value"].to_numpy(float)
        at_b = g.loc[key[g.index].isin(kb), "_value"].to_numpy(float)
        if at_c.size >= 2 and at_b.size >= 2:
            refs[str(model)] = (at_c, at_b)
    if not refs:
        return None
    c = d.loc[d["pv_model"] == ctx.candidate, "_value"].to_numpy(float)
    b = d.loc[d["pv_model"] == ctx.baseline, "_value"].to_numpy(float)
    if c.size < 2 or b.size < 2:
        return None
    br = bridge_ratio(c, b, refs, confidence_level=ctx.level, alpha=ctx.alpha, margin=ctx.margin)
    lo, hi = br.confidence_interval
    upd = _decide(ctx, br.estimate, lo, hi, br.pvalue, br.tost_pvalue)
    name = ctx.design.confounded_with
    inter = ("the assumption is untested (one shared configuration)" if not np.isfinite(br.interaction_pvalue)
             else f"tested with {len(refs)} shared configurations: interaction F test p = "
                  f"{br.interaction_pvalue:.3g}")
    note = (f"{name} is completely confounded with the model here; bridged through {', '.join(refs)} measured on "
            f"both (host effect {br.host_effect:.3f}, raw ratio {float(ctx.row['estimate']):.3f}): ratio of ratios "
            f"with a {br.method} t interval (df {br.df:.1f}) carrying both uncertainties; assumes no {name} x model "
            f"interaction, {inter}")
    if upd["verdict"] == "inconclusive":
        target = abs(math.log(br.estimate)) if abs(math.log(br.estimate)) >= math.log(1 + ctx.margin) \
            else math.log(1 + ctx.margin) / 2
        sd = br.standard_error / math.sqrt(sum(1.0 / n for n in br.n.values()))
        upd["runs_needed"] = runs_for_half_width(sd, target, confidence_level=ctx.level, groups=4)
    else:
        upd["runs_needed"] = pd.NA
    upd.update({"headline": "bridged", "bridge_reference": ", ".join(refs), "design_note": note,
                "pvalue_method": f"bridged {br.method} t (ratio of ratios)",
                "headline_reason": f"{ctx.row['headline_reason']}; {note}"})
    return upd


def _adjusted(ctx: _RowCtx) -> dict | None:
    """The partly confounded row with the factor(s) as terms of the cell's log-linear model, or None."""
    import statsmodels.api as sm

    d = ctx.runs[ctx.runs["pv_model"].isin([ctx.baseline, ctx.candidate])]
    factors = ctx.design.partial
    dummies = pd.get_dummies(pd.DataFrame({f: _levels(d[ctx.columns[f]]) for f in factors}), drop_first=True)
    base = np.column_stack([np.ones(len(d)), (d["pv_model"] == ctx.candidate).to_numpy(float),
                            dummies.to_numpy(float)])
    y = np.log(d["_value"].to_numpy(float))
    designs = [base]
    clock = "cpu_ghz" in d.columns and str(ctx.row.get("headline", "")) == "model-adjusted"
    if clock:
        ghz = pd.to_numeric(d["cpu_ghz"], errors="coerce").to_numpy(float)
        if np.all(np.isfinite(ghz)) and np.ptp(np.log(ghz)) > 0:
            designs.insert(0, np.column_stack([base, np.log(ghz)]))
    for x in designs:
        if np.linalg.matrix_rank(x) < x.shape[1] or len(y) - x.shape[1] < 1:
            continue
        fit = sm.OLS(y, x).fit()
        b, se, df = float(fit.params[1]), float(fit.bse[1]), float(fit.df_resid)
        if not (np.isfinite(se) and se > 0):
            continue
        dist = sps.t(df)
        q = dist.ppf(0.5 + ctx.level / 2)
        lo_b, hi_b = math.log(1 / (1 + ctx.margin)), math.log(1 + ctx.margin)
        tost = float(max(dist.sf((b - lo_b) / se), dist.cdf((b - hi_b) / se)))
        p = float(2 * dist.sf(abs(b / se)))
        upd = _decide(ctx, math.exp(b), math.exp(b - q * se), math.exp(b + q * se), p, tost)
        terms = ", ".join(_words(f) for f in factors) + (" and the clock (log GHz)" if x is not base else "")
        note = (f"{', '.join(_words(f) for f in factors)} partly confounded with the model in this cell (the two "
                f"models' mixes differ): the effect is the model term of log y ~ model + {terms} (OLS, t interval, "
                f"df {df:.0f}), not the raw ratio ({float(ctx.row['estimate']):.3f})")
        if upd["verdict"] == "inconclusive":
            target = max(abs(b), math.log(1 + ctx.margin) / 2)
            upd["runs_needed"] = runs_for_half_width(float(np.sqrt(fit.scale)), target, confidence_level=ctx.level)
        else:
            upd["runs_needed"] = pd.NA
        upd.update({"headline": "design-adjusted", "design_terms": ", ".join(factors), "design_note": note,
                    "pvalue_method": "design-adjusted OLS t test",
                    "headline_reason": f"{ctx.row['headline_reason']}; {note}"})
        return upd
    return None


# --------------------------------------------------------------------------------------------------------------
# the audit's check and the summary


def design_findings(runs: pd.DataFrame, *, baseline: str, candidate: str, cell_column: str) -> list[dict]:
    """Audit findings: per design factor, the cells where it is completely (error) or partly (warn) confounded
    with the model, and where the clock covers the governor (info). Dicts with the audit's finding columns."""
    two = runs[runs["pv_model"].isin([baseline, candidate])]
    columns = factor_columns(two)
    if not columns:
        return []
    per: dict[tuple[str, str], list[str]] = {}
    levels: dict[str, tuple] = {}
    n_cells = 0
    for cell, g in two.groupby(cell_column, sort=True):
        if g["pv_model"].nunique() < 2:
            continue
        n_cells += 1
        d = cell_design(g, baseline=baseline, candidate=candidate, columns=columns)
        for kind, fs in (("complete", d.complete), ("partial", d.partial), ("mediated", d.mediated)):
            for f in fs:
                per.setdefault((kind, f), []).append(str(cell))
                levels.setdefault(f, d.levels[f])
    out = []
    for (kind, f), cells in per.items():
        lb, lc = levels[f]
        where = f"{baseline}: {', '.join(lb)}; {candidate}: {', '.join(lc)}"
        what = f"{len(cells)} of {n_cells} cells measured by both models"
        if kind == "complete":
            sev, detail = "error", (f"{_words(f)} completely confounded with the PV model in {what} ({where}): "
                                    f"those verdicts are '{confounded_label(_words(f))}' unless bridged")
            advice = (f"run {baseline} on {candidate}'s {_words(f)} (or a reference configuration on both); the "
                      "verdict table gives the runs per cell")
        elif kind == "partial":
            sev, detail = "warn", (f"{_words(f)} partly confounded with the PV model in {what} ({where}): it "
                                   "enters the cell's model as a term (basis design-adjusted)")
            advice = f"give both models the same {_words(f)} mix"
        else:
            sev, detail = "info", (f"{_words(f)} differs between the models in {what} ({where}); it acts "
                                   "through the CPU clock, which is recorded for every run and handled there")
            advice = "set the cpufreq governor to performance for both models"
        out.append({"severity": sev, "check": "design_confound", "cell": "campaign", "pv_model": pd.NA,
                    "metric": pd.NA, "detail": detail, "suggestion": advice})
    return out


def design_summary(table: pd.DataFrame, *, baseline: str, candidate: str) -> str:
    """Plain words: how many cells are confounded (with what), bridged or design-adjusted, and the plan."""
    if table.empty or "confounded_with" not in table:
        return ""
    conf = table[table["verdict"] == "confounded"]
    bridged = table[table.get("headline", pd.Series("", index=table.index)) == "bridged"]
    adj = table[table.get("headline", pd.Series("", index=table.index)) == "design-adjusted"]
    parts = []
    if len(conf):
        names = ", ".join(dict.fromkeys(conf["confounded_with"]))
        every = "Every compared cell" if len(conf) == len(table) else f"{len(conf)} of {len(table)} compared cells"
        parts.append(f"{every} is confounded with {names}: {candidate}'s and {baseline}'s runs never shared a "
                     f"{names}, so those differences are not attributed to the PV model (the effects are shown "
                     "as measured). Bridging plan for the cell that needs the most runs (each cell's plan is in "
                     "the verdict table's bridge_plan column): "
                     + conf.loc[conf["plan_runs"].astype("float64").idxmax(), "bridge_plan"] + ".")
    if len(bridged):
        refs = ", ".join(dict.fromkeys(bridged["bridge_reference"]))
        parts.append(f"{len(bridged)} cell(s) are compared through the shared reference {refs} (ratio of ratios, "
                     "assuming no host x model interaction).")
    if len(adj):
        terms = ", ".join(dict.fromkeys(adj["design_terms"]))
        parts.append(f"{len(adj)} cell(s) carry {terms} as a model term (partly confounded, basis design-adjusted).")
    return " ".join(parts)


def format_design_html(table: pd.DataFrame, *, baseline: str, candidate: str) -> str:
    """:func:`design_summary` as an escaped HTML paragraph (empty when nothing is confounded)."""
    text = design_summary(table, baseline=baseline, candidate=candidate)
    if not text:
        return "<p>No design factor (host, kernels, qemu, governor, firmware, side) is confounded with the model.</p>"
    return f'<p class="pvfair-verdict"><strong>Design factors.</strong> {html.escape(text)}</p>'
