"""analysis.model: log-metric OLS (HC3) / MixedLM per test, effects per message size, elasticities, diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from analysis.ingest import Campaign
from analysis.model import ModelResult, clock_reading, default_formula, fit_model, model_frame
from analysis.schema import (
    INTERVAL_COLUMNS,
    MEASUREMENT_COLUMNS,
    REJECT_COLUMNS,
    RUN_COLUMNS,
    coerce_frame,
    empty_frame,
)

pytestmark = pytest.mark.unit

BASE, CAND = "virtio-net+vhost", "venet"
SIZES = (64, 1024, 16384)
RATIO = {64: 0.90, 1024: 1.00, 16384: 1.10}
ELASTICITY = {64: 1.0, 1024: 1.0, 16384: 0.0}


def make_campaign(
    *,
    seed: int = 0,
    n: int = 8,
    sizes=SIZES,
    ratio=RATIO,
    elasticity=ELASTICITY,
    low_clock=(CAND, 0.5, 1800.0),
    cv: float = 0.03,
    sessions: int = 1,
    session_sd: float = 0.0,
    pinnings=("split",),
    pinning_effect=None,
    test: str = "TCP_STREAM",
    metric: str = "throughput_bps",
    outlier: str | None = None,
) -> Campaign:
    """A tiny campaign with known truth: log v = base + log ratio [cand] + elasticity log(MHz/2400) + pinning +
    session + noise. *low_clock* = (model, share of its runs, MHz)."""
    rng = np.random.default_rng(seed)
    pinning_effect = pinning_effect or {}
    sess_eff = rng.normal(0, session_sd, sessions) if sessions > 1 else np.zeros(1)
    runs, meas = [], []
    i = 0
    for s in sizes:
        for m in (BASE, CAND):
            for pin in pinnings:
                for t in range(n):
                    mhz = 2400.0
                    if low_clock and m == low_clock[0] and t < low_clock[1] * n:
                        mhz = low_clock[2]
                    k = t % sessions
                    lv = (
                        np.log(1e9)
                        + (np.log(ratio[s]) if m == CAND else 0.0)
                        + elasticity[s] * np.log(mhz / 2400.0)
                        + np.log(pinning_effect.get(pin, 1.0))
                        + sess_eff[k]
                        + rng.normal(0, cv)
                    )
                    rid = f"{m}/{s}/{pin}/t{t}"
                    if outlier == rid:
                        lv += 1.0
                    i += 1
                    runs.append(
                        {
                            "campaign": "unit",
                            "run_id": rid,
                            "pv_model": m,
                            "tool": "netperf",
                            "test": test,
                            "msg_size_bytes": s,
                            "pinning": pin,
                            "cpu_mhz": mhz,
                            "cpu_mhz_before": mhz,
                            "cpu_mhz_after": mhz,
                            "duration_s": 10.0,
                            "trial": t + 1,
                            "order_index": i,
                            "session": f"s{k}",
                            "host": "h0",
                        }
                    )
                    meas.append({"run_id": rid, "metric": metric, "value": float(np.exp(lv))})
    return Campaign(
        name="unit",
        runs=coerce_frame(pd.DataFrame(runs), RUN_COLUMNS, name="runs"),
        measurements=coerce_frame(pd.DataFrame(meas), MEASUREMENT_COLUMNS, name="measurements"),
        intervals=empty_frame(INTERVAL_COLUMNS),
        rejects=empty_frame(REJECT_COLUMNS),
    )


@pytest.fixture(scope="module")
def confounded() -> ModelResult:
    """Half the candidate's runs at 1800 MHz: the raw ratio at CPU-bound sizes is biased by (1800/2400)^1."""
    return fit_model(make_campaign(seed=1), metric="throughput_bps", baseline=BASE, candidate=CAND)


def test_coefficients_equal_statsmodels_on_the_same_frame(confounded):
    frame = confounded.frame[confounded.frame["test"] == "TCP_STREAM"]
    direct = smf.ols(confounded.formulas["TCP_STREAM"], frame).fit(cov_type="HC3", use_t=True)
    ours = confounded.coefficients.query("estimator == 'OLS-HC3'").set_index("term")
    np.testing.assert_allclose(ours.loc[direct.params.index, "coef"], direct.params, rtol=1e-10)
    np.testing.assert_allclose(ours.loc[direct.bse.index, "standard_error"], direct.bse, rtol=1e-10)
    ci = direct.conf_int(0.05)
    np.testing.assert_allclose(ours.loc[ci.index, "ci_low"], ci[0], rtol=1e-8)
    anova = sm.stats.anova_lm(direct, typ=2, robust="hc3")
    np.testing.assert_allclose(confounded.anova["F"].dropna(), anova["F"].dropna(), rtol=1e-8)


