"""Batch reports: run the notebooks with papermill, export HTML and the PDF summary, record provenance.

``pvfair report data/raw/<campaign>`` is one wrapper over :func:`papermill.execute_notebook`. For each campaign it

1. checks every ``-p key=value`` against the parameters cells of the notebooks (papermill itself only warns about
   an unknown parameter; a typo such as ``-p apha=0.01`` would silently run with the default, so it is refused);
2. runs ``notebooks/01_ingest`` ... ``06_summary`` in order (tqdm progress) into ``reports/<campaign>/NN_*.ipynb``;
   the notebooks write their tables into ``reports/<campaign>/tables/*.csv``;
3. exports each executed notebook to ``NN_*.html`` and the summary notebook, without code, to ``summary.pdf``;
4. writes ``provenance.json``: parameters, package versions, git commit, sha256 of every raw input file.

A failing notebook stops the campaign's batch with a :class:`ReportError` naming the notebook, the failing cell and
its error; the partial executed notebook is kept. Several campaigns run as tasks on a Dask distributed cluster
(``--scheduler tcp://HOST:8786`` or ``DASK_SCHEDULER_ADDRESS``; ``--jobs N`` starts a ``LocalCluster`` of N
workers), a failing campaign reported without stopping the others, and ``reports/index.html`` links each.

The PDF route is nbconvert HTML (inputs excluded) rendered by WeasyPrint: pure Python plus the system's pango, so it
needs neither a TeX installation (nbconvert's ``PDFExporter``) nor a headless-browser download (``WebPDFExporter``).

Strings from raw files and manifests (hostnames, kernel versions, notes) reach HTML only through pandas' escaping
``to_html`` / ``_repr_html_`` or through the ``format_*`` helpers here, which escape with :func:`html.escape`.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import html
import io
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.present.verdicts import BASIS_WORDS, sort_cells
from analysis.vocabulary import CELL_KEY

__all__ = [
    "REPO_ROOT",
    "NOTEBOOK_DIR",
    "NOTEBOOKS",
    "WRAPPER_PARAMETERS",
    "ReportError",
    "ReportResult",
    "resolve_campaign",
    "infer_models",
    "campaign_overview",
    "setup_notebook",
    "primary_metrics",
    "multi_size_tests",
    "showcase_row",
    "format_verdict_table",
    "format_overview_table",
    "format_effects_table",
    "format_findings_table",
    "format_paragraph_html",
    "format_verdict_brief",
    "format_confounds_html",
    "format_verdict_bullets_html",
    "format_excluded_table",
    "format_figure_html",
    "format_header_html",
    "ModelSetResult",
    "fit_models",
    "notebook_parameters",
    "parse_parameter",
    "save_tables",
    "input_checksums",
    "provenance",
    "format_html_table",
    "format_notes_html",
    "format_index",
    "write_index",
    "export_html",
    "format_pdf_html",
    "export_pdf",
    "run_report",
    "run_reports",
    "dask_client",
    "PROGRESS_TOPIC",
    "SCHEDULER_ENV",
    "cli_arguments",
    "cli_run",
]

#: the repository root (the package is installed editable, so notebooks and defaults resolve from here)
REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"

#: the notebooks of a report, in the order they run; the last one is exported to ``summary.pdf``
NOTEBOOKS: tuple[str, ...] = ("01_ingest", "02_normalize", "03_audit", "04_compare", "05_model", "06_summary")

#: parameters the wrapper sets itself (from the campaign argument and --out); ``-p`` may not set them
WRAPPER_PARAMETERS: dict[str, str] = {
    "campaign": "the campaign folder is the positional argument",
    "output_dir": "the tables go to <out>/<campaign>/tables; use --out",
}

#: packages whose versions go into provenance.json
_PROVENANCE_PACKAGES = (
    "pvfair", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "pyarrow", "papermill",
    "nbconvert", "nbclient", "ipykernel", "weasyprint", "pypdf",
)  # fmt: skip


class ReportError(RuntimeError):
    """A report could not be made: a notebook failed (named, with its failing cell), or an export failed."""


# --------------------------------------------------------------------------------------------------- campaigns


def resolve_campaign(path: str | Path) -> Path:
    """The campaign folder *path* as an absolute path.

    A relative path is looked up from the current directory first, then from the repository root, so the
    notebooks' default ``data/raw/demo`` works both from the repository root (papermill, ``pvfair report``) and from
    ``notebooks/`` (JupyterLab).

    Raises
    ------
    FileNotFoundError
        When no candidate is a folder holding ``manifest.csv``.
    """
    p = Path(path).expanduser()
    candidates = [p] if p.is_absolute() else [Path.cwd() / p, REPO_ROOT / p]
    from analysis.sides import is_sides_folder  # a folder of side folders (one per lab) is a campaign too

    for cand in candidates:
        if cand.is_dir() and ((cand / "manifest.csv").is_file() or is_sides_folder(cand)):
            return cand.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"campaign: {str(path)!r} is not a campaign folder (looked in {looked}); "
        "expected a folder containing manifest.csv"
    )


def _manifest_model_order(root: Path | None) -> list[str]:
    if root is None or not (Path(root) / "manifest.csv").is_file():
        return []
    manifest = pd.read_csv(Path(root) / "manifest.csv", dtype=str, keep_default_na=False)
    if "pv_model" not in manifest.columns:
        return []
    if "role" in manifest.columns:
        roles = manifest.loc[manifest["role"].str.strip().str.lower() == "baseline", "pv_model"]
        first = list(dict.fromkeys(roles.str.strip()))
        rest = [m for m in dict.fromkeys(manifest["pv_model"].str.strip()) if m not in first]
        return [m for m in first + rest if m]
    return [m for m in dict.fromkeys(manifest["pv_model"].str.strip()) if m]


def infer_models(campaign, baseline: str | None = None, candidate: str | None = None) -> tuple[str, str]:
    """The (baseline, candidate) PV models of *campaign*, filling in whichever is None.

    The campaign must hold exactly two PV models when either is inferred. Without a choice, the baseline is the
    model a manifest ``role`` column marks ``baseline``; without that column, the model of the manifest's first
    row (documented in the README). A named model that the campaign does not hold is an error.

    Parameters
    ----------
    campaign : analysis.ingest.Campaign
    baseline, candidate : str or None
    """
    models = sorted(str(m) for m in campaign.runs["pv_model"].dropna().unique())
    for arg, value in (("baseline", baseline), ("candidate", candidate)):
        if value is not None and value not in models:
            raise ValueError(f"{arg}: PV model {value!r} is not in campaign {campaign.name!r}; it holds {models}")
    if baseline is not None and candidate is not None:
        if baseline == candidate:
            raise ValueError(f"candidate: must differ from baseline, both are {baseline!r}")
        return baseline, candidate
    from analysis.sides import marked_roles  # more than two models (a reference): the manifest's role column

    if baseline is None and candidate is None and marked_roles(campaign.runs):
        return marked_roles(campaign.runs)
    if len(models) != 2:
        raise ValueError(
            f"baseline, candidate: campaign {campaign.name!r} holds {len(models)} PV models {models}; "
            "name the baseline and the candidate explicitly"
        )
    if baseline is not None:
        return baseline, next(m for m in models if m != baseline)
    if candidate is not None:
        return next(m for m in models if m != candidate), candidate
    order = [m for m in _manifest_model_order(campaign.root) if m in models]
    order += [m for m in models if m not in order]
    return order[0], order[1]


def setup_notebook(*, dpi: int = 80) -> None:
    """Make a notebook show :mod:`analysis.plots` figures inline, as PNG at *dpi* (a no-op outside IPython).

    80 dpi suits the screen (and renders a figure about twice as fast as print quality); the summary notebook
    asks for 110 for its PDF.

    The plot functions build :class:`matplotlib.figure.Figure` objects without pyplot, so IPython's inline
    display of a Figure has to be switched on explicitly (``%matplotlib inline``). Figures with a layout engine
    (all of :mod:`analysis.plots` use constrained layout) are drawn once, at their own size (:func:`_inline_png`).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel, a dependency
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:  # not a notebook kernel (a plain shell, a test)
        return
    shell.run_line_magic("matplotlib", "inline")
    from functools import partial

    from matplotlib.figure import Figure
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png", dpi=dpi)
    shell.display_formatter.formatters["image/png"].for_type(Figure, partial(_inline_png, dpi=dpi))


