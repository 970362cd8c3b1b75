"""The campaign manifest (``manifest.csv``): reading, validation, path safety, and reconciling with tool output.

A campaign folder holds raw tool output files and one ``manifest.csv``, one row per run (``../shared/DESIGN.md``,
"Manifest"):

- required columns ``file`` (path of the raw file, relative to the campaign folder) and ``pv_model``;
- optional columns named after :data:`analysis.schema.RUN_COLUMNS` (:data:`MANIFEST_COLUMNS`), typed and checked;
- any other column is an *extra* run column, kept as text (never dropped);
- columns ingest computes itself (:data:`RESERVED_COLUMNS`: ``run_id``, ``source_sha256``, ``parser`` ...) may not
  be given.

Rules applied here (a broken *row* becomes a reject with a reason from :data:`analysis.schema.REJECT_REASONS`; a
structurally broken *manifest* raises ``ValueError``):

- ``file`` must stay inside the campaign folder: ``..`` components and absolute paths are refused lexically, before
  anything is touched (``unsafe_path``); symlinks are followed only to check that their target stays inside
  (:func:`resolve_inside`); nothing outside the folder is ever opened.
- a missing ``file`` or ``pv_model`` value, a malformed number / boolean / time, an unknown ``tool`` or
  ``direction``, or more cells than header columns: ``invalid_manifest_row``, naming the manifest line and column.
- two rows naming the same file (after normalizing ``./a`` to ``a``): ``duplicate_manifest_row``.
- a value the tool output carries fills an empty manifest cell; a disagreement is ``manifest_mismatch`` naming the
  column and both values (:func:`reconcile`). CPU frequency follows its own precedence (:func:`effective_cpu_mhz`).
- ``test`` may be written in either vocabulary (:mod:`analysis.vocabulary`): the canonical name (``TCP_MAERTS``)
  or the tool's own (``IPERF3_TCP``); only a disagreement of fact (``TCP_MAERTS`` for a forward run) is a mismatch.
- marks (:data:`MARK_COLUMNS`): ``status`` (``ok`` / ``failed``) and ``exclude`` (true/false). A row marked
  ``status=failed`` or ``exclude=true`` is a reject (``marked_failed`` / ``excluded_in_manifest``) whatever its
  file says (:attr:`ManifestRow.mark`); the columns are kept as text like every extra column.

Files in the campaign folder that are not runs: names in :data:`IGNORED_FILES` (matched case-insensitively against
each file's name at any depth: ``README*``, ``truth.csv``, ``metadata*``, hidden files ``.*``) and paths matching
the campaign's ``.pvfairignore`` (gitignore syntax, :func:`read_ignore_patterns`) are listed by
:func:`scan_campaign` as ignored, with the reason. The manifest itself and ``.pvfairignore`` are the campaign's
control files, not candidates at all.
"""

from __future__ import annotations

import csv
import fnmatch
import html
import io
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import pandas as pd
import pathspec

from analysis import parsers
from analysis.schema import RUN_COLUMNS
from analysis.vocabulary import same_test_name

__all__ = [
    "MANIFEST_NAME",
    "REQUIRED_COLUMNS",
    "MANIFEST_COLUMNS",
    "RESERVED_COLUMNS",
    "IGNORED_FILES",
    "IGNORE_FILE",
    "MARK_COLUMNS",
    "CampaignScan",
    "scan_campaign",
    "read_ignore_patterns",
    "UnsafePathError",
    "ManifestRow",
    "ManifestResult",
    "read_manifest",
    "parse_manifest_text",
    "normalize_path",
    "resolve_inside",
    "is_ignored",
    "list_campaign_files",
    "scan_campaign_files",
    "reconcile",
    "effective_cpu_mhz",
]

MANIFEST_NAME = "manifest.csv"

#: columns every manifest must have
REQUIRED_COLUMNS: tuple[str, ...] = ("file", "pv_model")

_OPTIONAL = (
    "tool", "test", "msg_size_bytes", "response_size_bytes", "direction", "streams", "pinning", "cpu_mhz",
    "cpu_mhz_before", "cpu_mhz_after", "n_cpus", "governor", "host", "host_kernel", "guest_kernel", "mtu_bytes",
    "session", "trial", "order_index", "warmup", "start_time", "tool_test", "target_bandwidth_bps",
)
#: run columns a manifest may set, with their dtype (from :data:`analysis.schema.RUN_COLUMNS`)
MANIFEST_COLUMNS: dict[str, str] = {"pv_model": RUN_COLUMNS["pv_model"]} | {c: RUN_COLUMNS[c] for c in _OPTIONAL}

