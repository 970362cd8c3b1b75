"""Write ``notebooks/NN_*.ipynb`` from their reviewable sources ``scripts/notebooks/NN_*.py``.

The sources use the "percent" format (as jupytext and VS Code read it)::

    # %% [markdown]
    # # Title
    # %% tags=["parameters"]
    alpha: float = 0.05  # family-wise error rate
    # %%
    print(alpha)

Markdown cells are the comment lines with their leading ``# `` removed. A parameters cell that several notebooks
share is written once, in :data:`PARAMETER_CELLS`, and a source names it with a single directive line
``# pvfair: parameters NAME``; the notebook gets the literal lines (papermill reads the parameters cell as it is),
so the compare (04) and summary (06) notebooks cannot drift apart. Comment lines before the first marker
are a header that stays out of the notebook (each source starts with a ruff directive: imports follow the
parameters cell, the quoted ``"Optional[...]"`` annotations are for papermill's parser, and a cell's last
expression is its output). The notebooks are written without outputs,
with deterministic cell ids and the ``python3`` kernelspec (papermill and JupyterLab both find it in the venv).

Usage: ``python scripts/build_notebooks.py`` (write) or ``python scripts/build_notebooks.py --check`` (exit 1 when a
committed notebook differs from its source).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["SOURCE_DIR", "NOTEBOOK_DIR", "PARAMETER_CELLS", "parse_source", "build_notebook", "build_all"]

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "scripts" / "notebooks"
NOTEBOOK_DIR = ROOT / "notebooks"

_MARKER = re.compile(r"^# %%(?P<kind> \[markdown\])?(?P<meta>.*)$")
_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_DIRECTIVE = re.compile(r"^# pvfair: parameters (?P<name>\w+)(?:\s.*)?$")

#: parameters cells shared by several notebooks -> their literal lines (one annotated literal and help per line)
PARAMETER_CELLS: dict[str, str] = {
    # 04_compare and 06_summary: the comparison both open with (analysis.notebook.open_comparison)
    "compare": """\
campaign: str = "data/raw/demo"  # campaign folder, relative to the current folder or the repository root
baseline: "Optional[str]" = None  # baseline PV model; None infers it (manifest role column, else first row)
candidate: "Optional[str]" = None  # candidate PV model; None infers it (the campaign's other model)
metrics: "Optional[list[str]]" = None  # metrics to compare; None takes the rates and mean latency measured
margin: float = 0.05  # equivalence margin: equivalent when the ratio lies within 1/(1+margin) and 1+margin
alpha: float = 0.05  # family-wise error rate of the faster/slower verdicts
correction: str = "holm"  # multiplicity correction: holm, bonferroni, bh or none
statistic: str = "mean"  # location statistic of the ratio: mean, median or geomean
n_resamples: int = 9999  # bootstrap and permutation resamples per cell
seed: int = 2009  # random seed: the same seed gives the same tables
output_dir: str = ""  # folder for the CSV tables written by this notebook; empty writes nothing""",
}


def parse_source(text: str, *, name: str = "<source>") -> list[dict]:
    """Cells of a percent-format source: dicts with ``kind`` (code/markdown), ``source`` and ``tags``."""
    cells: list[dict] = []
    current: dict | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        m = _MARKER.match(line)
        if m:
            tags: list[str] = []
            meta = m["meta"].strip()
            if meta:
                tm = re.fullmatch(r"tags=(\[.*\])", meta)
                if not tm:
                    raise ValueError(f"{name}:{lineno}: expected 'tags=[...]' after '# %%', found {meta!r}")
                tags = json.loads(tm[1])
            current = {"kind": "markdown" if m["kind"] else "code", "lines": [], "tags": tags}
            cells.append(current)
            continue
        if current is None:
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"{name}:{lineno}: expected a '# %%' cell marker before any code")
            continue  # a header comment (e.g. the ruff directive) is not part of the notebook
        if current["kind"] == "markdown":
            if line and not line.startswith("#"):
                raise ValueError(f"{name}:{lineno}: expected a '# ' comment line in a markdown cell")
            line = line[2:] if line.startswith("# ") else line[1:]
        current["lines"].append(line)
    for cell in cells:
        lines = cell.pop("lines")
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        cell["source"] = _expand("\n".join(lines), cell, name)
    return cells


def _expand(source: str, cell: dict, name: str) -> str:
    """A parameters cell holding only ``# pvfair: parameters NAME`` becomes :data:`PARAMETER_CELLS` ``[NAME]``."""
    m = _DIRECTIVE.match(source)
    if m is None:
        return source
    if "parameters" not in cell["tags"]:
        raise ValueError(f"{name}: '# pvfair: parameters' belongs in a cell tagged parameters")
    if m["name"] not in PARAMETER_CELLS:
        raise ValueError(f"{name}: unknown parameters cell {m['name']!r}; expected one of {sorted(PARAMETER_CELLS)}")
    return PARAMETER_CELLS[m["name"]]


def build_notebook(source: Path) -> nbformat.NotebookNode:
    """The notebook for one source file (no outputs, deterministic cell ids)."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = dict(_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    stem = source.stem
    for i, cell in enumerate(parse_source(source.read_text(encoding="utf-8"), name=source.name)):
        meta = {"tags": cell["tags"]} if cell["tags"] else {}
        make = new_markdown_cell if cell["kind"] == "markdown" else new_code_cell
        nb_cell = make(cell["source"], metadata=meta)
        nb_cell["id"] = f"{stem[:2]}-{i:02d}"
        nb.cells.append(nb_cell)
    nbformat.validate(nb)
    return nb


def build_all(*, check: bool = False) -> list[Path]:
    """Write (or, with *check*, compare) every notebook; return those written or differing."""
    changed = []
    for source in sorted(SOURCE_DIR.glob("[0-9][0-9]_*.py")):
        target = NOTEBOOK_DIR / f"{source.stem}.ipynb"
        text = nbformat.writes(build_notebook(source)) + "\n"
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        changed.append(target)
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a notebook differs from its source")
    args = parser.parse_args(argv)
    changed = build_all(check=args.check)
    for path in changed:
        print(("differs: " if args.check else "wrote: ") + str(path.relative_to(ROOT)))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
