"""Normalize: per-GHz rates, packets per second and CPU cycles per byte / per transaction, with provenance.

No benchmark tool normalizes for CPU frequency; pvfair does it openly: the raw metrics stay, the normalized ones
are *added* beside them (raw and normalized side by side), and :func:`normalization_table` says, run by run, which
clock was used, where it came from and which formulas were applied.

Formulas (``ghz`` is the run's effective clock, ``cpu_ghz = cpu_mhz / 1000``; ``cpu_mhz`` is the mean of the
clock before and after the run where both are known, else the clock the tool or the manifest reported, and
``cpu_mhz_source`` records which)::

    throughput_bps_per_ghz        = throughput_bps / cpu_ghz                 [ * reference_ghz ]
    transactions_per_s_per_ghz    = transactions_per_s / cpu_ghz             [ * reference_ghz ]
    packets_per_s                 = throughput_bps / (8 * msg_size_bytes)
    local_cycles_per_byte         = local_cpu_util_pct / 100 * n_cpus * cpu_ghz * 1e9 / (throughput_bps / 8)
    remote_cycles_per_byte        = remote_cpu_util_pct / 100 * n_cpus * cpu_ghz * 1e9 / (throughput_bps / 8)
    local_cycles_per_transaction  = local_cpu_util_pct / 100 * n_cpus * cpu_ghz * 1e9 / transactions_per_s
    remote_cycles_per_transaction = remote_cpu_util_pct / 100 * n_cpus * cpu_ghz * 1e9 / transactions_per_s

CPU utilization is a percentage of *all* ``n_cpus`` CPUs (netperf's convention), so ``util / 100 * n_cpus`` is the
number of busy CPUs and ``* Hz`` the cycles spent per second. Service demand is kept as the tool reported it.
The remote CPU is assumed to run at the same clock as the local one (the runs table has one clock per run).

With ``reference_ghz`` the per-GHz metrics are expressed "at ``reference_ghz`` GHz": they keep their metric names
but are in the raw metric's unit (bit/s, 1/s) as if the run had been made at that clock; the runs table then
carries the reference in ``per_ghz_reference_ghz`` and :func:`normalization_table` writes it into the formula.

Nothing is imputed: a run without a clock gets NaN per-GHz and cycles values (the rows are present, so nothing is
silently missing), a run without ``n_cpus`` gets NaN cycles values; :mod:`analysis.audit` reports both.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.ingest import Campaign
from analysis.memo import Memo, content_key, isolated, memoizes
from analysis.schema import MEASUREMENT_COLUMNS, coerce_frame

__all__ = ["normalize", "normalization_table", "PER_GHZ", "NORMALIZED_METRICS", "CYCLES"]

#: raw rate metric -> its per-GHz metric
PER_GHZ: dict[str, str] = {
    "throughput_bps": "throughput_bps_per_ghz",
    "transactions_per_s": "transactions_per_s_per_ghz",
}

#: cycles metric -> (CPU utilization metric, rate metric, bytes per rate unit: 1/8 for bit/s, None for 1/s)
CYCLES: dict[str, tuple[str, str, float]] = {
    "local_cycles_per_byte": ("local_cpu_util_pct", "throughput_bps", 1 / 8),
    "remote_cycles_per_byte": ("remote_cpu_util_pct", "throughput_bps", 1 / 8),
    "local_cycles_per_transaction": ("local_cpu_util_pct", "transactions_per_s", 1.0),
    "remote_cycles_per_transaction": ("remote_cpu_util_pct", "transactions_per_s", 1.0),
}

#: every metric :func:`normalize` adds
NORMALIZED_METRICS: tuple[str, ...] = (*PER_GHZ.values(), "packets_per_s", *CYCLES)

_CYCLE_FORMULA = {
    "local_cycles_per_byte": "local_cpu_util_pct/100*n_cpus*cpu_ghz*1e9/(throughput_bps/8)",
    "remote_cycles_per_byte": "remote_cpu_util_pct/100*n_cpus*cpu_ghz*1e9/(throughput_bps/8)",
    "local_cycles_per_transaction": "local_cpu_util_pct/100*n_cpus*cpu_ghz*1e9/transactions_per_s",
    "remote_cycles_per_transaction": "remote_cpu_util_pct/100*n_cpus*cpu_ghz*1e9/transactions_per_s",
}


def _normalize_iv(campaign: Campaign, reference_ghz: float | None) -> float | None:
    if not isinstance(campaign, Campaign):
        raise TypeError(f"campaign: expected an analysis.ingest.Campaign, got {type(campaign).__name__}")
    for name in ("runs", "measurements"):
        if not isinstance(getattr(campaign, name), pd.DataFrame):
            raise TypeError(f"campaign.{name}: expected a pandas DataFrame")
    for col in ("run_id", "cpu_mhz"):
        if col not in campaign.runs.columns:
            raise ValueError(f"campaign.runs: missing column {col!r}")
    for col in MEASUREMENT_COLUMNS:
        if col not in campaign.measurements.columns:
            raise ValueError(f"campaign.measurements: missing column {col!r}")
    if campaign.runs["run_id"].duplicated().any():
        dup = campaign.runs.loc[campaign.runs["run_id"].duplicated(), "run_id"].iloc[0]
        raise ValueError(f"campaign.runs: run_id must be unique, {dup!r} appears more than once")
    if reference_ghz is None:
        return None
    try:
        ref = float(reference_ghz)
    except (TypeError, ValueError):
        raise TypeError(f"reference_ghz: expected a positive number of GHz or None, got {reference_ghz!r}") from None
    if not math.isfinite(ref) or ref <= 0:
        raise ValueError(f"reference_ghz: expected a positive, finite number of GHz, got {reference_ghz!r}")
    if ref > 100:
        raise ValueError(f"reference_ghz: expected GHz (e.g. 2.4), got {reference_ghz!r}; did you pass MHz?")
    return ref


def _effective_ghz(runs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Effective GHz per run and the source of that clock (index: runs' index)."""
    mhz = pd.to_numeric(runs["cpu_mhz"], errors="coerce").astype("float64")
    if "cpu_mhz_source" in runs.columns:
        source = runs["cpu_mhz_source"].astype("string")
    else:
        source = pd.Series(pd.NA, index=runs.index, dtype="string")
    if {"cpu_mhz_before", "cpu_mhz_after"} <= set(runs.columns):
        before = pd.to_numeric(runs["cpu_mhz_before"], errors="coerce").astype("float64")
        after = pd.to_numeric(runs["cpu_mhz_after"], errors="coerce").astype("float64")
        fill = mhz.isna() & before.notna() & after.notna()
        mhz = mhz.where(~fill, (before + after) / 2)
        source = source.where(~fill, "manifest-before-after")
    mhz = mhz.where(mhz > 0)  # a zero or negative clock is unknown, not a divisor
    source = source.where(mhz.notna(), pd.NA)
    source = source.where(source.notna() | mhz.isna(), "unknown")
    return mhz / 1000.0, source.astype("string")


