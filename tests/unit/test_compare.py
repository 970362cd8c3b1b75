"""analysis.compare: verdicts per cell, headline choice (raw / per-GHz / model-adjusted), multiplicity, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.compare import CORRECTIONS, VERDICTS, CompareResult, compare, verdict
from analysis.ingest import load_campaign
from analysis.simulate import CampaignSpec, simulate_campaign
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

BASE, CAND = "virtio-net+vhost", "venet"
DEMO = ROOT / "data" / "raw" / "demo"
FAST = {"n_resamples": 999, "rng": 7}


def _simulate(tmp_path_factory, spec: CampaignSpec, seed: int):
    out = tmp_path_factory.mktemp(spec.name) / spec.name
    return load_campaign(simulate_campaign(out, spec, seed=seed))


@pytest.fixture(scope="module")
def demo_campaign():
    return load_campaign(DEMO)


@pytest.fixture(scope="module")
def demo(demo_campaign) -> CompareResult:
    return compare(demo_campaign, baseline=BASE, candidate=CAND, **FAST)


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return pd.read_csv(DEMO / "truth.csv")


@pytest.fixture(scope="module")
def same_clock(tmp_path_factory) -> CompareResult:
    spec = CampaignSpec(name="same", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 16384), trials=6,
                        true_ratio={("TCP_STREAM", 64): 1.2, ("TCP_RR", 1): 0.85})
    return compare(_simulate(tmp_path_factory, spec, 3), baseline=BASE, candidate=CAND, **FAST)


@pytest.fixture(scope="module")
def wire_bound(tmp_path_factory) -> CompareResult:
    """Half the candidate's runs at 1600 MHz; 16384 B is wire-bound (elasticity 0), true ratio 1 everywhere."""
    spec = CampaignSpec(name="wire", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 16384), trials=8,
                        low_clock=(CAND, 0.5, 1600.0))
    return compare(_simulate(tmp_path_factory, spec, 11), baseline=BASE, candidate=CAND, **FAST)


# --- the demo (acceptance) ------------------------------------------------------------------------------------


def test_demo_every_matched_cell_gets_a_verdict_and_the_summary_names_excluded_cells(demo):
    t = demo.to_frame()
    assert t["verdict"].isin(VERDICTS).all() and t["verdict"].notna().all()
    matched = demo.audit.coverage.query("status in ['ok', 'few']")["cell"]
    assert sorted(t["cell"]) == sorted(matched)
    assert len(t) == 7  # five stream sizes and two RR tests, split pinning
    ex = demo.excluded
    assert set(ex["cell"]) == set(demo.audit.excluded_cells["cell"])
    assert ex["reason"].str.len().gt(0).all()
    text = " ".join(demo.summary().split())
    assert demo.paragraph() in text
    assert "Not compared (9)" in text
    assert "TCP_STREAM 65536 B split pinning: measured by virtio-net+vhost only" in text
    assert "TCP_STREAM 64 B same-core pinning: too few runs: 2 of virtio-net+vhost" in text
    assert "regression effect adjusted for the clock" in text


def test_demo_raw_is_confounded_and_the_headline_recovers_truth(demo, truth):
    t = demo.to_frame().merge(truth, on=["test", "msg_size_bytes", "pinning", "metric"], how="left")
    assert t["true_ratio"].notna().all()
    covered = (t["ci_low"] <= t["true_ratio"]) & (t["true_ratio"] <= t["ci_high"])
    assert covered.all(), t.loc[~covered, ["cell", "estimate", "ci_low", "ci_high", "true_ratio"]]
    # the clock confound: at 64 B half of venet's runs were at 1600 MHz; the raw CI misses the truth (1.25)
    row = t.set_index(["test", "msg_size_bytes"]).loc[("TCP_STREAM", 64)]
    assert row["headline"] == "model-adjusted" and row["raw_ci_high"] < 1.25 < row["ci_high"]
    assert row["raw_estimate"] < 1 < row["estimate"]
    # wire-bound 16384 B: per-GHz division invents a gain the model does not confirm
    big = t.set_index(["test", "msg_size_bytes"]).loc[("TCP_STREAM", 16384)]
    assert big["per_ghz_estimate"] > 1.15 and big["verdict"] not in ("faster", "slower")
    assert big["clock_reading"] == "wire-bound"