#: run columns ingest derives itself (from the file, its hash, its parser); a manifest may not give them
RESERVED_COLUMNS: tuple[str, ...] = tuple(c for c in RUN_COLUMNS if c not in MANIFEST_COLUMNS)

#: file-name patterns (case-insensitive, any depth) that are not runs and need no manifest row
IGNORED_FILES: tuple[str, ...] = ("manifest.csv", "readme*", "truth.csv", "metadata*", ".*")
#: the campaign's ignore list (gitignore syntax), beside manifest.csv
IGNORE_FILE = ".pvfairignore"
#: manifest columns that mark a run, with the values they take: ``status`` ok/failed, ``exclude`` a boolean
MARK_COLUMNS: dict[str, str] = {"status": "ok or failed (timeout and error, as pvfair collect writes them, are "
                                           "failures too)", "exclude": "true/false, yes/no or 1/0"}
#: ``status`` values that mark a failed run (``pvfair collect`` writes ok | failed | timeout | error)
_FAILED_STATUS = frozenset({"failed", "timeout", "error"})
#: :data:`IGNORED_FILES` as one regex (what ``fnmatch.fnmatchcase`` matches with each of them)
_IGNORED_RE = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in IGNORED_FILES))

_DIRECTIONS = ("send", "receive", "bidir")
_TRUE = frozenset({"true", "yes", "1", "t", "y"})
_FALSE = frozenset({"false", "no", "0", "f", "n"})
_POSITIVE = frozenset({"msg_size_bytes", "response_size_bytes", "streams", "n_cpus", "mtu_bytes", "cpu_mhz",
                       "cpu_mhz_before", "cpu_mhz_after"})
_NON_NEGATIVE = frozenset({"trial", "order_index"})
#: columns whose manifest value takes precedence over the tool's (see effective_cpu_mhz), never a mismatch
_PRECEDENCE_COLUMNS = frozenset({"cpu_mhz"})


class UnsafePathError(ValueError):
    """A manifest path that leaves the campaign folder."""


# ---------------------------------------------------------------------------------------------------- paths


def normalize_path(file: str) -> str:
    """The campaign-relative posix form of a manifest ``file`` value, checked lexically (nothing is touched).

    ``./a//b.txt`` -> ``a/b.txt``; backslashes count as separators.

    Raises
    ------
    UnsafePathError
        for an empty path, an absolute path (``/x``, ``C:\\x``, ``\\\\host\\x``) or a ``..`` component.

    >>> normalize_path("./netperf//run1.txt")
    'netperf/run1.txt'
    """
    text = str(file).strip()
    if not text:
        raise UnsafePathError("file: empty path; expected a path relative to the campaign folder")
    if "\\" not in text and ":" not in text and not text.startswith("/"):  # fast path: plain relative posix
        parts = text.split("/")
        if "." not in parts and ".." not in parts and "" not in parts:
            return text
    win = PureWindowsPath(text)
    if text.startswith(("/", "\\")) or win.drive or win.root or PurePosixPath(text).is_absolute():
        raise UnsafePathError(f"file: {text!r} is an absolute path; expected a path relative to the campaign "
                              "folder (not opened)")
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePathError(f"file: {text!r} has a '..' component that leaves the campaign folder; expected a "
                              "path inside it (not opened)")
    if not parts:
        raise UnsafePathError(f"file: {text!r} names the campaign folder itself; expected a file inside it")
    return "/".join(parts)


def resolve_inside(root: str | Path, run_id: str) -> Path:
    """The real path of campaign file *run_id* (see :func:`normalize_path`), refusing symlinks that lead out.

    Only path metadata is consulted (``os.path.realpath``); the file is not opened.

    Raises
    ------
    UnsafePathError
        when *run_id* is lexically unsafe or resolves (through a symlink) outside *root*.
    """
    rel = normalize_path(run_id)
    real_root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(real_root / rel))
    if target != real_root and real_root not in target.parents:
        raise UnsafePathError(f"file: {run_id!r} is a symlink (or under one) that resolves outside the campaign "
                              "folder; not opened")
    return target


