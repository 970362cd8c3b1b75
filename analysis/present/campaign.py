"""The campaign for reading: its overview per PV model (:func:`analysis.notebook.campaign_overview`) and the
summary's header line."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

__all__ = ["format_overview_table", "format_header_html"]


def format_overview_table(overview: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.notebook.campaign_overview` transposed for reading: one row per attribute, one column per PV model."""
    if overview.empty:
        return pd.DataFrame({"attribute": []})
    ov = overview.copy()
    for col in ("cpu_mhz_min", "cpu_mhz_max"):
        ov[col] = ov[col].map(lambda v: "-" if pd.isna(v) else f"{v:.0f}")
    t = ov.set_index("pv_model").astype(str).T
    t.index.name = "attribute"
    t.columns.name = None
    return t.reset_index()


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
