"""The provenance of a report: parameters, package versions, git commit and the sha256 of every input file.

``provenance.json`` (pyperf-style) lets a reader check which code, which packages and which raw files made a
report; :func:`input_checksums` covers the side folders a ``sides.csv`` lists outside the campaign folder too.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.notebook import REPO_ROOT

__all__ = ["input_checksums", "provenance"]

#: packages whose versions go into provenance.json
_PROVENANCE_PACKAGES = (
    "pvfair", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "pyarrow", "papermill",
    "nbconvert", "nbclient", "ipykernel", "weasyprint", "pypdf",
)  # fmt: skip


def input_checksums(root: str | Path) -> dict[str, str]:
    """sha256 of every file under the campaign folder *root*, keyed by posix path relative to *root*, sorted."""
    root = Path(root)
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        out[path.relative_to(root).as_posix()] = h.hexdigest()
    from analysis.sides import side_folders  # the side folders a sides.csv lists may lie outside root

    for side in side_folders(root):
        if root.resolve() not in side.resolve().parents:
            out.update({f"{side.name}/{k}": v for k, v in input_checksums(side).items()})
    return out


def _git_commit() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no", "--", "analysis", "notebooks")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def _package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _PROVENANCE_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(campaign_root: str | Path, parameters: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The provenance record of a report: parameters, package versions, git commit, input sha256 (pyperf-style).

    *extra* keys (e.g. notebook timings, status) are added as given.
    """
    root = Path(campaign_root)
    record = {
        "campaign": root.name,
        "campaign_path": str(root),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": dict(parameters),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": _package_versions(),
        "git": _git_commit(),
        "inputs_sha256": input_checksums(root),
    }
    record.update(extra)
    return record
