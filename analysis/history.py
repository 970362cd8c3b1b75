"""History across campaigns: per cell and metric, the candidate/baseline effect over versions, its change points,
and the verdict over time ("slower until 6.1.25; equivalent within ±5 % from version 6.1.25 on").

Each campaign of an archive (:mod:`analysis.archive`) is compared on its own by :func:`analysis.compare.compare`
(same margin, alpha and seed everywhere); only compare's public result is used: per row the ``by`` keys it
reports (``result.by``), ``cell``, ``metric``, ``estimate``, ``ci_low``, ``ci_high`` and ``verdict``. The campaigns
are put in order by an ordering key of the campaigns table (``guest_kernel``, ``host_kernel``, ``qemu_version``,
any manifest column constant within a campaign, or ``date``); versions sort as versions (:func:`version_key`:
6.1.9 < 6.1.10 < 6.1.10-rc1 is not assumed; digits compare as numbers, the rest as text). Each (cell, metric) gives
a series of ratios; change points are found along it, the series is cut into segments there, and each segment
gets the verdict most of its campaigns got.

Change-point detector: Apache Otava
-----------------------------------
Two existing E-divisive implementations were evaluated:

* **Apache Otava** (``apache-otava``, the former DataStax Hunter; Fleming et al., ICPE 2023,
  doi:10.1145/3578244.3583719): E-divisive means whose significance step is a two-sample t-test instead of
  permutations, over sliding windows, followed by a merge step that drops the weakest points until all are
  significant. *Determinism*: no randomness at all, so the same series gives the same change points without a seed.
  *Small series*: built for it ("works well even with tiny numbers of points"). On series of per-campaign
  ratios (40 and 200 points, 2-5 runs per model, tests/validity/test_history_validity.py) with a 0.80 -> 1.00
  step it finds the step within ±1 version in 49-50 of 50 seeds; on flat series its default-like threshold
  ``max_pvalue = 0.001`` gives a false change in 2-5 of 50 (up to 10 %: its sliding windows test many splits),
  so the default here is ``1e-4``: 0 of 50 false changes, the step still found in 49-50 of 50. 150 series of
  40 points take well under a second. *Dependencies*: heavy for what is used: the wheel requires google-cloud-bigquery, pg8000,
  slack-sdk, grpcio (its data sources and notifiers) and pins ``numpy==2.2.*`` and ``scipy<1.17``, which pip
  resolves against pandas 3 / numba here; only ``otava.analysis`` (numpy and scipy) is imported.
* **MongoDB signal-processing-algorithms** (``signal-processing-algorithms``): E-divisive with a permutation test.
  *Determinism*: the permutations draw from NumPy's global ``np.random.shuffle``, so results change from run to
  run unless the global state is seeded (which would reach into every other caller's random stream).
  *Dependencies*: requires ``numpy<2`` (incompatible with pandas 3, which needs numpy >= 2.0.2), pins setuptools
  < 71 and Python ~3.11, pulls gevent, and ships as an sdist with a C extension to compile. *Small series*:
  the permutation p-value has a floor of 1/(permutations + 1) and power drops with 10-20 points.

Otava is chosen: deterministic, meant for short performance series, and installable beside this stack. A change
point's ``pvalue`` is Otava's t-test p-value of the two segments it separates.

A single model's series can be followed alone (:func:`model_history`): per campaign and cell, the geometric mean
of that model's runs with a t interval on the log scale, and the change points of that series.

Over a large archive the comparisons fan out one task per campaign on a Dask client (``client=``), the same
distributed client ``pvfair report`` uses; the detection per series is cheap and runs where the client runs.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.vocabulary import VERDICTS, verdict_label

__all__ = [
    "version_key",
    "order_campaigns",
    "ChangePoint",
    "detect_changes",
    "campaign_effects",
    "HistoryResult",
    "history",
    "model_history",
    "format_history",
    "run_history_report",
    "HISTORY_NOTEBOOK",
    "cli_arguments",
    "cli_run",
]

#: the notebook ``pvfair history`` runs
HISTORY_NOTEBOOK = "07_history"
#: ordering-key aliases: a name users say -> the campaigns-table column
ORDER_ALIASES: dict[str, str] = {"date": "first_start_utc"}
_TOKEN = re.compile(r"(\d+)")


def version_key(value: Any) -> tuple:
    """A sort key under which versions sort as versions: runs of digits compare as numbers, the rest as text.

    >>> sorted(["6.1.10", "6.1.9", "6.1.0-13-amd64", "6.1.0-9-amd64"], key=version_key)
    ['6.1.0-9-amd64', '6.1.0-13-amd64', '6.1.9', '6.1.10']
    """
    if isinstance(value, pd.Timestamp | np.datetime64):
        return ((0, pd.Timestamp(value).value, ""),)
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return ((0, float(value), ""),)
    parts = _TOKEN.split(str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def order_campaigns(campaigns: pd.DataFrame, order_by: str | Sequence[str]) -> pd.DataFrame:
    """The campaigns table sorted by *order_by* (then by name), with an ``order_value`` text column.

    Raises ``ValueError`` naming the key and the campaigns that lack it, or the columns there are.
    """
    keys = [order_by] if isinstance(order_by, str) else list(order_by)
    if not keys:
        raise ValueError("order_by: expected at least one ordering key, e.g. guest_kernel or date")
    cols = [ORDER_ALIASES.get(k, k) for k in keys]
    for key, col in zip(keys, cols, strict=True):
        if col not in campaigns.columns:
            known = sorted(set(campaigns.columns) - {"campaign", "ingest_summary", "content_sha256"})
            raise ValueError(f"order_by: {key!r} is not a campaign-level column of the archive (a column must have "
                             f"one value per campaign); expected one of {known + ['date']}")
        missing = campaigns.loc[campaigns[col].isna(), "campaign"].tolist()
        if missing:
            raise ValueError(f"order_by: campaign(s) {missing[:5]} have no single value of {key!r} (missing, or "
                             "different values within the campaign); give another key or fix their manifests")
    frame = campaigns.copy()
    frame["_key"] = [tuple(version_key(v) for v in row) + (version_key(n),)
                     for row, n in zip(frame[cols].itertuples(index=False), frame["campaign"], strict=True)]
    frame = frame.sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)
    frame["order_value"] = [" / ".join(str(v) for v in row) for row in frame[cols].itertuples(index=False)]
    return frame


# ------------------------------------------------------------------------------------------------ change points


@dataclass(frozen=True)
class ChangePoint:
    """A change along a series: ``index`` is the position of the first point after it.

    ``mean_before`` / ``mean_after`` are the means of the segments on either side (between neighbouring change
    points); ``pvalue`` is the detector's t-test p-value of that split.
    """

    index: int
    mean_before: float
    mean_after: float
    pvalue: float


def detect_changes(values: Sequence[float], *, max_pvalue: float = 1e-4, min_change: float = 0.0,
                   window: int = 50) -> tuple[ChangePoint, ...]:
    """Change points of a series with Apache Otava's E-divisive (t-test significance, deterministic).

    Parameters
    ----------
    values : the series in order (NaN points are dropped; indices refer to the finite points)
    max_pvalue : significance threshold of a change point
    min_change : smallest relative change of the segment means kept (0: keep every significant one)
    window : Otava's sliding-window length in points
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"values: expected a one-dimensional series, got shape {x.shape}")
    if not 0 < max_pvalue < 1:
        raise ValueError(f"max_pvalue: expected a probability in (0, 1), got {max_pvalue!r}")
    x = x[np.isfinite(x)]
    if len(x) < 4:
        return ()
    from otava.analysis import compute_change_points

    # a list, not an array: Otava slices its windows only from a sequence that is not an ndarray
    points, _ = compute_change_points([float(v) for v in x], window_len=max(int(window), 4),
                                      max_pvalue=max_pvalue, min_magnitude=min_change)
    return tuple(ChangePoint(int(c.index), float(c.stats.mean_1), float(c.stats.mean_2), float(c.stats.pvalue))
                 for c in sorted(points, key=lambda c: c.index))


