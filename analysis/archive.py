"""A lab's archive: many campaigns in one hive-partitioned Parquet dataset, queried with DuckDB in-process.

Layout (``data/archive/`` by default), one partition folder per campaign::

    <archive>/campaign=<name>/campaigns.parquet      one row: ordering keys, provenance, content hash
                              runs.parquet           the campaign's tables (analysis.schema columns), without the
                              measurements.parquet   ``campaign`` column: the partition folder carries it
                              intervals.parquet
                              rejects.parquet
                              ignored.parquet        files that are not runs (path, reason)

Each table is a hive-partitioned dataset over the files of that name, so any Parquet tool reads it:
DuckDB ``read_parquet('<archive>/campaign=*/runs.parquet', hive_partitioning = true)``, pyarrow
``pyarrow.dataset.dataset(files, partitioning="hive", partition_base_dir=<archive>)``, Spark or polars likewise.
:func:`connect` opens a DuckDB connection with one view per table (``campaigns, runs, measurements, intervals,
rejects``, ``ignored``); campaigns whose manifests carry different extra columns are unioned by name.

Writes (:func:`add`, :func:`add_campaign`):

* **Idempotent by content.** A campaign's content hash is the sha256 over its input files (relative path and
  sha256 of each, as in a report's provenance). Adding a campaign whose hash the archive already holds is a
  no-op that does not even parse it.
* **Atomic replace.** The new partition is written to ``<archive>/.tmp-<name>-<token>/`` (same filesystem), then
  renamed into place; an old partition is first renamed aside to ``.old-<name>-<token>`` and removed after. Readers
  only look at ``campaign=*`` folders, so they see the old partition or the new one, never a half-written one.
* **A killed add leaves no partial partition.** A kill while writing leaves only a ``.tmp-`` folder, which the
  next add removes. A kill between the two renames leaves the old partition aside; the next add puts it back
  before anything else (:func:`recover`). Writers hold an exclusive ``flock`` on ``<archive>/.lock``.

Campaign names become partition values, so they are restricted to letters, digits and ``. _ + -`` (kernel strings
such as ``6.1.0-13-amd64`` fit) and may not start with a dot.

The campaigns table holds, besides the counts and provenance, every run column whose value is the same for all
of the campaign's runs (``guest_kernel``, ``host_kernel``, ``host``, a manifest's ``qemu_version`` ...), as text:
those are the ordering keys :mod:`analysis.history` sorts campaigns by. ``first_start_utc`` is the date key.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import html
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.ingest import TABLE_FILES, Campaign
from analysis.ingest import load_campaign as _load_source
from analysis.memo import frame_digest
from analysis.schema import RUN_COLUMNS, coerce_frame

__all__ = [
    "DEFAULT_ARCHIVE",
    "TABLES",
    "AddResult",
    "ArchiveAddResult",
    "campaign_hash",
    "add",
    "add_campaign",
    "recover",
    "list_campaigns",
    "connect",
    "query",
    "load_campaign",
    "cli_arguments",
    "cli_run",
]

#: where ``pvfair archive`` keeps the dataset unless ``--archive`` says otherwise
DEFAULT_ARCHIVE = Path("data/archive")
#: the archive's tables (one Parquet file each per campaign partition); ``campaigns`` is written last
TABLES: tuple[str, ...] = ("runs", "measurements", "intervals", "rejects", "ignored", "campaigns")
_PARTITION = "campaign"
_NAME_RE = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9._+\-]*")
#: run columns that vary per run by construction; never campaign-level ordering keys
_PER_RUN = ("campaign", "run_id", "source_file", "source_sha256", "start_time", "order_index", "trial",
            "cpu_mhz", "cpu_mhz_before", "cpu_mhz_after", "duration_s")  # fmt: skip


@dataclass(frozen=True)
class AddResult:
    """What adding one campaign did: ``action`` is ``added``, ``replaced`` or ``unchanged``."""

    campaign: str
    action: str
    content_sha256: str
    n_runs: int
    partition: Path


@dataclass(frozen=True)
class ArchiveAddResult:
    """The outcome of one :func:`add` call, one entry per campaign in the order given."""

    archive: Path
    entries: tuple[AddResult, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per campaign: campaign, action, content_sha256, n_runs, partition."""
        return pd.DataFrame([e.__dict__ for e in self.entries],
                            columns=["campaign", "action", "content_sha256", "n_runs", "partition"])

    def summary(self) -> str:
        counts = self.to_frame()["action"].value_counts()
        head = ", ".join(f"{counts.get(a, 0)} {a}" for a in ("added", "replaced", "unchanged"))
        lines = [f"archive {self.archive}: {head}"]
        lines += [f"  {e.campaign}: {e.action} ({e.n_runs} runs, sha256 {e.content_sha256[:12]})"
                  for e in self.entries]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