def _wide(measurements: pd.DataFrame) -> pd.DataFrame:
    m = measurements.dropna(subset=["run_id", "metric"])
    return m.pivot_table(index="run_id", columns="metric", values="value", aggfunc="mean", dropna=False)


def _per_ghz(wide: pd.DataFrame, runs: pd.DataFrame, ref: float | None) -> dict[str, pd.Series]:
    ghz = runs["cpu_ghz"]
    scale = 1.0 if ref is None else ref
    return {out: wide[raw] / ghz * scale for raw, out in PER_GHZ.items() if raw in wide.columns}


def _packets(wide: pd.DataFrame, runs: pd.DataFrame, ref: float | None) -> dict[str, pd.Series]:
    if "throughput_bps" not in wide.columns or "msg_size_bytes" not in runs.columns:
        return {}
    size = pd.to_numeric(runs["msg_size_bytes"], errors="coerce").astype("float64")
    size = size.where(size > 0)
    return {"packets_per_s": wide["throughput_bps"] / (8.0 * size)}


def _cycles(wide: pd.DataFrame, runs: pd.DataFrame, ref: float | None) -> dict[str, pd.Series]:
    if "n_cpus" in runs.columns:
        n_cpus = pd.to_numeric(runs["n_cpus"], errors="coerce").astype("float64")
    else:
        n_cpus = pd.Series(np.nan, index=runs.index)
    hz = runs["cpu_ghz"] * 1e9
    out = {}
    for name, (util, rate, bytes_per_unit) in CYCLES.items():
        if util in wide.columns and rate in wide.columns:
            denom = (wide[rate] * bytes_per_unit).where(wide[rate] > 0)
            out[name] = wide[util] / 100.0 * n_cpus * hz / denom
    return out