def _inline_png(fig, *, dpi: int) -> str | None:
    """Base64 PNG of *fig* for inline display (IPython's ``print_figure``), at its own size when it has a layout
    engine: the layout already fits it, and the inline default ``bbox_inches="tight"`` would draw the figure twice
    (once to measure the crop); figures without a layout engine are cropped tight as before."""
    from IPython.core.pylabtools import print_figure

    tight = fig.get_layout_engine() is None
    return print_figure(fig, fmt="png", base64=True, dpi=dpi, bbox_inches="tight" if tight else None)


def primary_metrics(campaign) -> list[str]:
    """The campaign's primary metrics: those of :data:`analysis.audit.PRIMARY_METRICS` it measures, in order."""
    from analysis.audit import PRIMARY_METRICS

    measured = set(campaign.measurements["metric"].dropna().astype(str))
    return [m for m in PRIMARY_METRICS if m in measured]


def multi_size_tests(frame: pd.DataFrame) -> list[str]:
    """Tests of a verdict table (``CompareResult.to_frame()``) compared at more than one message size."""
    if frame.empty or "test" not in frame or "msg_size_bytes" not in frame:
        return []
    sizes = frame.groupby("test")["msg_size_bytes"].nunique()
    return sorted(str(t) for t in sizes.index[sizes > 1])


def showcase_row(frame: pd.DataFrame) -> int:
    """The row of a verdict table worth an estimation plot: the smallest adjusted p-value (first row on ties)."""
    if frame.empty:
        raise ValueError("frame: the verdict table is empty; no cell to show")
    p = pd.to_numeric(frame.get("pvalue_adjusted", pd.Series(np.nan, index=frame.index)), errors="coerce")
    return 0 if p.isna().all() else int(np.nanargmin(p.to_numpy(dtype=float)))


def _unique_join(s: pd.Series) -> str:
    vals = [str(v) for v in pd.unique(s.dropna())]
    return ", ".join(sorted(vals)) if vals else "-"


