"""The verdicts of a :class:`~analysis.compare.CompareResult` for reading: one table per test.

:func:`verdict_summary` builds a :class:`~analysis.present.summary.Summary`: per test, one row per cell and
metric with the runs per model, the change and its simultaneous CI, the verdict, its basis (and route, when the
comparison records one) and the runs that would settle an inconclusive cell; then a legend and one note per audit
error or warning. The cell key comes from the result (``result.by``), the verdict words and colours from
:mod:`analysis.vocabulary`.

For the notebooks and the PDF, the same result as reading tables (all text: :func:`format_verdict_table`,
:func:`format_effects_table`, :func:`format_excluded_table`) and escaped HTML (:func:`format_verdict_brief`,
:func:`format_verdict_bullets_html`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.present.summary import Section, Summary
from analysis.vocabulary import CELL_KEY, VERDICT_COLORS, VERDICTS, verdict_label

__all__ = ["BASIS_WORDS", "verdict_summary", "verdict_rows", "finding_notes", "sort_cells", "format_verdict_table",
           "format_effects_table", "format_excluded_table", "format_verdict_brief", "format_verdict_bullets_html"]

#: ``headline`` (which effect a verdict rests on) -> the short word printed in the "basis" column
BASIS_WORDS: dict[str, str] = {"raw": "raw", "model-adjusted": "adjusted", "per-GHz": "per GHz"}


def _pct(x: Any) -> float:
    v = pd.to_numeric(x, errors="coerce")
    return float((v - 1.0) * 100.0) if pd.notna(v) and np.isfinite(v) else float("nan")


def _fmt(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:+.1f}"


def _key_text(column: str, value: Any) -> str:
    if pd.isna(value):
        return "-"
    if column == "msg_size_bytes":
        num = pd.to_numeric(value, errors="coerce")
        return f"{int(num)} B" if pd.notna(num) else str(value)
    return str(value)


def sort_cells(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """*frame* sorted by *keys* (stable, index reset): numbers as numbers, everything else as text."""
    order = frame[list(keys)].copy()
    for k in keys:  # numbers sort as numbers, everything else as text
        num = pd.to_numeric(order[k], errors="coerce")
        order[k] = num if num.notna().all() else order[k].astype(str)
    return frame.loc[order.sort_values(list(keys), kind="stable").index].reset_index(drop=True)


def verdict_rows(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The typed rows of the verdict summary (what CSV and JSON carry), sorted by cell and metric.

    Columns: the *by* keys, ``metric``, ``n_baseline``, ``n_candidate``, ``change_pct``, ``ci_low_pct``,
    ``ci_high_pct``, ``confidence_level``, ``verdict`` (a word of :data:`analysis.vocabulary.VERDICTS`), ``basis``
    (the table's ``basis`` column when it has one, else ``headline``), ``route`` (when the table has one),
    ``runs_needed`` (inconclusive cells) and ``pvalue_adjusted``.
    """
    keys = [k for k in by if k in frame.columns]
    f = sort_cells(frame, [*keys, "metric"]) if len(frame) else frame.reset_index(drop=True)
    nan = pd.Series(np.nan, index=f.index)
    out = f[keys].copy()
    out["metric"] = f["metric"].astype(str)
    out["n_baseline"] = pd.to_numeric(f["n_baseline"], errors="coerce").astype("Int64")
    out["n_candidate"] = pd.to_numeric(f["n_candidate"], errors="coerce").astype("Int64")
    out["change_pct"] = f["estimate"].map(_pct)
    out["ci_low_pct"] = f["ci_low"].map(_pct)
    out["ci_high_pct"] = f["ci_high"].map(_pct)
    out["confidence_level"] = pd.to_numeric(f.get("confidence_level", nan), errors="coerce")
    out["verdict"] = f["verdict"].astype(str)
    basis = f["basis"] if "basis" in f.columns else f.get("headline", pd.Series("raw", index=f.index))
    out["basis"] = basis.astype(str)
    if "route" in f.columns:
        out["route"] = f["route"].astype(str)
    needed = pd.to_numeric(f.get("runs_needed", nan), errors="coerce")
    out["runs_needed"] = needed.where(out["verdict"] == "inconclusive").astype("Int64")
    out["pvalue_adjusted"] = pd.to_numeric(f.get("pvalue_adjusted", nan), errors="coerce")
    return out