#: the normalization steps, applied in order; each returns metric -> per-run values (index run_id)
_STEPS: dict[str, Callable[[pd.DataFrame, pd.DataFrame, float | None], dict[str, pd.Series]]] = {
    "per_ghz": _per_ghz,
    "packets": _packets,
    "cycles": _cycles,
}


#: normalize() results by content key (the campaign's tables, reference_ghz); see analysis.memo
_NORMALIZE_MEMO = Memo("normalize", maxsize=8)


@memoizes(_NORMALIZE_MEMO)
def normalize(campaign: Campaign, *, reference_ghz: float | None = None) -> Campaign:
    """Add per-GHz rates, packets/s and cycles per byte / per transaction to a campaign.

    Parameters
    ----------
    campaign : Campaign
        As :func:`analysis.ingest.load_campaign` returns it.
    reference_ghz : float, optional
        Express per-GHz metrics "at this clock" (``value / cpu_ghz * reference_ghz``, in the raw metric's unit)
        instead of per GHz. Recorded in the runs column ``per_ghz_reference_ghz``.

    Returns
    -------
    Campaign
        A new campaign (the input is not modified) whose ``runs`` gain ``cpu_ghz`` (NaN when the clock is
        unknown), ``cpu_mhz_source`` and ``per_ghz_reference_ghz``, and whose ``measurements`` gain rows for the
        metrics in :data:`NORMALIZED_METRICS` (formulas in the module docstring) for every run that has the raw
        metrics they need; the value is NaN when the clock, ``n_cpus`` or the message size is unknown. Earlier
        normalized rows are replaced, so normalizing twice gives the same result.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.ingest import Campaign
    >>> runs = pd.DataFrame({"run_id": ["a"], "cpu_mhz": [2000.0], "msg_size_bytes": [1000]})
    >>> ms = pd.DataFrame({"run_id": ["a"], "metric": ["throughput_bps"], "value": [8e9]})
    >>> c = normalize(Campaign("x", runs, ms, pd.DataFrame(), pd.DataFrame()))
    >>> c.measurements.set_index("metric").loc[["throughput_bps_per_ghz", "packets_per_s"], "value"].tolist()
    [4000000000.0, 1000000.0]

    Notes
    -----
    Memoized by content (:mod:`analysis.memo`): a second call on equal tables returns an equal campaign of its own
    without recomputing.
    """
    ref = _normalize_iv(campaign, reference_ghz)
    key = content_key("normalize", campaign, ref)
    return isolated(_NORMALIZE_MEMO.get_or_compute(key, lambda: _normalize(campaign, ref)))


def _normalize(campaign: Campaign, ref: float | None) -> Campaign:
    """The normalization behind :func:`normalize`, on a validated reference clock."""
    runs = campaign.runs.copy()
    ghz, source = _effective_ghz(runs)
    runs["cpu_ghz"] = ghz.astype("float64")
    runs["cpu_mhz_source"] = source
    runs["per_ghz_reference_ghz"] = np.float64(np.nan if ref is None else ref)

    raw = campaign.measurements
    raw = raw[~raw["metric"].isin(NORMALIZED_METRICS)]
    wide = _wide(raw)
    by_run = runs.set_index("run_id")
    by_run = by_run[~by_run.index.isna()]
    wide = wide.reindex(by_run.index.union(wide.index))
    aligned = by_run.reindex(wide.index)

    new = []
    for step in _STEPS.values():
        for metric, values in step(wide, aligned, ref).items():
            # one row for every run that has the inputs' raw metric(s); NaN where a run-level input is missing
            needed = _inputs(metric)
            has_raw = wide[list(needed)].notna().all(axis=1) & wide.index.isin(by_run.index)
            v = values[has_raw]
            new.append(pd.DataFrame({"run_id": v.index, "metric": metric, "value": v.to_numpy(dtype="float64")}))
    measurements = pd.concat([raw, *new], ignore_index=True) if new else raw.copy()
    measurements = coerce_frame(measurements, MEASUREMENT_COLUMNS, name="measurements")
    measurements["value"] = measurements["value"].replace([np.inf, -np.inf], np.nan)
    summary = dict(campaign.summary)
    added = set(measurements["metric"].dropna()) & set(NORMALIZED_METRICS)
    summary["normalize"] = {"reference_ghz": ref, "metrics": sorted(added)}
    return dataclasses.replace(campaign, runs=runs, measurements=measurements, summary=summary)


