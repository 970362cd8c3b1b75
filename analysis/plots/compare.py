"""Compare and model plots: forest plot of ratios, metric vs message size, estimation plot, model diagnostics.

Each function returns a :class:`matplotlib.figure.Figure` (made without pyplot, so nothing is shown or kept
twice) and never saves it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullFormatter
from scipy import stats as sps

from analysis.compare import CompareResult
from analysis.model import ModelResult
from analysis.vocabulary import VERDICT_COLORS

__all__ = ["forest_plot", "metric_vs_size_plot", "estimation_plot", "model_diagnostics_plot", "VERDICT_COLORS",
           "PRINT_WIDTH_IN", "MIN_PRINT_PT"]

#: the summary PDF's text width (A4, 12 mm side margins: 186 mm); a figure this wide prints at its own font sizes
PRINT_WIDTH_IN = 186 / 25.4
#: smallest text, in points, the forest plot uses (so at the PDF's text width nothing prints below it)
MIN_PRINT_PT = 8.5

_MODEL_COLORS = ("#34495e", "#d35400")


def _result_iv(result, name: str = "result") -> CompareResult:
    if not isinstance(result, CompareResult):
        raise TypeError(f"{name}: expected an analysis.compare.CompareResult, got {type(result).__name__}")
    return result


def _pick(values, wanted, name: str):
    present = [v for v in pd.unique(pd.Series(values).dropna())]
    if wanted is None:
        return present
    wanted = [wanted] if isinstance(wanted, str | int | np.integer) else list(wanted)
    bad = [w for w in wanted if w not in present]
    if bad:
        raise ValueError(f"{name}: {bad} not in the result; expected some of {sorted(map(str, present))}")
    return wanted


def _row_label(r: pd.Series, by: tuple[str, ...]) -> str:
    parts = []
    for k in by:
        if k == "test":
            continue
        v = r[k]
        parts.append("?" if pd.isna(v) else f"{int(v)} B" if k == "msg_size_bytes" else str(v))
    return " ".join(parts) + f" ({r['metric']})"


# --------------------------------------------------------------------------------------------------------------


def forest_plot(result: CompareResult, *, test=None, metric=None, show_raw: bool = True) -> Figure:
    """Forest plot: the headline ratio and its simultaneous CI per cell, one panel per test.

    The shaded band is the equivalence region ``[1/(1+margin), 1+margin]``; the dotted line marks 1. Points are
    coloured by verdict (:data:`VERDICT_COLORS`); with *show_raw* the raw ratio is drawn as a hollow marker and the
    per-GHz ratio as an ``x``, so a normalization that moves the estimate is visible.

    Parameters
    ----------
    result : CompareResult
    test, metric : str or sequence of str, optional
        Restrict to these tests / metrics.
    show_raw : bool
    """
    result = _result_iv(result)
    t = result.table
    tests = _pick(t["test"], test, "test") if "test" in t else [None]
    metrics = _pick(t["metric"], metric, "metric")
    t = t[t["metric"].isin(metrics)]
    panels = [(name, t if name is None else t[t["test"] == name]) for name in tests]
    panels = [(n, p) for n, p in panels if len(p)]
    heights = [max(len(p), 1) for _, p in panels]
    fig = Figure(figsize=(PRINT_WIDTH_IN, 0.36 * sum(heights) + 1.0 * len(panels) + 0.7), layout="constrained")
    small = MIN_PRINT_PT
    axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    lo_b, hi_b = 1 / (1 + result.margin), 1 + result.margin
    for ax, (name, p) in zip(axes, panels, strict=True):
        p = p.reset_index(drop=True)
        y = np.arange(len(p))[::-1]
        ax.axvspan(lo_b, hi_b, color="#d6eaf8", zorder=0, label=f"equivalence +/-{100 * result.margin:g} %")
        ax.axvline(1.0, color="black", lw=0.8, ls=":")
        for i, r in p.iterrows():
            color = VERDICT_COLORS[r["verdict"]]
            ax.plot([r["ci_low"], r["ci_high"]], [y[i], y[i]], color=color, lw=2.2, solid_capstyle="butt")
            ax.plot(r["estimate"], y[i], "o", color=color, ms=7, zorder=3)
            if show_raw:
                ax.plot(r["raw_estimate"], y[i], "o", mfc="none", mec="black", ms=7, zorder=4)
                if np.isfinite(r["per_ghz_estimate"]):
                    ax.plot(r["per_ghz_estimate"], y[i], "x", color="black", ms=6, zorder=4)
            ax.annotate(r["verdict"], (1.0, y[i]), xycoords=("axes fraction", "data"), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=small, color=color)
        ax.set_yticks(y, [_row_label(r, result.by) for _, r in p.iterrows()])
        ax.tick_params(labelsize=small + 0.5)
        ax.set_title(f"{name}: {result.candidate} / {result.baseline}" if name else
                     f"{result.candidate} / {result.baseline}", fontsize=small + 1.5, loc="left")
        ax.set_ylim(-0.7, len(p) - 0.3)
    axes[-1].set_xlabel(f"ratio candidate / baseline (headline; {100 * result.confidence_level:.3g} % CI)",
                        fontsize=small + 0.5)
    handles = [Line2D([], [], ls="", marker="o", color=c, label=v) for v, c in VERDICT_COLORS.items()]
    if show_raw:
        handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec="black", label="raw ratio"))
        handles.append(Line2D([], [], ls="", marker="x", color="black", label="per-GHz ratio"))
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=small, frameon=False)
    return fig


def _mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    m = float(x.mean())
    if len(x) < 2:
        return m, np.nan, np.nan
    h = float(sps.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - h, m + h


def _plain_size(value: float, _pos: int | None = None) -> str:
    return f"{value:.0f}"


def metric_vs_size_plot(result: CompareResult, *, test: str = "TCP_STREAM", metric: str | None = None,
                        pinning: str | None = None, confidence_level: float = 0.95, tool: str | None = None
                        ) -> Figure:
    """Mean metric per message size for each model with t-based CI bands: raw (left) and per GHz (right).

    Parameters
    ----------
    result : CompareResult
    test : str
        A test of the result with several message sizes.
    metric : str, optional
        Default: the test's first compared metric.
    pinning : str, optional
        Default: every pinning (each a line style).
    confidence_level : float
        Of the bands (per model and size, not simultaneous).
    tool : str, optional
        The tool whose runs are drawn; needed when the result measured *test* with more than one tool (two
        tools are two cells, never one curve).
    """
    result = _result_iv(result)
    v = result.values
    if "test" not in v or "msg_size_bytes" not in v:
        raise ValueError("result: the comparison's cells must include 'test' and 'msg_size_bytes'")
    _pick(v["test"], test, "test")
    v = v[v["test"] == test]
    if "tool" in v:
        tools = sorted(map(str, v["tool"].dropna().unique()))
        if tool is None and len(tools) > 1:
            raise ValueError(f"tool: {test} was measured with {tools}; name one (each tool is its own cell)")
        if tool is not None:
            _pick(v["tool"], tool, "tool")
            v = v[v["tool"] == tool]
    metric = _pick(v["metric"], metric, "metric")[0]
    v = v[v["metric"] == metric]
    pins = _pick(v["pinning"], pinning, "pinning") if "pinning" in v else [None]
    if not (0 < confidence_level < 1):
        raise ValueError(f"confidence_level: expected a number in (0, 1), got {confidence_level!r}")
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    styles = ("-", "--", ":", "-.")
    for ax, col, title in ((axes[0], "value", metric), (axes[1], "per_ghz_value", f"{metric} per GHz")):
        for mi, model in enumerate((result.baseline, result.candidate)):
            for pi, pin in enumerate(pins):
                g = v[(v["pv_model"] == model) & ((v["pinning"] == pin) if pin is not None else True)]
                rows = [(s, *_mean_ci(gs[col].to_numpy(float), confidence_level))
                        for s, gs in g.groupby("msg_size_bytes", sort=True)]
                if not rows:
                    continue
                s, m, lo, hi = map(np.asarray, zip(*rows, strict=True))
                ok = np.isfinite(m)
                if not ok.any():
                    continue
                label = model + (f" ({pin})" if pin is not None and len(pins) > 1 else "")
                ax.plot(s[ok], m[ok], styles[pi % len(styles)], marker="o", color=_MODEL_COLORS[mi], label=label)
                ax.fill_between(s[ok], lo[ok], hi[ok], color=_MODEL_COLORS[mi], alpha=0.2, lw=0)
        ax.set_xscale("log", base=2)
        # sizes as plain numbers: the log axis' default 2^k labels are mathtext, parsed at every draw
        ax.xaxis.set_major_formatter(FuncFormatter(_plain_size))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("message size (bytes)")
        ax.set_title(title, fontsize=10, loc="left")
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(f"{test}: mean per model with {100 * confidence_level:g} % CI bands", fontsize=11)
    return fig


def estimation_plot(result: CompareResult, cell: str | int, *, metric: str | None = None,
                    rng: int | np.random.Generator | None = 0) -> Figure:
    """Gardner-Altman estimation plot for one cell: every run per model (left) and the ratio's bootstrap
    distribution with the headline estimate and CI (right).

    Parameters
    ----------
    result : CompareResult
    cell : str or int
        The cell label (``result.table["cell"]``) or a row index of ``result.table``.
    metric : str, optional
        Needed when the cell has several metrics and *cell* is a label.
    rng : seed or Generator
        Horizontal jitter of the points only.
    """
    result = _result_iv(result)
    t = result.table
    if isinstance(cell, int | np.integer) and not isinstance(cell, bool):
        if not 0 <= cell < len(t):
            raise ValueError(f"cell: row index {cell} out of range 0..{len(t) - 1}")
        idx = int(cell)
    else:
        sel = t.index[(t["cell"] == cell) & ((t["metric"] == metric) if metric is not None else True)]
        if len(sel) == 0:
            raise ValueError(f"cell: {cell!r} (metric {metric!r}) not in the result; expected one of "
                             f"{sorted(set(t['cell']))}")
        if len(sel) > 1:
            raise ValueError(f"metric: cell {cell!r} has several metrics {list(t.loc[sel, 'metric'])}; name one")
        idx = int(sel[0])
    row = t.loc[idx]
    v = result.values
    v = v[(v["cell"] == row["cell"]) & (v["metric"] == row["metric"])]
    gen = np.random.default_rng(rng)
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax_data, ax_eff = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1.3]})
    for i, model in enumerate((result.baseline, result.candidate)):
        x = v.loc[v["pv_model"] == model, "value"].to_numpy(float)
        ax_data.scatter(i + gen.uniform(-0.12, 0.12, len(x)), x, color=_MODEL_COLORS[i], alpha=0.8, zorder=3)
        ax_data.hlines(x.mean(), i - 0.25, i + 0.25, color=_MODEL_COLORS[i], lw=2)
    ax_data.set_xticks([0, 1], [f"{result.baseline}\n(n={row['n_baseline']})",
                                f"{result.candidate}\n(n={row['n_candidate']})"])
    ax_data.set_xlim(-0.6, 1.6)
    ax_data.set_ylabel(row["metric"])
    ax_data.set_title(f"{row['cell']}", fontsize=9, loc="left")
    for position, (basis, colour) in enumerate((("raw", "#aab7b8"), ("per-GHz", "#d5dbdb"))):
        dist = result.distributions.get((idx, basis))
        if dist is not None:
            parts = ax_eff.violinplot(dist[np.isfinite(dist)], positions=[position], showextrema=False, widths=0.8)
            for b in parts["bodies"]:
                b.set_facecolor(colour)
                b.set_alpha(0.6)
    ax_eff.errorbar([0], [row["raw_estimate"]], yerr=[[row["raw_estimate"] - row["raw_ci_low"]],
                                                       [row["raw_ci_high"] - row["raw_estimate"]]],
                    fmt="o", color="black", capsize=3, label="raw")
    if np.isfinite(row["per_ghz_estimate"]):
        ax_eff.errorbar([1], [row["per_ghz_estimate"]],
                        yerr=[[row["per_ghz_estimate"] - row["per_ghz_ci_low"]],
                              [row["per_ghz_ci_high"] - row["per_ghz_estimate"]]],
                        fmt="x", color="black", capsize=3, label="per GHz")
    color = VERDICT_COLORS[row["verdict"]]
    ax_eff.errorbar([2], [row["estimate"]], yerr=[[row["estimate"] - row["ci_low"]], [row["ci_high"] - row["estimate"]]],
                    fmt="D", color=color, capsize=4, lw=2, label=f"headline ({row['headline']})")
    ax_eff.axhspan(1 / (1 + result.margin), 1 + result.margin, color="#d6eaf8", zorder=0)
    ax_eff.axhline(1.0, color="black", lw=0.8, ls=":")
    ax_eff.set_xticks([0, 1, 2], ["raw", "per GHz", "headline"])
    ax_eff.set_xlim(-0.6, 2.6)
    ax_eff.set_ylabel("ratio candidate / baseline")
    ax_eff.set_title(f"{row['verdict']} ({row['headline']}, {100 * result.confidence_level:.3g} % CI)", fontsize=9,
                     loc="left",
                     color=color)
    return fig


def model_diagnostics_plot(model: ModelResult, *, test: str | None = None) -> Figure:
    """Residuals vs fitted, normal QQ plot of the standardized residuals, and Cook's distance per run (the
    influential runs, above 4/n, labelled), for one test of a :class:`~analysis.model.ModelResult`.

    Parameters
    ----------
    model : ModelResult
    test : str, optional
        Default: the model's first test.
    """
    if not isinstance(model, ModelResult):
        raise TypeError(f"model: expected an analysis.model.ModelResult, got {type(model).__name__}")
    test = _pick(list(model.tests), test, "test")[0]
    r = model.residuals[model.residuals["test"] == test].reset_index(drop=True)
    d = model.diagnostics[model.diagnostics["test"] == test].iloc[0]
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    ax_rf, ax_qq, ax_ck = fig.subplots(1, 3)
    for i, m in enumerate((model.baseline, model.candidate)):
        g = r[r["pv_model"] == m]
        ax_rf.scatter(g["fitted"], g["resid"], s=14, color=_MODEL_COLORS[i], label=m, alpha=0.8)
    ax_rf.axhline(0, color="black", lw=0.8, ls=":")
    ax_rf.set_xlabel("fitted log value")
    ax_rf.set_ylabel("residual")
    ax_rf.set_title(f"residuals vs fitted (Breusch-Pagan p = {d['breusch_pagan_pvalue']:.3g})", fontsize=9,
                    loc="left")
    ax_rf.legend(fontsize=8, frameon=False)
    z = r["std_resid"].to_numpy(float)
    z = np.sort(z[np.isfinite(z)])
    q = sps.norm.ppf((np.arange(1, len(z) + 1) - 0.5) / len(z))
    ax_qq.scatter(q, z, s=14, color=_MODEL_COLORS[0])
    lim = [min(q.min(), z.min()), max(q.max(), z.max())] if len(z) else [-3, 3]
    ax_qq.plot(lim, lim, color="black", lw=0.8, ls=":")
    ax_qq.set_xlabel("normal quantile")
    ax_qq.set_ylabel("standardized residual")
    ax_qq.set_title("normal QQ", fontsize=9, loc="left")
    cooks = r["cooks_d"].to_numpy(float)
    x = np.arange(len(r))
    ax_ck.vlines(x, 0, cooks, color="#7f8c8d", lw=1)
    ax_ck.scatter(x[r["influential"]], cooks[r["influential"]], color="#c0392b", s=16, zorder=3)
    ax_ck.axhline(d["cooks_threshold"], color="#c0392b", lw=0.8, ls="--", label=f"4/n = {d['cooks_threshold']:.3g}")
    for i in np.flatnonzero(r["influential"].to_numpy())[:8]:
        ax_ck.annotate(str(r.loc[i, "run_id"]).rsplit("/", 1)[-1][:28], (x[i], cooks[i]), fontsize=6,
                       rotation=30, xytext=(2, 2), textcoords="offset points")
    ax_ck.set_xlabel("run")
    ax_ck.set_ylabel("Cook's distance")
    ax_ck.set_title(f"Cook's distance ({int(d['n_influential'])} influential)", fontsize=9, loc="left")
    ax_ck.legend(fontsize=8, frameon=False)
    fig.suptitle(f"{test}: {model.metric} model diagnostics", fontsize=11)
    return fig
