"""analysis.notebook: the notebooks' common opening, the one baseline rule, the shared parameters cell."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

from analysis.audit import audit
from analysis.compare import compare
from analysis.ingest import Campaign, default_baseline, load_campaign
from analysis.normalize import normalize
from analysis.notebook import Comparison, infer_models, open_comparison
from analysis.simulate import CampaignSpec, simulate_campaign
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

SPEC = CampaignSpec(name="opening", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 1024), trials=4)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return simulate_campaign(tmp_path_factory.mktemp("opening") / "opening", SPEC, seed=12)


def test_open_comparison_is_the_four_steps(folder):
    opened = open_comparison(folder, metrics=["throughput_bps"], n_resamples=199, seed=5)
    assert isinstance(opened, Comparison)
    path, data, baseline, candidate, result, verdicts = opened  # the notebooks unpack it in one line
    assert path == folder.resolve() and (baseline, candidate) == (SPEC.baseline, SPEC.candidate)
    by_hand = normalize(load_campaign(folder))
    direct = compare(by_hand, baseline=SPEC.baseline, candidate=SPEC.candidate, metrics=["throughput_bps"],
                     n_resamples=199, rng=5)
    pd.testing.assert_frame_equal(verdicts, direct.to_frame())
    pd.testing.assert_frame_equal(result.to_frame(), verdicts)
    assert len(verdicts) == 2 and set(verdicts["msg_size_bytes"]) == {64, 1024}
    swapped = open_comparison(folder, SPEC.candidate, metrics=["throughput_bps"], n_resamples=199, seed=5)
    assert (swapped.baseline, swapped.candidate) == (SPEC.candidate, SPEC.baseline)
    ratio = swapped.verdicts["estimate"].to_numpy() * verdicts["estimate"].to_numpy()
    assert ratio == pytest.approx(1.0, rel=1e-9)  # the ratio inverts when the roles swap
    with pytest.raises(ValueError, match=r"baseline: PV model 'nosuch' is not in campaign"):
        open_comparison(folder, "nosuch")


def _campaign(models, root=None, **columns) -> Campaign:
    runs = pd.DataFrame({"run_id": [f"r{i}" for i in range(len(models))], "pv_model": models, **columns})
    return Campaign("c", runs, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), root=root)


def test_default_baseline_rule(tmp_path):
    two = ["A", "B"]
    assert default_baseline(_campaign(["B", "A"]), two) == "A"  # nothing to go by: sorted
    assert default_baseline(_campaign(["A", "B"], order_index=[2, 1]), two) == "B"  # the earliest run
    times = pd.to_datetime(["2026-01-02", "2026-01-01"], utc=True)
    assert default_baseline(_campaign(["A", "B"], start_time=times), two) == "B"
    assert default_baseline(_campaign(["A", "B"], role=["candidate", "baseline"]), two) == "B"
    (tmp_path / "manifest.csv").write_text("file,pv_model\nb.txt,B\na.txt,A\n")
    # the manifest's first row outranks the run order; its role column outranks both
    assert default_baseline(_campaign(["A", "B"], tmp_path, order_index=[1, 2]), two) == "B"
    (tmp_path / "manifest.csv").write_text("file,pv_model,role\nb.txt,B,candidate\na.txt,A,baseline\n")
    assert default_baseline(_campaign(["A", "B"], tmp_path, order_index=[2, 1]), two) == "A"
    with pytest.raises(ValueError, match="models: expected at least one"):
        default_baseline(_campaign([]), [])


def test_audit_and_notebooks_infer_the_same_baseline(folder, tmp_path):
    data = load_campaign(folder)
    base, cand = infer_models(data)
    found = audit(data)
    assert (found.baseline, found.candidate) == (base, cand)
    # a manifest whose first row is the candidate's, run order the other way round: both follow the manifest
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    first_cand = manifest.loc[manifest["pv_model"] == cand].index[0]
    flipped = pd.concat([manifest.loc[[first_cand]], manifest.drop(index=first_cand)])
    (tmp_path / "manifest.csv").write_text(flipped.to_csv(index=False))
    moved = Campaign(data.name, data.runs, data.measurements, data.intervals, data.rejects, root=tmp_path)
    assert infer_models(moved) == (cand, base)
    found = audit(moved)
    assert (found.baseline, found.candidate) == (cand, base)


def test_shared_parameters_cell_is_the_definition():
    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "scripts" / "build_notebooks.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    for name in ("04_compare", "06_summary"):
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        cells = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(cells) == 1
        assert "".join(cells[0]["source"]) == builder.PARAMETER_CELLS["compare"], name
        assert builder.build_notebook(builder.SOURCE_DIR / f"{name}.py").cells[1].source == \
            builder.PARAMETER_CELLS["compare"]
