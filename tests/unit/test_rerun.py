"""analysis.rerun: the rerun plan for cells a comparison left out or could not trust, and the confounds named."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.compare import compare
from analysis.ingest import load_campaign
from analysis.rerun import (
    CONFOUNDS,
    PLAN_COLUMNS,
    RerunPlanResult,
    format_plan_html,
    no_comparison_paragraph,
    rerun_plan,
)
from analysis.simulate import CampaignSpec, plan_runs, simulate_campaign

pytestmark = pytest.mark.unit

BASE, CAND = "virtio-net+vhost", "venet"

#: every venet run pinned same-core and at 1600 MHz, every virtio run split at 2400 MHz; 16384 B by virtio only
UNFAIR = CampaignSpec(
    name="unfair", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 16384), pinnings=("split", "same-core"),
    trials=3, pinning_mix={CAND: {"same-core": 1.0}, BASE: {"split": 1.0}}, low_clock=(CAND, 1.0, 1600.0),
    one_model_cells=((BASE, "TCP_STREAM", 16384),),
)


@pytest.fixture(scope="module")
def unfair(tmp_path_factory):
    camp = load_campaign(simulate_campaign(tmp_path_factory.mktemp("u") / "unfair", UNFAIR, seed=1))
    res = compare(camp, baseline=BASE, candidate=CAND, n_resamples=199, rng=1)
    return camp, res, rerun_plan(camp, baseline=BASE, candidate=CAND, by=res.by, excluded=res.excluded)


def test_unfair_campaign_plan_names_every_confound_and_the_runs_to_add(unfair):
    camp, res, plan = unfair
    assert len(res.to_frame()) == 0  # nothing compared: the plan is the result
    assert plan.confound_names == ("pinning x model", "clock x model", "one-model cells")
    detail = dict(plan.confounds)
    assert f"{BASE} ran only split and {CAND} only same-core" in detail["pinning x model"]
    assert "1600 MHz" in detail["clock x model"] and "2400 MHz" in detail["clock x model"]
    assert detail["one-model cells"].startswith("5 cell(s)")
    # the manifest is the reference: per cell, the model that is missing gets 5 runs at the cell's pinning and at
    # the clock the other model ran at there; the present model is topped up from 3 to 5
    truth = plan_runs(UNFAIR, seed=1)
    p = plan.to_frame()
    assert list(p.columns) == [*res.by, *PLAN_COLUMNS]
    assert p["cell"].nunique() == 5 and plan.total_runs == 5 * (5 + 2)
    for r in p.itertuples(index=False):
        present = truth[(truth["test"] == r.test) & (truth["msg_size_bytes"] == r.msg_size_bytes)
                        & (truth["pinning"] == r.pinning)]
        assert r.run_pinning == r.pinning
        assert r.run_cpu_mhz == present["clock_mhz"].iloc[0]
        if r.runs_now == 0:
            assert r.pv_model not in set(present["pv_model"]) and r.runs_to_add == 5
            assert r.confound == "one-model cells"
        else:
            assert r.runs_now == (present["pv_model"] == r.pv_model).sum() == 3 and r.runs_to_add == 2
    # same-core cells were run by venet only at 1600 MHz: virtio is to be run same-core at 1600 MHz
    sc = p[(p["pinning"] == "same-core") & (p["pv_model"] == BASE)]
    assert len(sc) == 2 and (sc["run_cpu_mhz"] == 1600).all()


def test_texts_say_no_cell_could_be_compared_and_list_the_plan(unfair):
    _, _, plan = unfair
    text = no_comparison_paragraph(plan)
    assert text.startswith("No cell could be compared")
    for name in ("pinning x model", "clock x model", "one-model cells"):
        assert name in text
    assert "35 run(s)" in text
    summary = plan.summary()
    assert "Rerun plan: 35 run(s) in 5 cell(s)" in summary
    assert f"- tool=netperf, test=TCP_RR, msg_size_bytes=1, pinning=same-core: 5 run(s) of {BASE}, pinned same-core at" in summary
    page = format_plan_html(plan)
    assert page.count("<tr>") == 1 + len(plan.plan) and "runs to add" in page
    assert plan._repr_html_() == page


def test_clock_confounded_cell_is_planned_even_when_compared(tmp_path):
    """Both models in every cell, but all venet runs of TCP_RR at 1600 MHz: rerun venet there at 2400 MHz."""
    spec = CampaignSpec(name="clk", tests=("TCP_RR",), trials=5, low_clock=(CAND, 1.0, 1600.0))
    camp = load_campaign(simulate_campaign(tmp_path / "clk", spec, seed=2))
    res = compare(camp, baseline=BASE, candidate=CAND, n_resamples=199, rng=1)
    assert len(res.to_frame()) == 1 and len(res.excluded) == 0
    plan = rerun_plan(camp, baseline=BASE, candidate=CAND, by=res.by, excluded=res.excluded)
    p = plan.to_frame()
    assert plan.confound_names == ("clock x model",)
    assert list(p["pv_model"]) == [CAND] and p["runs_to_add"].iloc[0] == 5
    assert p["run_cpu_mhz"].iloc[0] == 2400 and p["confound"].iloc[0] == "clock x model"


def test_fair_campaign_needs_no_rerun(tmp_path):
    spec = CampaignSpec(name="fair", tests=("TCP_RR",), trials=5)
    camp = load_campaign(simulate_campaign(tmp_path / "fair", spec, seed=3))
    plan = rerun_plan(camp, baseline=BASE, candidate=CAND)
    assert plan.total_runs == 0 and plan.confounds == () and plan.plan.empty
    assert plan.summary().startswith("Nothing to rerun")
    assert isinstance(plan, RerunPlanResult) and set(plan.confound_names) <= set(CONFOUNDS)


def test_thin_cell_is_topped_up_to_the_target(tmp_path):
    spec = CampaignSpec(name="thin", tests=("TCP_RR",), trials=2)
    camp = load_campaign(simulate_campaign(tmp_path / "thin", spec, seed=4))
    plan = rerun_plan(camp, baseline=BASE, candidate=CAND, target_runs=6)
    p = plan.to_frame().set_index("pv_model")
    assert p.loc[BASE, "runs_to_add"] == p.loc[CAND, "runs_to_add"] == 4
    assert (p["confound"] == "too few runs").all() and plan.confound_names == ("too few runs",)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"baseline": "xen"}, r"baseline: expected one of the campaign's PV models"),
        ({"by": ("rack",)}, r"by: \['rack'\] are not columns of the campaign's runs"),
        ({"excluded": pd.DataFrame({"x": [1]})}, r"excluded: expected the excluded-cells table"),
        ({"target_runs": 2}, r"target_runs: expected an integer >= 3"),
    ],
)
def test_bad_arguments(unfair, kwargs, match):
    camp = unfair[0]
    with pytest.raises(ValueError, match=match):
        rerun_plan(camp, **({"baseline": BASE, "candidate": CAND} | kwargs))


def test_bad_campaign():
    with pytest.raises(TypeError, match=r"campaign: expected an analysis.ingest.Campaign"):
        rerun_plan(pd.DataFrame(), baseline=BASE, candidate=CAND)