def test_demo_model_effect_per_size_covers_truth(demo, truth):
    for metric, res in demo.models.items():
        tr = truth[(truth["metric"] == metric) & truth["both_models"]].drop_duplicates(["test", "msg_size_bytes"])
        assert len(tr) > 0
        for _, r in tr.iterrows():
            e = res.effect(r["test"], int(r["msg_size_bytes"]))
            # the model's intervals here are at the simultaneous level of the comparison
            assert e["ci_low"] <= r["true_ratio"] <= e["ci_high"], (metric, r["test"], r["msg_size_bytes"])


# --- verdict logic --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("significant", "equivalent", "estimate", "direction", "expected"),
    [
        (True, False, 1.2, "higher", "faster"),
        (True, False, 0.8, "higher", "slower"),
        (True, False, 0.8, "lower", "faster"),  # lower latency is faster
        (True, False, 1.2, "lower", "slower"),
        (False, True, 1.01, "higher", "equivalent"),
        (True, True, 1.03, "higher", "faster but within margin"),
        (True, True, 1.03, "lower", "slower but within margin"),
        (False, False, 1.5, "higher", "inconclusive"),
    ],
)
def test_verdict_follows_the_metric_direction(significant, equivalent, estimate, direction, expected):
    assert verdict(significant, equivalent, estimate, direction) == expected


def test_same_clock_raw_headline_holm_and_simultaneous_level(same_clock):
    t = same_clock.to_frame()
    assert (t["headline"] == "raw").all() and t["headline_reason"].str.contains("same CPU clock").all()
    assert same_clock.models == {}
    np.testing.assert_allclose(t["pvalue_adjusted"], multipletests(t["pvalue"], method="holm")[1])
    assert same_clock.confidence_level == pytest.approx(1 - 0.05 / len(t))
    v = same_clock.values
    for _, r in t.iterrows():
        g = v[(v["cell"] == r["cell"]) & (v["metric"] == r["metric"])]
        b, c = g.loc[g["pv_model"] == BASE, "value"], g.loc[g["pv_model"] == CAND, "value"]
        # 6 interleaved rounds: the paired t on the logs decides (on each cell's own variance: fewer paired cells
        # than MIN_PAIRED_PRIOR_CELLS); its effect is the ratio of geometric means
        assert r["route"] == "paired t (log)" and r["paired"] and r["basis"] == "raw"
        ratio = np.exp(np.log(c).mean() - np.log(b).mean())
        assert r["raw_estimate"] == pytest.approx(ratio, rel=1e-12)
    by = t.set_index(["test", "msg_size_bytes"])
    assert by.loc[("TCP_STREAM", 64), "verdict"] == "faster"
    assert by.loc[("TCP_RR", 1), "verdict"] == "slower"
    assert by.loc[("TCP_STREAM", 16384), "verdict"] in ("equivalent", "inconclusive")
    inc = t[t["verdict"] == "inconclusive"]
    assert inc["runs_needed"].notna().all() and t.loc[t["verdict"] != "inconclusive", "runs_needed"].isna().all()


def test_wire_bound_cell_gets_no_false_verdict_from_per_ghz(wire_bound):
    t = wire_bound.to_frame().set_index("msg_size_bytes")
    big = t.loc[16384]
    assert big["per_ghz_estimate"] > 1.15  # the trap: dividing by GHz "shows" a 20 % gain
    assert big["headline"] == "model-adjusted" and big["verdict"] not in ("faster", "slower")
    assert big["ci_low"] <= 1.0 <= big["ci_high"]
    small = t.loc[64]  # CPU-bound: the raw ratio is biased low, the adjusted one is not
    assert small["raw_estimate"] < 0.95 and small["ci_low"] <= 1.0 <= small["ci_high"]
    assert small["verdict"] not in ("faster", "slower")


