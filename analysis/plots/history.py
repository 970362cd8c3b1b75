"""History plots: the ratio over versions with CI bands and change points, and a heatmap of verdicts.

Each function takes an :class:`analysis.history.HistoryResult`, returns a :class:`matplotlib.figure.Figure`
(made without pyplot) and never saves it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.history import HistoryResult
from analysis.vocabulary import VERDICT_COLORS, VERDICTS, verdict_label

__all__ = ["history_plot", "verdict_heatmap"]


def _history_iv(result) -> HistoryResult:
    if not isinstance(result, HistoryResult):
        raise TypeError(f"result: expected an analysis.history.HistoryResult, got {type(result).__name__}")
    return result


def _ticks(ax, frame: pd.DataFrame, max_ticks: int = 20) -> None:
    firsts = frame.groupby("order_value", sort=False)["position"].min()
    step = max(1, int(np.ceil(len(firsts) / max_ticks)))
    ax.set_xticks(firsts.to_numpy()[::step])
    ax.set_xticklabels(firsts.index[::step], rotation=60, ha="right", fontsize=7)


def history_plot(result: HistoryResult, *, cells=None, metric: str | None = None, ncols: int = 2) -> Figure:
    """The ratio (or, for one model, the level) over the ordered campaigns, one panel per series.

    Points are the campaigns' estimates with their CI as a band; the shaded band is the equivalence region
    ``[1/(1+margin), 1+margin]``; vertical dashed lines mark the change points, labelled with the version.
    """
    result = _history_iv(result)
    eff = result.effects
    if metric is not None:
        if metric not in set(eff["metric"]):
            raise ValueError(f"metric: {metric!r} not in the history; expected one of {sorted(set(eff['metric']))}")
        eff = eff[eff["metric"] == metric]
    series = list(eff.groupby(["cell", "metric"], sort=False).groups)
    if cells is not None:
        wanted = [cells] if isinstance(cells, str) else list(cells)
        series = [s for s in series if s[0] in wanted]
        if not series:
            raise ValueError(f"cells: none of {wanted} in the history; expected some of "
                             f"{sorted(set(eff['cell']))}")
    n = len(series)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(6.2 * ncols, 2.9 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    compared = result.baseline is not None
    for ax, (cell, m) in zip(axes, series, strict=False):
        s = eff[(eff["cell"] == cell) & (eff["metric"] == m)].sort_values("position")
        if compared:
            lo, hi = 1 / (1 + result.margin), 1 + result.margin
            ax.axhspan(lo, hi, color=VERDICT_COLORS["equivalent"], alpha=0.12, lw=0)
            ax.axhline(1.0, color="#555", lw=0.8, ls=":")
        ax.fill_between(s["position"], s["ci_low"], s["ci_high"], color="#34495e", alpha=0.25, lw=0, step="mid")
        colors = [VERDICT_COLORS.get(v, "#34495e") for v in s.get("verdict", pd.Series("", index=s.index))]
        ax.plot(s["position"], s["estimate"], color="#34495e", lw=0.8)
        ax.scatter(s["position"], s["estimate"], c=colors, s=14, zorder=3)
        ch = result.changes[(result.changes["cell"] == cell) & (result.changes["metric"] == m)]
        for c in ch.itertuples():
            ax.axvline(c.position - 0.5, color="#c0392b", ls="--", lw=1.2)
            ax.annotate(f"change at {c.version}", (c.position - 0.5, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -10), textcoords="offset points", fontsize=7, color="#c0392b")
        ax.set_title(f"{cell}\n{m}", fontsize=8)
        ax.set_ylabel("candidate / baseline" if compared else m, fontsize=8)
        _ticks(ax, s)
    for ax in axes[n:]:
        ax.set_visible(False)
    if compared:
        present = [v for v in VERDICTS if v in set(eff["verdict"])]
        fig.legend(handles=[Patch(color=VERDICT_COLORS[v], label=verdict_label(v, result.margin)) for v in present],
                   loc="outside lower center", ncols=min(len(present), 4), fontsize=7, frameon=False)
    return fig


def verdict_heatmap(result: HistoryResult, *, metric: str | None = None) -> Figure:
    """Cells (rows) x campaigns in order (columns, labelled by version), coloured by compare's verdict."""
    result = _history_iv(result)
    if result.baseline is None:
        raise ValueError("result: a one-model history has no verdicts; plot it with history_plot")
    eff = result.effects if metric is None else result.effects[result.effects["metric"] == metric]
    if eff.empty:
        raise ValueError(f"metric: {metric!r} not in the history; expected one of "
                         f"{sorted(set(result.effects['metric']))}")
    rows = list(dict.fromkeys(zip(eff["cell"], eff["metric"], strict=True)))
    code = {v: i for i, v in enumerate(VERDICTS)}
    grid = np.full((len(rows), int(eff["position"].max()) + 1), np.nan)
    index = {r: i for i, r in enumerate(rows)}
    for r in eff.itertuples():
        grid[index[(r.cell, r.metric)], r.position] = code.get(r.verdict, np.nan)
    cmap = ListedColormap([VERDICT_COLORS[v] for v in VERDICTS]).with_extremes(bad="white")
    fig = Figure(figsize=(10, 1.2 + 0.32 * len(rows)), layout="constrained")
    ax = fig.subplots()
    ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=cmap, interpolation="nearest",
              norm=BoundaryNorm(np.arange(len(VERDICTS) + 1) - 0.5, len(VERDICTS)))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{c} | {m}" for c, m in rows], fontsize=7)
    _ticks(ax, eff.drop_duplicates("position"), max_ticks=30)
    ax.set_xlabel(" / ".join(result.order_by), fontsize=8)
    present = [v for v in VERDICTS if v in set(eff["verdict"])]
    fig.legend(handles=[Patch(color=VERDICT_COLORS[v], label=verdict_label(v, result.margin)) for v in present],
               loc="outside lower center", ncols=min(len(present), 4), fontsize=7, frameon=False)
    return fig
