"""The findings of an :class:`~analysis.audit.AuditResult` for reading: one numbered list per severity.

:func:`findings_summary` builds a :class:`~analysis.present.summary.Summary`: per severity (errors, warnings,
information), each finding with its check, cell, model, detail and suggestion; the header counts them and names
the cells left out of comparisons. Text prints each finding as an item (details are prose and wrap); Markdown,
CSV and JSON carry the same rows as a table. :func:`format_findings_table` and :func:`format_confounds_html` give the
notebooks' and the PDF's HTML of the same findings (the checks named by :data:`analysis.audit.CHECK_NAMES`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from analysis.audit import CHECK_NAMES
from analysis.present.html import format_html_table
from analysis.present.summary import Section, Summary

__all__ = ["SEVERITY_TITLES", "findings_summary", "format_findings_table", "format_confounds_html"]

#: severity -> section title, in the order sections are printed
SEVERITY_TITLES: dict[str, str] = {"error": "Errors", "warn": "Warnings", "info": "Information"}


def findings_summary(result, *, severities=("error", "warn", "info")) -> Summary:
    """The findings of *result* (an :class:`~analysis.audit.AuditResult`) of the given severities."""
    f = result.findings
    counts = f["severity"].value_counts()
    sections = []
    for sev in [s for s in SEVERITY_TITLES if s in severities]:
        g = f[f["severity"] == sev].reset_index(drop=True)
        if g.empty:
            continue
        data = g.reindex(columns=["severity", "check", "cell", "pv_model", "metric", "detail", "suggestion"])
        display = pd.DataFrame({
            "check": data["check"].astype(str),
            "cell": data["cell"].fillna("campaign").astype(str),
            "model": data["pv_model"].fillna("").astype(str),
            "detail": data["detail"].fillna("").astype(str),
            "suggestion": data["suggestion"].fillna("").map(lambda s: f"-> {s}" if s else ""),
        })
        sections.append(Section(f"{SEVERITY_TITLES[sev]} ({len(g)})", display, data, layout="list",
                                head=("check", "cell", "model")))
    facts = [("baseline", str(result.baseline)), ("candidate", str(result.candidate)),
             ("findings", ", ".join(f"{int(counts.get(s, 0))} {s}" for s in SEVERITY_TITLES)),
             ("cells not compared", str(len(result.excluded_cells)))]
    if len(result.excluded_runs):
        facts.append(("runs excluded on request", str(len(result.excluded_runs))))
    legend = ("error: the comparison cannot be trusted as made (or leaves the cell out)",
              "warn: a confounder or a defect the verdicts must be read with",
              "info: worth knowing, no effect on the verdicts",
              "-> what to do about it")
    return Summary(
        title=f"pvfair audit: {result.candidate} (candidate) vs {result.baseline} (baseline)",
        facts=tuple(facts), sections=tuple(sections), legend=legend,
        empty="The audit found nothing to report.",
    )


# ------------------------------------------------------------------------------------------- HTML for the notebooks


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
        what = CHECK_NAMES.get(str(check), str(check))
        details = list(dict.fromkeys(str(d) for d in g["detail"]))  # distinct, in order
        shown = "".join(f"<li>{html.escape(d)}</li>" for d in details[:max_items])
        if len(details) > max_items:
            shown += f"<li>and {len(details) - max_items} more (see the audit findings table)</li>"
        items.append(f"<li><strong>{html.escape(what)}</strong> ({len(g)}):<ul>{shown}</ul></li>")
    return f'<ul class="pvfair-confounds">{"".join(items)}</ul>'