def _inputs(metric: str) -> tuple[str, ...]:
    """The raw measurement metrics *metric* is computed from."""
    if metric in CYCLES:
        return CYCLES[metric][:2]
    if metric == "packets_per_s":
        return ("throughput_bps",)
    return (next(raw for raw, out in PER_GHZ.items() if out == metric),)


def _formula(metric: str, ref: float | None) -> str:
    if metric in CYCLES:
        return f"{metric}={_CYCLE_FORMULA[metric]}"
    if metric == "packets_per_s":
        return "packets_per_s=throughput_bps/(8*msg_size_bytes)"
    raw = _inputs(metric)[0]
    return f"{metric}={raw}/cpu_ghz" + ("" if ref is None else f"*{ref:g} (at {ref:g} GHz)")


def normalization_table(campaign: Campaign) -> pd.DataFrame:
    """Per run: the clock used, where it came from, ``n_cpus`` and the formulas applied (provenance).

    Works on a normalized campaign (the output of :func:`normalize`) or a raw one (then it describes what
    :func:`normalize` would do, per GHz without a reference clock).

    Returns
    -------
    DataFrame
        Columns ``run_id, pv_model, cpu_mhz, cpu_ghz, cpu_mhz_source, n_cpus, per_ghz_reference_ghz, formulas``
        (``;``-separated ``metric=formula`` for every normalized metric the run got a number for) and ``missing``
        (``;``-separated ``metric: reason`` for every normalized metric left NaN).
    """
    if "cpu_ghz" not in campaign.runs.columns:
        campaign = normalize(campaign)
    _normalize_iv(campaign, None)
    runs = campaign.runs
    ref_col = runs.get("per_ghz_reference_ghz", pd.Series(np.nan, index=runs.index))
    ref_values = pd.to_numeric(ref_col, errors="coerce").dropna().unique()
    ref = float(ref_values[0]) if len(ref_values) else None
    ms = campaign.measurements
    norm = ms[ms["metric"].isin(NORMALIZED_METRICS)]
    formulas: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    for run_id, metric, value in norm[["run_id", "metric", "value"]].itertuples(index=False):
        if pd.notna(value):
            formulas.setdefault(run_id, []).append(_formula(metric, ref))
        else:
            missing.setdefault(run_id, []).append(f"{metric}: {_why_missing(metric, runs, run_id)}")
    out = pd.DataFrame(
        {
            "run_id": runs["run_id"].astype("string"),
            "pv_model": runs["pv_model"].astype("string") if "pv_model" in runs else pd.NA,
            "cpu_mhz": pd.to_numeric(runs["cpu_mhz"], errors="coerce").astype("float64"),
            "cpu_ghz": runs["cpu_ghz"].astype("float64"),
            "cpu_mhz_source": runs["cpu_mhz_source"].astype("string"),
            "n_cpus": runs["n_cpus"].astype("Int64") if "n_cpus" in runs else pd.array([pd.NA] * len(runs), "Int64"),
            "per_ghz_reference_ghz": pd.to_numeric(ref_col, errors="coerce").astype("float64"),
        }
    )
    out["formulas"] = pd.array(["; ".join(formulas.get(r, [])) for r in out["run_id"]], dtype="string")
    out["missing"] = pd.array(["; ".join(missing.get(r, [])) for r in out["run_id"]], dtype="string")
    return out.reset_index(drop=True)


def _why_missing(metric: str, runs: pd.DataFrame, run_id: str) -> str:
    row = runs.loc[runs["run_id"] == run_id]
    if row.empty:
        return "run not in the runs table"
    row = row.iloc[0]
    reasons = []
    if metric != "packets_per_s" and pd.isna(row.get("cpu_ghz")):
        reasons.append("no CPU frequency")
    if metric in CYCLES and pd.isna(row.get("n_cpus")):
        reasons.append("n_cpus unknown")
    if metric == "packets_per_s" and (pd.isna(row.get("msg_size_bytes")) or not row.get("msg_size_bytes")):
        reasons.append("message size unknown")
    return ", ".join(reasons) or "zero or invalid rate"