# ------------------------------------------------------------------------------------------ effects per campaign


def campaign_effects(archive: str | Path, name: str, *, baseline: str, candidate: str,
                     metrics: Sequence[str] | None = None, margin: float = 0.05, alpha: float = 0.05,
                     n_resamples: int = 9999, seed: int = 0) -> tuple[pd.DataFrame, tuple[str, ...], str | None]:
    """One campaign of the archive compared: (rows of compare's table, compare's ``by`` keys, note or None).

    A campaign that lacks a model or a metric is not an error of the history: it gives no rows and a note.
    """
    from analysis.archive import load_campaign
    from analysis.compare import compare

    campaign = load_campaign(archive, name)
    models = set(campaign.runs["pv_model"].dropna().astype(str))
    lacking = [m for m in (baseline, candidate) if m not in models]
    if lacking:
        return pd.DataFrame(), (), f"campaign {name}: no runs of {lacking}; it has {sorted(models)}"
    try:
        result = compare(campaign, baseline=baseline, candidate=candidate, metrics=metrics, margin=margin,
                         alpha=alpha, n_resamples=n_resamples, rng=seed)
    except ValueError as exc:
        return pd.DataFrame(), (), f"campaign {name}: not compared: {exc}"
    by = tuple(result.by)
    cols = [*by, "cell", "metric", "n_baseline", "n_candidate", "estimate", "ci_low", "ci_high", "verdict"]
    table = result.to_frame().reindex(columns=cols)
    table.insert(0, "campaign", name)
    return table, by, None