def test_default_formula_is_the_documented_one(confounded):
    assert confounded.formulas["TCP_STREAM"] == (
        "np.log(value) ~ C(pv_model, Treatment(reference='virtio-net+vhost')) * C(msg_size_bytes)"
        " + np.log(cpu_ghz):C(msg_size_bytes)"
    )


def test_effects_recover_planted_ratios_and_elasticities(confounded):
    eff = confounded.effects.set_index("msg_size_bytes")
    for s in SIZES:
        assert eff.loc[s, "ci_low"] <= RATIO[s] <= eff.loc[s, "ci_high"], s
        assert eff.loc[s, "clock_adjusted"]
    ela = confounded.elasticities.set_index("msg_size_bytes")
    assert ela.loc[64, "reading"] == "CPU-bound"
    assert ela.loc[16384, "reading"] == "wire-bound"
    for s in SIZES:
        assert ela.loc[s, "ci_low"] <= ELASTICITY[s] <= ela.loc[s, "ci_high"], s


def test_raw_ratio_is_the_geometric_mean_ratio_and_covariates_explain_the_bias(confounded):
    f = confounded.frame
    rva = confounded.raw_vs_adjusted.set_index("msg_size_bytes")
    for s in SIZES:
        lg = f[f["msg_size_bytes"] == s].groupby("pv_model")["value"].apply(lambda v: np.exp(np.log(v).mean()))
        assert rva.loc[s, "raw_ratio"] == pytest.approx(lg[CAND] / lg[BASE], rel=1e-10)
    # at 64 BASE half the candidate runs were 25 % slower clock: the raw ratio is biased low by ~(0.75)^0.5
    assert rva.loc[64, "raw_ratio"] == pytest.approx(0.9 * 0.75**0.5, rel=0.05)
    assert rva.loc[64, "explained_pct"] > 50
    assert rva.loc[64, "adjusted_ratio"] == pytest.approx(confounded.effect("TCP_STREAM", 64)["estimate"])


def test_custom_formula_reparametrized_gives_the_same_effects(confounded):
    camp = make_campaign(seed=1)
    fml = "log_value ~ 0 + C(msg_size_bytes) + candidate:C(msg_size_bytes) + log_cpu_ghz:C(msg_size_bytes)"
    alt = fit_model(camp, metric="throughput_bps", baseline=BASE, candidate=CAND, formula=fml)
    np.testing.assert_allclose(alt.effects["estimate"], confounded.effects["estimate"], rtol=1e-9)
    np.testing.assert_allclose(alt.effects["ci_high"], confounded.effects["ci_high"], rtol=1e-9)
    assert alt.formulas["TCP_STREAM"] == fml


def test_reductions_one_clock_and_one_pinning_and_confounded():
    same = fit_model(make_campaign(low_clock=None), metric="throughput_bps", baseline=BASE, candidate=CAND)
    assert "cpu_ghz" not in same.formulas["TCP_STREAM"] and "pinning" not in same.formulas["TCP_STREAM"]
    assert (same.elasticities["reading"] == "not estimable").all()
    assert any("one clock for both models" in n for n in same.notes)
    conf = fit_model(make_campaign(low_clock=(CAND, 1.0, 1800.0)), metric="throughput_bps", baseline=BASE, candidate=CAND)
    assert conf.effects["clock_confounded"].all() and not conf.effects["clock_adjusted"].any()
    assert any("cannot be separated" in n for n in conf.notes)