def is_ignored(name: str) -> bool:
    """True when a file called *name* (basename) is not a run (:data:`IGNORED_FILES`).

    >>> is_ignored("README.md"), is_ignored("run1.txt")
    (True, False)
    """
    return _IGNORED_RE.match(name.lower()) is not None


def scan_campaign_files(root: str | Path) -> dict[str, bool]:
    """Every candidate run file under *root*: campaign-relative posix path -> True when it is a regular file
    reached without any symlink (safe to read as is), False for a symlink or other non-regular entry (to be
    checked with :func:`resolve_inside` before reading). Sorted by path.

    Ignored names (:data:`IGNORED_FILES`) are skipped, hidden directories are not entered and symlinked
    directories are not followed (their files are reachable only through the manifest, checked by
    :func:`resolve_inside`). Nothing is opened.
    """
    found = {rel: entry.is_file(follow_symlinks=False) for rel, entry in _walk(root) if not is_ignored(entry.name)}
    return dict(sorted(found.items()))


def _walk(root: str | Path) -> Iterator[tuple[str, os.DirEntry]]:
    """(campaign-relative posix path, entry) of every entry under *root* that is not a directory: hidden
    directories are not entered, symlinked directories neither entered nor yielded. Nothing is opened."""
    stack = [(os.fspath(root), "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith("."):
                        stack.append((entry.path, prefix + entry.name + "/"))
                elif not (entry.is_symlink() and entry.is_dir(follow_symlinks=True)):
                    yield prefix + entry.name, entry


@dataclass(frozen=True)
class CampaignScan:
    """What is in a campaign folder: run candidates and ignored files.

    Attributes
    ----------
    candidates : campaign-relative posix path -> True when it is a regular file reached without any symlink (see
        :func:`scan_campaign_files`); every file that may be a run
    ignored : path -> reason, for files that are not runs by name (:data:`IGNORED_FILES`) or on purpose
        (``.pvfairignore``); a manifest row still makes a name-ignored file a run, never a ``.pvfairignore``d one
    pvfairignored : the subset of *ignored* matched by ``.pvfairignore``: path -> the pattern
    """

    candidates: dict[str, bool]
    ignored: dict[str, str]
    pvfairignored: dict[str, str]


def read_ignore_patterns(root: str | Path) -> pathspec.PathSpec | None:
    """The campaign's ``.pvfairignore`` (gitignore syntax: ``logs/``, ``*.png``, ``!keep.txt`` ...) as a
    :class:`pathspec.PathSpec`; None when there is none. Not UTF-8 text raises ``ValueError`` naming the file."""
    path = Path(root) / IGNORE_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{IGNORE_FILE}: expected UTF-8 text with gitignore patterns, found byte "
                         f"0x{exc.object[exc.start]:02x}") from None
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())


def _matching_pattern(spec: pathspec.PathSpec, path: str) -> str:
    """The last ``.pvfairignore`` pattern that decides *path* (the one gitignore applies)."""
    decisive = None
    for pat in spec.patterns:
        if pat.include is not None and pat.match_file(path) is not None:
            decisive = pat
    if decisive is None:
        return "?"
    return str(getattr(decisive, "pattern", None) or getattr(decisive, "regex", decisive))


def scan_campaign(root: str | Path) -> CampaignScan:
    """Every file under *root*, split into run candidates and ignored files (each with its reason).

    Hidden directories are not entered and symlinked directories not followed (as :func:`scan_campaign_files`);
    the root's ``manifest.csv`` and ``.pvfairignore`` are the campaign's control files and appear in neither.
    """
    spec = read_ignore_patterns(root)
    candidates: dict[str, bool] = {}
    ignored: dict[str, str] = {}
    by_spec: dict[str, str] = {}
    for rel, entry in _walk(root):
        name = entry.name
        if rel == name and (name.lower() == MANIFEST_NAME or name == IGNORE_FILE):
            continue
        if spec is not None and spec.match_file(rel):
            by_spec[rel] = _matching_pattern(spec, rel)
            ignored[rel] = f"matches {IGNORE_FILE} pattern {by_spec[rel]!r}"
        elif is_ignored(name):
            ignored[rel] = ("hidden file" if name.startswith(".") else
                            "not a run by name (README*, truth.csv, metadata*, manifest.csv)")
        else:
            candidates[rel] = entry.is_file(follow_symlinks=False)
    return CampaignScan(dict(sorted(candidates.items())), dict(sorted(ignored.items())), dict(sorted(by_spec.items())))