# ------------------------------------------------------------------------------------------------------ writing


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"campaign name {name!r}: expected letters, digits and . _ + - (not starting with a dot),"
                         " as it becomes the archive's partition folder campaign=<name>")
    return name


def campaign_hash(path: str | Path) -> str:
    """The content hash of a campaign folder: sha256 over every file's relative path and sha256, sorted."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"campaign: {str(root)!r} is not a folder; expected a raw campaign folder")
    outer = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        outer.update(f"{p.relative_to(root).as_posix()}\0{h.hexdigest()}\n".encode())
    return outer.hexdigest()


def _memory_hash(campaign: Campaign) -> str:
    parts = [campaign.name] + [frame_digest(getattr(campaign, t)) for t in TABLE_FILES]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@contextlib.contextmanager
def _locked(archive: Path) -> Iterator[None]:
    archive.mkdir(parents=True, exist_ok=True)
    with open(archive / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            recover(archive)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def recover(archive: str | Path) -> list[str]:
    """Finish what a killed add left: put back a partition left aside, remove abandoned temporary folders.

    Called by every add under the archive's lock; returns what it did, one line per folder.
    """
    root = Path(archive)
    done: list[str] = []
    if not root.is_dir():
        return done
    for p in sorted(root.glob(".old-*")):
        name = p.name[len(".old-"):].rsplit("-", 1)[0]
        part = root / f"{_PARTITION}={name}"
        if part.exists():
            shutil.rmtree(p)
            done.append(f"removed {p.name} (the new partition of {name} is in place)")
        else:
            os.rename(p, part)
            done.append(f"restored {part.name} from {p.name} (an add was killed mid-replace)")
    for p in sorted(root.glob(".tmp-*")):
        shutil.rmtree(p)
        done.append(f"removed {p.name} (an add was killed while writing)")
    return done


def _stored_hash(part: Path) -> str | None:
    f = part / "campaigns.parquet"
    if not f.is_file():
        return None
    return str(pq.read_table(f, columns=["content_sha256"]).column(0)[0].as_py())


def _campaign_row(campaign: Campaign, content_sha256: str, source: str | None) -> pd.DataFrame:
    runs = campaign.runs
    row: dict[str, Any] = {
        "content_sha256": content_sha256,
        "source_path": source,
        "added_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "n_runs": len(runs),
        "n_measurements": len(campaign.measurements),
        "n_rejects": len(campaign.rejects),
        "pv_models": ",".join(sorted(runs["pv_model"].dropna().astype(str).unique())),
        "first_start_utc": runs["start_time"].min() if len(runs) else pd.NaT,
        "last_start_utc": runs["start_time"].max() if len(runs) else pd.NaT,
        "ingest_summary": json.dumps(campaign.summary, sort_keys=True, default=str),
    }
    for col in runs.columns:
        if col in _PER_RUN or col in row:
            continue
        values = runs[col].dropna().unique()
        if len(values) == 1:
            row[col] = str(values[0])
    frame = pd.DataFrame([row])
    for col in ("first_start_utc", "last_start_utc"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path)
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _write_partition(campaign: Campaign, tmp: Path, row: pd.DataFrame) -> None:
    for table, (file_name, columns) in TABLE_FILES.items():
        frame = coerce_frame(getattr(campaign, table), columns, name=table)
        if table == "runs":
            frame = frame.drop(columns=[_PARTITION])
        _write_table(frame, tmp / file_name)
    _write_table(row, tmp / "campaigns.parquet")  # last: a partition with it is complete


def _swap_in(archive: Path, tmp: Path, part: Path, name: str) -> None:
    """Rename *tmp* to *part*, an existing *part* first set aside and removed after (see :func:`recover`)."""
    if part.exists():
        aside = archive / f".old-{name}-{uuid.uuid4().hex[:12]}"
        os.rename(part, aside)
        os.rename(tmp, part)
        shutil.rmtree(aside)
    else:
        os.rename(tmp, part)


def _add_iv(archive: str | Path) -> Path:
    root = Path(archive)
    if root.exists() and not root.is_dir():
        raise ValueError(f"archive: {str(root)!r} exists and is not a folder; expected the archive folder")
    return root


def add_campaign(campaign: Campaign, archive: str | Path = DEFAULT_ARCHIVE, *, content_sha256: str | None = None,
                 source: str | Path | None = None) -> AddResult:
    """Put one in-memory campaign into the archive (a no-op when its content hash is already there).

    Parameters
    ----------
    campaign : as :func:`analysis.ingest.load_campaign` returns it; its ``name`` is the partition value
    archive : the archive folder (created if needed)
    content_sha256 : the campaign's content hash; default: a digest of its tables
    source : where it came from (kept in the campaigns table)
    """
    if not isinstance(campaign, Campaign):
        raise TypeError(f"campaign: expected an analysis.ingest.Campaign, got {type(campaign).__name__}")
    root = _add_iv(archive)
    name = _check_name(campaign.name)
    digest = content_sha256 or _memory_hash(campaign)
    with _locked(root):
        return _add_locked(root, name, digest, lambda: campaign, source)


def _add_locked(root: Path, name: str, digest: str, get_campaign, source) -> AddResult:
    part = root / f"{_PARTITION}={name}"
    old = _stored_hash(part) if part.exists() else None
    if old == digest:
        n = pq.ParquetFile(part / "runs.parquet").metadata.num_rows
        return AddResult(name, "unchanged", digest, n, part)
    tmp = root / f".tmp-{name}-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        campaign = get_campaign()
        _write_partition(campaign, tmp, _campaign_row(campaign, digest, None if source is None else str(source)))
        _swap_in(root, tmp, part, name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return AddResult(name, "added" if old is None else "replaced", digest, len(campaign.runs), part)


def add(paths: str | Path | Iterable[str | Path], archive: str | Path = DEFAULT_ARCHIVE, *,
        progress: bool = False) -> ArchiveAddResult:
    """Ingest campaign folders (raw or processed) into the archive, one partition each.

    An unchanged campaign (same content hash) is skipped without parsing; a changed one replaces its partition
    atomically. The partition is named after the folder. Returns what happened to each.
    """
    items = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not items:
        raise ValueError("paths: expected at least one campaign folder")
    root = _add_iv(archive)
    for p in items:
        if not p.is_dir():
            raise FileNotFoundError(f"campaign: {str(p)!r} is not a folder; expected a campaign folder")
        _check_name(p.name)
    names = [p.name for p in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"paths: several folders share the campaign name(s) {dupes}; one partition each")
    from tqdm.auto import tqdm

    entries = []
    with _locked(root):
        for p in tqdm(items, desc="archive add", unit="campaign", disable=not progress):
            digest = campaign_hash(p)
            entries.append(_add_locked(root, p.name, digest, lambda p=p: _load_source(p, cache=False),
                                       p.resolve()))
    return ArchiveAddResult(root, tuple(entries))


# ------------------------------------------------------------------------------------------------------ reading


def _partitions(archive: str | Path) -> list[Path]:
    root = Path(archive)
    if not root.is_dir():
        raise FileNotFoundError(f"archive: {str(root)!r} does not exist; expected an archive folder "
                                "(create one with pvfair archive add)")
    return sorted(p for p in root.glob(f"{_PARTITION}=*") if (p / "campaigns.parquet").is_file())


def connect(archive: str | Path = DEFAULT_ARCHIVE, *, threads: int | None = None, materialize: bool = False):
    """An in-process DuckDB connection with one view per archive table (``campaigns, runs, measurements, ...``).

    Every view has the ``campaign`` column (from the partition folder, as text). An archive with no campaign yet
    gives empty views with no columns but ``campaign``. Each query over a view opens the partitions' files again
    (thousands of small files cost seconds per query); *materialize* loads every table into the connection's
    memory once instead, for sessions that run many queries (one per cell of a history, say).
    """
    import duckdb

    parts = _partitions(archive)
    con = duckdb.connect(database=":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET parquet_metadata_cache = true")
    root = Path(archive).resolve().as_posix().replace("'", "''")
    kind = "TABLE" if materialize else "VIEW"
    for table in TABLES:
        if parts:
            ubn = "true" if table in ("runs", "campaigns", "rejects") else "false"  # extra columns vary there
            con.execute(
                f"CREATE {kind} {table} AS SELECT * FROM read_parquet('{root}/{_PARTITION}=*/{table}.parquet', "
                f"hive_partitioning = true, union_by_name = {ubn}, hive_types = {{'{_PARTITION}': VARCHAR}})"
            )
        else:
            con.execute(f"CREATE VIEW {table} AS SELECT CAST(NULL AS VARCHAR) AS {_PARTITION} WHERE false")
    return con


def query(archive: str | Path, sql: str) -> pd.DataFrame:
    """Run *sql* on the archive's views (see :func:`connect`) and return the result as a DataFrame."""
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("sql: expected a non-empty SQL query over the views campaigns, runs, measurements, "
                         "intervals, rejects")
    import duckdb

    con = connect(archive)
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        raise ValueError(f"sql: DuckDB refused the query: {exc}") from exc
    finally:
        con.close()