def _display(rows: pd.DataFrame, cell_keys: Sequence[str], *, margin: float) -> pd.DataFrame:
    out = pd.DataFrame(index=rows.index)
    out["cell"] = [", ".join(_key_text(k, r[k]) for k in cell_keys) or "all"
                   for _, r in rows.iterrows()]
    out["n b/c"] = [f"{a}/{b}" for a, b in zip(rows["n_baseline"], rows["n_candidate"], strict=True)]
    out["change %"] = rows["change_pct"].map(_fmt)
    out["CI %"] = [f"[{_fmt(a)}, {_fmt(b)}]" if np.isfinite(a) and np.isfinite(b) else "-"
                   for a, b in zip(rows["ci_low_pct"], rows["ci_high_pct"], strict=True)]
    out["verdict"] = rows["verdict"].map(lambda v: verdict_label(v, margin))
    out["basis"] = rows["basis"].map(lambda b: BASIS_WORDS.get(b, b))
    if "route" in rows.columns:
        out["route"] = rows["route"]
    out["runs needed"] = rows["runs_needed"].map(lambda n: "-" if pd.isna(n) else str(int(n)))
    return out.reset_index(drop=True).astype(str)


def finding_notes(findings: pd.DataFrame, severities: Sequence[str] = ("error", "warn")) -> list[str]:
    """One line of text per audit finding of the given severities: severity, check, cell and model, detail."""
    if findings is None or findings.empty:
        return []
    f = findings[findings["severity"].isin(list(severities))]
    lines = []
    for r in f.itertuples(index=False):
        where = str(r.cell) if pd.notna(r.cell) else "campaign"
        model = f" ({r.pv_model})" if pd.notna(r.pv_model) and str(r.pv_model) else ""
        lines.append(f"{r.severity} {r.check}, {where}{model}: {r.detail}")
    return lines


def _legend(result, present: Sequence[str], has_route: bool) -> list[str]:
    level = 100 * float(result.confidence_level)
    words = {
        "faster": "the CI lies entirely on the faster side of no change (lower latency is faster)",
        "slower": "the CI lies entirely on the slower side",
        "equivalent": f"the {100 * (1 - 2 * result.alpha):g} % TOST interval lies within ±{100 * result.margin:g} %",
        "faster but within margin": f"faster, and the difference is within ±{100 * result.margin:g} %",
        "slower but within margin": f"slower, and the difference is within ±{100 * result.margin:g} %",
        "inconclusive": "neither; 'runs needed' is the runs per model likely to settle it",
    }
    lines = [
        "n b/c: runs of the baseline / the candidate",
        f"change %: candidate / baseline - 1 of the {result.statistic}; CI %: its simultaneous {level:.3g} % "
        f"interval ({result.correction} over the table's cells)",
    ]
    lines += [f"{verdict_label(v, result.margin)}: {words[v]}" for v in VERDICTS if v in present]
    lines += [f"{v}: a verdict of this comparison" for v in present if v not in VERDICTS]
    lines.append("basis: the effect the verdict rests on: raw (the measured ratio), adjusted (the "
                 "clock-adjusted regression effect, when the models ran at different CPU clocks) or per GHz")
    if has_route:
        lines.append("route: how the interval was computed for that cell")
    return lines


#: the order in which columns give way when a table is wider than the text: header words first, then labels, the
#: verdict last (so its words stay on one line whenever anything else can move)
_WRAP: tuple[str | tuple[str, int], ...] = ("runs needed", "change %", "route", "basis", ("cell", 8), "verdict",
                                            "cell")