def test_partial_clock_variation_uses_per_size_columns():
    camp = make_campaign(seed=1, sizes=(64, 16384), ratio={64: 0.9, 16384: 1.0}, elasticity={64: 1.0, 16384: 0.0})
    runs = camp.runs.copy()
    big = runs["msg_size_bytes"] == 16384
    runs.loc[big, ["cpu_mhz", "cpu_mhz_before", "cpu_mhz_after"]] = 2400.0
    camp = Campaign("unit", runs, camp.measurements, camp.intervals, camp.rejects)
    r = fit_model(camp, metric="throughput_bps", baseline=BASE, candidate=CAND)
    assert "log_ghz_at_64" in r.formulas["TCP_STREAM"] and "log_ghz_at_16384" not in r.formulas["TCP_STREAM"]
    assert r.elasticity("TCP_STREAM", 64)["reading"] == "CPU-bound"
    assert r.elasticity("TCP_STREAM", 16384)["reading"] == "not estimable"
    assert r.effect("TCP_STREAM", 64)["ci_low"] <= 0.9 <= r.effect("TCP_STREAM", 64)["ci_high"]


def test_pinning_term_enters_when_there_are_two_levels():
    camp = make_campaign(pinnings=("split", "same"), pinning_effect={"same": 0.8}, n=6)
    r = fit_model(camp, metric="throughput_bps", baseline=BASE, candidate=CAND)
    assert r.formulas["TCP_STREAM"].endswith("+ C(pinning)")
    coef = r.coefficients.query("estimator == 'OLS-HC3' and term == 'C(pinning)[T.split]'")["coef"].iloc[0]
    assert coef == pytest.approx(-np.log(0.8), abs=0.03)


def test_mixed_model_with_sessions_matches_statsmodels_and_recovers_truth():
    camp = make_campaign(seed=3, n=12, sessions=4, session_sd=0.1)
    r = fit_model(camp, metric="throughput_bps", baseline=BASE, candidate=CAND)
    assert r.groups == "session" and (r.effects["estimator"] == "MixedLM").all()
    frame = r.frame
    direct = smf.mixedlm(r.formulas["TCP_STREAM"], frame, groups=frame["session"]).fit(reml=True)
    ours = r.coefficients.query("estimator == 'MixedLM'").set_index("term")["coef"]
    np.testing.assert_allclose(ours.loc[direct.fe_params.index], direct.fe_params, atol=1e-4)
    for s in SIZES:
        e = r.effect("TCP_STREAM", s)
        assert e["ci_low"] <= RATIO[s] <= e["ci_high"]
    assert r.diagnostics["group_variance"].iloc[0] > 0
    ols_only = fit_model(camp, metric="throughput_bps", baseline=BASE, candidate=CAND, groups=False)
    assert (ols_only.effects["estimator"] == "OLS-HC3").all() and ols_only.groups is None


def test_diagnostics_name_the_planted_outlier_and_match_statsmodels():
    bad = f"{CAND}/1024/split/t5"
    r = fit_model(make_campaign(seed=2, outlier=bad), metric="throughput_bps", baseline=BASE, candidate=CAND)
    d = r.diagnostics.iloc[0]
    assert d["influential_runs"].split(", ")[0] == bad
    res = r.residuals.set_index("run_id")
    assert res.loc[bad, "influential"] and res["cooks_d"].idxmax() == bad
    direct = smf.ols(r.formulas["TCP_STREAM"], r.frame).fit()
    from statsmodels.stats.diagnostic import het_breuschpagan

    lm, p, _, _ = het_breuschpagan(direct.resid, direct.model.exog)
    assert d["breusch_pagan_lm"] == pytest.approx(lm) and d["breusch_pagan_pvalue"] == pytest.approx(p)
    np.testing.assert_allclose(res["cooks_d"], direct.get_influence().cooks_distance[0], rtol=1e-8)


def test_latency_metric_and_several_tests():
    a = make_campaign(seed=2, test="TCP_RR", metric="latency_mean_s", sizes=(1,), ratio={1: 1.2}, elasticity={1: -1.0})
    b = make_campaign(seed=5)
    camp = Campaign(
        "unit",
        pd.concat([a.runs, b.runs.assign(run_id="s/" + b.runs["run_id"])], ignore_index=True),
        pd.concat([a.measurements, b.measurements.assign(run_id="s/" + b.measurements["run_id"])]),
        a.intervals,
        a.rejects,
    )
    r = fit_model(camp, metric="latency_mean_s", baseline=BASE, candidate=CAND)
    assert r.tests == ("TCP_RR",)
    e = r.effect("TCP_RR", 1)
    assert e["ci_low"] <= 1.2 <= e["ci_high"]
    assert r.formulas["TCP_RR"] == (
        "np.log(value) ~ C(pv_model, Treatment(reference='virtio-net+vhost')) + np.log(cpu_ghz)"
    )
    el = r.elasticity("TCP_RR", 1)
    assert el["ci_low"] <= -1.0 <= el["ci_high"]


