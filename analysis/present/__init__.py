"""Results for reading: one renderer per result type, text / Markdown / CSV / JSON from the same tables.

* :class:`Summary`, :class:`Section`: the tables of a result and their four renderings (:mod:`.summary`);
* :func:`verdict_summary`: a :class:`~analysis.compare.CompareResult` (:mod:`.verdicts`);
* :func:`findings_summary`: an :class:`~analysis.audit.AuditResult` (:mod:`.findings`).

The notebooks' and the PDF's tables and HTML of the same results live beside them: ``format_verdict_table``,
``format_effects_table``, ``format_excluded_table``, ``format_verdict_bullets_html`` (:mod:`.verdicts`),
``format_findings_table``, ``format_confounds_html`` (:mod:`.findings`), the campaign's overview and header
(:mod:`.campaign`), and escaped HTML building blocks (:mod:`.html`).

Formatting only: nothing here computes a statistic or writes a file.
"""

from analysis.present.findings import findings_summary
from analysis.present.summary import Section, Summary
from analysis.present.verdicts import verdict_summary

__all__ = ["Section", "Summary", "verdict_summary", "findings_summary"]
