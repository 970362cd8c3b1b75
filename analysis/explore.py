"""Exploration in JupyterLab: a cell picker (ipywidgets) that shows any compared cell up close.

Notebook 04 shows one cell up close statically (the strongest evidence, :func:`analysis.notebook.showcase_row`), which
is what papermill, the HTML export and the PDF can carry. A person in JupyterLab wants the others too: the picker
lists every compared cell and metric with its verdict and, for the one chosen, shows its runs per model, its
estimation plot and its route (which effect the verdict rests on and why, the interval and the test behind it).

Under the report wrapper (``pvfair report``, which sets :data:`BATCH_ENV`) or outside a kernel there is no one to
pick, so :func:`interactive` is False and the notebook shows nothing more than the static showcase.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from analysis.compare import CompareResult

__all__ = ["BATCH_ENV", "interactive", "cell_options", "cell_runs", "cell_route", "cell_picker"]

#: environment variable the report wrapper sets for its kernels: a batch run, no widgets
BATCH_ENV = "PVFAIR_BATCH"

#: columns of a verdict row that say how its verdict was reached (those present are shown)
_ROUTE_COLUMNS = ("cell", "metric", "verdict", "headline", "headline_reason", "route", "ci_route", "ci_method", "confidence_level",
                  "pvalue_method", "pvalue_adjusted", "tost_pvalue", "runs_needed", "clock_reading")


def interactive() -> bool:
    """True in a live IPython kernel that is not a batch report (no :data:`BATCH_ENV`)."""
    if os.environ.get(BATCH_ENV):
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel, a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _label(row: pd.Series, by: tuple[str, ...]) -> str:
    parts = [f"{int(row[k])} B" if k == "msg_size_bytes" and pd.notna(row[k]) else str(row[k]) for k in by]
    return f"{' '.join(parts)} · {row['metric']} · {row['verdict']}"


def cell_options(result: CompareResult) -> list[tuple[str, int]]:
    """(label, row index of ``result.table``) for every compared cell and metric, in table order."""
    t = result.table
    return [(_label(r, result.by), int(i)) for i, r in t.iterrows()]


def cell_runs(result: CompareResult, row: int) -> pd.DataFrame:
    """The runs behind row *row* of ``result.table``: run id, model, value, per-GHz value and clock, by model."""
    r = result.table.loc[row]
    v = result.values
    sel = v[(v["cell"] == r["cell"]) & (v["metric"] == r["metric"])]
    cols = [c for c in ("pv_model", "run_id", "value", "per_ghz_value", "cpu_ghz") if c in sel.columns]
    return sel[cols].sort_values(["pv_model", "run_id"], kind="stable").reset_index(drop=True)


def cell_route(result: CompareResult, row: int) -> pd.DataFrame:
    """How row *row*'s verdict was reached, one line per field present (``field``, ``value``)."""
    r = result.table.loc[row]
    fields = [c for c in _ROUTE_COLUMNS if c in r.index]
    return pd.DataFrame({"field": fields, "value": [_text(r[c]) for c in fields]})


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def cell_picker(result: CompareResult, *, initial: int | None = None) -> Any:
    """A dropdown of every compared cell; the chosen one's runs, estimation plot and route below it.

    Returns the ipywidgets ``VBox`` (display it, or let it be a cell's last expression).
    """
    import ipywidgets as widgets
    from IPython.display import HTML

    from analysis.plots import estimation_plot
    from analysis.present.html import format_html_table

    if not isinstance(result, CompareResult):
        raise TypeError(f"result: expected an analysis.compare.CompareResult, got {type(result).__name__}")
    options = cell_options(result)
    if not options:
        return widgets.HTML("<p>No cell was compared, so there is none to pick.</p>")
    rows = [i for _, i in options]
    value = initial if initial in rows else rows[0]
    pick = widgets.Dropdown(options=options, value=value, description="cell", layout={"width": "60%"})
    out = widgets.Output()

    def show(row: int) -> None:
        # the outputs are set on the widget itself (not captured from a display), so they update from a callback
        out.outputs = ()
        out.append_display_data(HTML("<h4>Route</h4>" + format_html_table(cell_route(result, row))))
        out.append_display_data(estimation_plot(result, row))
        out.append_display_data(HTML("<h4>Runs</h4>" + format_html_table(cell_runs(result, row))))

    pick.observe(lambda change: show(change["new"]), names="value")
    show(value)
    return widgets.VBox([pick, out], layout={"border": "1px solid #ddd", "padding": "4px"})