def test_clock_confounded_with_the_model_spans_raw_and_per_ghz(tmp_path_factory):
    spec = CampaignSpec(name="conf", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(16384,), trials=6,
                        low_clock=(CAND, 1.0, 1600.0))
    r = compare(_simulate(tmp_path_factory, spec, 5), baseline=BASE, candidate=CAND, **FAST)
    row = r.to_frame().iloc[0]
    assert row["headline"] == "raw" and "cannot be separated" in row["headline_reason"]
    assert row["ci_low"] <= min(row["raw_ci_low"], row["per_ghz_ci_low"])
    assert row["ci_high"] >= max(row["raw_ci_high"], row["per_ghz_ci_high"])
    assert row["verdict"] not in ("faster", "slower")
    assert "no clock adjustment was possible" in r.paragraph()


def test_latency_lower_is_faster(tmp_path_factory):
    spec = CampaignSpec(name="lat", tests=("TCP_RR",), trials=6, true_ratio=1.3, tools=("netperf-omni-kv",))
    r = compare(_simulate(tmp_path_factory, spec, 2), baseline=BASE, candidate=CAND, **FAST)
    t = r.to_frame().set_index("metric")
    assert list(r.metrics) == ["transactions_per_s", "latency_mean_s"]
    assert t.loc["transactions_per_s", "verdict"] == "faster" and t.loc["transactions_per_s", "estimate"] > 1
    assert t.loc["latency_mean_s", "direction"] == "lower"
    assert t.loc["latency_mean_s", "estimate"] < 1 and t.loc["latency_mean_s", "verdict"] == "faster"


def test_bh_uses_false_coverage_rate_level(same_clock, tmp_path_factory):
    spec = CampaignSpec(name="same", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 16384), trials=6,
                        true_ratio={("TCP_STREAM", 64): 1.2, ("TCP_RR", 1): 0.85})
    r = compare(_simulate(tmp_path_factory, spec, 3), baseline=BASE, candidate=CAND, correction="bh", **FAST)
    t = r.to_frame()
    m, rej = len(t), int((t["pvalue_adjusted"] < 0.05).sum())
    np.testing.assert_allclose(t["pvalue_adjusted"], multipletests(t["pvalue"], method="fdr_bh")[1])
    assert rej >= 2 and r.confidence_level == pytest.approx(1 - rej * 0.05 / m)
    assert CORRECTIONS["bh"].pvalue_method == "bh"


def test_normalized_false_forces_raw_and_same_seed_same_table(wire_bound, tmp_path_factory):
    spec = CampaignSpec(name="wire", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 16384), trials=8,
                        low_clock=(CAND, 0.5, 1600.0))
    camp = _simulate(tmp_path_factory, spec, 11)
    raw = compare(camp, baseline=BASE, candidate=CAND, normalized=False, **FAST)
    assert (raw.to_frame()["headline"] == "raw").all()
    again = compare(camp, baseline=BASE, candidate=CAND, **FAST)
    pd.testing.assert_frame_equal(again.to_frame(), wire_bound.to_frame())


def test_summary_and_html_escape(same_clock):
    text = " ".join(same_clock.summary().split())
    assert text.startswith("venet against virtio-net+vhost (baseline)")
    assert "faster in 1: netperf TCP_STREAM 64 B split pinning +" in text
    assert "slower in 1: netperf TCP_RR 1 B split pinning" in text
    html_text = same_clock._repr_html_()
    assert "virtio-net+vhost" in html_text and "<table>" in html_text
    odd = CompareResult(**{**same_clock.__dict__, "candidate": "<b>venet</b>"})
    assert "&lt;b&gt;venet&lt;/b&gt;" in odd._repr_html_() and "<b>venet</b>" not in odd._repr_html_()
    assert same_clock.counts().sum() == len(same_clock.table)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"baseline": "xen"}, ValueError, r"baseline: expected one of the campaign's PV models"),
        ({"candidate": "xen"}, ValueError, r"candidate: expected one of the campaign's PV models"),
        ({"candidate": BASE}, ValueError, r"candidate: must differ from baseline"),
        ({"metrics": ["jitter_s"]}, ValueError, r"metrics: expected metrics measured in the campaign"),
        ({"by": ("test", "rack")}, ValueError, r"by: expected columns of the runs table"),
        ({"margin": 0}, ValueError, r"margin: expected a relative margin in \(0, 1\)"),
        ({"alpha": 0.5}, ValueError, r"alpha: expected a level in \(0, 0.5\)"),
        ({"correction": "sidak"}, ValueError, r"correction: expected one of"),
        ({"statistic": "mode"}, ValueError, r"statistic: expected one of"),
        ({"n_resamples": 10}, ValueError, r"n_resamples: expected an integer >= 99"),
        ({"headline": "cycles"}, ValueError, r"headline: expected one of"),
        ({"normalized": "yes"}, TypeError, r"normalized: expected True or False"),
        ({"normalized": False, "headline": "per-GHz"}, ValueError, r"headline: 'per-GHz' contradicts normalized"),
        ({"rng": 1.5}, TypeError, r"rng: expected None, an integer seed or a numpy.random.Generator"),
    ],
)
def test_bad_arguments(kwargs, exc, match, demo_campaign):
    args = {"baseline": BASE, "candidate": CAND} | kwargs
    with pytest.raises(exc, match=match):
        compare(demo_campaign, **args)