def list_campaigns(archive: str | Path = DEFAULT_ARCHIVE) -> pd.DataFrame:
    """The campaigns table, one row per campaign, sorted by name (empty frame for an empty archive)."""
    frame = query(archive, f"SELECT * FROM campaigns ORDER BY {_PARTITION}")
    cols = [_PARTITION] + [c for c in frame.columns if c != _PARTITION]
    return frame[cols].reset_index(drop=True)


def load_campaign(archive: str | Path, name: str) -> Campaign:
    """One campaign read back out of the archive, with the tables and dtypes ingest gave it."""
    part = Path(archive) / f"{_PARTITION}={_check_name(name)}"
    if not (part / "campaigns.parquet").is_file():
        known = [p.name.split("=", 1)[1] for p in _partitions(archive)]
        raise ValueError(f"name: campaign {name!r} is not in the archive {str(archive)!r}; it holds {known}")
    tables = {}
    for table, (file_name, columns) in TABLE_FILES.items():
        frame = pq.read_table(part / file_name).to_pandas()
        if table == "runs":
            frame.insert(0, _PARTITION, pd.Series(name, index=frame.index, dtype=RUN_COLUMNS[_PARTITION]))
        tables[table] = coerce_frame(frame, columns, name=table)
    row = pq.read_table(part / "campaigns.parquet").to_pandas().iloc[0]
    summary = json.loads(row["ingest_summary"]) if isinstance(row.get("ingest_summary"), str) else {}
    source = row.get("source_path")
    root = Path(source) if isinstance(source, str) and source else None
    return Campaign(name=name, root=root, summary=summary, **tables)