def list_campaign_files(root: str | Path) -> list[str]:
    """Sorted campaign-relative posix paths of every candidate run file under *root* (see
    :func:`scan_campaign_files`). Symlinked files are listed, whatever they point to: ingest checks them before
    reading."""
    return list(scan_campaign_files(root))


# ---------------------------------------------------------------------------------------------------- values


def _cast_int(text: str) -> int:
    number = float(text)
    if not math.isfinite(number) or number != int(number):
        raise ValueError("not a whole number")
    return int(number)


def _cast_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _cast_bool(text: str) -> bool:
    low = str(text).strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("not a boolean")


def _cast_time(text: Any) -> pd.Timestamp:
    if isinstance(text, str):
        try:  # fast path for ISO 8601
            text = datetime.fromisoformat(text)
        except ValueError:
            pass
    if isinstance(text, datetime) and not isinstance(text, pd.Timestamp):
        return pd.Timestamp(text.replace(tzinfo=UTC) if text.tzinfo is None else text.astimezone(UTC))
    stamp = pd.Timestamp(text)
    if pd.isna(stamp):
        raise ValueError("not a time")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _cast_str(text: Any) -> str:
    return str(text).strip()


#: dtype -> (cast from a manifest cell or a parser value, what was expected)
_CASTS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "Int64": (_cast_int, "a whole number"),
    "float64": (_cast_float, "a finite number"),
    "boolean": (_cast_bool, "true/false, yes/no or 1/0"),
    "datetime64[ns, UTC]": (_cast_time, "a date and time (ISO 8601; UTC assumed when no zone is given)"),
    "string": (_cast_str, "text"),
}


def _check_domain(column: str, value: Any) -> str | None:
    """What was expected, when *value* is outside *column*'s domain; None when it is fine."""
    if column in _POSITIVE and not value > 0:
        return "a positive number"
    if column in _NON_NEGATIVE and value < 0:
        return "a number >= 0"
    if column == "direction" and value not in _DIRECTIONS:
        return f"one of {list(_DIRECTIONS)}"
    if column == "tool" and value not in parsers.PARSERS:
        return f"one of {sorted(parsers.PARSERS)}"
    return None


_UNCAST = object()


def _cast_cell(column: str, text: str) -> Any:
    """A manifest cell as its column's type; ValueError naming what was expected."""
    dtype = MANIFEST_COLUMNS.get(column, "string")
    cast, expected = _CASTS[dtype]
    try:
        value = cast(text)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"expected {expected}, found {text!r}") from None
    if column in ("tool", "direction"):
        value = value.lower()
    problem = _check_domain(column, value)
    if problem:
        raise ValueError(f"expected {problem}, found {text!r}")
    return value


def _casts_cells(column: str) -> bool:
    """Whether *column*'s (stripped, non-empty) cells are cast (:func:`_cast_cell`); else the text is kept."""
    return column in MANIFEST_COLUMNS and (MANIFEST_COLUMNS[column] != "string" or column in ("tool", "direction"))


# ---------------------------------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class ManifestRow:
    """One data row of ``manifest.csv``.

    Attributes
    ----------
    line : 1-based line in manifest.csv where the row starts (the header is line 1)
    file : the ``file`` cell as written
    run_id : campaign-relative posix path (:func:`normalize_path`); None when the path is empty or unsafe
    values : typed values of the non-empty cells other than ``file`` (``pv_model``, optional and extra columns)
    problem : ``(reason, detail)`` when the row is rejected on its own, else None
    """

    line: int
    file: str
    run_id: str | None
    values: Mapping[str, Any] = field(default_factory=dict)
    problem: tuple[str, str] | None = None

    @property
    def mark(self) -> tuple[str, str] | None:
        """``(reason, detail)`` when the row marks its run failed (``status=failed``) or excluded
        (``exclude=true``); None otherwise. Values were checked when the manifest was read."""
        where = f"{MANIFEST_NAME} line {self.line}"
        status = str(self.values.get("status", "ok")).strip()
        if status.lower() in _FAILED_STATUS:
            return "marked_failed", f"{where}: marked failed in manifest (status={status}); not ingested"
        if _cast_bool(self.values.get("exclude", "false")):
            return "excluded_in_manifest", f"{where}: marked exclude={self.values['exclude']} in manifest; not ingested"
        return None

    @property
    def source_file(self) -> str:
        """The name a reject of this row is listed under: run_id, else the path as written, else manifest:line."""
        if self.run_id is not None:
            return self.run_id
        return self.file.strip() or f"{MANIFEST_NAME}:{self.line}"


