"""The findings of an :class:`~analysis.audit.AuditResult` for reading: one numbered list per severity.

:func:`findings_summary` builds a :class:`~analysis.present.summary.Summary`: per severity (errors, warnings,
information), each finding with its check, cell, model, detail and suggestion; the header counts them and names
the cells left out of comparisons. Text prints each finding as an item (details are prose and wrap); Markdown,
CSV and JSON carry the same rows as a table.
"""

from __future__ import annotations

import pandas as pd

from analysis.present.summary import Section, Summary

__all__ = ["SEVERITY_TITLES", "findings_summary"]

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
