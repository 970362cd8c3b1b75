"""The committed notebooks: no outputs, in sync with their sources, one documented parameters cell each."""

from __future__ import annotations

import importlib.util
import json

import pytest

from analysis.parameters import import_jupyter, notebook_parameters
from analysis.runner import NOTEBOOKS, NOTEBOOK_DIR
from tests.conftest import ROOT

import_jupyter()  # nbformat and papermill without the slow, unused rfc3987_syntax import
import nbformat  # noqa: E402
import papermill as pm  # noqa: E402

pytestmark = pytest.mark.notebooks

#: what every report notebook documents, and which notebook takes which parameter
COMMON = ["campaign", "output_dir"]
ANALYSIS = ["baseline", "candidate", "metrics", "margin", "alpha", "correction", "statistic", "n_resamples", "seed"]
EXPECTED = {
    "01_ingest": COMMON,
    "02_normalize": COMMON,
    "03_audit": [*COMMON, "baseline", "candidate"],
    "04_compare": [*COMMON, *ANALYSIS],
    "05_model": [*COMMON, "baseline", "candidate", "metrics", "alpha"],
    "06_summary": [*COMMON, *ANALYSIS],
}


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "scripts" / "build_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs(name):
    raw = json.loads((NOTEBOOK_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{name}: a code cell carries outputs"
            assert cell["execution_count"] is None, f"{name}: a code cell carries an execution count"
    assert raw["metadata"]["kernelspec"]["name"] == "python3"


def test_notebooks_in_sync_with_sources():
    assert _builder().build_all(check=True) == [], "run: python scripts/build_notebooks.py"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell(name):
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [1], f"{name}: exactly one parameters cell, right after the title"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    spec = notebook_parameters(NOTEBOOK_DIR / f"{name}.ipynb")
    assert sorted(spec) == sorted(EXPECTED[name])
    for pname, p in spec.items():
        assert p["help"], f"{name}: parameter {pname} has no help comment"
        assert p["type"] != "None", f"{name}: parameter {pname} has no type annotation"
    assert spec["campaign"]["default"] == '"data/raw/demo"'
    # every parameter line is a plain annotated literal that papermill can parse (no '=' in help texts)
    assert len(nb.cells[1].source.strip().splitlines()) == len(spec)


def test_help_notebook_lists_every_parameter():
    from click.testing import CliRunner
    from papermill.cli import papermill as cli

    res = CliRunner().invoke(cli, ["--help-notebook", str(NOTEBOOK_DIR / "04_compare.ipynb")])
    assert res.exit_code == 0, res.output
    for pname, p in pm.inspect_notebook(str(NOTEBOOK_DIR / "04_compare.ipynb")).items():
        assert f"  {pname}: {p['inferred_type_name']}" in res.output
        assert p["help"] in res.output
    assert "family-wise error rate of the faster/slower verdicts" in res.output