# ------------------------------------------------------------------------------------------------------- result


@dataclass(frozen=True)
class HistoryResult:
    """The history of every (cell, metric) series across the ordered campaigns.

    Attributes
    ----------
    effects : one row per campaign, cell and metric: ``campaign``, ``position`` (0-based rank in the order),
        ``order_value``, the ``by`` keys, ``cell``, ``metric``, ``n_baseline``, ``n_candidate``, ``estimate``,
        ``ci_low``, ``ci_high``, ``verdict`` (compare's)
    changes : one row per change point: ``cell``, ``metric``, ``position``, ``version`` (the first after the
        change), ``previous_version``, ``ratio_before``, ``ratio_after``, ``pvalue``
    segments : one row per segment of a series: ``cell``, ``metric``, ``segment``, ``from_version``,
        ``to_version``, ``n_campaigns``, ``ratio`` (geometric mean), ``verdict`` (most common), ``verdict_share``
    statements : one row per series: ``cell``, ``metric``, ``statement`` (the verdict over time)
    by, order_by, baseline, candidate, margin, alpha, max_pvalue : as given / as compare reported them
    notes : campaigns skipped and why
    """

    effects: pd.DataFrame
    changes: pd.DataFrame
    segments: pd.DataFrame
    statements: pd.DataFrame
    by: tuple[str, ...]
    order_by: tuple[str, ...]
    baseline: str | None
    candidate: str | None
    margin: float
    alpha: float
    max_pvalue: float
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The effects table (one row per campaign, cell and metric)."""
        return self.effects.copy()

    def summary(self) -> str:
        return format_history(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        items = "".join(f"<li><b>{html.escape(str(r.cell))}</b>, {html.escape(str(r.metric))}: "
                        f"{html.escape(str(r.statement))}</li>" for r in self.statements.itertuples())
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"<ul>{items}</ul>" + (f"<p>Notes</p><ol>{notes}</ol>" if notes else "")


def _mode_verdict(verdicts: pd.Series) -> tuple[str, float]:
    counts = verdicts.value_counts()
    if counts.empty:
        return "inconclusive", 0.0
    top = counts.max()
    best = [v for v in VERDICTS if counts.get(v, 0) == top] or [counts.idxmax()]
    return best[0], float(top / counts.sum())


def _geomean(x: pd.Series) -> float:
    x = x[np.isfinite(x) & (x > 0)]
    return float(np.exp(np.log(x).mean())) if len(x) else float("nan")


def _series_changes(series: pd.DataFrame, value: str, max_pvalue: float, min_change: float) -> list[dict]:
    finite = series[np.isfinite(series[value])].reset_index(drop=True)
    rows = []
    for cp in detect_changes(finite[value].to_numpy(), max_pvalue=max_pvalue, min_change=min_change):
        rows.append({"position": int(finite["position"].iloc[cp.index]),
                     "version": finite["order_value"].iloc[cp.index],
                     "previous_version": finite["order_value"].iloc[cp.index - 1],
                     "ratio_before": cp.mean_before, "ratio_after": cp.mean_after, "pvalue": cp.pvalue})
    return rows


def _segments(series: pd.DataFrame, cuts: list[int], margin: float) -> list[dict]:
    bounds = [series["position"].min(), *cuts, series["position"].max() + 1]
    rows = []
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        seg = series[(series["position"] >= lo) & (series["position"] < hi)]
        if seg.empty:
            continue
        v, share = _mode_verdict(seg["verdict"]) if "verdict" in seg else ("", 0.0)
        rows.append({"segment": k, "from_version": seg["order_value"].iloc[0],
                     "to_version": seg["order_value"].iloc[-1], "n_campaigns": int(seg["campaign"].nunique()),
                     "ratio": _geomean(seg["estimate"]), "verdict": v, "verdict_share": share,
                     "label": verdict_label(v, margin) if v else ""})
    return rows


def _statement(segs: list[dict], changes: list[dict]) -> str:
    """'slower until X; equivalent within ±5 % from version X on (ratio 0.80 -> 1.00 at X)'."""
    if not segs:
        return "no comparable campaign"
    if len(segs) == 1:
        s = segs[0]
        return f"{s['label']} in every version from {s['from_version']} to {s['to_version']} (no change point)"
    parts = [f"{segs[0]['label']} until {segs[1]['from_version']}"]
    for s, nxt in zip(segs[1:-1], segs[2:], strict=True):
        parts.append(f"{s['label']} from version {s['from_version']} until {nxt['from_version']}")
    parts.append(f"{segs[-1]['label']} from version {segs[-1]['from_version']} on")
    steps = ", ".join(f"{c['ratio_before']:.2f} -> {c['ratio_after']:.2f} at {c['version']}" for c in changes)
    return "; ".join(parts) + f" (ratio {steps})"


def _analyse_series(effects: pd.DataFrame, margin: float, max_pvalue: float, min_change: float):
    changes, segments, statements = [], [], []
    for (cell, metric), series in effects.groupby(["cell", "metric"], sort=False):
        series = series.sort_values("position")
        ch = _series_changes(series, "estimate", max_pvalue, min_change)
        segs = _segments(series, [c["position"] for c in ch], margin)
        changes += [{"cell": cell, "metric": metric, **c} for c in ch]
        segments += [{"cell": cell, "metric": metric, **s} for s in segs]
        statements.append({"cell": cell, "metric": metric, "statement": _statement(segs, ch)})
    return (pd.DataFrame(changes, columns=["cell", "metric", "position", "version", "previous_version",
                                           "ratio_before", "ratio_after", "pvalue"]),
            pd.DataFrame(segments, columns=["cell", "metric", "segment", "from_version", "to_version",
                                            "n_campaigns", "ratio", "verdict", "verdict_share", "label"]),
            pd.DataFrame(statements, columns=["cell", "metric", "statement"]))


# ------------------------------------------------------------------------------------------------ the histories


def _history_iv(archive, order_by, margin, alpha, max_pvalue):
    from analysis.archive import list_campaigns

    campaigns = list_campaigns(archive)
    if campaigns.empty:
        raise ValueError(f"archive: {str(archive)!r} holds no campaign; add some with pvfair archive add")
    if not 0 < margin < 1:
        raise ValueError(f"margin: expected a fraction in (0, 1), e.g. 0.05, got {margin!r}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha: expected a level in (0, 0.5), got {alpha!r}")
    if not 0 < max_pvalue < 1:
        raise ValueError(f"max_pvalue: expected a probability in (0, 1), got {max_pvalue!r}")
    ordered = order_campaigns(campaigns, order_by)
    return ordered, tuple([order_by] if isinstance(order_by, str) else order_by)


def _compare_all(archive, names, client, progress, kwargs):
    from tqdm.auto import tqdm

    if client is None:
        return [campaign_effects(archive, n, **kwargs)
                for n in tqdm(names, desc="history", unit="campaign", disable=not progress)]
    from distributed import as_completed

    futures = client.map(campaign_effects, [str(archive)] * len(names), names, pure=False, **kwargs)
    index = {f.key: i for i, f in enumerate(futures)}
    out: list[Any] = [None] * len(names)
    for fut in tqdm(as_completed(futures), total=len(futures), desc="history", unit="campaign",
                    disable=not progress):
        out[index[fut.key]] = fut.result()
    return out


def history(archive: str | Path, *, baseline: str, candidate: str, order_by: str | Sequence[str] = "guest_kernel",
            metrics: Sequence[str] | None = None, margin: float = 0.05, alpha: float = 0.05,
            n_resamples: int = 9999, seed: int = 0, max_pvalue: float = 1e-4, min_change: float = 0.0,
            client=None, progress: bool = False) -> HistoryResult:
    """Compare every campaign of *archive*, order them by *order_by*, and find the changes per cell and metric.

    Parameters
    ----------
    archive : the archive folder (:mod:`analysis.archive`)
    baseline, candidate : the PV models; campaigns lacking either are skipped with a note
    order_by : campaigns-table column(s) to order by (versions sort as versions); ``date``: first run's start
    metrics, margin, alpha, n_resamples, seed : passed to :func:`analysis.compare.compare` for every campaign
    max_pvalue, min_change : of the change-point detector (:func:`detect_changes`)
    client : a ``distributed.Client``: one task per campaign on it; None: in this process
    progress : a progress bar over the campaigns
    """
    ordered, order_keys = _history_iv(archive, order_by, margin, alpha, max_pvalue)
    kwargs = {"baseline": baseline, "candidate": candidate, "metrics": list(metrics) if metrics else None,
              "margin": margin, "alpha": alpha, "n_resamples": n_resamples, "seed": seed}
    outcomes = _compare_all(archive, ordered["campaign"].tolist(), client, progress, kwargs)
    frames, notes, by = [], [], ()
    for pos, (table, b, note) in enumerate(outcomes):
        if note:
            notes.append(note)
            continue
        by = by or b
        table.insert(1, "position", pos)
        table.insert(2, "order_value", ordered["order_value"].iloc[pos])
        frames.append(table)
    if not frames:
        raise ValueError(f"baseline/candidate: no campaign of {str(archive)!r} has runs of both {baseline!r} and "
                         f"{candidate!r}: " + "; ".join(notes[:3]))
    effects = pd.concat(frames, ignore_index=True)
    changes, segments, statements = _analyse_series(effects, margin, max_pvalue, min_change)
    return HistoryResult(effects, changes, segments, statements, by, order_keys, baseline, candidate, margin,
                         alpha, max_pvalue, tuple(notes))


def _model_cells(runs: pd.DataFrame, meas: pd.DataFrame, model: str, metric: str, by: Sequence[str]):
    from scipy import stats

    merged = runs.loc[runs["pv_model"] == model, ["run_id", *by]].merge(
        meas.loc[meas["metric"] == metric, ["run_id", "value"]], on="run_id")
    merged = merged[merged["value"] > 0]
    rows = []
    for keys, grp in merged.groupby(list(by), dropna=False, sort=True):
        logs = np.log(grp["value"].to_numpy(dtype=float))
        n = len(logs)
        centre = logs.mean()
        half = stats.t.ppf(0.975, n - 1) * logs.std(ddof=1) / math.sqrt(n) if n > 1 else float("nan")
        keys = keys if isinstance(keys, tuple) else (keys,)
        rows.append({**dict(zip(by, keys, strict=True)), "n": n, "estimate": math.exp(centre),
                     "ci_low": math.exp(centre - half), "ci_high": math.exp(centre + half)})
    return rows


def model_history(archive: str | Path, *, model: str, metric: str, order_by: str | Sequence[str] = "guest_kernel",
                  by: Sequence[str] | None = None, max_pvalue: float = 1e-4, min_change: float = 0.0
                  ) -> HistoryResult:
    """One model followed alone (e.g. virtio-net throughput over kernels): per campaign and cell the geometric
    mean of its runs with a 95 % t interval on the log scale, and the change points of each cell's series.

    ``by`` defaults to :data:`analysis.vocabulary.CELL_KEY`; ``verdict`` is empty (nothing is compared).
    """
    from analysis.archive import load_campaign
    from analysis.vocabulary import CELL_KEY

    ordered, order_keys = _history_iv(archive, order_by, 0.05, 0.05, max_pvalue)
    keys = tuple(by or CELL_KEY)
    rows = []
    for pos, (name, value) in enumerate(zip(ordered["campaign"], ordered["order_value"], strict=True)):
        c = load_campaign(archive, name)
        for r in _model_cells(c.runs, c.measurements, model, metric, keys):
            cell = " ".join(str(r[k]) for k in keys)
            rows.append({"campaign": name, "position": pos, "order_value": value, **r, "cell": cell,
                         "metric": metric})
    if not rows:
        raise ValueError(f"model/metric: no campaign of {str(archive)!r} has {metric!r} runs of {model!r}")
    effects = pd.DataFrame(rows)
    changes, segments, _ = _analyse_series(effects.assign(verdict=""), 0.05, max_pvalue, min_change)
    statements = pd.DataFrame(
        [{"cell": cell, "metric": metric,
          "statement": "; ".join(f"{c.ratio_before:.4g} -> {c.ratio_after:.4g} at {c.version}"
                                 for c in grp.itertuples()) or "no change point"}
         for cell, grp in changes.groupby("cell")] if len(changes) else [],
        columns=["cell", "metric", "statement"])
    return HistoryResult(effects, changes, segments.drop(columns=["verdict", "verdict_share", "label"]),
                         statements, keys, order_keys, None, model, float("nan"), float("nan"), max_pvalue)


def format_history(result: HistoryResult) -> str:
    """The verdict over time of every series, then the change points, as text."""
    who = (f"{result.candidate} vs {result.baseline}" if result.baseline else f"{result.candidate} alone")
    lines = [f"history: {who}, {result.effects['campaign'].nunique()} campaigns ordered by "
             f"{', '.join(result.order_by)}, {len(result.statements)} series, {len(result.changes)} change points"]
    for r in result.statements.itertuples():
        lines.append(f"  {r.cell} | {r.metric}: {r.statement}")
    lines += [f"  note {i}: {n}" for i, n in enumerate(result.notes, 1)]
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- the report and the CLI


def run_history_report(archive: str | Path, *, out_dir: str | Path = "reports", parameters: dict | None = None,
                       pdf: bool = True, kernel_name: str = "python3", notebook_dir: str | Path | None = None,
                       progress: bool = True):
    """Run ``07_history`` on *archive* through the report machinery: executed notebook, HTML, ``summary.pdf``
    and ``provenance.json`` (inputs: the archive's files) in ``<out_dir>/history-<archive name>/``; the index
    ``<out_dir>/index.html`` links it. Unknown parameters are refused. Returns the report folder."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from analysis.export import export_html, export_pdf, write_index
    from analysis.parameters import notebook_parameters, parse_parameter
    from analysis.provenance import provenance
    from analysis.runner import NOTEBOOK_DIR, ReportError

    root = Path(archive).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"archive: {str(archive)!r} does not exist; expected an archive folder")
    nb_dir = Path(notebook_dir) if notebook_dir else NOTEBOOK_DIR
    src = nb_dir / f"{HISTORY_NOTEBOOK}.ipynb"
    spec = notebook_parameters(src)
    typed = {}
    for key, value in (parameters or {}).items():
        if key in ("archive", "output_dir"):
            raise ValueError(f"parameter {key!r} is set by the wrapper (the ARCHIVE argument and --out)")
        if key not in spec:
            raise ValueError(f"parameter {key!r}: unknown; {HISTORY_NOTEBOOK} defines {sorted(spec)}")
        typed[key] = parse_parameter(key, value, spec[key]["type"]) if isinstance(value, str) else value
    out = Path(out_dir).resolve() / f"history-{root.name}"
    tables = out / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    params = {"archive": str(root), "output_dir": str(tables), **typed}
    prov = out / "provenance.json"

    def write_prov(status: str, **extra: Any) -> None:
        record = provenance(root, params, status=status, notebooks=[HISTORY_NOTEBOOK], **extra)
        # the inputs are the partitions' files (not the writers' lock or a killed add's leftovers)
        record["inputs_sha256"] = {k: v for k, v in record["inputs_sha256"].items() if k.startswith("campaign=")}
        prov.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")

    write_prov("running")
    dst = out / f"{HISTORY_NOTEBOOK}.ipynb"
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(src), str(dst), parameters=params, kernel_name=kernel_name, cwd=str(nb_dir),
                            progress_bar=progress)
    except PapermillExecutionError as exc:
        write_prov("failed", error=f"{exc.ename}: {exc.evalue}")
        raise ReportError(f"notebook {HISTORY_NOTEBOOK}.ipynb failed in cell {exc.cell_index}: "
                          f"{exc.ename}: {exc.evalue}; partial executed notebook kept at {dst}") from exc
    export_html(dst, out / f"{HISTORY_NOTEBOOK}.html")
    if pdf:
        export_pdf(dst, out / "summary.pdf")
    write_prov("complete", seconds={HISTORY_NOTEBOOK: time.perf_counter() - t0})
    write_index(Path(out_dir).resolve())
    return out


def cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair history``."""
    parser.add_argument("archive", metavar="ARCHIVE", help="archive folder (pvfair archive add)")
    parser.add_argument("--baseline", required=True, help="baseline PV model")
    parser.add_argument("--candidate", required=True, help="candidate PV model")
    parser.add_argument("--order-by", default="guest_kernel",
                        help="campaign ordering key(s), comma-separated: guest_kernel, host_kernel, date, any "
                        "manifest column (default: guest_kernel)")
    parser.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                        help="notebook parameter, e.g. -p margin=0.05 -p metrics=throughput_bps (repeatable)")
    parser.add_argument("--out", default="reports", help="reports folder (default: reports)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF export")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def cli_run(args: argparse.Namespace) -> int:
    """Run ``pvfair history``; exit status 0 on success, 1 when the notebook or export failed."""
    from analysis.parameters import split_assignments
    from analysis.runner import ReportError

    params = split_assignments(args.parameter)
    params.update({"baseline": args.baseline, "candidate": args.candidate, "order_by": args.order_by})
    try:
        out = run_history_report(args.archive, out_dir=args.out, parameters=params, pdf=not args.no_pdf,
                                 progress=not args.quiet)
    except ReportError as exc:
        print(f"pvfair history: error: {exc}", file=sys.stderr)
        return 1
    print(f"history report: {out}" + ("" if args.no_pdf else f" (PDF: {out / 'summary.pdf'})"))
    return 0
