"""Looks and stopping of a sequential collection (``pvfair collect --until-settled``).

:func:`looks_plot` draws, per cell and metric, the estimate (ratio of geometric means candidate/baseline) and
its repeated confidence interval at every look: the interval at the look's boundary, so a look settles faster or
slower exactly when its interval leaves 1, and equivalent when the TOST interval (thin bar) lies inside the
shaded margin. The settling look is marked with its verdict's colour. Returns a Figure, never saves.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullFormatter

from analysis.vocabulary import VERDICT_COLORS, VERDICTS

__all__ = ["looks_plot", "looks_table"]

_NEEDED = ("cell", "metric", "round", "estimate", "rci_low", "rci_high", "tost_low", "tost_high", "verdict",
           "settled")


def _looks_iv(looks: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(looks, pd.DataFrame):
        raise TypeError(f"looks: expected the DataFrame of analysis.settle.read_looks, got {type(looks).__name__}")
    missing = [c for c in _NEEDED if c not in looks.columns]
    if missing:
        raise ValueError(f"looks: missing columns {missing}; expected the rows of metadata_looks.csv")
    return looks


def looks_table(looks: pd.DataFrame) -> pd.DataFrame:
    """Per cell and metric: looks taken, the round and look it settled at (blank: not settled), the last verdict."""
    looks = _looks_iv(looks)
    rows = []
    for (cell, metric), g in looks.groupby(["cell", "metric"], sort=False):
        last = g.iloc[-1]
        settled = bool(last["settled"])
        rows.append({"cell": cell, "metric": metric, "looks": len(g),
                     "settled after round": int(last["round"]) if settled else None,
                     "verdict": last["verdict"], "estimate": last["estimate"],
                     "interval at the boundary": f"[{last['rci_low']:.3f}, {last['rci_high']:.3f}]",
                     "settled at look": int(last["look"]) if settled and "look" in g else None})
    return pd.DataFrame(rows)


def looks_plot(looks: pd.DataFrame, *, margin: float = 0.05, ncols: int = 3) -> Figure:
    """Estimate and repeated CI at each look per cell x metric, against no difference and the margin."""
    looks = _looks_iv(looks)
    groups = list(looks.groupby(["cell", "metric"], sort=False))
    n = max(len(groups), 1)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.0 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, ((cell, metric), g) in zip(axes, groups, strict=False):
        x = g["round"].to_numpy(float)
        est = g["estimate"].to_numpy(float)
        ax.axhspan(1 / (1 + margin), 1 + margin, color="#d6eaf8", zorder=0)
        ax.axhline(1, color="0.3", lw=0.8, ls=":")
        ax.vlines(x, g["rci_low"], g["rci_high"], color="0.35", lw=2)
        ax.vlines(x + 0.12, g["tost_low"], g["tost_high"], color="#2e86c1", lw=1)
        colors = [VERDICT_COLORS.get(v, "0.5") if s else "white" for v, s in zip(g["verdict"], g["settled"],
                                                                                   strict=True)]
        ax.scatter(x, est, c=colors, edgecolors="0.2", s=40, zorder=3)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
        ax.set_title(f"{cell}\n{metric}", fontsize=9)
        ax.set_xlabel("round (runs per model)")
        ax.set_xticks(x)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    axes[0].set_ylabel("ratio candidate / baseline")
    handles = [Line2D([], [], marker="o", ls="", mfc=VERDICT_COLORS[v], mec="0.2", label=v)
               for v in VERDICTS if v in set(looks.loc[looks["settled"].astype(bool), "verdict"])]
    handles += [Line2D([], [], marker="o", ls="", mfc="white", mec="0.2", label="not settled"),
                Line2D([], [], color="0.35", lw=2, label="interval at the boundary"),
                Line2D([], [], color="#2e86c1", lw=1, label="TOST interval")]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8, frameon=False)
    return fig