def test_to_frame_summary_and_html(confounded):
    tf = confounded.to_frame()
    assert len(tf) == 2 * len(SIZES)
    assert set(tf["quantity"]) == {"model_ratio", "clock_elasticity"}
    text = confounded.summary()
    assert "Log-metric regression: throughput_bps" in text and "HC3" in text and "wire-bound" in text
    camp = make_campaign(low_clock=None)
    runs = camp.runs.assign(pv_model=camp.runs["pv_model"].replace({CAND: "<venet&>"}))
    odd = fit_model(Campaign("u", runs, camp.measurements, camp.intervals, camp.rejects),
                    metric="throughput_bps", baseline=BASE, candidate="<venet&>")
    assert "&lt;venet&amp;&gt;" in odd._repr_html_() and "<venet&>" not in odd._repr_html_()


def test_model_frame_and_default_formula_helpers():
    frame, notes = model_frame(make_campaign(), metric="throughput_bps", baseline=BASE, candidate=CAND)
    assert frame["msg_size_bytes"].dtype == np.int64 and frame["candidate"].isin([0, 1]).all()
    assert frame["cpu_ghz"].min() == pytest.approx(1.8) and notes == []
    fml, _, red = default_formula(frame, baseline=BASE)
    assert "np.log(cpu_ghz):C(msg_size_bytes)" in fml and red == []
    assert clock_reading(np.nan, 1.0) == "not estimable"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"metric": "bogus"}, ValueError, r"metric: expected one of the metrics"),
        ({"metric": "latency_mean_s"}, ValueError, r"metric: 'latency_mean_s' has no measurements"),
        ({"baseline": "xen"}, ValueError, r"baseline: expected one of the campaign's PV models"),
        ({"candidate": "xen"}, ValueError, r"candidate: expected one of the campaign's PV models"),
        ({"candidate": BASE}, ValueError, r"candidate: must differ from baseline"),
        ({"test": "UDP_RR"}, ValueError, r"test: expected tests among"),
        ({"formula": "log_value"}, ValueError, r"formula: expected a formula string"),
        ({"groups": "rack"}, ValueError, r"groups: expected a runs column name"),
        ({"confidence_level": 1.5}, ValueError, r"confidence_level: expected a number in \(0, 1\)"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    args = {"metric": "throughput_bps", "baseline": BASE, "candidate": CAND} | kwargs
    with pytest.raises(exc, match=match):
        fit_model(make_campaign(n=3), **args)


def test_bad_campaign():
    with pytest.raises(TypeError, match=r"campaign: expected an analysis.ingest.Campaign"):
        fit_model(pd.DataFrame(), metric="throughput_bps", baseline=BASE, candidate=CAND)


def test_demo_model_effect_per_size_covers_truth_at_95_percent():
    """Acceptance: on the bundled demo (raw, not normalized) the per-size model effect covers truth.csv."""
    from analysis.ingest import load_campaign
    from tests.conftest import ROOT

    demo = ROOT / "data" / "raw" / "demo"
    camp = load_campaign(demo)
    truth = pd.read_csv(demo / "truth.csv")
    for metric in ("throughput_bps", "transactions_per_s"):
        r = fit_model(camp, metric=metric, baseline=BASE, candidate=CAND)
        tr = truth[(truth["metric"] == metric) & truth["both_models"]].drop_duplicates(["test", "msg_size_bytes"])
        for _, t in tr.iterrows():
            e = r.effect(t["test"], int(t["msg_size_bytes"]))
            assert e["ci_low"] <= t["true_ratio"] <= e["ci_high"], (metric, t["test"], t["msg_size_bytes"])
        if metric == "throughput_bps":
            assert any("65536 B measured by one model only" in n for n in r.notes)
            assert 65536 not in set(r.effects["msg_size_bytes"])
            assert r.elasticity("TCP_STREAM", 64)["reading"] == "CPU-bound"
            assert r.elasticity("TCP_STREAM", 16384)["reading"] == "wire-bound"


def test_table_errors_and_one_model_tests():
    camp = make_campaign(n=3)
    no_test = Campaign("u", camp.runs.drop(columns=["test"]), camp.measurements, camp.intervals, camp.rejects)
    with pytest.raises(ValueError, match=r"campaign: runs table has no 'test' column"):
        fit_model(no_test, metric="throughput_bps", baseline=BASE, candidate=CAND)
    no_value = Campaign("u", camp.runs, camp.measurements.drop(columns=["value"]), camp.intervals, camp.rejects)
    with pytest.raises(ValueError, match=r"campaign: measurements table has no 'value' column"):
        fit_model(no_value, metric="throughput_bps", baseline=BASE, candidate=CAND)
    twice = Campaign("u", camp.runs, pd.concat([camp.measurements, camp.measurements]), camp.intervals, camp.rejects)
    with pytest.raises(ValueError, match=r"campaign: metric 'throughput_bps' has more than one value for some runs"):
        fit_model(twice, metric="throughput_bps", baseline=BASE, candidate=CAND)
    # a test measured by one model only is skipped with a note, or refused when it is the only one
    runs = camp.runs.copy()
    runs.loc[runs["pv_model"] == CAND, "test"] = "UDP_STREAM"
    split = Campaign("u", runs, camp.measurements, camp.intervals, camp.rejects)
    with pytest.raises(ValueError, match=r"metric: no test has 'throughput_bps' runs of both"):
        fit_model(split, metric="throughput_bps", baseline=BASE, candidate=CAND)
    with pytest.raises(ValueError, match=r"test: none of \['UDP_STREAM'\] can be modelled for 'throughput_bps': "
                                         r"UDP_STREAM: runs of venet only"):
        fit_model(split, metric="throughput_bps", baseline=BASE, candidate=CAND, test="UDP_STREAM")
    extra = camp.runs[camp.runs["pv_model"] == BASE]
    runs2 = pd.concat([camp.runs, extra.assign(run_id="x/" + extra["run_id"], test="TCP_MAERTS")], ignore_index=True)
    meas2 = pd.concat([camp.measurements, camp.measurements.assign(run_id="x/" + camp.measurements["run_id"])])
    r = fit_model(Campaign("u", runs2, meas2, camp.intervals, camp.rejects), metric="throughput_bps",
                  baseline=BASE, candidate=CAND)
    assert r.tests == ("TCP_STREAM",) and any("one model only, not modelled: TCP_MAERTS" in n for n in r.notes)


# --- fits that cannot poison a report (issue 16) --------------------------------------------------------------


def _with_runs(camp: Campaign, runs: pd.DataFrame) -> Campaign:
    meas = camp.measurements[camp.measurements["run_id"].isin(runs["run_id"])]
    return Campaign("u", runs.reset_index(drop=True), meas.reset_index(drop=True), camp.intervals, camp.rejects)


def test_leverage_one_run_falls_back_to_hc1_and_leaves_the_other_estimates_alone():
    """The only run at its pinning is fitted exactly by its own coefficient (leverage 1): HC3 divides 0 by 0 there.
    The fit uses HC1 (statsmodels' own, the reference) and names the run; the model effects equal those of the fit
    without that run (its coefficient absorbs it), with finite, positive standard errors."""
    camp = make_campaign(seed=3, n=4, pinnings=("split", "same-core"))
    runs = camp.runs.copy()
    lone = runs["run_id"].iloc[0]
    runs.loc[runs.index[0], "pinning"] = "isolated"
    r = fit_model(_with_runs(camp, runs), metric="throughput_bps", baseline=BASE, candidate=CAND)
    frame = r.frame[r.frame["test"] == "TCP_STREAM"]
    h = smf.ols(r.formulas["TCP_STREAM"], frame).fit().get_influence().hat_matrix_diag
    assert h.max() > 1 - 1e-8  # the premise: a run with leverage 1
    assert any(lone in n and "leverage 1" in n and "HC1" in n for n in r.notes)
    hc1 = smf.ols(r.formulas["TCP_STREAM"], frame).fit(cov_type="HC1", use_t=True)
    ours = r.coefficients.set_index("term")
    assert (ours["estimator"] == "OLS-HC1").all() and (r.effects["estimator"] == "OLS-HC1").all()
    np.testing.assert_allclose(ours.loc[hc1.bse.index, "standard_error"], hc1.bse, rtol=1e-10)
    assert np.isfinite(r.effects["standard_error"]).all() and (r.effects["standard_error"] > 0).all()
    without = fit_model(_with_runs(camp, camp.runs[camp.runs["run_id"] != lone]), metric="throughput_bps",
                        baseline=BASE, candidate=CAND)
    np.testing.assert_allclose(r.effects["log_effect"], without.effects["log_effect"], rtol=1e-9, atol=1e-12)
    assert (r.effects["reason"] == "").all()


def test_effect_without_a_standard_error_is_empty_with_its_reason():
    """One run per model at one size: the ratio has no residual degrees of freedom, so no SE and no p-value;
    the effect row is empty (never NaN beside a finite estimate) and says why."""
    camp = make_campaign(n=1, sizes=(64,), low_clock=None)
    r = fit_model(camp, metric="throughput_bps", baseline=BASE, candidate=CAND)
    e = r.effect("TCP_STREAM", 64)
    assert np.isnan(e["log_effect"]) and np.isnan(e["pvalue"]) and np.isnan(e["standard_error"])
    assert "no residual degrees of freedom" in e["reason"]
    assert list(r.not_fitted["test"]) == ["TCP_STREAM"]
    assert "no model effect is estimable" in r.not_fitted["reason"].iloc[0]


def test_test_at_disjoint_message_sizes_is_listed_as_not_fitted():
    """iperf3-UDP-like: one test where the baseline ran only at 64 B and the candidate only at 16384 B. That test is
    listed as not fitted, naming both sizes; the campaign's other test is fitted as before."""
    camp = make_campaign(seed=2, n=3, low_clock=None)
    udp = camp.runs[((camp.runs["pv_model"] == BASE) & (camp.runs["msg_size_bytes"] == 64))
                    | ((camp.runs["pv_model"] == CAND) & (camp.runs["msg_size_bytes"] == 16384))]
    udp = udp.assign(run_id="udp/" + udp["run_id"], test="UDP_STREAM")
    meas = camp.measurements[camp.measurements["run_id"].isin("udp/" + udp["run_id"].str.removeprefix("udp/"))]
    extra = camp.measurements.merge(udp[["run_id"]].assign(orig=udp["run_id"].str.removeprefix("udp/")),
                                    left_on="run_id", right_on="orig", suffixes=("_x", ""))
    extra = extra[["run_id", "metric", "value"]]
    both = Campaign("u", pd.concat([camp.runs, udp], ignore_index=True),
                    pd.concat([camp.measurements, meas, extra], ignore_index=True), camp.intervals, camp.rejects)
    r = fit_model(both, metric="throughput_bps", baseline=BASE, candidate=CAND)
    assert r.tests == ("TCP_STREAM",)
    nf = r.not_fitted.set_index("test")["reason"]
    assert list(nf.index) == ["UDP_STREAM"]
    assert f"{BASE} at 64 B" in nf["UDP_STREAM"] and f"{CAND} at 16384 B" in nf["UDP_STREAM"]
    ref = fit_model(camp, metric="throughput_bps", baseline=BASE, candidate=CAND)
    pd.testing.assert_frame_equal(r.effects, ref.effects)
    only = Campaign("u", udp.reset_index(drop=True), extra.reset_index(drop=True), camp.intervals, camp.rejects)
    with pytest.raises(ValueError, match=r"UDP_STREAM: the two models ran at no common message size"):
        fit_model(only, metric="throughput_bps", baseline=BASE, candidate=CAND)


def test_fit_models_lists_every_metric_fitted_or_not_with_the_reason():
    from analysis.model import fit_models

    camp = make_campaign(seed=2, n=3, low_clock=None)
    disjoint = camp.runs[((camp.runs["pv_model"] == BASE) & (camp.runs["msg_size_bytes"] == 64))
                         | ((camp.runs["pv_model"] == CAND) & (camp.runs["msg_size_bytes"] == 16384))]
    res = fit_models(_with_runs(camp, disjoint), baseline=BASE, candidate=CAND)
    assert res.results == {}
    nf = res.not_fitted
    assert list(nf["metric"]) == ["throughput_bps"] and list(nf["test"]) == ["all tests"]
    assert "no common message size" in nf["reason"].iloc[0]
    assert any("not modelled" in n for n in res.notes)