def verdict_summary(result, *, facts: Mapping[str, Any] | None = None) -> Summary:
    """The verdicts of *result* (a :class:`~analysis.compare.CompareResult`) as a :class:`Summary`.

    Parameters
    ----------
    result : CompareResult
    facts : extra header facts (e.g. the seed and resamples the comparison ran with), shown after the models

    One section per test, the cell key's other columns (pinning, tool, ...) and metric, sorted by test, with one
    row per message size (the key's last column when it has no message size).
    """
    by = tuple(result.by)
    rows = verdict_rows(result.to_frame(), by)
    keys = [k for k in by if k in rows.columns]
    row_key = "msg_size_bytes" if "msg_size_bytes" in keys else (keys[-1] if keys else None)
    group = [k for k in keys if k != row_key]
    sections = []
    for name, g in rows.groupby([*group, "metric"], sort=False, dropna=False):
        values = dict(zip([*group, "metric"], name, strict=True))
        metric = values.pop("metric")
        title = ", ".join(str(v) if k == "test" else f"{k}={v}" for k, v in values.items())
        title = f"{title}: {metric}" if title else str(metric)
        display = _display(g, [row_key] if row_key else [], margin=result.margin)
        sections.append(Section(title, display, g.reset_index(drop=True), wrap=_WRAP))
    head = [("baseline", str(result.baseline)), ("candidate", str(result.candidate)),
            ("cells", _counts_text(rows, result.margin, len(result.excluded))),
            ("statistic", f"{result.statistic}; margin ±{100 * result.margin:g} %; alpha {result.alpha:g} "
                          f"({result.correction})")]
    head += [(str(k), str(v)) for k, v in (facts or {}).items()]
    notes = finding_notes(result.audit.findings if result.audit is not None else None)
    notes += [f"note: {n}" for n in result.notes]
    present = list(dict.fromkeys(rows["verdict"]))
    colors = {verdict_label(v, result.margin): c for v, c in VERDICT_COLORS.items()}
    return Summary(
        title=f"pvfair compare: {result.candidate} (candidate) vs {result.baseline} (baseline)",
        facts=tuple(head), sections=tuple(sections), legend=tuple(_legend(result, present, "route" in rows)),
        notes=tuple(notes), notes_title="Audit errors and warnings, notes",
        empty="No cell could be compared (see the audit errors and warnings below).",
        colors=colors, color_column="verdict",
    )


def _counts_text(rows: pd.DataFrame, margin: float, n_excluded: int) -> str:
    counts = rows["verdict"].value_counts()
    parts = [f"{int(counts[v])} {verdict_label(v, margin)}" for v in VERDICTS if counts.get(v, 0)]
    parts += [f"{int(n)} {v}" for v, n in counts.items() if v not in VERDICTS]
    text = f"{len(rows)} compared" + (f" ({', '.join(parts)})" if parts else "")
    return text + (f"; {n_excluded} not compared" if n_excluded else "")


# ------------------------------------------------------------------------------ tables and HTML for the notebooks


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
    out["basis"] = basis.map(lambda b: BASIS_WORDS.get(b, b))
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


def format_verdict_brief(frame: pd.DataFrame, *, baseline: str, candidate: str, margin: float,
                         n_excluded: int = 0) -> str:
    """One or two sentences: how many cells got which verdict, how many were clock-adjusted or not compared.

    >>> t = pd.DataFrame({"verdict": ["faster", "faster", "inconclusive"], "headline": ["raw"] * 3})
    >>> format_verdict_brief(t, baseline="virtio", candidate="venet", margin=0.05, n_excluded=1)
    'venet vs virtio (baseline): faster in 2 of 3 compared cells, inconclusive in 1. 1 cell(s) not compared.'
    """
    counts = frame["verdict"].value_counts()
    parts = []
    for v in VERDICTS:  # the vocabulary's order and words; a confounded verdict counts under its own label
        if not counts.get(v, 0):
            continue
        if v == "confounded" and "verdict_label" in frame:
            labels = frame.loc[frame["verdict"] == v, "verdict_label"].astype(str).value_counts(sort=False)
            parts += [f"{label} in {int(n)}" for label, n in labels.items()]
        else:
            parts.append(f"{verdict_label(v, margin)} in {int(counts[v])}")
    parts += [f"{v} in {int(n)}" for v, n in counts.items() if v not in VERDICTS]
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
