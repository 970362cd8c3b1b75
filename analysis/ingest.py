"""Ingest: raw campaign folder (tool output + manifest.csv) -> tidy, validated tables.

``data/raw/<campaign>/`` holds the tools' raw output and a ``manifest.csv`` (:mod:`analysis.manifest`). Ingest
reads every file once, hashes it (sha256), parses it (:mod:`analysis.parsers`), reconciles it with its manifest row
and yields four tables (:mod:`analysis.schema`): ``runs``, ``measurements``, ``intervals`` and ``rejects``.

Accounting: an *item* is every file in the folder (except the control files ``manifest.csv`` and
``.pvfairignore``; hidden directories are not entered) plus every manifest row that names something which is not
such a file (a missing file, an unsafe path, an empty ``file`` cell). Each item ends as exactly one run, one reject
or one *ignored file*, so ``files_seen == ingested + rejected + ignored`` always (checked in code; ``seen`` counts
the run candidates, ``ingested + rejected``). A reject's ``source_file`` is the campaign-relative path (or the path
as written for an unsafe one, or ``manifest.csv:<line>`` for a row without a path).

Ignored files (table ``ignored``: ``path, reason``) are not runs: names that are never runs (README*, metadata*,
hidden files: :data:`analysis.manifest.IGNORED_FILES`) unless a manifest row names them, paths the campaign's
``.pvfairignore`` matches (even when a manifest row names them: excluded on purpose), and files that no manifest
row names and no parser recognizes (logs, scripts, images). A file a parser *does* recognize but no row names is a
lost run: a ``no_manifest_row`` reject. A row marked ``status=failed`` or ``exclude=true`` is a reject
(``marked_failed`` / ``excluded_in_manifest``) without its file being parsed.

``run_id`` is the file's posix path relative to the campaign folder; tables are sorted by run_id (then metric for
measurements; intervals keep file order), so ingesting the same folder twice gives identical tables.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import html
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from analysis import parsers
from analysis.manifest import (
    MANIFEST_NAME,
    ManifestResult,
    ManifestRow,
    UnsafePathError,
    effective_cpu_mhz,
    read_manifest,
    reconcile,
    resolve_inside,
    scan_campaign,
)
from analysis.memo import Memo, content_key, isolated, memoizes
from analysis.schema import (
    IGNORED_COLUMNS,
    INTERVAL_COLUMNS,
    MEASUREMENT_COLUMNS,
    REJECT_COLUMNS,
    RUN_COLUMNS,
    coerce_frame,
    empty_frame,
)

__all__ = [
    "Campaign",
    "TABLE_FILES",
    "ingest_campaign",
    "load_campaign",
    "write_campaign",
    "default_out_dir",
    "format_ingest_summary",
    "default_baseline",
    "cli_arguments",
    "cli_run",
]

#: table name -> (Parquet file name, schema columns)
TABLE_FILES: dict[str, tuple[str, dict[str, str]]] = {
    "runs": ("runs.parquet", RUN_COLUMNS),
    "measurements": ("measurements.parquet", MEASUREMENT_COLUMNS),
    "intervals": ("intervals.parquet", INTERVAL_COLUMNS),
    "rejects": ("rejects.parquet", REJECT_COLUMNS),
    "ignored": ("ignored.parquet", IGNORED_COLUMNS),
}
#: tables a processed folder written before they existed may lack (read as empty)
_OPTIONAL_TABLES = frozenset({"ignored"})
SUMMARY_FILE = "ingest_summary.json"


@dataclass(frozen=True)
class Campaign:
    """One campaign's tables, as every later stage takes them.

    Attributes
    ----------
    name : campaign name (the raw folder's name)
    root : the raw campaign folder (``data/raw/<name>``), or None for a campaign built in memory
    runs, measurements, intervals, rejects : DataFrames with :mod:`analysis.schema` columns and dtypes
    summary : the ingest summary (files seen / ingested / rejected by reason / ignored)
    ignored : files that are not runs (``path, reason``), see the module docstring
    """

    name: str
    runs: pd.DataFrame
    measurements: pd.DataFrame
    intervals: pd.DataFrame
    rejects: pd.DataFrame
    root: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    ignored: pd.DataFrame = field(default_factory=lambda: empty_frame(IGNORED_COLUMNS))

    def __repr__(self) -> str:
        return (f"Campaign(name={self.name!r}, runs={len(self.runs)}, measurements={len(self.measurements)}, "
                f"intervals={len(self.intervals)}, rejects={len(self.rejects)}, ignored={len(self.ignored)}, "
                f"root={self.root!r})")

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(format_ingest_summary(self))}</pre>"


# ------------------------------------------------------------------------------------------- the baseline


def default_baseline(campaign: Campaign, models: Sequence[str]) -> str:
    """The baseline PV model among *models* (models of *campaign*) when none is named: the one rule for every stage.

    The first of these that decides:

    1. the model a manifest ``role`` column marks ``baseline`` (the first so marked, in manifest order);
    2. the model of the manifest's first row;
    3. the model of the earliest run (``order_index``, else ``start_time``), for a campaign without its manifest
       (an archive's, one built in memory);
    4. the first in sorted order.

    Whoever wrote the manifest put the reference first, so its first row is the natural default; the role column
    says it outright. :func:`analysis.audit.audit` and the notebooks' :func:`analysis.notebook.infer_models` both
    call this, so they cannot disagree.

    >>> runs = pd.DataFrame({"pv_model": ["venet", "virtio"], "order_index": [2, 1]})
    >>> default_baseline(Campaign("c", runs, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()), ["venet", "virtio"])
    'virtio'
    """
    names = [str(m) for m in models]
    if not names:
        raise ValueError("models: expected at least one PV model")
    manifest = _manifest_models(campaign.root)
    tables = [t for t in (manifest, campaign.runs) if t is not None and "pv_model" in t.columns]
    for table in tables:
        if "role" in table.columns:
            role = table["role"].astype("string").str.strip().str.lower()
            marked = [m for m in table.loc[role.eq("baseline").fillna(False), "pv_model"] if m in names]
            if marked:
                return marked[0]
    if manifest is not None:
        first = [m for m in manifest["pv_model"] if m in names]
        if first:
            return first[0]
    runs = campaign.runs
    for col in ("order_index", "start_time"):
        if col in runs.columns and runs[col].notna().any():
            when = (pd.to_numeric(runs[col], errors="coerce") if col == "order_index"
                    else pd.to_datetime(runs[col], utc=True))
            ordered = runs.loc[when.sort_values(kind="stable").dropna().index, "pv_model"].astype(str)
            first = [m for m in ordered if m in names]
            if first:
                return first[0]
    return sorted(names)[0]


def _manifest_models(root: Path | None) -> pd.DataFrame | None:
    """The manifest's ``pv_model`` (and ``role``) columns as text, in row order; None without a manifest."""
    path = None if root is None else Path(root) / MANIFEST_NAME
    if path is None or not path.is_file():
        return None
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "pv_model" not in manifest.columns:
        return None
    cols = [c for c in ("pv_model", "role") if c in manifest.columns]
    out = manifest[cols].apply(lambda s: s.str.strip())
    return out[out["pv_model"] != ""].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------- one file


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one item became: a run (with its measurements and intervals) or a reject."""

    source_file: str
    run: dict[str, Any] | None = None
    measurements: tuple[tuple[str, float], ...] = ()
    intervals: tuple[parsers.IntervalSample, ...] = ()
    reject: tuple[str, str] | None = None
    ignored: str | None = None  # why the file is not a run


def _decode(raw: bytes, run_id: str) -> str:
    """As :func:`analysis.parsers.read_text`, on bytes already read (each file is read once, for hash and parse)."""
    try:  # the C UTF-8 codec, then the BOM by hand: what the (Python-level) utf-8-sig codec returns, faster
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("utf-8-sig")  # fails the same way; its error position is the one reported
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise parsers.ParseError(run_id, line, "UTF-8 text", found=f"byte 0x{raw[exc.start]:02x}") from None
    if text[:1] == "\ufeff":
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _ingest_one(root: str, campaign: str, run_id: str, row: ManifestRow, regular: bool) -> _Outcome:
    """Read, hash, parse and reconcile one manifest-named file. Never opens anything outside *root*.

    *regular*: the scan found *run_id* as a regular file reached through no symlink, so it is read as is;
    otherwise its real path is checked (:func:`analysis.manifest.resolve_inside`) first.
    """
    where = f"{MANIFEST_NAME} line {row.line}"
    if regular:
        real = os.path.join(root, run_id)
    else:
        try:
            real = resolve_inside(root, run_id)
        except UnsafePathError as exc:
            return _Outcome(run_id, reject=("unsafe_path", f"{where}: {exc}"))
        if not real.is_file():
            what = "is a directory" if real.is_dir() else "does not exist in the campaign folder"
            return _Outcome(run_id, reject=("missing_file", f"{where} names {row.file.strip()!r}, which {what}"))
    try:
        with open(real, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return _Outcome(run_id, reject=("parse_error", f"{run_id}: expected a readable file, found "
                                                       f"{exc.strerror or type(exc).__name__}"))
    sha = hashlib.sha256(raw).hexdigest()
    values = row.values
    tool = values.get("tool")
    try:
        text = _decode(raw, run_id)
        if tool is None:
            try:
                tool = parsers.detect_tool(text, run_id)
            except parsers.ParseError as exc:
                return _Outcome(run_id, reject=("unknown_tool" if exc.reason == "parse_error" else exc.reason,
                                                str(exc)))
        parsed = parsers.parse_text(text, run_id, tool, test=values.get("test"))
    except parsers.ParseError as exc:
        return _Outcome(run_id, reject=(exc.reason, str(exc)))
    tool_fields = {"tool": parsed.tool, **parsed.fields}
    merged, mismatches = reconcile(values, tool_fields, where=where)
    if mismatches:
        return _Outcome(run_id, reject=("manifest_mismatch", f"{run_id}: " + "; ".join(mismatches)))
    mhz, source = effective_cpu_mhz(values, parsed.fields)
    run = merged  # reconcile returns a new dict
    tool_mhz = parsed.fields.get("cpu_mhz")
    if tool_mhz is not None and source != "tool":
        run["cpu_mhz_tool"] = tool_mhz
    if parsed.notes:
        run["parse_notes"] = " | ".join(parsed.notes)
    run.update(campaign=campaign, run_id=run_id, cpu_mhz=mhz, cpu_mhz_source=source, source_file=run_id,
               source_sha256=sha, parser=parsed.parser, parser_version=str(parsed.parser_version))
    return _Outcome(run_id, run=run, measurements=tuple(sorted(parsed.measurements.items())),
                    intervals=tuple(parsed.intervals))


def _marked(mark: tuple[str, str], parsed: _Outcome) -> _Outcome:
    """A run the manifest marks failed or excluded: a reject with the mark's reason, whatever its file says; what
    the file itself says (a tool error, a parse error) is kept in the detail."""
    reason, detail = mark
    if parsed.reject is not None:
        detail += f"; the file itself: {parsed.reject[0]}: {parsed.reject[1]}"
    else:
        detail += " (its file parses)"
    return _Outcome(parsed.source_file, reject=(reason, detail))


def _unnamed_file(root: str, run_id: str, regular: bool) -> _Outcome:
    """A file no manifest row names: a lost run (``no_manifest_row``) when a parser reads it as a run (or as a run
    the tool reported failed), else an ignored file (a log, a script, an image), with the reason.

    A console log often holds lines of tool output (an iperf3 server log looks like iperf 2 to a cheap content
    sniff), so only a file that parses as a whole counts as a lost run; one that merely looks like a tool's output
    is ignored with the parser's objection in the reason."""
    try:
        real = os.path.join(root, run_id) if regular else resolve_inside(root, run_id)
    except UnsafePathError as exc:
        return _Outcome(run_id, reject=("unsafe_path", f"{run_id}: {exc}"))
    try:
        with open(real, "rb") as fh:
            text = _decode(fh.read(), run_id)
        tool = parsers.detect_tool(text, run_id)
    except (OSError, parsers.ParseError):
        return _Outcome(run_id, ignored=f"no manifest row names it and no parser recognizes it "
                                        f"(not {', '.join(sorted(parsers.PARSERS))} output)")
    try:
        parsers.parse_text(text, run_id, tool)
    except parsers.ToolReportedError:
        pass  # a failed run is still a run
    except parsers.ParseError as exc:
        return _Outcome(run_id, ignored=f"no manifest row names it; it looks like {tool} output but is not a "
                                        f"complete run ({exc}); if it is one, add a manifest row")
    return _Outcome(run_id, reject=("no_manifest_row", f"{run_id}: {tool} output, but no row of {MANIFEST_NAME} "
                                    f"names this file; add one (file, pv_model, ...), remove the file, or list it "
                                    f"in .pvfairignore"))


# ---------------------------------------------------------------------------------------------------- tables


def _extra_dtype_checked(values: list[Any]) -> str:
    present = [v for v in values if v is not None and not (isinstance(v, float) and v != v)]
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Int64"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "float64"
    return "string"


_NONE_TYPE = type(None)
_EXTRA_KINDS = {frozenset({bool}): "boolean", frozenset({int}): "Int64", frozenset({float}): "float64",
                frozenset({int, float}): "float64"}


def _extra_dtype(values: list[Any]) -> str:
    """dtype of an extra run column from a parser field: boolean, Int64, float64, else string (None and NaN are
    missing). Decided from the set of value types; anything but plain bool/int/float/None takes the checked
    path (:func:`_extra_dtype_checked`)."""
    kinds = set(map(type, values))
    kinds.discard(_NONE_TYPE)
    if float in kinds and not any(v == v for v in values if type(v) is float):  # NaN only: missing
        kinds.discard(float)
    if not kinds:
        return "string"
    if kinds <= {bool, int, float}:
        return _EXTRA_KINDS.get(frozenset(kinds), "string")
    return _extra_dtype_checked(values)


def _array(values: list[Any], dtype: str) -> Any:
    """``pd.array(values, dtype=dtype)``, through Arrow (text) or numpy (whole numbers) when every value allows it:
    the same array, several times faster than pandas' per-object path; anything else takes that path."""
    try:
        if dtype == "string":
            return pd.array(pa.array(values, type=pa.large_string()), dtype="string")
        if dtype == "Int64" and set(map(type, values)) <= {int, _NONE_TYPE}:
            n = len(values)
            mask = np.fromiter((v is None for v in values), dtype=bool, count=n)
            data = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=n)
            return pd.arrays.IntegerArray(data, mask)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        pass
    return pd.array(values, dtype=dtype)


def _runs_frame(runs: list[dict[str, Any]], manifest: ManifestResult) -> pd.DataFrame:
    n = len(runs)
    table: dict[str, list[Any]] = {c: [None] * n for c in RUN_COLUMNS}
    for i, run in enumerate(runs):  # one pass over the (sparse) run dicts (faster than a pass per column)
        for key, value in run.items():
            column = table.get(key)
            if column is None:
                column = table[key] = [None] * n
            column[i] = value
    other_extras = sorted(c for c in table if c not in RUN_COLUMNS and c not in manifest.extra_columns)
    columns = list(RUN_COLUMNS) + list(manifest.extra_columns) + other_extras
    dtypes = dict(RUN_COLUMNS) | dict.fromkeys(manifest.extra_columns, "string")
    arrays: dict[str, Any] = {}
    for col in columns:
        values = table.get(col) or [None] * n
        dtype = dtypes.get(col) or _extra_dtype(values)
        if dtype == "string" and col not in RUN_COLUMNS:
            values = [None if v is None else str(v) for v in values]
        try:
            arrays[col] = _array(values, dtype)
        except (TypeError, ValueError):  # left to coerce_frame, which names the column
            arrays[col] = pd.array(values, dtype=object)
    frame = pd.DataFrame(arrays, columns=columns)
    return coerce_frame(frame, RUN_COLUMNS, name="runs")


def _table(columns: dict[str, str], data: dict[str, list], *, name: str) -> pd.DataFrame:
    """A table from column lists, cast once per column (no per-row objects)."""
    frame = pd.DataFrame({c: _array(data[c], t) for c, t in columns.items()}, columns=list(columns))
    return coerce_frame(frame, columns, name=name)


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return frame.sort_values(by, kind="stable").reset_index(drop=True) if len(frame) else frame.reset_index(
        drop=True)


# ---------------------------------------------------------------------------------------------------- ingest


def _folder_arg(path: str | Path, expected: str) -> Path:
    """*path* as a Path to an existing folder: FileNotFoundError when nothing is there, ValueError when it is not a
    folder, each naming the path and *expected*."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"path: {str(folder)!r} does not exist; expected {expected}")
    if not folder.is_dir():
        raise ValueError(f"path: {str(folder)!r} is not a folder; expected {expected}")
    return folder


def _ingest_campaign_iv(path: str | Path, progress: bool) -> tuple[Path, ManifestResult]:
    if not isinstance(progress, bool):
        raise TypeError(f"progress: expected True or False, got {progress!r}")
    root = _folder_arg(path, f"a campaign folder with the raw output and a {MANIFEST_NAME}")
    return root, read_manifest(root)


def ingest_campaign(path: str | Path, *, progress: bool = False) -> Campaign:
    """Read, validate and parse a raw campaign folder, in memory.

    Parameters
    ----------
    path : the raw campaign folder (``data/raw/<name>``) holding the tool output and ``manifest.csv``
    progress : show a tqdm progress bar over the files

    Returns
    -------
    Campaign
        ``runs`` (one row per ingested run; manifest extra columns and parser extra fields after the schema
        columns), ``measurements``, ``intervals``, ``rejects`` (``source_file, reason, detail``) and ``summary``
        (``seen``, ``ingested``, ``rejected``, ``rejected_by_reason`` ...).

    Raises
    ------
    FileNotFoundError
        when the folder or its manifest.csv does not exist.
    ValueError
        when the manifest is structurally broken (see :func:`analysis.manifest.read_manifest`).
    """
    with _gc_paused():
        return _ingest_campaign(path, progress)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the duration (as :mod:`timeit` does), back on after if it was on.

    Ingest builds tens of thousands of small, acyclic objects (rows, run dicts, parsed values) that all stay
    alive until the tables are built; each automatic full collection walks every one of them again, which cost
    about a quarter of the ingest time (``benchmarks/bench_ingest.py``). Reference counting still frees
    everything as usual; anything cyclic is collected once the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ingest_campaign(path: str | Path, progress: bool) -> Campaign:
    root, manifest = _ingest_campaign_iv(path, progress)
    name = root.resolve().name
    scan = scan_campaign(root)
    on_disk = scan.candidates
    rows_by_id: dict[str, list[ManifestRow]] = {}
    outcomes: list[_Outcome] = []
    for row in manifest.rows:
        if row.run_id is None:  # unsafe or empty path: an item of its own, never touched
            assert row.problem is not None
            outcomes.append(_Outcome(row.source_file, reject=row.problem))
        else:
            rows_by_id.setdefault(row.run_id, []).append(row)
    # a manifest row makes a file ignored by name a run; a .pvfairignore pattern excludes even a named one
    ignored = {p: why for p, why in scan.ignored.items() if p in scan.pvfairignored or p not in rows_by_id}
    for run_id, why in ignored.items():
        rows = rows_by_id.pop(run_id, None)
        if rows:
            why += f" ({MANIFEST_NAME} line {rows[0].line} names it; not ingested)"
        outcomes.append(_Outcome(run_id, ignored=why))
    keys = sorted(set(on_disk) | set(rows_by_id))
    tasks: list[tuple[str, str, str, ManifestRow, bool]] = []
    for run_id in keys:
        rows = rows_by_id.get(run_id)
        if rows and rows[0].problem is not None:
            outcomes.append(_Outcome(run_id, reject=rows[0].problem))
        elif rows and rows[0].mark is not None:
            outcomes.append(_marked(rows[0].mark, _ingest_one(str(root), name, run_id, rows[0],
                                                              on_disk.get(run_id, False))))
        elif rows:
            tasks.append((str(root), name, run_id, rows[0], on_disk.get(run_id, False)))
        else:
            outcomes.append(_unnamed_file(str(root), run_id, on_disk[run_id]))
    # Files are parsed in this process: a process pool (fork, 2 workers) is slower on a 2-core machine, since
    # sending each file's tables between processes costs more than parsing them (benchmarks/bench_ingest.py).
    for task in tqdm(tasks, desc=f"ingest {name}", unit="file", disable=not progress):
        outcomes.append(_ingest_one(*task))
    files_seen = len(outcomes)
    return _assemble(name, root, manifest, outcomes, files_seen=files_seen,
                     files_on_disk=len(on_disk) + len(scan.ignored))


def _assemble(name: str, root: Path, manifest: ManifestResult, outcomes: list[_Outcome], *, files_seen: int,
              files_on_disk: int) -> Campaign:
    runs: list[dict[str, Any]] = []
    meas: dict[str, list] = {c: [] for c in MEASUREMENT_COLUMNS}
    ivs: dict[str, list] = {c: [] for c in INTERVAL_COLUMNS}
    rejects: list[tuple[str, str, str]] = []
    ignored: list[tuple[str, str]] = []
    for out in outcomes:
        if out.ignored is not None:
            ignored.append((out.source_file, out.ignored))
            continue
        if out.reject is not None:
            rejects.append((out.source_file, *out.reject))
            continue
        runs.append(out.run)
        rid = out.source_file
        if out.measurements:
            meas["run_id"].extend([rid] * len(out.measurements))
            meas["metric"].extend(m for m, _ in out.measurements)
            meas["value"].extend(float(v) for _, v in out.measurements)
        if out.intervals:
            ivs["run_id"].extend([rid] * len(out.intervals))
            for s in out.intervals:
                ivs["metric"].append(s.metric)
                ivs["stream"].append(s.stream)
                ivs["interval_start_s"].append(s.interval_start_s)
                ivs["interval_end_s"].append(s.interval_end_s)
                ivs["value"].append(s.value)
    if files_seen != len(runs) + len(rejects) + len(ignored):
        raise AssertionError(f"ingest accounting: files_seen {files_seen} != ingested {len(runs)} + rejected "
                             f"{len(rejects)} + ignored {len(ignored)}")
    seen = len(runs) + len(rejects)
    by_reason: dict[str, int] = {}
    for _, reason, _ in rejects:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    summary = {
        "campaign": name,
        "root": str(root),
        "seen": seen,
        "ingested": len(runs),
        "rejected": len(rejects),
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "ignored": len(ignored),
        "files_seen": files_seen,
        "files_on_disk": files_on_disk,
        "manifest_rows": len(manifest.rows),
        "measurements": len(meas["run_id"]),
        "intervals": len(ivs["run_id"]),
    }
    return Campaign(
        name=name,
        runs=_sorted(_runs_frame(runs, manifest), ["run_id"]),
        measurements=_sorted(_table(MEASUREMENT_COLUMNS, meas, name="measurements"), ["run_id", "metric"]),
        intervals=_sorted(_table(INTERVAL_COLUMNS, ivs, name="intervals"), ["run_id"]),
        rejects=_sorted(_table(REJECT_COLUMNS, {c: [r[i] for r in rejects] for i, c in enumerate(REJECT_COLUMNS)},
                               name="rejects"), ["source_file", "reason", "detail"]),
        root=root,
        summary=summary,
        ignored=_sorted(_table(IGNORED_COLUMNS, {"path": [p for p, _ in ignored], "reason": [r for _, r in ignored]},
                               name="ignored"), ["path"]),
    )


# ---------------------------------------------------------------------------------------------------- I/O


def _check_summary(summary: Mapping[str, Any]) -> None:
    if summary["seen"] != summary["ingested"] + summary["rejected"]:
        raise AssertionError(f"ingest summary: seen {summary['seen']} != ingested {summary['ingested']} + "
                             f"rejected {summary['rejected']}")
    if "files_seen" in summary and summary["files_seen"] != summary["seen"] + summary.get("ignored", 0):
        raise AssertionError(f"ingest summary: files_seen {summary['files_seen']} != ingested + rejected + ignored "
                             f"{summary['seen'] + summary.get('ignored', 0)}")
    if sum(summary["rejected_by_reason"].values()) != summary["rejected"]:
        raise AssertionError("ingest summary: rejected_by_reason does not add up to rejected")


def _write_campaign_iv(campaign: Campaign, out_dir: str | Path) -> tuple[Path, dict[str, Any]]:
    if not isinstance(campaign, Campaign):
        raise TypeError(f"campaign: expected an analysis.ingest.Campaign, got {type(campaign).__name__}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir: {str(out)!r} exists and is not a folder; expected a folder to write into")
    summary = dict(campaign.summary)
    _check_summary(summary)
    if summary["ingested"] != len(campaign.runs) or summary["rejected"] != len(campaign.rejects):
        raise AssertionError("ingest summary does not match the tables' row counts")
    return out, summary


def write_campaign(campaign: Campaign, out_dir: str | Path) -> dict[str, Path]:
    """Write a campaign's tables as Parquet plus ``ingest_summary.json`` into *out_dir* (created if needed).

    Types are validated with :func:`analysis.schema.coerce_frame` before writing; the summary's accounting
    (``seen == ingested + rejected``) is checked. Returns ``{table or "summary": path written}``.
    """
    out, summary = _write_campaign_iv(campaign, out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for table, (file_name, columns) in TABLE_FILES.items():
        frame = coerce_frame(getattr(campaign, table), columns, name=table)
        frame.to_parquet(out / file_name, index=False)
        written[table] = out / file_name
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written["summary"] = out / SUMMARY_FILE
    return written


def _load_campaign_iv(path: str | Path) -> Path:
    return _folder_arg(path, f"a raw campaign folder (with {MANIFEST_NAME}) or a processed one (with runs.parquet)")


#: load_campaign() results by folder and file stamps (:func:`_folder_stamp`); see analysis.memo
_LOAD_MEMO = Memo("load_campaign", maxsize=4)


@memoizes(_LOAD_MEMO)
def load_campaign(path: str | Path, *, cache: bool = True) -> Campaign:
    """A campaign's tables in memory, for notebooks and the later stages.

    Parameters
    ----------
    path : a processed folder (``data/processed/<name>``, as written by :func:`write_campaign`: its Parquet
        tables are read) or a raw campaign folder (``data/raw/<name>`` with ``manifest.csv``: ingested in memory
        by :func:`ingest_campaign`, nothing written).
    cache : reuse the tables loaded earlier in this process while no file under the folder changed (its file
        list, sizes and modification times; see :func:`_load_campaign_cached`). Each call returns its own
        Campaign, so changing one caller's tables never reaches another.

    Raises
    ------
    FileNotFoundError, ValueError
        naming the path and what was expected.
    """
    folder = _load_campaign_iv(path)
    return _load_campaign_cached(folder) if cache else _load_campaign(folder)


def _load_campaign(folder: Path) -> Campaign:
    if (folder / "runs.parquet").is_file():
        tables = {}
        for table, (file_name, columns) in TABLE_FILES.items():
            if table in _OPTIONAL_TABLES and not (folder / file_name).is_file():
                tables[table] = empty_frame(columns)
                continue
            if not (folder / file_name).is_file():
                raise ValueError(f"path: {str(folder)!r} has runs.parquet but no {file_name}; expected all of "
                                 f"{[f for f, _ in TABLE_FILES.values()]} (re-run pvfair ingest)")
            tables[table] = coerce_frame(pd.read_parquet(folder / file_name), columns, name=table)
        summary: dict[str, Any] = {}
        if (folder / SUMMARY_FILE).is_file():
            summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
        root = Path(summary["root"]) if summary.get("root") else None
        return Campaign(name=summary.get("campaign", folder.name), root=root, summary=summary, **tables)
    if (folder / MANIFEST_NAME).is_file():
        return ingest_campaign(folder)
    from analysis.sides import is_sides_folder, load_sides_folder  # a folder of side folders, one per lab

    if is_sides_folder(folder):
        return load_sides_folder(folder)
    raise ValueError(f"path: {str(folder)!r} has neither runs.parquet nor {MANIFEST_NAME}; expected a processed "
                     "campaign folder or a raw one")


# ------------------------------------------------------------------------------------------- load_campaign memo


def _folder_stamp(folder: Path) -> tuple[tuple[str, int, int, int], ...]:
    """Every file under *folder*: relative path, size, modification and change times (ns)."""
    out = []
    for p in folder.rglob("*"):
        if p.is_file():
            st = p.stat()
            out.append((p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(sorted(out))


def _load_campaign_cached(folder: Path) -> Campaign:
    """:func:`_load_campaign` memoized on the folder's resolved path and :func:`_folder_stamp`.

    The report runs its notebooks in one kernel and each loads the campaign; with the memo the folder is parsed
    once per kernel (and once per edit of any of its files). Each call gets its own :func:`~analysis.memo.isolated`
    Campaign.
    """
    key = content_key("load_campaign", str(folder.resolve()), _folder_stamp(folder))
    return isolated(_LOAD_MEMO.get_or_compute(key, lambda: _load_campaign(folder)))


def format_ingest_summary(campaign: Campaign, *, max_rejects: int | None = None) -> str:
    """Text summary: files seen / ingested / rejected (by reason) / ignored, then each reject with its reason and
    detail, then each ignored file with its reason."""
    s = campaign.summary
    n_ignored = s.get("ignored", len(campaign.ignored))
    lines = [f"campaign {campaign.name}: {s.get('files_seen', s.get('seen', '?'))} files seen, "
             f"{s.get('ingested', len(campaign.runs))} ingested, {s.get('rejected', len(campaign.rejects))} "
             f"rejected, {n_ignored} ignored (not runs)"]
    by_reason = s.get("rejected_by_reason", {})
    if by_reason:
        lines.append("rejected by reason: " + ", ".join(f"{r} {n}" for r, n in by_reason.items()))
    lines += _capped(campaign.rejects, max_rejects, lambda r: f"  reject {r.source_file}: {r.reason}: {r.detail}",
                     "rejects")
    lines += _capped(campaign.ignored, max_rejects, lambda r: f"  ignored {r.path}: {r.reason}", "ignored files")
    return "\n".join(lines)


def _capped(frame: pd.DataFrame, limit: int | None, line: Callable[[Any], str], what: str) -> list[str]:
    """One *line* per row of *frame* (the first *limit*), then how many more *what* there are."""
    shown = frame if limit is None else frame.head(limit)
    out = [line(rec) for rec in shown.itertuples(index=False)]
    if len(shown) < len(frame):
        out.append(f"  ... and {len(frame) - len(shown)} more {what}")
    return out


# ---------------------------------------------------------------------------------------------------- CLI


def default_out_dir(raw: str | Path) -> Path:
    """Where ``pvfair ingest`` writes by default: ``<x>/processed/<name>`` for a raw folder ``<x>/raw/<name>``,
    else ``data/processed/<name>`` under the current directory."""
    raw = Path(raw)
    name = raw.resolve().name
    parent = raw.resolve().parent
    if parent.name == "raw":
        return parent.parent / "processed" / name
    return Path("data") / "processed" / name


def cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair ingest``."""
    parser.add_argument("campaign", help=f"raw campaign folder (data/raw/<name>) with the tool output and "
                                         f"{MANIFEST_NAME}")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: data/processed/<name>, beside the raw folder's 'raw')")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: when stderr is a terminal)")


def cli_run(args: argparse.Namespace) -> int:
    """``pvfair ingest``: ingest, write the tables, print the summary and every reject. Exit 0 (rejects listed)."""
    raw = Path(args.campaign)
    if not raw.is_dir():
        raise FileNotFoundError(f"campaign folder {str(raw)!r} does not exist or is not a folder; expected "
                                f"data/raw/<name> with {MANIFEST_NAME}")
    progress = sys.stderr.isatty() if args.progress is None else bool(args.progress)
    campaign = ingest_campaign(raw, progress=progress)
    out = Path(args.out) if args.out else default_out_dir(raw)
    written = write_campaign(campaign, out)
    print(format_ingest_summary(campaign))
    print(f"wrote {', '.join(p.name for p in written.values())} to {out}")
    return 0