def test_bad_campaign():
    with pytest.raises(TypeError, match=r"campaign: expected an analysis.ingest.Campaign"):
        compare(pd.DataFrame(), baseline=BASE, candidate=CAND)


def test_no_default_metric_and_no_matched_cell(demo_campaign, demo):
    from analysis.ingest import Campaign

    only_util = demo_campaign.measurements[demo_campaign.measurements["metric"] == "local_cpu_util_pct"]
    camp = Campaign("u", demo_campaign.runs, only_util, demo_campaign.intervals, demo_campaign.rejects)
    with pytest.raises(ValueError, match=r"metrics: the campaign has none of the default metrics"):
        compare(camp, baseline=BASE, candidate=CAND)
    one = demo_campaign.runs["msg_size_bytes"] == 65536
    camp = Campaign("u", demo_campaign.runs[one], demo_campaign.measurements, demo_campaign.intervals,
                    demo_campaign.rejects)
    with pytest.raises(ValueError, match=r"candidate: expected one of the campaign's PV models"):
        compare(camp, baseline=BASE, candidate=CAND)
    runs = demo_campaign.runs[(demo_campaign.runs["msg_size_bytes"] == 65536) | (demo_campaign.runs["test"] == "UDP_RR")
                              & (demo_campaign.runs["pinning"] == "same-core")]
    camp = Campaign("u", runs, demo_campaign.measurements, demo_campaign.intervals, demo_campaign.rejects)
    r = compare(camp, baseline=BASE, candidate=CAND, n_resamples=199, rng=1)
    assert r.table.empty and list(r.table.columns) == list(demo.table.columns)
    assert r.table.dtypes.to_dict() == demo.table.dtypes.to_dict()
    assert r.counts().sum() == 0 and r.values.empty
    # every cell is explained: 65536 B measured by one model, UDP_RR same-core too thin
    assert len(r.excluded) >= 2 and r.excluded["reason"].str.len().gt(0).all()
    assert set(r.excluded["cell"]) == set(r.audit.excluded_cells["cell"]) | set(r.excluded["cell"])
    assert r.excluded["reason"].str.contains("measured by").any()
    text = " ".join(r.summary().split())
    assert "No cell could be compared" in text and "Not compared (" in text
    assert any("nothing was compared" in n for n in r.notes)


# --- routes, rounds, runs needed ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory) -> CompareResult:
    spec = CampaignSpec(name="three", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 1024, 16384),
                        trials=3, cv=0.10, true_ratio={("TCP_STREAM", 64): 0.5, ("TCP_STREAM", 1024): 1.1})
    return compare(_simulate(tmp_path_factory, spec, 8), baseline=BASE, candidate=CAND, **FAST)