@dataclass(frozen=True)
class ManifestResult:
    """A read and validated manifest.

    Attributes
    ----------
    path : the manifest file (for messages)
    columns : header columns in file order
    extra_columns : header columns that are not run columns (kept as text)
    rows : every data row, in file order (rejected ones carry a ``problem``)
    """

    path: Path
    columns: tuple[str, ...]
    extra_columns: tuple[str, ...]
    rows: tuple[ManifestRow, ...]

    @property
    def valid_rows(self) -> tuple[ManifestRow, ...]:
        return tuple(r for r in self.rows if r.problem is None)

    def to_frame(self) -> pd.DataFrame:
        """One row per manifest row: ``line, file, run_id, reason, detail`` and the typed cell values."""
        records = []
        for r in self.rows:
            reason, detail = r.problem if r.problem else (pd.NA, pd.NA)
            records.append({"line": r.line, "file": r.file, "run_id": r.run_id, "reason": reason,
                            "detail": detail, **dict(r.values)})
        cols = ["line", "file", "run_id", "reason", "detail"] + [
            c for c in self.columns if c != "file"]
        return pd.DataFrame.from_records(records, columns=cols)

    def summary(self) -> str:
        bad: dict[str, int] = {}
        for r in self.rows:
            if r.problem:
                bad[r.problem[0]] = bad.get(r.problem[0], 0) + 1
        lines = [f"{self.path.name}: {len(self.rows)} rows, {len(self.valid_rows)} valid",
                 f"columns: {', '.join(self.columns)}"]
        if self.extra_columns:
            lines.append(f"extra columns (kept as text): {', '.join(self.extra_columns)}")
        lines += [f"rejected {n}: {reason}" for reason, n in sorted(bad.items())]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _read_manifest_iv(campaign: str | Path) -> Path:
    path = Path(campaign)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{MANIFEST_NAME}: not found at {str(path)!r}; expected a {MANIFEST_NAME} with "
                                f"columns {', '.join(REQUIRED_COLUMNS)} in the campaign folder")
    return path


def read_manifest(campaign: str | Path) -> ManifestResult:
    """Read and validate ``manifest.csv`` of a campaign folder (or the manifest file itself).

    Parameters
    ----------
    campaign : the campaign folder, or the path of its manifest.csv

    Returns
    -------
    ManifestResult
        every row, typed; rows with a problem carry ``(reason, detail)``.

    Raises
    ------
    FileNotFoundError
        when there is no manifest.
    ValueError
        naming manifest.csv when it is structurally broken: not UTF-8 CSV, no header, no ``file`` or
        ``pv_model`` column, an unnamed, duplicated or reserved column.
    """
    path = _read_manifest_iv(campaign)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(f"{path.name}: line {line}: expected UTF-8 CSV text, found byte 0x{raw[exc.start]:02x}"
                         ) from None
    return parse_manifest_text(text, source=path)


def _parse_manifest_text_iv(text: str, source: str | Path) -> tuple[Path, list[str], list[tuple[int, list[str]]]]:
    source = Path(source)
    name = source.name
    if "\x00" in text:
        raise ValueError(f"{name}: expected CSV text, found a NUL byte (binary file?)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    next_line = 1
    try:
        for cells in reader:
            start, next_line = next_line, reader.line_num + 1
            if not cells or not "".join(cells).strip():  # a blank row (whitespace only)
                continue
            records.append((start, cells))
    except csv.Error as exc:
        raise ValueError(f"{name}: line {reader.line_num}: expected CSV, {exc}") from None
    if not records:
        raise ValueError(f"{name}: empty; expected a header row with columns {', '.join(REQUIRED_COLUMNS)}")
    header_line, header = records[0]
    header = [h.strip() for h in header]
    for i, col in enumerate(header, start=1):
        if not col:
            raise ValueError(f"{name}: line {header_line}: header column {i} has no name; expected a name for "
                             "every column")
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise ValueError(f"{name}: line {header_line}: duplicated header column(s) {dupes}; expected each column "
                         "once")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{name}: line {header_line}: no {' or '.join(repr(c) for c in missing)} column; "
                         f"expected a header with at least {', '.join(REQUIRED_COLUMNS)}, found {header}")
    reserved = [c for c in header if c in RESERVED_COLUMNS]
    if reserved:
        raise ValueError(f"{name}: line {header_line}: column(s) {reserved} are set by ingest from the files "
                         f"themselves; expected none of {list(RESERVED_COLUMNS)} in the manifest")
    return source, header, records[1:]


