"""Ingest: raw campaign folder (tool output + manifest.csv) -> tidy, validated tables.

(Skeleton: the ingest issue fills in ``ingest_campaign`` / ``load_campaign``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Campaign", "load_campaign"]


@dataclass(frozen=True)
class Campaign:
    """One campaign's tables, as every later stage takes them.

    Attributes
    ----------
    name : campaign name (the raw folder's name)
    root : the raw campaign folder (``data/raw/<name>``), or None for a campaign built in memory
    runs, measurements, intervals, rejects : DataFrames with :mod:`analysis.schema` columns and dtypes
    summary : the ingest summary (files seen / ingested / rejected by reason)
    """

    name: str
    runs: pd.DataFrame
    measurements: pd.DataFrame
    intervals: pd.DataFrame
    rejects: pd.DataFrame
    root: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def load_campaign(path: str | Path) -> Campaign:
    raise NotImplementedError("load_campaign lands with the ingest issue")