def campaign_overview(campaign) -> pd.DataFrame:
    """One row per PV model: runs, tools, tests, message sizes, pinning, clock range, hosts and kernels.

    The strings come from the raw files and the manifest; show the frame through pandas' escaping HTML (the
    default ``_repr_html_``) or :func:`format_html_table`.
    """
    runs = campaign.runs
    if runs.empty:
        return pd.DataFrame(columns=["pv_model", "runs"])
    rows = []
    for model, g in runs.groupby("pv_model", sort=True, dropna=False):
        mhz = pd.to_numeric(g["cpu_mhz"], errors="coerce").dropna() if "cpu_mhz" in g else pd.Series(dtype=float)
        sizes = sorted(int(v) for v in pd.unique(g["msg_size_bytes"].dropna())) if "msg_size_bytes" in g else []
        rows.append(
            {
                "pv_model": str(model),
                "runs": len(g),
                "tools": _unique_join(g.get("tool", pd.Series(dtype=str))),
                "tests": _unique_join(g.get("test", pd.Series(dtype=str))),
                "msg_sizes_bytes": ", ".join(map(str, sizes)) if sizes else "-",
                "pinning": _unique_join(g.get("pinning", pd.Series(dtype=str))),
                "cpu_mhz_min": float(mhz.min()) if len(mhz) else float("nan"),
                "cpu_mhz_max": float(mhz.max()) if len(mhz) else float("nan"),
                "hosts": _unique_join(g.get("host", pd.Series(dtype=str))),
                "host_kernels": _unique_join(g.get("host_kernel", pd.Series(dtype=str))),
                "guest_kernels": _unique_join(g.get("guest_kernel", pd.Series(dtype=str))),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ tables for reading


def _pct_change(x: Any, digits: int = 1) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if not np.isfinite(v) else f"{(v - 1) * 100:+.{digits}f}\u00a0%"


def _pct_interval(lo: Any, hi: Any) -> str:
    a, b = _pct_change(lo), _pct_change(hi)
    return "-" if "-" in (a, b) else f"[{a[:-2]},\u00a0{b[:-2]}]\u00a0%"


def _cell_keys(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    keys = [k for k in by if k in frame.columns]
    out = frame[keys].copy()
    return out.rename(columns={"msg_size_bytes": "size (B)"})


def _sorted_cells(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    return sort_cells(frame, [k for k in (*by, "metric") if k in frame.columns])


#: headline (compare) -> the verdict table's short "basis" wording (one source for every renderer)
_BASIS = BASIS_WORDS


def format_verdict_table(frame: pd.DataFrame, *, by: Sequence[str] = CELL_KEY
                         ) -> pd.DataFrame:
    """The verdict table for reading: one row per cell and metric, changes in % with their intervals.

    Parameters
    ----------
    frame : the table of :meth:`analysis.compare.CompareResult.to_frame`
    by : the cell keys (``CompareResult.by``)

    Returns
    -------
    DataFrame
        Sorted by cell and metric: the cell keys, ``metric``, ``n (b/c)``, ``change`` (headline ratio - 1, in %), ``CI`` (its simultaneous
        interval), ``verdict``, ``basis`` (raw, adjusted: the clock-adjusted model effect, or per GHz), ``raw``, ``per GHz`` (changes in %)
        and ``runs needed`` (inconclusive cells). All text; a missing value shows as ``-``.
    """
    f = _sorted_cells(frame, by)
    out = _cell_keys(f, by)
    out["metric"] = f["metric"].astype(str)
    out["n (b/c)"] = [f"{int(a)}/{int(b)}" for a, b in zip(f["n_baseline"], f["n_candidate"], strict=True)]
    out["change"] = f["estimate"].map(_pct_change)
    out["CI"] = [_pct_interval(a, b) for a, b in zip(f["ci_low"], f["ci_high"], strict=True)]
    out["verdict"] = f["verdict_label"].astype(str) if "verdict_label" in f else f["verdict"].astype(str)
    basis = f.get("headline", pd.Series("raw", index=f.index)).astype(str)
    out["basis"] = basis.map(lambda b: _BASIS.get(b, b))
    out["raw"] = f.get("raw_estimate", pd.Series(np.nan, index=f.index)).map(_pct_change)
    out["per GHz"] = f.get("per_ghz_estimate", pd.Series(np.nan, index=f.index)).map(_pct_change)
    needed = f.get("runs_needed", pd.Series(np.nan, index=f.index))
    out["runs needed"] = [str(int(n)) if pd.notna(n) and v == "inconclusive" else "-"
                          for n, v in zip(needed, f["verdict"], strict=True)]
    return out.astype(str)


def format_effects_table(frame: pd.DataFrame, *, by: Sequence[str] = CELL_KEY
                         ) -> pd.DataFrame:
    """Raw, per-GHz and clock-adjusted (regression) changes side by side, with the clock elasticity.

    Parameters
    ----------
    frame : the table of :meth:`analysis.compare.CompareResult.to_frame`
    by : the cell keys

    Returns
    -------
    DataFrame
        Cell keys, ``metric``, ``clock MHz (b/c)``, ``raw``, ``raw CI``, ``per GHz``, ``adjusted``, ``adjusted CI``
        (changes in %), ``elasticity`` and ``reading`` (CPU-bound, wire-bound, ...). All text.
    """
    f = _sorted_cells(frame, by)
    nan = pd.Series(np.nan, index=f.index)
    out = _cell_keys(f, by)
    out["metric"] = f["metric"].astype(str)
    mb, mc = f.get("clock_mhz_baseline", nan), f.get("clock_mhz_candidate", nan)
    out["clock MHz (b/c)"] = [f"{a:.0f}/{b:.0f}" if pd.notna(a) and pd.notna(b) else "-"
                              for a, b in zip(mb, mc, strict=True)]
    out["raw"] = f.get("raw_estimate", nan).map(_pct_change)
    out["raw CI"] = [_pct_interval(a, b) for a, b in zip(f.get("raw_ci_low", nan), f.get("raw_ci_high", nan),
                                                          strict=True)]
    out["per GHz"] = f.get("per_ghz_estimate", nan).map(_pct_change)
    out["adjusted"] = f.get("model_estimate", nan).map(_pct_change)
    out["adjusted CI"] = [_pct_interval(a, b) for a, b in zip(f.get("model_ci_low", nan),
                                                               f.get("model_ci_high", nan), strict=True)]
    el = pd.to_numeric(f.get("clock_elasticity", nan), errors="coerce")
    out["elasticity"] = ["-" if pd.isna(v) else f"{v:.2f}" for v in el]
    out["reading"] = f.get("clock_reading", pd.Series(pd.NA, index=f.index)).fillna("-").astype(str)
    return out.astype(str)


def format_findings_table(findings: pd.DataFrame, *, severities: Sequence[str] = ("error", "warn"),
                          suggestion: bool = False) -> str:
    """Audit findings of the given severities as an escaped HTML table (numbered, errors first).

    The details quote hostnames, kernels and file names from the campaign: every cell is escaped.
    """
    f = findings[findings["severity"].isin(list(severities))]
    cols = ["severity", "check", "cell", "pv_model", "detail"] + (["suggestion"] if suggestion else [])
    shown = f.reindex(columns=cols).rename(columns={"pv_model": "model"}).fillna("")
    if shown.empty:
        return f"<p>No findings of severity {html.escape(' / '.join(severities))}.</p>"
    shown.insert(0, "#", range(1, len(shown) + 1))
    return format_html_table(shown.astype(str))


#: check name -> what it means, in the words of the summary's "confounds" list
_CHECK_NAMES: dict[str, str] = {
    "balance": "covariate imbalance between the models",
    "one_model_cell": "cells measured by one model only",
    "too_few_runs": "cells with too few runs",
    "drift": "drift with run order",
    "order": "models run in blocks, not interleaved",
    "simpson": "Simpson's paradox across a stratum",
    "outlier": "outliers",
    "warmup": "warm-up runs",
    "settings": "cells pooling different streams, target rates or tool modes",
    "confidence": "netperf confidence not achieved",
    "cpu_mhz_change": "CPU clock changed during runs",
    "missing_info": "missing clock or pinning information",
    "rejects": "rejected input files",
    "ignored": "files that are not runs (ignored)",
    "design_confound": "design factors (host, kernel, side, ...) confounded with the model",
}


def format_verdict_brief(frame: pd.DataFrame, *, baseline: str, candidate: str, margin: float,
                         n_excluded: int = 0) -> str:
    """One or two sentences: how many cells got which verdict, how many were clock-adjusted or not compared.

    >>> t = pd.DataFrame({"verdict": ["faster", "faster", "inconclusive"], "headline": ["raw"] * 3})
    >>> format_verdict_brief(t, baseline="virtio", candidate="venet", margin=0.05, n_excluded=1)
    'venet vs virtio (baseline): faster in 2 of 3 compared cells, inconclusive in 1. 1 cell(s) not compared.'
    """
    shown = frame["verdict"]  # a confounded verdict counts under its label ("confounded with host")
    if "verdict_label" in frame:
        shown = shown.where(shown != "confounded", frame["verdict_label"])
    counts = shown.value_counts()
    names = {"equivalent": f"equivalent within ±{100 * margin:g} %"}
    order = ["faster", "faster but within margin", "slower", "slower but within margin", "equivalent",
             "inconclusive"]
    parts = [f"{names.get(v, v)} in {int(counts[v])}" for v in order if counts.get(v, 0)]
    parts += [f"{v} in {int(n)}" for v, n in counts.items() if v not in order]
    if parts:
        parts[0] += f" of {len(frame)} compared cells"
    text = f"{candidate} vs {baseline} (baseline): " + (", ".join(parts) if parts else "no cell compared") + "."
    adjusted = int((frame.get("headline", pd.Series(dtype=str)) == "model-adjusted").sum())
    if adjusted:
        text += (f" The models ran at different CPU clocks in {adjusted} of them: those verdicts rest on the "
                 "clock-adjusted regression effect.")
    if n_excluded:
        text += f" {n_excluded} cell(s) not compared."
    return text


def format_confounds_html(findings: pd.DataFrame, *, severities: Sequence[str] = ("error", "warn"),
                          max_items: int = 3) -> str:
    """The audit's errors and warnings as a short escaped list, one item per check: what, how many, examples.

    The confounds named in one glance, for the summary's first page: per check, up to *max_items* of its
    findings' distinct details, each in full (a cut sentence can drop the number a reader needs); the count of
    the others points to the findings table, which gives every detail.
    """
    f = findings[findings["severity"].isin(list(severities))]
    if f.empty:
        return f"<p>The audit found no {html.escape(' or '.join(severities))}.</p>"
    items = []
    for check, g in f.groupby("check", sort=False):
        what = _CHECK_NAMES.get(str(check), str(check))
        details = list(dict.fromkeys(str(d) for d in g["detail"]))  # distinct, in order
        shown = "".join(f"<li>{html.escape(d)}</li>" for d in details[:max_items])
        if len(details) > max_items:
            shown += f"<li>and {len(details) - max_items} more (see the audit findings table)</li>"
        items.append(f"<li><strong>{html.escape(what)}</strong> ({len(g)}):<ul>{shown}</ul></li>")
    return f'<ul class="pvfair-confounds">{"".join(items)}</ul>'


def _cell_phrase(r: Mapping[str, Any], by: Sequence[str]) -> str:
    """A cell in words: ``TCP_STREAM 256 B split``, with the metric when it is not the cell's main rate."""
    parts = []
    for k in by:
        v = r.get(k)
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            continue
        parts.append(f"{int(float(v))} B" if k == "msg_size_bytes" else str(v))
    metric = r.get("metric")
    if isinstance(metric, str) and metric not in ("throughput_bps", "transactions_per_s"):
        parts.append(metric)
    return " ".join(parts)


def _strongest(sel: pd.DataFrame, verdict: str) -> pd.DataFrame:
    """The cells that make a verdict's case best: the largest changes for faster / slower, the tightest intervals
    for equivalent, the fewest runs needed for inconclusive."""
    est = np.log(pd.to_numeric(sel["estimate"], errors="coerce"))
    if verdict == "equivalent":
        lo = np.log(pd.to_numeric(sel["ci_low"], errors="coerce")).abs()
        hi = np.log(pd.to_numeric(sel["ci_high"], errors="coerce")).abs()
        key = np.maximum(lo, hi)
    elif verdict == "inconclusive":
        key = pd.to_numeric(sel.get("runs_needed", pd.Series(np.nan, index=sel.index)), errors="coerce")
    else:
        key = -est.abs()
    return sel.assign(_key=key.to_numpy()).sort_values("_key", kind="stable", na_position="last")


def format_verdict_bullets_html(result, *, strongest: int = 3) -> str:
    """The verdict summary as structured bullets (escaped HTML): one per verdict with its count and its strongest
    cells named, the cells not compared counted by reason, the clock-adjusted verdicts and the audit's count.

    Every cell is in the verdict table and every excluded cell in :func:`format_excluded_table`; the bullets
    only name the few that carry each verdict, so the summary stays a summary whatever the campaign's size.

    Parameters
    ----------
    result : analysis.compare.CompareResult
    strongest : int
        Cells named per verdict.
    """
    from analysis.compare import CORRECTIONS
    from analysis.vocabulary import VERDICTS, verdict_label

    t, ex, by = result.table, result.excluded, list(result.by)
    esc = html.escape
    head = (f"<strong>{esc(result.candidate)}</strong> vs <strong>{esc(result.baseline)}</strong> (baseline): "
            f"{len(t)} comparison(s), {len(ex)} cell(s) not compared; ratio of {esc(result.statistic)}s, "
            f"{esc(CORRECTIONS[result.correction].label)} at &alpha; = {result.alpha:g}, intervals at "
            f"{100 * result.confidence_level:.3g} %, equivalence margin &plusmn;{100 * result.margin:g} %.")
    items = []
    for v in VERDICTS:
        sel = t[t["verdict"] == v]
        if sel.empty:
            continue
        top = _strongest(sel, v).head(strongest)
        named = []
        for _, r in top.iterrows():
            phrase = f"{_cell_phrase(r, by)} {_pct_change(r['estimate'])} {_pct_interval(r['ci_low'], r['ci_high'])}"
            if v == "inconclusive" and pd.notna(r.get("runs_needed")):
                phrase += f", about {int(r['runs_needed'])} runs per model would settle it"
            named.append(esc(phrase))
        more = f"; {len(sel) - len(top)} more in the verdict table" if len(sel) > len(top) else ""
        lead = "strongest: " if v != "inconclusive" else "closest to a verdict: "
        word = verdict_label(v, result.margin)
        if v == "confounded" and "verdict_label" in sel:  # "confounded with host": the factor named per row
            word = " / ".join(dict.fromkeys(sel["verdict_label"].dropna().astype(str))) or word
        items.append(f'<li><strong>{esc(word)}</strong> in {len(sel)} of {len(t)} compared cells '
                     f"&mdash; {lead}{'; '.join(named)}{more}</li>")
    if len(ex):
        reasons = ex["reason"].astype(str).map(lambda r: re.split(r"[:(,;]", r, maxsplit=1)[0].strip()).value_counts()
        by_reason = ", ".join(f"{esc(k)} ({int(n)})" for k, n in reasons.items())
        items.append(f"<li><strong>not compared</strong>: {len(ex)} &mdash; {by_reason} "
                     "(every one in the table &ldquo;Cells not compared&rdquo;)</li>")
    adjusted = int((t.get("headline", pd.Series(dtype=str)) == "model-adjusted").sum())
    if adjusted:
        items.append(f"<li><strong>clock-adjusted</strong>: {adjusted} of the {len(t)} verdicts rest on the "
                     "regression effect at equal clock (the models ran at different CPU clocks); raw and per-GHz "
                     "changes are shown beside them</li>")
    if result.audit is not None:
        counts = result.audit.findings["severity"].value_counts()
        items.append(f"<li><strong>audit</strong>: {int(counts.get('error', 0))} error(s), "
                     f"{int(counts.get('warn', 0))} warning(s); read them before quoting these numbers</li>")
    return f'<p class="pvfair-verdict">{head}</p><ul class="pvfair-verdicts">{"".join(items)}</ul>'


def format_excluded_table(excluded: pd.DataFrame, *, by: Sequence[str] = CELL_KEY) -> pd.DataFrame:
    """The cells not compared, for reading: the cell keys, ``metric`` (``-`` when the whole cell), ``n (b/c)``
    and the ``reason``, sorted by cell. All text."""
    if excluded.empty:
        return pd.DataFrame(columns=[*_cell_keys(excluded, by).columns, "metric", "n (b/c)", "reason"])
    f = _sorted_cells(excluded, by)
    out = _cell_keys(f, by)
    out["metric"] = f.get("metric", pd.Series(pd.NA, index=f.index)).astype(object).fillna("-").astype(str)
    nan = pd.Series(np.nan, index=f.index)
    out["n (b/c)"] = [f"{int(a)}/{int(b)}" if pd.notna(a) and pd.notna(b) else "-"
                      for a, b in zip(f.get("n_baseline", nan), f.get("n_candidate", nan), strict=True)]
    out["reason"] = f["reason"].astype(str)
    return out.astype(str)


def format_figure_html(fig, *, dpi: int = 200, css_class: str = "pvfair-figure") -> str:
    """*fig* as an inline PNG ``<img>`` that the PDF's print style sets at the full text width (figures made
    :data:`analysis.plots.compare.PRINT_WIDTH_IN` wide keep their font sizes at print size)."""
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="{html.escape(css_class, quote=True)}" alt="figure" src="data:image/png;base64,{data}"/>'


def format_paragraph_html(text: str) -> str:
    """A plain-text paragraph as escaped HTML."""
    return f'<p class="pvfair-verdict">{html.escape(str(text))}</p>'


def format_header_html(name: str, baseline: str, candidate: str, overview: pd.DataFrame,
                       settings: Mapping[str, Any]) -> str:
    """The summary's header: campaign, the two models with their run counts, settings and date (escaped)."""
    runs = dict(zip(overview.get("pv_model", []), overview.get("runs", []), strict=False))
    from analysis import __version__

    lines = [
        [("campaign", name), ("baseline", f"{baseline} ({runs.get(baseline, 0)} runs)"),
         ("candidate", f"{candidate} ({runs.get(candidate, 0)} runs)")],
        [("settings", ", ".join(f"{k} {v}" for k, v in settings.items())),
         ("made", f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, pvfair {__version__}")],
    ]
    body = "".join(
        '<p class="pvfair-header">'
        + " &nbsp;·&nbsp; ".join(f"<strong>{html.escape(k)}</strong> {html.escape(str(v))}" for k, v in line)
        + "</p>"
        for line in lines
    )
    return f'<div class="pvfair-header">{body}</div>'


# --------------------------------------------------------------------------------------------- model per metric


@dataclass(frozen=True)
class ModelSetResult:
    """:func:`analysis.model.fit_model` for several metrics: the per-metric results and tidy tables of them all.

    Attributes
    ----------
    results : dict
        metric -> :class:`analysis.model.ModelResult`.
    skipped : tuple of (metric, reason)
        Metrics that could not be modelled, with the error message.

    Every requested metric is either in ``results`` or in ``skipped``; :attr:`not_fitted` lists what has no fit
    (a whole metric, or one test of a fitted metric) with the reason.
    """

    results: Mapping[str, Any]
    skipped: tuple[tuple[str, str], ...] = ()

    def _cat(self, table: Callable[[Any], pd.DataFrame]) -> pd.DataFrame:
        parts = [table(r).assign(metric=m) for m, r in self.results.items()]
        if not parts:
            return pd.DataFrame({"metric": pd.Series(dtype="string")})
        out = pd.concat(parts, ignore_index=True)
        return out[["metric", *[c for c in out.columns if c != "metric"]]]

    def to_frame(self) -> pd.DataFrame:
        """Model ratios and clock elasticities per metric, test and message size (``ModelResult.to_frame``)."""
        return self._cat(lambda r: r.to_frame())

    @property
    def raw_vs_adjusted(self) -> pd.DataFrame:
        return self._cat(lambda r: r.raw_vs_adjusted)

    @property
    def diagnostics(self) -> pd.DataFrame:
        return self._cat(lambda r: r.diagnostics)

    @property
    def not_fitted(self) -> pd.DataFrame:
        """One row per metric or test without a fit: ``metric, test`` (``all tests`` for a whole metric),
        ``reason``."""
        rows = [(m, "all tests", why) for m, why in self.skipped]
        rows += [(m, t, why) for m, r in self.results.items()
                 for t, why in zip(r.not_fitted["test"], r.not_fitted["reason"], strict=True)]
        return pd.DataFrame(rows, columns=["metric", "test", "reason"], dtype=object)

    @property
    def notes(self) -> tuple[str, ...]:
        out = [f"{m}: {n}" for m, r in self.results.items() for n in r.notes]
        out += [f"{m}: not modelled: {why}" for m, why in self.skipped]
        return tuple(out)

    def summary(self) -> str:
        parts = [r.summary() for r in self.results.values()]
        parts += [f"{m}: not modelled: {why}" for m, why in self.skipped]
        return "\n\n".join(parts) if parts else "no metric modelled"

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _fit_models_iv(campaign, metrics):
    measured = set(campaign.measurements["metric"].dropna().astype(str))
    if metrics is None:
        chosen = primary_metrics(campaign)
        if not chosen:
            from analysis.audit import PRIMARY_METRICS

            raise ValueError(f"metrics: the campaign measures none of {list(PRIMARY_METRICS)}; name the metrics")
        return chosen
    if isinstance(metrics, str):
        metrics = [metrics]
    missing = [m for m in metrics if m not in measured]
    if missing:
        raise ValueError(f"metrics: {missing} not measured in campaign {campaign.name!r}; it has {sorted(measured)}")
    return list(metrics)


def fit_models(campaign, *, baseline: str, candidate: str, metrics: Sequence[str] | None = None,
               confidence_level: float = 0.95) -> ModelSetResult:
    """:func:`analysis.model.fit_model` for each metric (default: the primary rate metrics measured).

    A metric no test can model (e.g. measured by one model only, or the two models ran at disjoint message
    sizes) is listed in ``skipped`` with the reason rather than stopping the report.
    """
    chosen = _fit_models_iv(campaign, metrics)
    import patsy

    from analysis.model import fit_model

    results: dict[str, Any] = {}
    skipped: list[tuple[str, str]] = []
    for metric in chosen:
        try:
            results[metric] = fit_model(campaign, metric=metric, baseline=baseline, candidate=candidate,
                                        confidence_level=confidence_level)
        except (ValueError, np.linalg.LinAlgError, patsy.PatsyError) as exc:
            skipped.append((metric, str(exc)))
    return ModelSetResult(results=results, skipped=tuple(skipped))


def format_overview_table(overview: pd.DataFrame) -> pd.DataFrame:
    """:func:`campaign_overview` transposed for reading: one row per attribute, one column per PV model."""
    if overview.empty:
        return pd.DataFrame({"attribute": []})
    ov = overview.copy()
    for col in ("cpu_mhz_min", "cpu_mhz_max"):
        ov[col] = ov[col].map(lambda v: "-" if pd.isna(v) else f"{v:.0f}")
    t = ov.set_index("pv_model").astype(str).T
    t.index.name = "attribute"
    t.columns.name = None
    return t.reset_index()


# -------------------------------------------------------------------------------------------------- parameters


def _import_jupyter() -> None:
    """Import nbformat/papermill/nbconvert without ``rfc3987_syntax``.

    jsonschema (imported by nbformat) imports ``rfc3987_syntax`` when installed (a jupyterlab dependency), which
    builds dozens of lark grammars at import: 3 s of CPU per process, for IRI format checks that notebook
    validation never uses. Unless something imported it already, it is marked absent (jsonschema then skips
    those format checkers) before the Jupyter stack is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    import nbformat  # noqa: F401
    import papermill  # noqa: F401


def notebook_parameters(notebook: str | Path) -> dict[str, dict[str, str]]:
    """The parameters cell of *notebook*: name -> {"type", "default", "help"} (from papermill's inspection).

    Raises
    ------
    ValueError
        When the notebook has no cell tagged ``parameters``.
    """
    _import_jupyter()
    import nbformat
    import papermill as pm

    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise ValueError(f"notebook: {path.name} has no cell tagged 'parameters'")
    return {
        name: {"type": p["inferred_type_name"], "default": p["default"], "help": p["help"]}
        for name, p in pm.inspect_notebook(str(path)).items()
    }


def _to_str(text: str) -> str:
    return str(text)


def _to_int(text: str) -> int:
    return int(str(text).strip())


def _to_float(text: str) -> float:
    return float(str(text).strip())


def _to_bool(text: str) -> bool:
    value = str(text).strip().lower()
    table = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if value not in table:
        raise ValueError(f"expected true/false, found {text!r}")
    return table[value]


def _to_list(text: str) -> list[str]:
    value = str(text).strip()
    if value.startswith("["):
        parsed = ast.literal_eval(value)
        if not isinstance(parsed, list):
            raise ValueError(f"expected a list, found {text!r}")
        return [str(v) for v in parsed]
    return [v.strip() for v in value.split(",") if v.strip()]


def _optional(conv: Callable[[str], Any]) -> Callable[[str], Any]:
    def inner(text: str) -> Any:
        return None if str(text).strip() in {"None", "none", "null", ""} else conv(text)

    return inner


#: parameter type (as annotated in a parameters cell) -> converter from the command-line text
_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "list[str]": _to_list,
    "Optional[str]": _optional(_to_str),
    "Optional[int]": _optional(_to_int),
    "Optional[float]": _optional(_to_float),
    "Optional[list[str]]": _optional(_to_list),
}


def parse_parameter(name: str, text: str, type_name: str) -> Any:
    """Convert the command-line text of parameter *name* to its annotated type *type_name*.

    >>> parse_parameter("alpha", "0.01", "float")
    0.01
    >>> parse_parameter("metrics", "throughput_bps,latency_mean_s", "Optional[list[str]]")
    ['throughput_bps', 'latency_mean_s']
    """
    try:
        conv = _CONVERTERS[type_name]
    except KeyError:
        raise ValueError(
            f"parameter {name!r}: unsupported annotated type {type_name!r}; expected one of {sorted(_CONVERTERS)}"
        ) from None
    try:
        return conv(text)
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"parameter {name!r}: expected {type_name}, found {text!r} ({exc})") from None


def _split_assignments(pairs: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"-p: expected key=value, found {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out


# ----------------------------------------------------------------------------------------------- tables and I/O


def save_tables(output_dir: str | Path | None, **tables: pd.DataFrame) -> list[Path]:
    """Write each DataFrame to ``<output_dir>/<name>.csv``; nothing when *output_dir* is None or empty.

    The notebooks call this for every table they produce, so a report's ``tables/`` folder holds them all.

    Returns
    -------
    list of Path
        The files written.
    """
    if output_dir is None or str(output_dir) == "":
        return []
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"save_tables: table {name!r} must be a pandas DataFrame, got {type(frame).__name__}")
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    return written


def input_checksums(root: str | Path) -> dict[str, str]:
    """sha256 of every file under the campaign folder *root*, keyed by posix path relative to *root*, sorted."""
    root = Path(root)
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        out[path.relative_to(root).as_posix()] = h.hexdigest()
    from analysis.sides import side_folders  # the side folders a sides.csv lists may lie outside root

    for side in side_folders(root):
        if root.resolve() not in side.resolve().parents:
            out.update({f"{side.name}/{k}": v for k, v in input_checksums(side).items()})
    return out


def _git_commit() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", "--", "analysis", "notebooks")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def _package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _PROVENANCE_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(campaign_root: str | Path, parameters: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The provenance record of a report: parameters, package versions, git commit, input sha256 (pyperf-style).

    *extra* keys (e.g. notebook timings, status) are added as given.
    """
    root = Path(campaign_root)
    record = {
        "campaign": root.name,
        "campaign_path": str(root),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": dict(parameters),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": _package_versions(),
        "git": _git_commit(),
        "inputs_sha256": input_checksums(root),
    }
    record.update(extra)
    return record


# ----------------------------------------------------------------------------------------------- HTML and PDF


#: where a long cell may wrap: after ``_ . / = ,`` followed by a letter (``throughput_bps``, host and file names)
#: and between the two bounds of an interval; never inside a number
_BREAK_AFTER = re.compile(r"(?<=[A-Za-z0-9])([_./=,])(?=[A-Za-z])|(,)(?=\u00a0[+\-\u2212]?\d)")


def _breakable(text_html: str) -> str:
    """Add ``<wbr>`` break opportunities to the text (not the tags) of the table cells of escaped HTML.

    A table of long metric, host or kernel names then wraps inside the printed page instead of running off its
    edge; ``<wbr>`` is invisible and adds no character to the PDF's text.
    """
    def text(m: re.Match) -> str:
        return _BREAK_AFTER.sub(lambda b: (b.group(1) or b.group(2)) + "<wbr>", m.group(0))

    def cell(m: re.Match) -> str:
        return m.group(1) + re.sub(r"(?<=>)[^<]+|^[^<]+", text, m.group(2)) + m.group(3)

    return re.sub(r"(<t[dh](?:\s[^>]*)?>)(.*?)(</t[dh]>)", cell, text_html, flags=re.DOTALL)


def format_html_table(frame: pd.DataFrame, *, float_format: str = "{:.4g}", classes: str = "pvfair") -> str:
    """*frame* as an HTML table with every cell escaped (strings from raw files included)."""
    return frame.to_html(
        index=False,
        escape=True,
        na_rep="-",
        classes=classes,
        border=0,
        float_format=(lambda x: float_format.format(x)),
    )


def format_notes_html(notes: Sequence[str], *, title: str | None = None) -> str:
    """Numbered notes as an escaped HTML ordered list (with an optional escaped heading)."""
    head = f"<p><strong>{html.escape(title)}</strong></p>" if title else ""
    if not notes:
        return head + "<p>None.</p>"
    items = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
    return f"{head}<ol>{items}</ol>"


def format_index(entries: Sequence[Mapping[str, Any]], *, title: str = "pvfair reports") -> str:
    """``reports/index.html``: one row per campaign with links to its summary PDF and notebooks (all escaped).

    Each entry has ``campaign`` (folder name, also the link target), ``status``, ``created_utc``, ``pdf`` (file name
    or None) and ``html`` (list of file names).
    """
    rows = []
    for e in sorted(entries, key=lambda e: str(e["campaign"])):
        name = str(e["campaign"])
        href = html.escape(name, quote=True)
        pdf = e.get("pdf")
        pdf_link = f'<a href="{href}/{html.escape(pdf, quote=True)}">summary.pdf</a>' if pdf else "-"
        nbs = " ".join(
            f'<a href="{href}/{html.escape(h, quote=True)}">{html.escape(Path(h).stem)}</a>'
            for h in e.get("html", [])
        )
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(e.get('status', '')))}</td>"
            f"<td>{html.escape(str(e.get('created_utc', '')))}</td><td>{pdf_link}</td><td>{nbs}</td></tr>"
        )
    body = "\n".join(rows) if rows else '<tr><td colspan="5">no reports yet</td></tr>'
    t = html.escape(title)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{t}</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head>\n"
        f"<body><h1>{t}</h1>\n<table><thead><tr><th>campaign</th><th>status</th><th>created (UTC)</th>"
        f"<th>summary</th><th>notebooks</th></tr></thead>\n<tbody>\n{body}\n</tbody></table></body></html>\n"
    )


def write_index(out_dir: str | Path) -> Path:
    """Write ``<out_dir>/index.html`` linking every report folder under *out_dir* that has a provenance.json."""
    out = Path(out_dir)
    entries = []
    for prov in sorted(out.glob("*/provenance.json")):
        try:
            rec = json.loads(prov.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            rec = {"status": "unreadable provenance.json"}
        folder = prov.parent
        entries.append(
            {
                "campaign": folder.name,
                "status": rec.get("status", "unknown"),
                "created_utc": rec.get("created_utc", ""),
                "pdf": "summary.pdf" if (folder / "summary.pdf").is_file() else None,
                "html": sorted(p.name for p in folder.glob("[0-9][0-9]_*.html")),
            }
        )
    path = out / "index.html"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(format_index(entries), encoding="utf-8")
    return path


def _html_exporter(*, exclude_input: bool, template: str = "lab"):
    _import_jupyter()
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name=template)
    exporter.exclude_input = exclude_input
    exporter.exclude_input_prompt = exclude_input
    exporter.exclude_output_prompt = exclude_input
    return exporter


def export_html(notebook: str | Path, html_path: str | Path, *, exclude_input: bool = False) -> Path:
    """Export the executed *notebook* to a standalone HTML file."""
    body, _ = _html_exporter(exclude_input=exclude_input).from_filename(str(notebook))
    out = Path(html_path)
    out.write_text(body, encoding="utf-8")
    return out


#: print style for the PDF: A4, readable tables, figures scaled to the page, no screen-only chrome
_PRINT_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
        @bottom-center { content: "pvfair summary - page " counter(page) " of " counter(pages);
                         font-family: "DejaVu Sans", sans-serif; font-size: 8pt; color: #666; } }
html, body { background: white !important; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; line-height: 1.35; margin: 0; padding: 0 !important; }
.cell { margin: 0 0 4pt 0; }
.prompt, .anchor-link, .input { display: none !important; }
.output_subarea { max-width: 100%; overflow: visible; }
h1 { font-size: 16pt; margin: 0 0 3pt 0; } h2 { font-size: 12pt; margin: 7pt 0 3pt 0; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 8pt 0 3pt 0; page-break-after: avoid; }
table { border-collapse: collapse; font-size: 7.5pt; margin: 3pt 0 6pt 0; width: 100%; max-width: 100%;
        page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border-bottom: 0.5pt solid #bbb; padding: 1.5pt 3pt !important; text-align: left !important;
         vertical-align: top; overflow-wrap: break-word; hyphens: none; }
thead th { background: #eee; }
img { max-width: 100% !important; max-height: 86mm; width: auto; height: auto; page-break-inside: avoid; }
img.pvfair-figure { width: 100% !important; max-height: none !important; }
ul.pvfair-confounds, ul.pvfair-verdicts { margin: 2pt 0 4pt 0; padding-left: 14pt; font-size: 8.5pt; }
ul.pvfair-confounds ul { margin: 0; padding-left: 12pt; }
li { overflow-wrap: anywhere; }
p.pvfair-verdict { font-size: 9pt; margin: 0 0 2pt 0; }
p.pvfair-header { margin: 0 0 2pt 0; font-size: 8.5pt; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; font-size: 8pt; overflow-wrap: anywhere; }
"""


def format_pdf_html(notebook: str | Path) -> str:
    """The HTML that becomes ``summary.pdf``: the executed *notebook* without code, prompts or stderr output.

    Warnings on stderr are for the notebook's author (the HTML export keeps them), not for readers of the PDF.

    nbconvert's ``basic`` template (cells only, no JupyterLab theme: WeasyPrint lays it out several times faster)
    inside a minimal document; :data:`_PRINT_CSS` styles it. Table cells get break opportunities in long words
    (:func:`_breakable`).
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
    body, _ = _html_exporter(exclude_input=True, template="basic").from_notebook_node(nb)
    body = _breakable(body)
    title = html.escape(Path(notebook).stem)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )


def export_pdf(notebook: str | Path, pdf_path: str | Path) -> Path:
    """Render the executed *notebook*, code hidden, to a PDF with WeasyPrint (no TeX, no browser)."""
    import logging
    import warnings

    with warnings.catch_warnings():  # "HarfBuzz-Subset will be required by future versions": fonts embed fine
        warnings.simplefilter("ignore", DeprecationWarning)
        import weasyprint

    # WeasyPrint warns about every CSS property of the JupyterLab theme it does not support; those are cosmetic
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    body = format_pdf_html(notebook)
    out = Path(pdf_path)
    doc = weasyprint.HTML(string=body, base_url=str(Path(notebook).resolve().parent))
    doc.write_pdf(out, stylesheets=[weasyprint.CSS(string=_PRINT_CSS)])
    return out


# ------------------------------------------------------------------------------------------------- the wrapper


@dataclass(frozen=True)
class ReportResult:
    """What one ``pvfair report`` run on one campaign produced.

    Attributes
    ----------
    campaign : campaign name (raw folder name)
    report_dir : ``<out>/<campaign>``
    parameters : the parameters passed to the notebooks (union over notebooks)
    notebooks, html, tables : paths written, in order
    pdf : the summary PDF, or None when not made
    provenance : ``provenance.json``
    seconds : (notebook, wall seconds) per executed notebook, then ("pdf", seconds)
    """

    campaign: str
    report_dir: Path
    parameters: Mapping[str, Any]
    notebooks: tuple[Path, ...]
    html: tuple[Path, ...]
    tables: tuple[Path, ...]
    pdf: Path | None
    provenance: Path
    seconds: tuple[tuple[str, float], ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per file written: kind (notebook, html, table, pdf, provenance), name, path, seconds."""
        secs = dict(self.seconds)
        rows = [("notebook", p.stem, str(p), secs.get(p.stem)) for p in self.notebooks]
        rows += [("html", p.stem, str(p), None) for p in self.html]
        rows += [("table", p.stem, str(p), None) for p in self.tables]
        if self.pdf is not None:
            rows.append(("pdf", self.pdf.stem, str(self.pdf), secs.get("pdf")))
        rows.append(("provenance", self.provenance.stem, str(self.provenance), None))
        return pd.DataFrame(rows, columns=["kind", "name", "path", "seconds"])

    def summary(self) -> str:
        total = sum(s for _, s in self.seconds)
        lines = [
            f"pvfair report: campaign {self.campaign!r} -> {self.report_dir}",
            f"  {len(self.notebooks)} notebooks, {len(self.html)} HTML, {len(self.tables)} tables, "
            f"PDF: {self.pdf if self.pdf else 'not made'}",
            f"  wall time {total:.1f} s (" + ", ".join(f"{n} {s:.1f} s" for n, s in self.seconds) + ")",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _run_report_iv(campaign, out_dir, parameters, baseline, candidate, notebooks, notebook_dir):
    root = resolve_campaign(campaign)
    nb_dir = Path(notebook_dir)
    names = tuple(notebooks)
    if not names:
        raise ValueError("notebooks: expected at least one notebook name")
    specs: dict[str, dict[str, dict[str, str]]] = {}
    for name in names:
        path = nb_dir / f"{name}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"notebooks: {path} not found; expected one of {sorted(NOTEBOOKS)}")
        specs[name] = notebook_parameters(path)
    known: dict[str, dict[str, str]] = {}
    for spec in specs.values():
        known.update(spec)
    given = dict(parameters or {})
    for key, value in (("baseline", baseline), ("candidate", candidate)):
        if value is not None:
            if key in given and given[key] != value:
                raise ValueError(f"parameter {key!r}: given both as --{key} and -p {key}=...; give it once")
            given[key] = value
    typed: dict[str, Any] = {}
    for key, value in given.items():
        if key in WRAPPER_PARAMETERS:
            raise ValueError(f"parameter {key!r} is set by the wrapper: {WRAPPER_PARAMETERS[key]}")
        if key not in known:
            raise ValueError(
                f"parameter {key!r}: unknown; the notebooks' parameters cells define {sorted(known)}"
            )
        typed[key] = parse_parameter(key, value, known[key]["type"]) if isinstance(value, str) else value
    return root, Path(out_dir).resolve(), typed, names, nb_dir.resolve(), specs


#: run in the shared kernel between two notebooks: a fresh user namespace, no figures left open
_RESET_CODE = """get_ipython().run_line_magic("reset", "-f")
import sys as _pvfair_sys
if "matplotlib.pyplot" in _pvfair_sys.modules:
    _pvfair_sys.modules["matplotlib.pyplot"].close("all")
del _pvfair_sys
"""


@contextmanager
def _batch_env():
    """Tell the kernels started meanwhile that this is a batch run (:data:`analysis.explore.BATCH_ENV`): the
    notebooks then show their static figures only, no widgets (nobody is there to pick)."""
    import os

    from analysis.explore import BATCH_ENV

    before = os.environ.get(BATCH_ENV)
    os.environ[BATCH_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(BATCH_ENV, None)
        else:
            os.environ[BATCH_ENV] = before


@contextmanager
def _kernel(kernel_name: str, cwd: Path, shared: bool):
    """A started kernel manager shared by a report's notebooks (None when not *shared*); shut down on exit."""
    if not shared:
        yield None
        return
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(cwd=str(cwd))
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def _reset_namespace(km) -> None:
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(_RESET_CODE, timeout=60, output_hook=lambda msg: None)
        if reply["content"].get("status") != "ok":
            raise ReportError(f"kernel: resetting the namespace between notebooks failed: {reply['content']}")
    finally:
        kc.stop_channels()


def run_report(
    campaign: str | Path,
    *,
    out_dir: str | Path = "reports",
    parameters: Mapping[str, Any] | None = None,
    baseline: str | None = None,
    candidate: str | None = None,
    notebooks: Sequence[str] = NOTEBOOKS,
    notebook_dir: str | Path = NOTEBOOK_DIR,
    kernel_name: str = "python3",
    shared_kernel: bool = True,
    pdf: bool = True,
    progress: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> ReportResult:
    """Run the report notebooks on one campaign and write ``<out_dir>/<campaign>/``.

    Parameters
    ----------
    campaign : path of the raw campaign folder (``data/raw/<name>``)
    out_dir : the reports folder; the campaign's report goes to ``<out_dir>/<name>``
    parameters : notebook parameters (name -> value, or the command-line text, converted by the annotated type);
        a name no notebook defines is refused. Each notebook receives only the parameters it defines.
    baseline, candidate : PV models (None: the notebooks infer them, see :func:`infer_models`)
    notebooks : notebook names (without ``.ipynb``) in the order they run; the last one becomes ``summary.pdf``
    notebook_dir : where the notebooks live
    kernel_name : Jupyter kernel; ``python3`` is the interpreter running this function (jupyter_client maps a
        kernel command ``python`` to ``sys.executable``), i.e. the venv's
    shared_kernel : run the notebooks one after the other in one kernel, its user namespace reset between them
        (``%reset -f``), so the scientific stack is imported and compiled once per report instead of once per
        notebook; False gives each notebook a fresh kernel, as papermill alone does. Every notebook is
        self-contained either way (each loads the campaign itself), so the results are the same.
    pdf : export the last notebook, without code, to ``summary.pdf``
    progress : show a tqdm progress bar
    on_progress : called with each step's name (a notebook, then ``pdf``) when it is done (the Dask runner sends
        it to the client's per-campaign progress bars)

    Raises
    ------
    ReportError
        A notebook failed: the message names it, the failing cell and the error; the partial executed notebook is
        kept in the report folder.
    """
    root, out, typed, names, nb_dir, specs = _run_report_iv(
        campaign, out_dir, parameters, baseline, candidate, notebooks, notebook_dir
    )
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError
    from tqdm.auto import tqdm

    report_dir = out / root.name
    tables_dir = report_dir / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    fixed = {"campaign": str(root), "output_dir": str(tables_dir.resolve())}
    all_params = {**fixed, **typed}
    prov_path = report_dir / "provenance.json"
    seconds: list[tuple[str, float]] = []

    def write_prov(status: str, **extra: Any) -> None:
        record = provenance(
            root, all_params, status=status, notebooks=list(names), seconds=dict(seconds), **extra
        )
        prov_path.write_text(json.dumps(record, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")

    write_prov("running")
    executed: list[Path] = []
    html_files: list[Path] = []
    bar = tqdm(names, desc=root.name, unit="notebook", disable=not progress, leave=True)
    with _batch_env(), _kernel(kernel_name, nb_dir, shared_kernel) as km:
        for i, name in enumerate(bar):
            bar.set_postfix_str(name)
            src = nb_dir / f"{name}.ipynb"
            dst = report_dir / f"{name}.ipynb"
            params = {k: v for k, v in all_params.items() if k in specs[name]}
            t0 = time.perf_counter()
            if km is not None and i:
                _reset_namespace(km)
            engine = {"km": km} if km is not None else {"cwd": str(nb_dir)}
            try:
                pm.execute_notebook(
                    str(src), str(dst), parameters=params, kernel_name=kernel_name, progress_bar=False, **engine
                )
            except PapermillExecutionError as exc:
                seconds.append((name, time.perf_counter() - t0))
                executed.append(dst)
                first = next((ln for ln in str(exc.source).splitlines() if ln.strip()), "")
                msg = (
                    f"notebook {name}.ipynb failed in cell {exc.cell_index} ({first.strip()[:60]!r}): "
                    f"{exc.ename}: {exc.evalue}; partial executed notebook kept at {dst}"
                )
                try:
                    html_files.append(export_html(dst, report_dir / f"{name}.html"))
                except Exception:  # noqa: BLE001 - the HTML of a failed run is a courtesy; the error matters
                    pass
                write_prov("failed", error=msg)
                bar.close()
                raise ReportError(msg) from exc
            seconds.append((name, time.perf_counter() - t0))
            executed.append(dst)
            html_files.append(export_html(dst, report_dir / f"{name}.html"))
            if on_progress is not None:
                on_progress(name)
    bar.close()
    pdf_path = None
    if pdf:
        t0 = time.perf_counter()
        try:
            pdf_path = export_pdf(executed[-1], report_dir / "summary.pdf")
        except Exception as exc:  # noqa: BLE001 - re-raised as ReportError naming the step
            write_prov("failed", error=f"PDF export failed: {exc}")
            raise ReportError(f"summary.pdf: PDF export of {executed[-1].name} failed: {exc}") from exc
        seconds.append(("pdf", time.perf_counter() - t0))
        if on_progress is not None:
            on_progress("pdf")
    write_prov("complete")
    tables = tuple(sorted(tables_dir.glob("*.csv")))
    return ReportResult(
        campaign=root.name,
        report_dir=report_dir,
        parameters=all_params,
        notebooks=tuple(executed),
        html=tuple(html_files),
        tables=tables,
        pdf=pdf_path,
        provenance=prov_path,
        seconds=tuple(seconds),
    )


#: the Dask topic a report task posts its progress to (one event per finished notebook and for the PDF)
PROGRESS_TOPIC = "pvfair-report-progress"
#: the environment variable naming a Dask scheduler when ``--scheduler`` is not given (Dask's own name)
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def _report_task(root: str, out_dir: str, ship: bool, kwargs: Mapping[str, Any]) -> tuple[ReportResult, bytes]:
    """One campaign's report, run on a Dask worker; its progress goes to :data:`PROGRESS_TOPIC`.

    With *ship* the report is written to a temporary folder of the worker's and returned as a tar archive, for a
    client that shares no filesystem with the workers; otherwise it is written to *out_dir* and nothing is sent.
    """
    from distributed import get_worker

    name = Path(root).name
    worker = get_worker()

    def post(step: str) -> None:
        worker.log_event(PROGRESS_TOPIC, {"campaign": name, "step": step})

    if not ship:
        return run_report(root, out_dir=out_dir, progress=False, on_progress=post, **kwargs), b""
    with tempfile.TemporaryDirectory(prefix="pvfair-report-") as tmp:
        result = run_report(root, out_dir=tmp, progress=False, on_progress=post, **kwargs)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(result.report_dir, arcname=name)
        return result, buf.getvalue()


def _unship(result: ReportResult, data: bytes, out: Path) -> ReportResult:
    """Unpack a shipped report under *out* and point the result's paths there."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(out, filter="data")
    old, new = result.report_dir, out / result.campaign

    def move(p: Path | None) -> Path | None:
        return None if p is None else new / Path(p).relative_to(old)

    return replace(result, report_dir=new, notebooks=tuple(map(move, result.notebooks)),
                   html=tuple(map(move, result.html)), tables=tuple(map(move, result.tables)),
                   pdf=move(result.pdf), provenance=move(result.provenance))


@contextmanager
def dask_client(scheduler: str | None = None, *, jobs: int = 1):
    """A ``distributed.Client``: on the cluster at *scheduler* (or ``$DASK_SCHEDULER_ADDRESS``), else on a
    ``LocalCluster`` of *jobs* single-threaded worker processes listening on 127.0.0.1, whose notebook kernels get
    ``cores // jobs`` numba threads each; closed on exit."""
    import logging

    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"scheduler: cannot reach the Dask scheduler at {address!r}: {exc}") from exc
        with client:
            yield client
        return
    # the notebooks' numba kernels share the cores among the workers (Dask's nanny already pins BLAS/OpenMP to 1)
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR,
                      env={"NUMBA_NUM_THREADS": threads}) as cluster, Client(cluster) as client:
        yield client


def _run_on_dask(client, roots: Sequence[Path], out: Path, ship: bool, kwargs: Mapping[str, Any],
                 progress: bool, steps: int) -> tuple[dict[str, ReportResult], dict[str, str]]:
    """Submit one task per campaign, follow each with its own progress bar, collect results and failures."""
    from distributed import as_completed as dask_completed
    from tqdm.auto import tqdm

    bars = {r.name: tqdm(total=steps, desc=r.name, unit="step", position=i, disable=not progress, leave=True)
            for i, r in enumerate(roots)}

    def on_event(event) -> None:
        msg = event[1] if isinstance(event, tuple) else event
        bar = bars.get(msg.get("campaign"))
        if bar is not None:
            bar.set_postfix_str(msg.get("step", ""))
            bar.update(1)

    client.subscribe_topic(PROGRESS_TOPIC, on_event)
    futures = {client.submit(_report_task, str(r), str(out), ship, dict(kwargs), pure=False,
                             key=f"pvfair-report-{r.name}-{os.urandom(4).hex()}"): r.name for r in roots}
    results: dict[str, ReportResult] = {}
    errors: dict[str, str] = {}
    try:
        for fut in dask_completed(list(futures)):
            name = futures[fut]
            try:
                result, data = fut.result()
                results[name] = _unship(result, data, out) if ship else result
            except Exception as exc:  # noqa: BLE001 - a failed campaign is reported; the others go on
                errors[name] = str(exc) if isinstance(exc, ReportError) else f"{type(exc).__name__}: {exc}"
                bars[name].set_postfix_str("failed")
                if progress:
                    tqdm.write(f"pvfair report: {name} failed: {errors[name]}", file=sys.stderr)
    finally:
        client.unsubscribe_topic(PROGRESS_TOPIC)
        for bar in bars.values():
            bar.close()
    return results, errors


def run_reports(
    campaigns: Sequence[str | Path], *, jobs: int = 1, scheduler: str | None = None, ship: bool = False,
    out_dir: str | Path = "reports", progress: bool = True, **kwargs: Any,
) -> tuple[ReportResult, ...]:  # fmt: skip
    """Run :func:`run_report` on several campaigns, each as a task on a Dask cluster, then write the index.

    Parameters
    ----------
    campaigns : raw campaign folders (the workers must see them at the same paths)
    jobs : without a scheduler, ``jobs > 1`` starts a ``distributed.LocalCluster`` of *jobs* worker processes
        (no set-up needed); 1 runs the campaigns one after the other in this process
    scheduler : address of a running Dask scheduler (``tcp://HOST:8786``); default ``$DASK_SCHEDULER_ADDRESS``
    ship : workers write each report to a temporary folder of theirs and send it back, unpacked here under
        *out_dir* (for workers that do not share this filesystem); False: they write to *out_dir* directly,
        which must then be a path they share (``--out``)
    out_dir : the reports folder
    progress : a progress bar per campaign (one step per notebook, and the PDF)

    Every campaign is attempted; when any failed, a :class:`ReportError` lists each failure after the others
    finished and the index was written (a failed campaign is listed there with status ``failed``). The analysis
    runs in each notebook's kernel process, so one single-threaded worker per campaign in flight is enough.
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs: expected a positive integer, got {jobs!r}")
    if not campaigns:
        raise ValueError("campaigns: expected at least one campaign folder")
    roots = [resolve_campaign(c) for c in campaigns]
    names = [r.name for r in roots]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"campaigns: two campaign folders share the name(s) {dupes}; reports would collide")
    # validate parameters once, up front, so a typo fails before any kernel starts
    _run_report_iv(
        roots[0], out_dir, kwargs.get("parameters"), kwargs.get("baseline"), kwargs.get("candidate"),
        kwargs.get("notebooks", NOTEBOOKS), kwargs.get("notebook_dir", NOTEBOOK_DIR),
    )  # fmt: skip
    out = Path(out_dir).resolve()
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    results: dict[str, ReportResult] = {}
    errors: dict[str, str] = {}
    if address is None and (jobs == 1 or len(roots) == 1):
        for root in roots:
            try:
                results[root.name] = run_report(root, out_dir=out, progress=progress, **kwargs)
            except ReportError as exc:
                errors[root.name] = str(exc)
    else:
        steps = len(kwargs.get("notebooks", NOTEBOOKS)) + (1 if kwargs.get("pdf", True) else 0)
        with dask_client(address, jobs=min(jobs, len(roots))) as client:
            results, errors = _run_on_dask(client, roots, out, ship, kwargs, progress, steps)
    write_index(out)
    if errors:
        lines = "\n".join(f"  {name}: {msg}" for name, msg in sorted(errors.items()))
        raise ReportError(f"{len(errors)} of {len(roots)} campaign reports failed:\n{lines}")
    return tuple(results[n] for n in names)


# ----------------------------------------------------------------------------------------------------- the CLI


def cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair report``."""
    parser.add_argument("campaigns", nargs="+", metavar="CAMPAIGN", help="raw campaign folder(s), data/raw/<name>")
    parser.add_argument("--baseline", default=None, help="baseline PV model (default: inferred from the campaign)")
    parser.add_argument("--candidate", default=None, help="candidate PV model (default: inferred)")
    parser.add_argument(
        "-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
        help="notebook parameter, e.g. -p alpha=0.01 -p metrics=throughput_bps,latency_mean_s (repeatable); "
        "unknown names are refused",
    )  # fmt: skip
    parser.add_argument("--out", default=None,
                        help="reports folder (default: reports); with --scheduler, a path the workers share: "
                        "without it each worker sends its report back to this machine's reports/")
    parser.add_argument("--jobs", type=int, default=1,
                        help="campaigns reported in parallel on a local Dask cluster of N workers (default: 1)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help=f"Dask scheduler to run the campaigns on, e.g. tcp://HOST:8786 (default: ${SCHEDULER_ENV})")
    parser.add_argument("--notebooks", default=None, metavar="NAMES",
                        help=f"comma-separated notebooks to run, in order (default: {','.join(NOTEBOOKS)})")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF export")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--as-one", default=None, metavar="NAME",
                        help="merge the campaign folders (one per side or lab) into one comparison named NAME")


def cli_run(args: argparse.Namespace) -> int:
    """Run ``pvfair report``; exit status 0 on success, 1 when a notebook or export failed."""
    if getattr(args, "as_one", None):  # several sides, one comparison: a sides folder listing them
        from analysis.sides import write_sides_file

        args.campaigns = [write_sides_file(Path(args.out) / ".as-one" / args.as_one, args.campaigns)]
    try:
        remote = bool(args.scheduler or os.environ.get(SCHEDULER_ENV))
        results = run_reports(
            args.campaigns,
            jobs=args.jobs,
            scheduler=args.scheduler,
            ship=remote and args.out is None,
            out_dir=args.out or "reports",
            parameters=_split_assignments(args.parameter),
            baseline=args.baseline,
            candidate=args.candidate,
            pdf=not args.no_pdf,
            progress=not args.quiet,
            **({"notebooks": _to_list(args.notebooks)} if args.notebooks else {}),
        )
    except ReportError as exc:
        print(f"pvfair report: error: {exc}", file=sys.stderr)
        return 1
    for res in results:
        print(res.summary())
    print(f"index: {Path(args.out or 'reports') / 'index.html'}")
    return 0