def parse_manifest_text(text: str, *, source: str | Path = MANIFEST_NAME) -> ManifestResult:
    """Validate manifest CSV *text* (see :func:`read_manifest`); *source* names it in messages."""
    source, header, records = _parse_manifest_text_iv(text, source)
    name = source.name
    extra = tuple(c for c in header if c not in MANIFEST_COLUMNS and c != "file")
    file_col = header.index("file")
    n_columns = len(header)
    # per column: (name, memo of its casts or None when the text is kept). Casts are pure and their results
    # immutable, so each distinct cell text is cast once per manifest; a failing text is not remembered (it fails
    # again, with the same message, on every row that has it).
    plan: list[tuple[str, dict[str, Any] | None]] = [(c, {} if _casts_cells(c) else None) for c in header]
    rows: list[ManifestRow] = []
    for line, cells in records:
        file_text = cells[file_col] if len(cells) > file_col else ""
        run_id: str | None = None
        problem: tuple[str, str] | None = None
        values: dict[str, Any] = {}
        try:
            run_id = normalize_path(file_text)
        except UnsafePathError as exc:
            if file_text.strip():
                problem = ("unsafe_path", f"{name} line {line}: {exc}")
            else:
                problem = ("invalid_manifest_row", f"{name} line {line}: column 'file' is empty; expected a path")
        errors: list[str] = []
        if len(cells) > n_columns:
            errors.append(f"{len(cells)} cells but the header has {n_columns} columns")
        for (col, memo), cell in zip(plan, cells, strict=False):
            cell = cell.strip()
            if not cell:
                continue
            if memo is None:
                values[col] = cell
                continue
            value = memo.get(cell, _UNCAST)
            if value is _UNCAST:
                try:
                    value = memo[cell] = _cast_cell(col, cell)
                except ValueError as exc:
                    errors.append(f"column {col!r}: {exc}")
                    continue
            values[col] = value
        values.pop("file", None)  # the path is run_id, not a value
        errors.extend(_mark_errors(values))
        if "pv_model" not in values:
            errors.append("column 'pv_model' is empty; expected the PV model's name")
        if problem is None and errors:
            problem = ("invalid_manifest_row", f"{name} line {line}: " + "; ".join(errors))
        rows.append(ManifestRow(line=line, file=file_text, run_id=run_id, values=values, problem=problem))
    rows = _mark_duplicates(rows, name)
    return ManifestResult(path=source, columns=tuple(header), extra_columns=extra, rows=tuple(rows))


def _mark_errors(values: Mapping[str, Any]) -> list[str]:
    """What is wrong with a row's :data:`MARK_COLUMNS` values (empty when nothing)."""
    errors = []
    status = values.get("status")
    if status is not None and str(status).strip().lower() not in _FAILED_STATUS | {"ok"}:
        errors.append(f"column 'status': expected {MARK_COLUMNS['status']}, found {status!r}")
    exclude = values.get("exclude")
    if exclude is not None:
        try:
            _cast_bool(exclude)
        except ValueError:
            errors.append(f"column 'exclude': expected {MARK_COLUMNS['exclude']}, found {exclude!r}")
    return errors


def _mark_duplicates(rows: list[ManifestRow], name: str) -> list[ManifestRow]:
    by_id: dict[str, list[int]] = {}
    for r in rows:
        if r.run_id is not None:
            by_id.setdefault(r.run_id, []).append(r.line)
    out = []
    for r in rows:
        lines = by_id.get(r.run_id, []) if r.run_id is not None else []
        if len(lines) > 1:
            shown = ", ".join(str(n) for n in lines)
            r = ManifestRow(r.line, r.file, r.run_id, r.values,
                            ("duplicate_manifest_row", f"{name} lines {shown} all name {r.run_id!r}; expected one "
                             "row per file"))
        out.append(r)
    return out


# ---------------------------------------------------------------------------------------------------- reconcile


_NA, _NAT = pd.NA, pd.NaT
#: integers below this in magnitude survive the float round trip of :func:`_cast_int` unchanged
_EXACT_INT = 2**53


