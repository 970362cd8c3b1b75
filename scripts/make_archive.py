"""Write the simulated archive (200 campaigns over kernels 6.1.1 ... 6.1.40, planted change at 6.1.25) and add it.

``python scripts/make_archive.py [RAW_DIR] [ARCHIVE]`` (defaults ``data/raw/sim-archive`` and ``data/archive``):
the raw campaign folders come from :func:`analysis.simulate.simulate_archive` (seed 0), then
:func:`analysis.archive.add` puts them into the archive (a no-op for campaigns already there unchanged).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import archive  # noqa: E402
from analysis.simulate import ArchiveSpec, simulate_archive  # noqa: E402


def main(argv: list[str]) -> int:
    raw = Path(argv[0]) if argv else ROOT / "data" / "raw" / "sim-archive"
    store = Path(argv[1]) if len(argv) > 1 else ROOT / "data" / "archive"
    folders = sorted(p for p in raw.iterdir() if p.is_dir()) if raw.is_dir() else simulate_archive(raw, ArchiveSpec())
    print(archive.add(folders, store, progress=True).summary().splitlines()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
