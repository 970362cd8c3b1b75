"""Across tools: do two tools that measured the same test agree on the candidate/baseline ratio?

Two tools never pool into one cell (the cell key, :data:`analysis.vocabulary.CELL_KEY`, carries ``tool``): iperf3
and netperf measuring ``TCP_STREAM`` at 16384 bytes are two cells with two verdicts. This module is the separate
comparison that says whether those verdicts agree. For every pair of cells that differ only in the tool (same
canonical test, message size, pinning and metric), it reports the ratio of the two tools' headline ratios, its
interval and a two-sided z test of "the tools see the same effect".

Each tool's standard error on the log scale is recovered from its headline interval,
``(log high - log low) / (2 z)`` at the interval's own confidence level (the compare table's
``confidence_level``, simultaneous over that report's cells); the two tools' runs are different runs, so the
variances add. The recovery is exact for the t-on-log-scale route up to the t-vs-normal quantile (it uses the
normal quantile, so it errs wide with 3-5 runs) and approximate for asymmetric bootstrap intervals.
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.vocabulary import CELL_KEY, TOOL_FREE_KEY

__all__ = ["ToolAgreementResult", "tool_agreement"]

_COLUMNS = [*TOOL_FREE_KEY, "metric", "tool_a", "tool_b", "estimate_a", "estimate_b", "verdict_a", "verdict_b",
            "ratio_of_ratios", "ci_low", "ci_high", "pvalue", "agree"]


@dataclass(frozen=True)
class ToolAgreementResult:
    """Pairs of cells that differ only in the tool, with the ratio of their headline ratios.

    Attributes
    ----------
    table : DataFrame
        One row per pair: the shared key columns, ``metric``, ``tool_a``, ``tool_b``, each tool's ``estimate``
        and ``verdict``, ``ratio_of_ratios`` (a / b) with ``ci_low``/``ci_high`` at ``confidence_level``,
        ``pvalue`` (two-sided z test of equal log ratios) and ``agree`` (the interval holds 1).
    confidence_level : float
    notes : tuple of str
    """

    table: pd.DataFrame
    confidence_level: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        if self.table.empty:
            return "no test was measured by more than one tool" + "".join(f"\n[{i}] {n}" for i, n in
                                                                     enumerate(self.notes, 1))
        lines = [f"tools compared on the same cells ({100 * self.confidence_level:g} % intervals of the ratio of "
                 "their candidate/baseline ratios):"]
        for r in self.table.itertuples(index=False):
            state = "agree" if r.agree else "DISAGREE"
            lines.append(f"  {r.test} {r.msg_size_bytes} B {r.pinning} {r.metric}: {r.tool_a} {r.estimate_a:.4g} "
                         f"({r.verdict_a}) vs {r.tool_b} {r.estimate_b:.4g} ({r.verdict_b}): ratio "
                         f"{r.ratio_of_ratios:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}], p = {r.pvalue:.2g}: {state}")
        lines += [f"[{i}] {n}" for i, n in enumerate(self.notes, 1)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _tool_agreement_iv(result, confidence_level) -> tuple[pd.DataFrame, float, list[str]]:
    frame = result.to_frame() if hasattr(result, "to_frame") else result
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"result: expected a CompareResult or its to_frame() table, got {type(result).__name__}")
    need = {"tool", "metric", "estimate", "ci_low", "ci_high", "confidence_level", "verdict"}
    missing = sorted(need - set(frame.columns))
    if missing:
        raise ValueError(f"result: the comparison table lacks {missing}; expected compare() run with the default "
                         f"cell key {CELL_KEY} (which carries 'tool')")
    if not (isinstance(confidence_level, float | int) and 0 < confidence_level < 1):
        raise ValueError(f"confidence_level: expected a level in (0, 1), got {confidence_level!r}")
    keys = [k for k in TOOL_FREE_KEY if k in frame.columns]
    return frame, float(confidence_level), keys


def _log_se(row: pd.Series) -> float:
    z = stats.norm.ppf(0.5 + float(row["confidence_level"]) / 2)
    return (math.log(float(row["ci_high"])) - math.log(float(row["ci_low"]))) / (2 * z)


def tool_agreement(result, *, confidence_level: float = 0.95) -> ToolAgreementResult:
    """Compare the tools that measured the same test, size, pinning and metric (see the module docstring).

    Parameters
    ----------
    result : CompareResult or DataFrame
        :func:`analysis.compare.compare`'s result (or its ``to_frame()``), run with a cell key that has ``tool``.
    confidence_level : float
        Of the ratio-of-ratios interval.

    Returns
    -------
    ToolAgreementResult
        Empty table (and a note) when no test was measured by two tools.
    """
    frame, level, keys = _tool_agreement_iv(result, confidence_level)
    notes: list[str] = []
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    ok = frame[np.isfinite(frame["estimate"].astype(float)) & (frame["ci_low"].astype(float) > 0)]
    for gkey, g in ok.groupby([*keys, "metric"], dropna=False, sort=True):
        if g["tool"].nunique() < 2:
            continue
        for (_, a), (_, b) in itertools.combinations(g.sort_values("tool").iterrows(), 2):
            d = math.log(float(a["estimate"])) - math.log(float(b["estimate"]))
            se = math.hypot(_log_se(a), _log_se(b))
            p = float(2 * stats.norm.sf(abs(d) / se)) if se > 0 else float("nan")
            lo, hi = math.exp(d - z * se), math.exp(d + z * se)
            rows.append({**dict(zip([*keys, "metric"], gkey, strict=True)), "tool_a": a["tool"], "tool_b": b["tool"],
                         "estimate_a": float(a["estimate"]), "estimate_b": float(b["estimate"]),
                         "verdict_a": a["verdict"], "verdict_b": b["verdict"], "ratio_of_ratios": math.exp(d),
                         "ci_low": lo, "ci_high": hi, "pvalue": p, "agree": bool(lo <= 1.0 <= hi)})
    if not rows:
        notes.append("no test, size, pinning and metric was measured by more than one tool")
    cols = [c for c in _COLUMNS if c in keys or c not in TOOL_FREE_KEY]
    table = pd.DataFrame(rows, columns=[*keys, *[c for c in cols if c not in keys]])
    return ToolAgreementResult(table=table, confidence_level=level, notes=tuple(notes))
