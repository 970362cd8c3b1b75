"""Several campaign folders, one comparison: each side of a dispute benchmarks on its own and brings its folder.

:func:`load_campaigns` loads each folder (raw with ``manifest.csv``, or processed) with
:func:`analysis.ingest.load_campaign` and merges them into one :class:`~analysis.ingest.Campaign`:

* every run records its **side**: the manifest's ``side`` or ``lab`` column where it has one, else the folder's
  name; the side is a design factor (:mod:`analysis.confound`), so a model measured by one side only is never
  silently compared with a model measured by the other;
* ``run_id`` and ``source_file`` are prefixed with the folder's name (``lab-a/0001_...``), so two sides' runs never
  collide and every run still names its file; provenance (``source_sha256``) is kept per run;
* rejects are kept per side (``source_file`` prefixed, a ``side`` column), and the summary holds each side's own
  summary under ``sides`` beside the summed counts.

A **sides folder** holds no ``manifest.csv`` of its own, but side folders that do (``data/raw/two-labs/lab-a``,
``.../lab-b``), or a ``sides.csv`` listing them (columns ``side, path``; relative paths from the sides folder).
``load_campaign`` and the report accept a sides folder wherever they accept a campaign folder, so the notebooks'
``campaign`` parameter may name one; ``pvfair report DIR_A DIR_B --as-one NAME`` writes a ``sides.csv`` for the
folders under ``<out>/.as-one/NAME`` and reports that. A manifest ``role`` column (``baseline`` / ``candidate`` /
``reference``) names the two compared models when a campaign holds more than two (a reference for a bridge).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

__all__ = ["SIDE_COLUMNS", "SIDES_FILE", "load_campaigns", "load_sides_folder", "side_folders", "is_sides_folder",
           "write_sides_file", "marked_roles"]

#: manifest columns naming a run's side, first present wins
SIDE_COLUMNS: tuple[str, ...] = ("side", "lab")
#: the file listing a sides folder's side folders (optional; without it, subfolders with a manifest are sides)
SIDES_FILE = "sides.csv"
_MANIFEST = "manifest.csv"


def side_folders(folder: str | Path) -> list[Path]:
    """The side folders of a sides folder (``sides.csv`` order, else sorted subfolders with a manifest); ``[]``
    for an ordinary campaign folder. A ``sides.csv`` row naming no folder is an error naming the file and line."""
    folder = Path(folder)
    if (folder / _MANIFEST).is_file():
        return []
    listing = folder / SIDES_FILE
    if listing.is_file():
        table = pd.read_csv(listing, dtype=str, keep_default_na=False)
        if "path" not in table.columns:
            raise ValueError(f"{listing}: expected a 'path' column (and optionally 'side'), got {list(table.columns)}")
        out = []
        for line, p in enumerate(table["path"], start=2):
            path = Path(p) if Path(p).is_absolute() else folder / p
            if not path.is_dir():
                raise ValueError(f"{listing}:{line}: path {p!r} is not a folder; expected a campaign folder")
            out.append(path)
        return out
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / _MANIFEST).is_file())


def is_sides_folder(folder: str | Path) -> bool:
    """True for a folder of side folders (see the module docstring)."""
    return bool(side_folders(folder))


def _side_of(campaign, folder: Path) -> pd.Series:
    runs = campaign.runs
    col = next((c for c in SIDE_COLUMNS if c in runs.columns and runs[c].notna().any()), None)
    side = pd.Series(folder.name, index=runs.index, dtype="string")
    if col is not None:
        side = runs[col].astype("string").str.strip().replace("", pd.NA).fillna(folder.name)
    return side


def _load_campaigns_iv(paths, as_one) -> list[Path]:
    if isinstance(paths, str | Path) or not isinstance(paths, Sequence) or len(paths) < 1:
        raise ValueError("paths: expected a list of campaign folders, one per side")
    if not isinstance(as_one, str) or not as_one.strip() or "/" in as_one:
        raise ValueError(f"as_one: expected a campaign name (no '/'), got {as_one!r}")
    folders = [Path(p) for p in paths]
    for p in folders:
        if not p.is_dir():
            raise FileNotFoundError(f"paths: {str(p)!r} is not a folder; expected a campaign folder per side")
    names = [p.resolve().name for p in folders]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"paths: two side folders share the name(s) {dupes}; their run ids would collide")
    return folders


def load_campaigns(paths: Sequence[str | Path], *, as_one: str, root: str | Path | None = None):
    """One campaign from several side folders (see the module docstring).

    Parameters
    ----------
    paths : the side folders (raw or processed campaign folders)
    as_one : the merged campaign's name
    root : the sides folder they came from (kept as the campaign's ``root``), if any

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from analysis.simulate import CampaignSpec, simulate_campaign
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = simulate_campaign(d / "lab-a", CampaignSpec(trials=2, tests=("TCP_RR",)), seed=1)
    >>> _ = simulate_campaign(d / "lab-b", CampaignSpec(trials=2, tests=("TCP_RR",)), seed=2)
    >>> c = load_campaigns([d / "lab-a", d / "lab-b"], as_one="both")
    >>> sorted(c.runs["side"].unique()), c.runs["run_id"].iloc[0].split("/")[0]
    (['lab-a', 'lab-b'], 'lab-a')
    """
    from analysis.ingest import Campaign, load_campaign

    folders = _load_campaigns_iv(paths, as_one)
    runs, meas, intervals, rejects, summaries = [], [], [], [], {}
    for folder in folders:
        c = load_campaign(folder)
        prefix = folder.resolve().name
        side = _side_of(c, folder.resolve())
        r = c.runs.copy()
        r["side"] = side
        r["campaign"] = as_one
        r["run_id"] = prefix + "/" + r["run_id"].astype(str)
        if "source_file" in r.columns:
            r["source_file"] = prefix + "/" + r["source_file"].astype("string")
        runs.append(r)
        for table, out in ((c.measurements, meas), (c.intervals, intervals)):
            t = table.copy()
            t["run_id"] = prefix + "/" + t["run_id"].astype(str)
            out.append(t)
        rj = c.rejects.copy()
        rj["source_file"] = prefix + "/" + rj["source_file"].astype("string")
        rj["side"] = prefix
        rejects.append(rj)
        summaries[prefix] = dict(c.summary)
    summary = {"campaign": as_one, "sides": summaries}
    for k in ("seen", "ingested", "rejected"):
        summary[k] = sum(int(s.get(k, 0)) for s in summaries.values())
    by_reason: dict[str, int] = {}
    for s in summaries.values():
        for reason, n in s.get("rejected_by_reason", {}).items():
            by_reason[reason] = by_reason.get(reason, 0) + int(n)
    summary["rejected_by_reason"] = by_reason
    cat = lambda frames: pd.concat(frames, ignore_index=True)  # noqa: E731
    return Campaign(name=as_one, runs=cat(runs), measurements=cat(meas), intervals=cat(intervals),
                    rejects=cat(rejects), root=Path(root).resolve() if root is not None else None, summary=summary)


def load_sides_folder(folder: str | Path):
    """:func:`load_campaigns` over a sides folder's side folders, named after the folder."""
    folder = Path(folder)
    sides = side_folders(folder)
    if not sides:
        raise ValueError(f"path: {str(folder)!r} holds no side folders (subfolders with {_MANIFEST}) and no "
                         f"{SIDES_FILE}")
    return load_campaigns(sides, as_one=folder.resolve().name, root=folder)


def write_sides_file(folder: str | Path, paths: Sequence[str | Path]) -> Path:
    """Write ``<folder>/sides.csv`` listing *paths* (absolute), so *folder* is a sides folder; returns *folder*."""
    folders = _load_campaigns_iv(paths, Path(folder).name)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"side": [p.resolve().name for p in folders], "path": [str(p.resolve()) for p in folders]}
                 ).to_csv(out / SIDES_FILE, index=False, lineterminator="\n")
    return out


def marked_roles(runs: pd.DataFrame) -> tuple[str, str] | None:
    """(baseline, candidate) as a manifest ``role`` column marks them, when it marks exactly one of each."""
    if "role" not in runs.columns:
        return None
    role = runs["role"].astype("string").str.strip().str.lower()
    found = []
    for name in ("baseline", "candidate"):
        models = runs.loc[role.eq(name).fillna(False), "pv_model"].dropna().astype(str).unique()
        if len(models) != 1:
            return None
        found.append(str(models[0]))
    return (found[0], found[1]) if found[0] != found[1] else None
