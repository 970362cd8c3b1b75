"""analysis.explore: the cell picker's contents (runs, route) for every compared cell, and when it is offered."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.compare import compare
from analysis.explore import BATCH_ENV, cell_options, cell_picker, cell_route, cell_runs, interactive
from analysis.normalize import normalize
from analysis.simulate import CampaignSpec, simulate_campaign

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from analysis.ingest import load_campaign

    spec = CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 1024), trials=4,
                        true_ratio={("TCP_STREAM", 64): 1.2})
    folder = simulate_campaign(tmp_path_factory.mktemp("explore") / "c", spec, seed=3)
    return compare(normalize(load_campaign(folder)), baseline=spec.baseline, candidate=spec.candidate,
                   n_resamples=499, rng=1)


def test_every_compared_cell_is_offered_with_its_runs_and_route(result):
    t = result.table
    options = cell_options(result)
    assert [i for _, i in options] == list(t.index)
    label, row = options[0]
    assert label.startswith("netperf TCP_STREAM ") and t.loc[row, "verdict"] in label
    runs = cell_runs(result, row)
    assert runs["pv_model"].value_counts().to_dict() == {result.baseline: t.loc[row, "n_baseline"],
                                                         result.candidate: t.loc[row, "n_candidate"]}
    cell_values = result.values[(result.values["cell"] == t.loc[row, "cell"])
                                & (result.values["metric"] == t.loc[row, "metric"])]
    assert sorted(runs["value"]) == sorted(cell_values["value"])
    route = cell_route(result, row).set_index("field")["value"]
    assert route["verdict"] == t.loc[row, "verdict"] and route["headline"] == t.loc[row, "headline"]
    assert route["pvalue_method"] == str(t.loc[row, "pvalue_method"])


def test_picker_widget_switches_cells(result):
    pytest.importorskip("ipywidgets")
    box = cell_picker(result, initial=1)
    pick, out = box.children
    assert pick.value == 1 and len(out.outputs) == 3  # route, estimation plot, runs
    pick.value = 0
    assert len(out.outputs) == 3
    with pytest.raises(TypeError, match="result: expected an analysis.compare.CompareResult"):
        cell_picker(pd.DataFrame())


def test_not_interactive_outside_a_kernel_or_in_a_batch(monkeypatch):
    assert interactive() is False  # pytest: no IPython kernel
    monkeypatch.setenv(BATCH_ENV, "1")
    assert interactive() is False
