"""environment.yml and pyproject.toml list the same dependencies with the same lower bounds."""

import re
import tomllib

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def _norm(req: str) -> str:
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", req.strip())
    assert match, f"unreadable requirement {req!r}"
    name, bound = match.groups()
    return name.lower().replace("_", "-") + bound.replace(" ", "")


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_norm(d) for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))}
    assert conda == wanted
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_section == ["-e ."]


def test_ci_runs_make_test_only():
    lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[-1] == "make test"


def test_coerce_frame_adds_every_missing_column_with_its_dtype():
    import pandas as pd

    from analysis.schema import RUN_COLUMNS, coerce_frame

    out = coerce_frame(pd.DataFrame({"run_id": ["a", "b"], "cpu_mhz": ["2400", "1600.5"]}), RUN_COLUMNS, name="runs")
    assert list(out.columns) == list(RUN_COLUMNS)
    assert out["cpu_mhz"].tolist() == [2400.0, 1600.5]
    assert out["duration_s"].isna().all() and out["duration_s"].dtype == "float64"
    assert str(out["start_time"].dtype) == "datetime64[ns, UTC]"


def test_coerce_frame_names_table_and_column():
    import pandas as pd

    from analysis.schema import RUN_COLUMNS, coerce_frame

    with pytest.raises(ValueError, match=r"runs: column 'cpu_mhz' cannot be read as float64"):
        coerce_frame(pd.DataFrame({"cpu_mhz": ["fast"]}), RUN_COLUMNS, name="runs")
