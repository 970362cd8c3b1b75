"""Audit plots: covariate balance (Love plot), drift over run order, CPU clock per model, cell coverage.

Each function returns a :class:`matplotlib.figure.Figure` (made without pyplot, so nothing is shown or kept
twice) and never saves it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.audit import SMD_THRESHOLD, AuditResult, cell_label, frequency_bands
from analysis.ingest import Campaign
from analysis.vocabulary import CELL_KEY

__all__ = ["love_plot", "drift_plot", "cpu_mhz_plot", "coverage_matrix_plot"]

_DEFAULT_BY = CELL_KEY
_FLAG_COLOR, _OK_COLOR = "#c0392b", "#34495e"


def _campaign_iv(campaign: Campaign, models: Sequence[str] | None, needed: Sequence[str] = ()) -> list[str]:
    if not isinstance(campaign, Campaign):
        raise TypeError(f"campaign: expected an analysis.ingest.Campaign, got {type(campaign).__name__}")
    for col in ("run_id", "pv_model", *needed):
        if col not in campaign.runs.columns:
            raise ValueError(f"campaign.runs: missing column {col!r}")
    present = sorted(str(m) for m in campaign.runs["pv_model"].dropna().unique())
    if models is None:
        return present
    if isinstance(models, str):
        models = [models]
    for m in models:
        if m not in present:
            raise ValueError(f"models: {m!r} is not a pv_model of the campaign; expected some of {present}")
    return list(models)


def _love_plot_iv(audit_result: AuditResult, threshold: float) -> pd.DataFrame:
    if not isinstance(audit_result, AuditResult):
        raise TypeError(f"audit_result: expected an analysis.audit.AuditResult, got {type(audit_result).__name__}")
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold: expected a positive number, got {threshold!r}")
    return audit_result.balance


def love_plot(audit_result: AuditResult, *, threshold: float = SMD_THRESHOLD) -> Figure:
    """Love plot: the absolute standardized difference of every covariate between the two models.

    Numeric covariates show the standardized mean difference; categorical ones (marked ``(mix)``) the largest
    standardized difference of one level's proportion. Flagged covariates are red; the dashed line is *threshold*.
    An infinite difference (a covariate constant within each model but different between them) is drawn at the
    right edge as a ``>`` marker labelled ``inf``.

    Parameters
    ----------
    audit_result : AuditResult
        From :func:`analysis.audit.audit`.
    threshold : float
        The reference line (default 0.1).
    """
    bal = _love_plot_iv(audit_result, threshold)
    bal = bal[bal["smd"].notna()].reset_index(drop=True)
    labels = [f"{r.covariate} (mix)" if r.kind == "category" else str(r.covariate) for r in bal.itertuples()]
    x = bal["smd"].abs().to_numpy(dtype=float)
    finite = x[np.isfinite(x)]
    cap = max(1.0, threshold * 2, 1.2 * float(finite.max()) if len(finite) else 0.0)
    fig = Figure(figsize=(6.5, 0.45 * max(len(bal), 2) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(bal))
    flagged = bal["flagged"].astype(bool).to_numpy()
    for mask, color, name in ((flagged, _FLAG_COLOR, "flagged"), (~flagged, _OK_COLOR, "balanced")):
        fin = mask & np.isfinite(x)
        inf = mask & ~np.isfinite(x)
        if fin.any():
            ax.scatter(x[fin], y[fin], color=color, marker="o", zorder=3, label=name)
        if inf.any():
            ax.scatter(np.full(inf.sum(), cap), y[inf], color=color, marker=">", zorder=3,
                       label=None if fin.any() else name)
            for yi in y[inf]:
                ax.annotate("inf", (cap, yi), xytext=(-14, 6), textcoords="offset points", fontsize=8)
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, max(len(bal), 1) - 0.3)
    ax.set_xlim(0, cap * 1.08)
    ax.invert_yaxis()
    ax.set_xlabel("|standardized difference| (candidate vs baseline)")
    ax.set_title(f"Covariate balance: {audit_result.candidate} vs {audit_result.baseline}")
    if len(bal):
        ax.legend(loc="lower right", fontsize=8)
    return fig


def _order_of(runs: pd.DataFrame) -> tuple[pd.Series, str]:
    if "order_index" in runs.columns and runs["order_index"].notna().any():
        return pd.to_numeric(runs["order_index"], errors="coerce").astype("float64"), "run order (order_index)"
    if "start_time" in runs.columns and runs["start_time"].notna().any():
        t = pd.to_datetime(runs["start_time"], utc=True)
        return ((t - t.min()).dt.total_seconds() / 3600.0).astype("float64"), "hours since the first run"
    raise ValueError("campaign.runs: no run order (order_index or start_time); expected one of them to plot drift")


def drift_plot(campaign: Campaign, metric: str, *, by_model: bool = True, models: Sequence[str] | None = None,
               by: Sequence[str] = _DEFAULT_BY) -> Figure:
    """Run order vs *metric*, per model: each run as % from the mean of its cell, model and clock band.

    Centering on the cell (the *by* columns), model and CPU-frequency band makes runs of different cells
    comparable, as :func:`analysis.audit.audit`'s drift check does; a straight line per model shows the trend.

    Parameters
    ----------
    campaign : Campaign
    metric : str
        A metric in ``campaign.measurements`` (e.g. ``throughput_bps``).
    by_model : bool
        One panel per model (default) or all models in one panel, by colour.
    models : sequence of str, optional
        The models to show (default: all).
    by : sequence of str
        The run columns that define a cell.
    """
    models = _campaign_iv(campaign, models, needed=tuple(by))
    have = set(campaign.measurements["metric"].dropna())
    if metric not in have:
        raise ValueError(f"metric: {metric!r} is not measured in the campaign; it has {sorted(have)}")
    if not isinstance(by_model, (bool, np.bool_)):
        raise TypeError(f"by_model: expected True or False, got {by_model!r}")
    runs = campaign.runs[campaign.runs["pv_model"].isin(models)].copy()
    runs["order"], xlabel = _order_of(runs)
    mhz = runs["cpu_mhz"] if "cpu_mhz" in runs.columns else pd.Series(np.nan, index=runs.index)
    runs["band"] = frequency_bands(mhz).fillna("?")
    runs["cell"] = [cell_label(tuple(by), v) for v in runs[list(by)].itertuples(index=False, name=None)]
    m = campaign.measurements
    m = m[(m["metric"] == metric) & m["value"].notna()][["run_id", "value"]]
    d = m.merge(runs[["run_id", "pv_model", "order", "band", "cell"]], on="run_id")
    d = d[d["order"].notna()]
    d["rel_pct"] = 100 * (d["value"] / d.groupby(["cell", "pv_model", "band"])["value"].transform("mean") - 1)
    panels = models if by_model else [None]
    fig = Figure(figsize=(7, 2.6 * len(panels) + 0.6), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    colors = {mdl: f"C{i}" for i, mdl in enumerate(models)}
    for ax, panel in zip(axes, panels, strict=True):
        for model in models if panel is None else [panel]:
            g = d[d["pv_model"] == model]
            ax.scatter(g["order"], g["rel_pct"], s=14, color=colors[model], alpha=0.8, label=model)
            if len(g) >= 3 and g["order"].nunique() > 1:
                slope, icpt = np.polyfit(g["order"].to_numpy(float), g["rel_pct"].to_numpy(float), 1)
                xs = np.array([g["order"].min(), g["order"].max()], dtype=float)
                ax.plot(xs, icpt + slope * xs, color=colors[model], linewidth=1.5)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_ylabel("% from cell mean")
        ax.set_title(f"{metric}: {panel}" if panel is not None else metric, fontsize=10)
        if panel is None:
            ax.legend(fontsize=8)
    axes[-1].set_xlabel(xlabel)
    return fig


def cpu_mhz_plot(campaign: Campaign, *, models: Sequence[str] | None = None) -> Figure:
    """The CPU clock (``cpu_mhz``) of every run, per model: points (deterministically spread) over a box plot.

    The tick label gives the number of runs and how many have no clock (those cannot be normalized per GHz).
    """
    models = _campaign_iv(campaign, models, needed=("cpu_mhz",))
    runs = campaign.runs
    fig = Figure(figsize=(1.8 * len(models) + 2.5, 4), layout="constrained")
    ax = fig.add_subplot()
    data, labels = [], []
    for i, model in enumerate(models):
        x = pd.to_numeric(runs.loc[runs["pv_model"] == model, "cpu_mhz"], errors="coerce")
        known = x.dropna().to_numpy(dtype=float)
        data.append(known)
        labels.append(f"{model}\n(n={len(x)}, {int(x.isna().sum())} unknown)")
        offsets = ((np.arange(len(known)) % 9) - 4) * 0.035
        ax.scatter(i + offsets, known, s=12, color=f"C{i}", alpha=0.7, zorder=3)
    ax.boxplot([d if len(d) else [np.nan] for d in data], positions=range(len(models)), widths=0.5,
               showfliers=False, medianprops={"color": "black"})
    ax.set_xticks(range(len(models)), labels)
    ax.set_ylabel("CPU clock during the run (MHz)")
    ax.set_title("CPU frequency per model")
    return fig


def coverage_matrix_plot(campaign: Campaign, *, by: Sequence[str] = _DEFAULT_BY,
                         models: Sequence[str] | None = None) -> Figure:
    """Which model measured which cells: runs per cell (rows) and model (columns); empty cells in red.

    Rows are labelled by the values of the *by* columns joined with `` / `` (the axis label names the columns);
    each matrix entry is annotated with its run count.
    """
    by = (by,) if isinstance(by, str) else tuple(by)
    models = _campaign_iv(campaign, models, needed=by)
    runs = campaign.runs[campaign.runs["pv_model"].isin(models)]
    if by:
        counts = runs.groupby([*by, "pv_model"], dropna=False).size().unstack("pv_model")
    else:
        counts = runs.groupby("pv_model").size().to_frame().T
    counts = counts.reindex(columns=models).fillna(0).astype(int)
    keys = [k if isinstance(k, tuple) else (k,) for k in counts.index]
    cells = [" / ".join("<NA>" if pd.isna(v) else str(v) for v in k) if by else "campaign" for k in keys]
    mat = counts.to_numpy()
    width = 1.5 + 0.075 * max(len(c) for c in cells) + 1.4 * len(models)
    fig = Figure(figsize=(width, 0.38 * len(cells) + 1.8), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(np.where(mat > 0, mat, np.nan), cmap="Blues", aspect="auto", vmin=0, vmax=max(int(mat.max()), 1) * 1.3)
    for (i, j), n in np.ndenumerate(mat):
        if n == 0:
            ax.add_patch(_empty_patch(j, i))
        ax.text(j, i, str(n), ha="center", va="center", fontsize=8, color="white" if n == 0 else "black")
    ax.set_xticks(range(len(models)), models)
    ax.set_yticks(range(len(cells)), cells, fontsize=8)
    ax.set_ylabel(" / ".join(by) if by else "")
    ax.set_title("Runs per cell and model\n(red: not measured)", fontsize=10)
    return fig


def _empty_patch(x: float, y: float):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, color=_FLAG_COLOR)