def test_three_runs_per_model_take_the_t_route_and_can_reach_alpha(three_runs):
    t = three_runs.to_frame().set_index(["test", "msg_size_bytes"])
    # 3 interleaved rounds are fewer than PAIRED_MIN_ROUNDS: unpaired Welch t on logs, moderated across cells
    assert (t["route"] == "moderated Welch t (log)").all() and not t["paired"].any()
    assert (t["basis"] == "raw").all()
    assert t["permutation_min_pvalue"].eq(0.1).all()
    assert t.loc[("TCP_STREAM", 64), "verdict"] == "slower"  # the exact permutation test could never say so
    assert any("never decides such a cell" in n for n in three_runs.notes)
    inc = three_runs.table[three_runs.table["verdict"] == "inconclusive"]
    assert len(inc) and (inc["runs_needed"] > inc[["n_baseline", "n_candidate"]].min(axis=1)).all()


def test_blocked_design_is_paired_and_an_unblocked_one_is_not(tmp_path_factory):
    spec = CampaignSpec(name="rounds", tests=("TCP_RR",), trials=6, drift_per_run={BASE: 0.002, CAND: 0.002})
    paired = compare(_simulate(tmp_path_factory, spec, 4), baseline=BASE, candidate=CAND, **FAST)
    blocked = CampaignSpec(**{**spec.__dict__, "name": "blk", "order": "blocked"})
    unpaired = compare(_simulate(tmp_path_factory, blocked, 4), baseline=BASE, candidate=CAND, **FAST)
    p, u = paired.to_frame().iloc[0], unpaired.to_frame().iloc[0]
    assert p["paired"] and p["route"] == "paired t (log)"
    assert not u["paired"] and u["route"] == "Welch t (log)"  # one cell and metric pair: no prior to lend df
    f = paired.audit.findings
    assert f.loc[f["check"] == "blocked", "detail"].str.contains("the design is blocked by trial").all()
    f = unpaired.audit.findings
    assert f.loc[f["check"] == "blocked", "detail"].str.contains("not blocked").all()


def test_many_runs_take_the_bootstrap_route(demo, tmp_path_factory):
    spec = CampaignSpec(name="ten", tests=("TCP_RR",), trials=10, order="blocked", true_ratio=1.1)
    r = compare(_simulate(tmp_path_factory, spec, 6), baseline=BASE, candidate=CAND, **FAST)
    row = r.to_frame().set_index("metric").loc["transactions_per_s"]
    assert row["route"] == "bootstrap BCa" and not row["paired"] and row["pvalue_method"] == "permutation (raw)"
    assert row["verdict"] == "faster" and (0, "raw") in r.distributions
    t = demo.to_frame()
    assert set(t["basis"]) <= {"raw", "per-GHz", "model-adjusted", "bracket"}
    assert (t.loc[t["basis"] == "model-adjusted", "route"] == "model Wald").all()


def test_two_vs_two_cells_say_what_they_can_and_cannot_show(demo):
    ex = demo.excluded
    two = ex[(ex["n_baseline"] == 2) & (ex["n_candidate"] >= 2) | (ex["n_candidate"] == 2) & (ex["n_baseline"] >= 2)]
    assert len(two)
    assert two["reason"].str.contains("equivalence cannot be shown").all()
    assert two["reason"].str.contains("a third run of each model").all()


def test_a_model_effect_without_a_finite_standard_error_falls_back_to_the_bracket():
    from analysis.cells import Cell
    from analysis.compare import HEADLINES

    eff = pd.Series({"log_effect": 0.1, "standard_error": np.nan, "pvalue": np.nan, "df": 4.0,
                     "clock_adjusted": True, "clock_confounded": False})
    x = np.array([1.0, 1.1, 0.9])
    cell = Cell(keys=("TCP_STREAM", 64), label="c", metric="throughput_bps", direction="higher", b=x, c=x,
                b_ghz=x / 2.4, c_ghz=x / 1.6, ghz_b=np.full(3, 2.4), ghz_c=np.full(3, 1.6), paired=False,
                test="TCP_STREAM", size=64, model_effect=eff,
                elasticity=pd.Series({"elasticity": 1.0, "ci_low": 0.5, "ci_high": 1.5, "reading": "CPU-bound"}),
                model_missing="the regression model's standard error is not finite here (a run with leverage 1)")
    assert not cell.model_available
    basis, reason = HEADLINES["auto"](cell)
    assert basis == "bracket" and "leverage 1" in reason
