"""What to run next: the runs that would make the cells a comparison left out (or could not trust) comparable.

:func:`rerun_plan` reads the runs of a campaign and the cells :func:`analysis.compare.compare` excluded, and says,
per cell and PV model, how many runs to add, at which pinning and at which CPU clock, and why. It also names the
campaign-wide confounds that made the cells unusable (:data:`CONFOUNDS`):

* ``pinning x model``: the models never share a pinning in a test and size (e.g. every venet run pinned
  same-core, every virtio run split), so the pinning effect cannot be told from the model effect;
* ``clock x model``: in a cell the two models ran at non-overlapping CPU clocks (e.g. one under ``ondemand``), so
  the clock cannot be told from the model;
* ``one-model cells``: cells measured by one model only;
* ``too few runs``: cells with fewer than :data:`analysis.audit.MIN_RUNS_ERROR` runs of a model.

The run count brings each model of a cell to ``max(target_runs, the other model's runs)``: a balanced cell of at
least :data:`analysis.audit.MIN_RUNS_WARN` runs, the size below which the audit warns of wide intervals. A model
missing from a cell is to be run at the pinning of the cell and at the clock the other model ran at there; a
model at a clock the other did not run at is to be rerun at the other's clock (fixed, e.g. the ``performance``
governor).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.audit import MIN_RUNS_ERROR, MIN_RUNS_WARN, cell_label
from analysis.vocabulary import CELL_KEY, CLOCK_TOLERANCE

__all__ = ["rerun_plan", "RerunPlanResult", "CONFOUNDS", "PLAN_COLUMNS", "format_plan", "format_plan_html",
           "no_comparison_paragraph"]

#: the confounds a plan names, in reading order
CONFOUNDS: tuple[str, ...] = ("pinning x model", "clock x model", "one-model cells", "too few runs")

#: the plan table's columns after the ``by`` keys
PLAN_COLUMNS: tuple[str, ...] = ("cell", "pv_model", "runs_now", "runs_to_add", "run_pinning", "run_cpu_mhz",
                                  "confound", "reason")

@dataclass(frozen=True)
class RerunPlanResult:
    """The runs to add, per cell and PV model, and the confounds that call for them.

    Attributes
    ----------
    plan : DataFrame
        One row per cell and model to run: the ``by`` columns, then :data:`PLAN_COLUMNS` (``run_cpu_mhz``: the clock to
        run at, NaN when the campaign has no clock readings; ``run_pinning``: the cell's pinning, or the other model's when the cell
        key has no pinning; ``confound`` the name from :data:`CONFOUNDS` the row remedies, '' for a row that only
        balances the cell).
    confounds : tuple of (name, detail)
        The confounds found (names from :data:`CONFOUNDS`), each with a sentence naming models, pinnings, clocks.
    baseline, candidate : str
    by : tuple of str
    target_runs : int
    """

    plan: pd.DataFrame
    confounds: tuple[tuple[str, str], ...]
    baseline: str
    candidate: str
    by: tuple[str, ...]
    target_runs: int
    notes: tuple[str, ...] = field(default=())

    @property
    def total_runs(self) -> int:
        return int(self.plan["runs_to_add"].sum()) if len(self.plan) else 0

    @property
    def confound_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.confounds)

    def to_frame(self) -> pd.DataFrame:
        """The plan, one row per cell and model to run (a copy)."""
        return self.plan.copy()

    def summary(self) -> str:
        return format_plan(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return format_plan_html(self)


def _rerun_plan_iv(campaign, baseline, candidate, by, excluded, target_runs):
    runs = getattr(campaign, "runs", None)
    if not isinstance(runs, pd.DataFrame):
        raise TypeError(f"campaign: expected an analysis.ingest.Campaign, got {type(campaign).__name__}")
    models = set(runs["pv_model"].dropna().astype(str)) if "pv_model" in runs else set()
    for name, val in (("baseline", baseline), ("candidate", candidate)):
        if not isinstance(val, str) or val not in models:
            raise ValueError(f"{name}: expected one of the campaign's PV models {sorted(models)}, got {val!r}")
    by = tuple(by)
    missing = [k for k in by if k not in runs.columns]
    if missing:
        raise ValueError(f"by: {missing} are not columns of the campaign's runs")
    if excluded is not None and (not isinstance(excluded, pd.DataFrame) or "cell" not in excluded.columns):
        raise ValueError("excluded: expected the excluded-cells table of a comparison (with a 'cell' column)")
    if isinstance(target_runs, bool) or not isinstance(target_runs, int | np.integer) or target_runs < MIN_RUNS_ERROR:
        raise ValueError(f"target_runs: expected an integer >= {MIN_RUNS_ERROR}, got {target_runs!r}")
    return by, int(target_runs)


def _clock_mhz(runs: pd.DataFrame) -> pd.Series:
    if "cpu_mhz" in runs:
        return pd.to_numeric(runs["cpu_mhz"], errors="coerce").astype("float64")
    if "cpu_ghz" in runs:
        return pd.to_numeric(runs["cpu_ghz"], errors="coerce").astype("float64") * 1000.0
    return pd.Series(np.nan, index=runs.index)


def _disjoint_clocks(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not (len(a) and len(b)):
        return False
    return a.min() > b.max() * (1 + CLOCK_TOLERANCE) or b.min() > a.max() * (1 + CLOCK_TOLERANCE)


def _mhz(values: np.ndarray) -> float:
    """The clock to name: the median reading, as the 100 MHz step (P-states are set in such steps) when it lies
    within the reading jitter of one (2398.4 -> 2400), else to the MHz."""
    v = values[np.isfinite(values)]
    if not len(v):
        return np.nan
    med = float(np.median(v))
    step = round(med / 100.0) * 100.0
    return step if step > 0 and abs(med / step - 1) <= CLOCK_TOLERANCE else float(round(med))


def _pinning_confound(runs: pd.DataFrame, baseline: str, candidate: str, by: tuple[str, ...]) -> str:
    """A sentence when, in every test and size both models ran, they share no pinning; '' otherwise."""
    if "pinning" not in runs or runs["pinning"].isna().all():
        return ""
    site = [k for k in by if k != "pinning"]
    groups = runs.groupby(site, dropna=False) if site else [((), runs)]
    shared, both = 0, 0
    for _, g in groups:
        pins = {m: set(g.loc[g["pv_model"] == m, "pinning"].dropna().astype(str)) for m in (baseline, candidate)}
        if pins[baseline] and pins[candidate]:
            both += 1
            shared += bool(pins[baseline] & pins[candidate])
    if both == 0 or shared:
        return ""
    mix = {m: ", ".join(sorted(set(runs.loc[runs["pv_model"] == m, "pinning"].dropna().astype(str))))
           for m in (baseline, candidate)}
    return (f"{baseline} ran only {mix[baseline]} and {candidate} only {mix[candidate]}: the pinning cannot be "
            "told apart from the PV model")


def _clock_confound(runs: pd.DataFrame, baseline: str, candidate: str) -> str:
    """A sentence when, across the campaign, the two models ran at non-overlapping clocks; '' otherwise."""
    mhz = _clock_mhz(runs).to_numpy()
    is_b = (runs["pv_model"] == baseline).to_numpy()
    if not _disjoint_clocks(mhz[is_b], mhz[~is_b]):
        return ""
    return (f"{baseline} ran at {_mhz(mhz[is_b]):.0f} MHz and {candidate} at {_mhz(mhz[~is_b]):.0f} MHz "
            "(median readings; the ranges do not overlap): the clock cannot be told apart from the PV model")


def _sort_key(values: Any) -> tuple:
    values = values if isinstance(values, tuple) else (values,)
    return tuple((pd.isna(v), "" if pd.isna(v) else str(v) if isinstance(v, str) else v) for v in values)


def _mode(values: np.ndarray) -> Any:
    """The most frequent value (first in sorted order on a tie), NA for none."""
    if not len(values):
        return pd.NA
    uniq, counts = np.unique(values, return_counts=True)
    return uniq[int(np.argmax(counts))]


def _cell_rows(label, keys, is_b, mhz, pins, baseline, candidate, by, target) -> tuple[list[dict], bool]:
    """The plan rows of one cell (its runs as arrays: baseline flag, clock, pinning with '' for none, or None),
    and whether its two models ran at non-overlapping clocks."""
    n = {baseline: int(is_b.sum()), candidate: int((~is_b).sum())}
    clocks = {baseline: mhz[is_b], candidate: mhz[~is_b]}
    pinned = None if pins is None else {m: p[p != ""] for m, p in ((baseline, pins[is_b]), (candidate, pins[~is_b]))}
    rows = []
    goal = max(target, *n.values())
    clock_confounded = _disjoint_clocks(clocks[baseline], clocks[candidate])
    for m, other in ((baseline, candidate), (candidate, baseline)):
        if "pinning" in by:
            pinning = keys["pinning"]
        else:
            pinning = pd.NA if pinned is None else _mode(pinned[other]) if len(pinned[other]) else _mode(pinned[m])
        if n[m] == 0:
            confound, reason = "one-model cells", f"measured by {other} only"
            add, at = goal, _mhz(clocks[other])
        elif clock_confounded and np.nanmedian(clocks[m]) < np.nanmedian(clocks[other]):
            confound = "clock x model"
            reason = (f"{m} ran at {_mhz(clocks[m]):.0f} MHz and {other} at {_mhz(clocks[other]):.0f} MHz: "
                      "rerun at the same clock (fixed governor)")
            add, at = goal, _mhz(clocks[other])
        elif n[m] < goal:
            confound = "too few runs" if n[m] < MIN_RUNS_ERROR else ""
            reason = f"{n[m]} run(s) of {m} beside {n[other]} of {other}"
            add, at = goal - n[m], _mhz(clocks[m]) if np.isfinite(clocks[m]).any() else _mhz(clocks[other])
        else:
            continue
        rows.append({**keys, "cell": label, "pv_model": m, "runs_now": n[m], "runs_to_add": int(add),
                     "run_pinning": pinning, "run_cpu_mhz": at, "confound": confound, "reason": reason})
    return rows, clock_confounded


def rerun_plan(
    campaign: Any,
    *,
    baseline: str,
    candidate: str,
    by: Sequence[str] = CELL_KEY,
    excluded: pd.DataFrame | None = None,
    target_runs: int = MIN_RUNS_WARN,
) -> RerunPlanResult:
    """The runs to add so that every cell can be compared fairly.

    Parameters
    ----------
    campaign : Campaign
    baseline, candidate : str
    by : sequence of str
        The cell key the comparison used.
    excluded : DataFrame, optional
        ``CompareResult.excluded`` (its ``cell`` column): the cells to plan for besides every cell whose two
        models ran at non-overlapping clocks. Default: every cell of the campaign that is not a balanced,
        same-clock cell of at least *target_runs* runs of each model.
    target_runs : int
        Runs per model a planned cell is brought to (at least; more when the other model has more).

    Returns
    -------
    RerunPlanResult
    """
    by, target = _rerun_plan_iv(campaign, baseline, candidate, by, excluded, target_runs)
    runs = campaign.runs[campaign.runs["pv_model"].isin([baseline, candidate])]
    wanted = None if excluded is None else set(excluded["cell"].dropna().astype(str))
    rows = []
    is_b = (runs["pv_model"] == baseline).to_numpy(dtype=bool)
    mhz = _clock_mhz(runs).to_numpy(dtype="float64", na_value=np.nan)
    pins = None
    if "pinning" in runs and runs["pinning"].notna().any():
        pins = np.array(["" if pd.isna(v) else str(v) for v in runs["pinning"]], dtype=object)
    groups = runs.groupby(list(by), dropna=False, sort=True).indices if by else {(): np.arange(len(runs))}
    for values, idx in sorted(groups.items(), key=lambda kv: _sort_key(kv[0])):
        values = values if isinstance(values, tuple) else (values,)
        keys = dict(zip(by, values, strict=True))
        label = cell_label(by, values)
        cell_rows, clock_confounded = _cell_rows(label, keys, is_b[idx], mhz[idx],
                                                 None if pins is None else pins[idx], baseline, candidate, by, target)
        if wanted is None or label in wanted or clock_confounded:
            rows += cell_rows
    confounds = []
    pin = _pinning_confound(runs, baseline, candidate, by)
    if pin:
        confounds.append(("pinning x model", pin))
    counts = {name: len({r["cell"] for r in rows if r["confound"] == name}) for name in CONFOUNDS[1:]}
    details = {
        "clock x model": "in {n} cell(s) the two models ran at non-overlapping CPU clocks",
        "one-model cells": "{n} cell(s) measured by one model only",
        "too few runs": f"{{n}} cell(s) with fewer than {MIN_RUNS_ERROR} runs of a model",
    }
    whole = _clock_confound(runs, baseline, candidate)
    for name in CONFOUNDS[1:]:
        if name == "clock x model" and whole:
            confounds.append((name, whole))
        elif counts[name]:
            confounds.append((name, details[name].format(n=counts[name])))
    plan = pd.DataFrame(rows, columns=[*by, *PLAN_COLUMNS])
    plan["runs_to_add"] = plan["runs_to_add"].astype("int64")
    plan["runs_now"] = plan["runs_now"].astype("int64")
    plan["run_cpu_mhz"] = plan["run_cpu_mhz"].astype("float64")
    return RerunPlanResult(plan=plan.reset_index(drop=True), confounds=tuple(confounds), baseline=baseline,
                           candidate=candidate, by=by, target_runs=target)


def format_plan(result: RerunPlanResult) -> str:
    """The plan in words: the confounds, then one line per cell and model to run."""
    out = []
    if result.confounds:
        out.append("Confounds: " + "; ".join(f"{name} ({detail})" for name, detail in result.confounds) + ".")
    if not len(result.plan):
        out.append("Nothing to rerun: every cell has a balanced, same-clock set of runs of both models.")
        return "\n".join(out)
    out.append(f"Rerun plan: {result.total_runs} run(s) in {result.plan['cell'].nunique()} cell(s), bringing each "
               f"model to at least {result.target_runs} runs per cell:")
    for r in result.plan.itertuples(index=False):
        clock = f" at {r.run_cpu_mhz:.0f} MHz" if np.isfinite(r.run_cpu_mhz) else ""
        pin = "" if pd.isna(r.run_pinning) else f", pinned {r.run_pinning}"
        out.append(f"- {r.cell}: {r.runs_to_add} run(s) of {r.pv_model}{pin}{clock} ({r.reason})")
    return "\n".join(out)


def no_comparison_paragraph(result: RerunPlanResult) -> str:
    """The opening of a report in which no cell could be compared: the confounds named, the plan announced."""
    text = "No cell could be compared"
    if result.confounds:
        text += ": the design confounds " + "; ".join(f"{name} ({detail})" for name, detail in result.confounds)
    text += "."
    if len(result.plan):
        text += (f" The rerun plan at the end lists the {result.total_runs} run(s) that would make "
                 f"{result.plan['cell'].nunique()} cell(s) comparable.")
    return text


def format_plan_html(result: RerunPlanResult) -> str:
    """The plan as HTML (the same words as :func:`format_plan`): confounds, then a table of the runs to add."""
    lines = format_plan(result).split("\n")
    head = [ln for ln in lines if not ln.startswith("- ")]
    body = "".join(f"<p>{html.escape(ln)}</p>" for ln in head)
    if not len(result.plan):
        return body
    cols = {"cell": "cell", "pv_model": "run", "runs_now": "runs now", "runs_to_add": "runs to add",
            "run_pinning": "pinning", "run_cpu_mhz": "clock (MHz)", "reason": "why"}
    rows = []
    for r in result.plan.itertuples(index=False):
        vals = [r.cell, r.pv_model, r.runs_now, r.runs_to_add, "" if pd.isna(r.run_pinning) else r.run_pinning,
                f"{r.run_cpu_mhz:.0f}" if np.isfinite(r.run_cpu_mhz) else "", r.reason]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in vals) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols.values()) + "</tr>"
    return f'{body}<table class="pvfair"><thead>{header}</thead><tbody>{"".join(rows)}</tbody></table>'