# ------------------------------------------------------------------------------------------------------ the CLI


def cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair archive add|list|query``."""
    sub = parser.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    p_add = sub.add_parser("add", help="ingest campaign folders into the archive (unchanged ones are skipped)")
    p_add.add_argument("dirs", nargs="+", metavar="DIR", help="campaign folder(s), raw or processed")
    p_list = sub.add_parser("list", help="list the archive's campaigns")
    p_query = sub.add_parser("query", help="run SQL (DuckDB) on the views campaigns, runs, measurements, ...")
    p_query.add_argument("sql", metavar="SQL")
    p_query.add_argument("--csv", action="store_true", help="print CSV instead of a text table")
    for p in (p_add, p_list, p_query):
        p.add_argument("--archive", default=str(DEFAULT_ARCHIVE), help=f"archive folder (default: {DEFAULT_ARCHIVE})")
    p_add.add_argument("--quiet", action="store_true", help="no progress bar")


def _print_frame(frame: pd.DataFrame, as_csv: bool) -> None:
    if as_csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", 200, "display.max_columns", 30, "display.width", 160):
            print(frame.to_string(index=False) if len(frame) else "(no rows)")


def cli_run(args: argparse.Namespace) -> int:
    """Run ``pvfair archive ...``; exit status 0 on success (errors: 2, printed by the CLI)."""
    if args.archive_command == "add":
        print(add(args.dirs, args.archive, progress=not args.quiet).summary())
    elif args.archive_command == "list":
        cols = ["campaign", "pv_models", "n_runs", "n_rejects", "first_start_utc", "content_sha256"]
        frame = list_campaigns(args.archive)
        extra = [c for c in ("host_kernel", "guest_kernel", "host") if c in frame.columns]
        _print_frame(frame.reindex(columns=cols[:5] + extra + cols[5:]), False)
    else:
        _print_frame(query(args.archive, args.sql), args.csv)
    return 0