def _same(dtype: str, a: Any, b: Any) -> bool:
    if dtype == "float64":
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    if dtype == "string":
        if str(a).casefold() == str(b).casefold():
            return True
        try:  # numbers kept as text (extra columns): 2.5 == "2.50"
            return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    if dtype.startswith("datetime64"):
        return abs((a - b).total_seconds()) <= 1.0
    return a == b


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, pd.Timestamp) else repr(value)


def reconcile(manifest_values: Mapping[str, Any], tool_fields: Mapping[str, Any], *, where: str = MANIFEST_NAME
              ) -> tuple[dict[str, Any], list[str]]:
    """Merge a manifest row's values with the values the tool output carries.

    The tool's value fills a column the manifest leaves empty; where both have a value they must agree (numbers
    exactly for whole numbers, to 1e-6 relative for decimals, text case-insensitively, times within 1 s), and
    the tool's spelling is kept. ``cpu_mhz`` is exempt (:func:`effective_cpu_mhz` decides it).

    Returns
    -------
    merged : dict
        manifest values overlaid with tool values (tool fields outside the manifest columns pass through).
    mismatches : list of str
        one message per disagreement, naming the column and both values.

    >>> reconcile({"msg_size_bytes": 1024}, {"msg_size_bytes": 16384}, where="manifest.csv line 3")[1]
    ['msg_size_bytes: manifest.csv line 3 says 1024, the file says 16384']
    """
    merged = dict(manifest_values)
    mismatches: list[str] = []
    for key, value in tool_fields.items():
        if value is None or value is _NA or value is _NAT or (isinstance(value, float) and value != value):
            continue
        if key in _PRECEDENCE_COLUMNS:
            continue
        if key == "test" and key in merged and "tool_test" in tool_fields:
            if same_test_name(merged[key], value, tool_fields["tool_test"]):
                merged[key] = value  # either vocabulary names the run: the canonical name is kept
            else:
                own = tool_fields["tool_test"]
                mismatches.append(f"test: {where} says {_show(merged[key])}, the file says {_show(value)}" + (
                    f" (the tool's own name: {_show(own)})" if str(own) != str(value) else ""))
            continue
        if key not in merged:
            merged[key] = value
            continue
        dtype = MANIFEST_COLUMNS.get(key) or RUN_COLUMNS.get(key) or "string"
        kind = type(value)
        if kind is type(merged[key]) and (
                (kind is str and dtype == "string" and value == merged[key] and value.strip() == value)
                or (kind is int and dtype == "Int64" and value == merged[key] and -_EXACT_INT < value < _EXACT_INT)):
            continue  # equal and already in the column's form: what the cast and comparison below conclude
        cast = _CASTS[dtype][0]
        try:
            tool_value = cast(value)
        except (TypeError, ValueError, OverflowError):
            tool_value = value
        try:
            same = _same(dtype, merged[key], tool_value)
        except (TypeError, ValueError):
            same = merged[key] == tool_value
        if same:
            merged[key] = tool_value
        else:
            mismatches.append(f"{key}: {where} says {_show(merged[key])}, the file says {_show(tool_value)}")
    return merged, mismatches


def effective_cpu_mhz(manifest_values: Mapping[str, Any], tool_fields: Mapping[str, Any]
                      ) -> tuple[float | None, str | None]:
    """The run's effective clock and where it came from.

    Precedence: mean of the manifest's ``cpu_mhz_before`` and ``cpu_mhz_after`` when both are given
    (``"manifest-before-after"``), else the manifest's ``cpu_mhz`` (``"manifest"``), else a frequency the tool
    reported (``"tool"``, e.g. netperf ``LOCAL_CPU_FREQUENCY``), else ``(None, None)``.

    >>> effective_cpu_mhz({"cpu_mhz_before": 2000.0, "cpu_mhz_after": 2400.0}, {"cpu_mhz": 2596.0})
    (2200.0, 'manifest-before-after')
    """
    before, after = manifest_values.get("cpu_mhz_before"), manifest_values.get("cpu_mhz_after")
    if before is not None and after is not None:
        return (float(before) + float(after)) / 2.0, "manifest-before-after"
    if manifest_values.get("cpu_mhz") is not None:
        return float(manifest_values["cpu_mhz"]), "manifest"
    tool = tool_fields.get("cpu_mhz")
    if tool is not None and not pd.isna(tool):
        return float(tool), "tool"
    return None, None
