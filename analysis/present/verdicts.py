"""The verdicts of a :class:`~analysis.compare.CompareResult` for reading: one table per test.

:func:`verdict_summary` builds a :class:`~analysis.present.summary.Summary`: per test, one row per cell and
metric with the runs per model, the change and its simultaneous CI, the verdict, its basis (and route, when the
comparison records one) and the runs that would settle an inconclusive cell; then a legend and one note per audit
error or warning. The cell key comes from the result (``result.by``), the verdict words and colours from
:mod:`analysis.vocabulary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.present.summary import Section, Summary
from analysis.vocabulary import VERDICT_COLORS, VERDICTS, verdict_label

__all__ = ["BASIS_WORDS", "verdict_summary", "verdict_rows", "finding_notes", "sort_cells"]

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
