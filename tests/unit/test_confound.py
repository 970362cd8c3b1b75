"""analysis.confound: design factors confounded with the model inside a cell, through compare and the audit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis.compare import compare, format_compare
from analysis.confound import apply_design_confounds, cell_design, design_summary, factor_columns
from analysis.ingest import load_campaign
from analysis.present.verdicts import format_verdict_table
from analysis.simulate import CampaignSpec, simulate_campaign
from analysis.vocabulary import VERDICT_COLORS, VERDICTS, verdict_label

BASE, CAND = "virtio-net+vhost", "venet"
SPEC = CampaignSpec(tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 16384), trials=8,
                    true_ratio={("TCP_STREAM", 64): 1.3, ("TCP_RR", 1): 1.2})


@pytest.fixture(scope="module")
def base_campaign(tmp_path_factory):
    return load_campaign(simulate_campaign(tmp_path_factory.mktemp("c") / "c", SPEC, seed=7))


def _with(campaign, **columns):
    runs = campaign.runs.copy()
    for k, v in columns.items():
        runs[k] = v(runs) if callable(v) else v
    return dataclasses.replace(campaign, runs=runs)


def _runs(models, **cols):
    return pd.DataFrame({"pv_model": models, **cols})


def test_vocabulary_has_one_confounded_verdict():
    assert VERDICTS[-1] == "confounded" and "confounded" in VERDICT_COLORS
    assert verdict_label("confounded", 0.05, "host and side") == "confounded with host and side"


def test_cell_design_complete_partial_mediated_and_joint():
    m = ["b", "b", "c", "c"]
    d = cell_design(_runs(m, host=["x", "x", "y", "y"], guest_kernel=["k", "k", "k", "k"]),
                    baseline="b", candidate="c")
    assert d.complete == ("host",) and d.partial == () and d.confounded_with == "host"
    d = cell_design(_runs(m, host=["x", "y", "y", "y"]), baseline="b", candidate="c")
    assert d.complete == () and d.partial == ("host",)
    d = cell_design(_runs(m, governor=["p", "p", "o", "o"], cpu_mhz=[2400.0, 2400, 1600, 2400]),
                    baseline="b", candidate="c")
    assert d.mediated == ("governor",) and not d.complete
    d = cell_design(_runs(m, governor=["p", "p", "o", "o"]), baseline="b", candidate="c")
    assert d.complete == ("governor",)  # no clock recorded: the governor is a factor like any other
    # each factor alone shares a level (partial), together they separate the models: z = side_b - host_y
    d = cell_design(_runs(["b", "b", "c", "c"], host=["x", "y", "x", "x"], side=["a", "b", "b", "b"]),
                    baseline="b", candidate="c")
    assert d.complete == ("host", "side") and d.partial == () and d.confounded_with == "host and side"
    # a factor recorded for no run of the cell says nothing
    assert cell_design(_runs(m, host=[None] * 4), baseline="b", candidate="c").levels == {}


def test_factor_aliases():
    cols = factor_columns(_runs(["b"], lab=["A"], qemu=["0.11"], nic_driver=["e1000e 1.0"]))
    assert cols == {"qemu_version": "qemu", "nic_firmware": "nic_driver", "side": "lab"}


def test_host_confounded_campaign_gets_no_model_verdict(base_campaign):
    clean = compare(base_campaign, baseline=BASE, candidate=CAND, n_resamples=999, rng=1)
    assert (clean.table["verdict"] == "faster").sum() >= 2 and (clean.table["confounded_with"] == "").all()
    camp = _with(base_campaign, host=lambda r: np.where(r["pv_model"] == CAND, "lab-a-host", "lab-b-host"))
    res = compare(camp, baseline=BASE, candidate=CAND, n_resamples=999, rng=1)
    t = res.table
    assert (t["verdict"] == "confounded").all() and (t["verdict_label"] == "confounded with host").all()
    # the effect is still shown, as measured
    assert np.allclose(t["estimate"], clean.table["estimate"])
    assert t["runs_needed"].isna().all()
    assert t["bridge_plan"].str.contains("run virtio-net\\+vhost on host lab-a-host").all()
    assert (t["plan_runs"] >= 3).all()
    assert "confounded with host in 3" in format_compare(res)
    assert set(format_verdict_table(t, by=res.by)["verdict"]) == {"confounded with host"}
    f = res.audit.findings
    row = f[f["check"] == "design_confound"]
    assert len(row) == 1 and row["severity"].iloc[0] == "error" and "host completely confounded" in row["detail"].iloc[0]
    assert design_summary(t, baseline=BASE, candidate=CAND).startswith("Every compared cell is confounded with host")


def test_partly_confounded_host_enters_as_a_term(base_campaign):
    runs = base_campaign.runs
    rank = runs.groupby(["pv_model", "test", "msg_size_bytes"]).cumcount()
    # venet mostly on the slow host, vhost mostly on the fast one: 6 of 8 vs 2 of 8
    slow = np.where(runs["pv_model"] == CAND, rank < 6, rank < 2)
    host = pd.Series(np.where(slow, "slow-host", "fast-host"), index=runs.index)
    camp = _with(base_campaign, host=host)
    slow_ids = set(runs.loc[slow, "run_id"])
    meas = camp.measurements.copy()
    rate = meas["metric"].isin(["throughput_bps", "transactions_per_s"]) & meas["run_id"].isin(slow_ids)
    meas.loc[rate, "value"] = meas.loc[rate, "value"] * 0.7
    camp = dataclasses.replace(camp, measurements=meas)
    res = compare(camp, baseline=BASE, candidate=CAND, n_resamples=999, rng=1)
    t = res.table.set_index(["test", "msg_size_bytes"])
    assert (t["headline"] == "design-adjusted").all() and (t["design_terms"] == "host").all()
    # reference: the same runs without the planted host effect (ratio of geometric means)
    m = base_campaign.measurements.merge(runs[["run_id", "pv_model", "test", "msg_size_bytes"]])
    m = m[m["metric"].isin(["throughput_bps", "transactions_per_s"])]
    geo = m.groupby(["test", "msg_size_bytes", "pv_model"])["value"].apply(lambda v: np.exp(np.log(v).mean()))
    for key in t.index:
        row, r = t.loc[key], geo[(*key, CAND)] / geo[(*key, BASE)]
        assert row["ci_low"] < r < row["ci_high"], key
        assert abs(row["estimate"] / r - 1) < 0.02, key
        assert abs(row["raw_estimate"] / r - 1) > 0.1  # the raw ratio carries the host's 0.7
    assert "partly confounded" in t["headline_reason"].iloc[0]
    assert (res.audit.findings["check"] == "design_confound").any()


def test_apply_design_confounds_errors(base_campaign):
    with pytest.raises(TypeError, match="table: expected the verdict DataFrame"):
        apply_design_confounds([], base_campaign, by=("test",), baseline=BASE, candidate=CAND, level=0.95,
                               alpha=0.05, margin=0.05)
    with pytest.raises(ValueError, match="level: expected a number in"):
        apply_design_confounds(pd.DataFrame(), base_campaign, by=("test",), baseline=BASE, candidate=CAND,
                               level=1.5, alpha=0.05, margin=0.05)
    with pytest.raises(ValueError, match=r"by: columns \['nope'\]"):
        apply_design_confounds(pd.DataFrame(), base_campaign, by=("nope",), baseline=BASE, candidate=CAND,
                               level=0.95, alpha=0.05, margin=0.05)
