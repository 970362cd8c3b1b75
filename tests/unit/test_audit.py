"""analysis.audit: every check fires on the confound planted for it, and nothing fires on a fair campaign.

Two kinds of fixture: ``simulate_campaign`` campaigns (raw files written, then ingested) with one confound planted
each, and small campaigns built in memory (:func:`make_campaign`) for what the simulator does not plant (warm-up,
netperf confidence flags, clock changes within a run, missing metadata, outliers).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from analysis.audit import AuditResult, _runs_test, audit, cell_label, frequency_bands
from analysis.ingest import Campaign, load_campaign
from analysis.normalize import normalize
from analysis.schema import MEASUREMENT_COLUMNS, REJECT_COLUMNS, RUN_COLUMNS, coerce_frame, empty_frame
from analysis.simulate import CampaignSpec, simulate_campaign
from analysis.vocabulary import CELL_KEY
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

B, C = "virtio-net+vhost", "venet"


# ------------------------------------------------------------------------------------------------------------
# fixtures


def make_campaign(
    *,
    n: int = 8,
    cells: tuple[tuple[str, int], ...] = (("TCP_STREAM", 1024), ("TCP_RR", 1)),
    ratio: float = 1.0,
    cv: float = 0.02,
    seed: int = 0,
    mhz: float = 2400.0,
    sessions: int = 1,
) -> Campaign:
    """A fair, interleaved campaign: *n* runs per model per cell, lognormal noise *cv*, candidate x *ratio*."""
    rng = np.random.default_rng(seed)
    plan = [(t, size, m, trial) for trial in range(n) for t, size in cells for m in (B, C)]
    order = np.concatenate([rng.permutation(len(cells) * 2) + k * len(cells) * 2 for k in range(n)])
    runs, ms = [], []
    for idx, pos in enumerate(order):
        test, size, model, trial = plan[pos]
        run_id = f"r{idx:03d}"
        before, after = mhz + rng.normal(0, 3), mhz + rng.normal(0, 3)
        runs.append({"campaign": "mem", "run_id": run_id, "pv_model": model, "tool": "netperf", "test": test,
                     "msg_size_bytes": size, "pinning": "split", "cpu_mhz": (before + after) / 2,
                     "cpu_mhz_before": before, "cpu_mhz_after": after, "cpu_mhz_source": "manifest-before-after",
                     "n_cpus": 2, "governor": "performance", "host": "h1", "streams": 1, "duration_s": 10.0,
                     "session": f"{model}-s{min(trial * sessions // n, sessions - 1)}", "trial": trial,
                     "order_index": idx})
        metric = "throughput_bps" if test.endswith("STREAM") else "transactions_per_s"
        base = 8e8 if metric == "throughput_bps" else 12500.0
        value = base * (ratio if model == C else 1.0) * math.exp(cv * rng.standard_normal())
        ms += [(run_id, metric, value), (run_id, "local_cpu_util_pct", 50.0)]
    r = pd.DataFrame(runs)
    for col, dtype in RUN_COLUMNS.items():  # coerce_frame cannot fill a missing float64 column with <NA>
        if col not in r.columns and dtype == "float64":
            r[col] = np.nan
    return Campaign("mem", coerce_frame(r, RUN_COLUMNS, name="runs"),
                    coerce_frame(pd.DataFrame(ms, columns=["run_id", "metric", "value"]), MEASUREMENT_COLUMNS,
                                 name="measurements"),
                    empty_frame({}), empty_frame(REJECT_COLUMNS))


def set_value(c: Campaign, run_id: str, factor: float) -> Campaign:
    m = c.measurements.copy()
    hit = (m["run_id"] == run_id) & m["metric"].isin(["throughput_bps", "transactions_per_s"])
    m.loc[hit, "value"] = m.loc[hit, "value"] * factor
    return dataclasses.replace(c, measurements=m)


def with_runs(c: Campaign, **changes) -> Campaign:
    """Set run columns: changes = column -> (mask function, value)."""
    r = c.runs.copy()
    for col, (mask, value) in changes.items():
        r.loc[mask(r), col] = value
    return dataclasses.replace(c, runs=r)


def sim(tmp_path, seed: int = 0, **spec) -> Campaign:
    out = simulate_campaign(tmp_path / f"sim{seed}", CampaignSpec(**spec), seed=seed)
    return load_campaign(out)


def problems(result: AuditResult) -> pd.DataFrame:
    f = result.findings
    return f[f["severity"].isin(["error", "warn"])]


def run_audit(c: Campaign, **kw) -> AuditResult:
    return audit(c, baseline=B, candidate=C, **kw)


# ------------------------------------------------------------------------------------------------------------
# no false alarms


FAIR = dict(tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 16384), pinnings=("split", "same-core"),
            pinning_effect={"same-core": 0.85}, trials=6, true_ratio=1.1, sessions=2, session_sd=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fair_campaign_raises_no_warning(tmp_path, seed):
    result = run_audit(sim(tmp_path, seed, **FAIR))
    assert problems(result).empty, result.summary()
    assert not result.has_errors
    assert result.excluded_cells.empty and result.excluded_runs.empty
    assert (result.coverage["status"] == "ok").all() and len(result.coverage) == 6
    order = result.findings[result.findings["check"] == "order"]
    assert order["detail"].str.startswith("models were interleaved").all()


def test_fair_in_memory_campaigns_raise_no_warning():
    for seed in range(4):
        result = run_audit(make_campaign(seed=seed, n=10, sessions=2))
        assert problems(result).empty, result.summary()


# ------------------------------------------------------------------------------------------------------------
# each planted confound is found, in the right cell


def test_clock_confound_found_and_per_ghz_recovers_the_ratio(tmp_path):
    c = sim(tmp_path, 3, tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 256), trials=10, true_ratio=1.2,
            clock_elasticity=1.0, cv=0.02, low_clock=(C, 0.5, 1600.0))
    result = run_audit(c)
    p = problems(result)
    clock = p[(p["check"] == "balance") & p["detail"].str.startswith("cpu_mhz")]
    assert len(clock) == 1 and clock["cell"].iloc[0] == "campaign"
    assert "re-run venet's 10 runs at" in clock["suggestion"].iloc[0]
    assert p["detail"].str.startswith("governor mix differs").any()
    bal = result.balance.set_index("covariate")
    assert bal.loc["cpu_mhz", "smd"] < -1 and bal.loc["cpu_mhz", "flagged"]

    # truth: 1.2 at equal clock. Raw means are biased by the 1600 MHz runs; per-GHz values recover 1.2.
    n = normalize(c)
    m = n.measurements.merge(n.runs[["run_id", "pv_model", "msg_size_bytes"]], on="run_id")
    for metric, lo, hi in (("throughput_bps", 0.95, 1.05), ("throughput_bps_per_ghz", 1.17, 1.23)):
        means = m[m["metric"] == metric].groupby(["msg_size_bytes", "pv_model"])["value"].mean().unstack()
        ratios = means[C] / means[B]
        assert ratios.between(lo, hi).all(), (metric, ratios)


def test_pinning_imbalance_and_simpson(tmp_path):
    c = sim(tmp_path, 4, tests=("TCP_STREAM",), stream_msg_sizes_bytes=(16384,), pinnings=("split", "same-core"),
            pinning_effect={"same-core": 0.7}, pinning_mix={B: {"split": 0.8, "same-core": 0.2},
                                                            C: {"split": 0.2, "same-core": 0.8}},
            trials=20, true_ratio=1.05, cv=0.02)
    p = problems(run_audit(c))
    pin = p[(p["check"] == "balance") & p["detail"].str.startswith("pinning mix differs")]
    assert len(pin) == 1 and "split 80 %" in pin["detail"].iloc[0]
    simpson = p[p["check"] == "simpson"]
    assert simpson["cell"].tolist() == ["tool=netperf, test=TCP_STREAM, msg_size_bytes=16384"]
    assert "pooled across pinning" in simpson["detail"].iloc[0]


def test_one_model_cell_and_too_few_runs(tmp_path):
    c = sim(tmp_path, 5, tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 1024), trials=5,
            one_model_cells=((B, "TCP_STREAM", 1024),))
    result = run_audit(c)
    p = problems(result)
    one = p[p["check"] == "one_model_cell"]
    assert one["cell"].tolist() == ["tool=netperf, test=TCP_STREAM, msg_size_bytes=1024, pinning=split"]
    assert one["pv_model"].tolist() == [B]
    assert result.excluded_cells["msg_size_bytes"].tolist() == [1024]
    assert "measured by virtio-net+vhost only (5 runs)" in result.excluded_cells["reason"].iloc[0]

    few = run_audit(sim(tmp_path, 6, tests=("TCP_RR",), trials=2))
    assert few.has_errors
    err = problems(few)
    assert err[["severity", "check", "cell"]].values.tolist() == [
        ["error", "too_few_runs", "tool=netperf, test=TCP_RR, msg_size_bytes=1, pinning=split"]]
    warn = problems(run_audit(sim(tmp_path, 7, tests=("TCP_RR",), trials=4)))
    assert warn[["severity", "check"]].values.tolist() == [["warn", "too_few_runs"]]


def test_drift_found_for_the_drifting_model(tmp_path):
    c = sim(tmp_path, 8, tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 1024), trials=10,
            drift_per_run={C: -0.002})
    p = problems(run_audit(c))
    drift = p[p["check"] == "drift"]
    assert drift["pv_model"].tolist() == [C] and drift["cell"].tolist() == ["campaign"]
    assert "venet's throughput_bps, transactions_per_s degrades" in drift["detail"].iloc[0]


def test_blocked_order_found(tmp_path):
    c = sim(tmp_path, 9, tests=("TCP_RR",), trials=10, order="blocked")
    p = problems(run_audit(c))
    assert p["check"].tolist() == ["order"]
    assert p["detail"].iloc[0].startswith("models were run in blocks: 1 model switches")


def test_broken_inputs_one_finding_per_reason(tmp_path):
    c = sim(tmp_path, 10, tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64,), trials=5, broken_inputs=True)
    p = problems(run_audit(c))
    rej = p[p["check"] == "rejects"]
    assert len(rej) == 3
    assert rej["detail"].str.contains(r"\(missing_file\): 0013_netperf_venet_tcp_stream_m64_split_missing.txt",
                                      regex=True).any()
    assert rej["detail"].str.contains("(parse_error)", regex=False).any()
    assert rej["detail"].str.contains("(tool_error)", regex=False).any()


def test_demo_campaign_acceptance():
    result = audit(load_campaign(ROOT / "data" / "raw" / "demo"))
    assert (result.baseline, result.candidate) == (B, C)  # the model of the earliest run is the baseline
    p = problems(result)
    found = {(r.check, r.cell) for r in p.itertuples()}
    detail = " | ".join(p["detail"])
    # 1. frequency confound (and the ondemand governor behind it)
    assert "cpu_mhz: standardized mean difference" in detail and "governor mix differs" in detail
    # 2. pinning imbalance
    assert "pinning mix differs" in detail
    # 3. one-model cell
    assert {c for k, c in found if k == "one_model_cell"} == {
        "tool=netperf, test=TCP_STREAM, msg_size_bytes=65536, pinning=split",
        "tool=netperf, test=TCP_STREAM, msg_size_bytes=65536, pinning=same-core"}
    # 4. drift of venet only
    assert p.loc[p["check"] == "drift", "pv_model"].tolist() == [C]
    # 5. the three broken inputs
    assert sorted(p.loc[p["check"] == "rejects", "detail"].str.extract(r"rejected \((\w+)\)")[0]) == [
        "missing_file", "parse_error", "tool_error"]
    # nothing the README does not explain: too few runs only in the same-core cells that the 80/20 pinning share
    # leaves virtio-net+vhost with 2 runs each; Simpson only across pinning; balance only clock/governor/pinning
    assert set(p["check"]) <= {"balance", "one_model_cell", "too_few_runs", "drift", "simpson", "rejects"}
    few = p[p["check"] == "too_few_runs"]
    assert few["cell"].str.endswith("pinning=same-core").all()
    assert few["detail"].str.startswith("too few runs: 2 of virtio-net+vhost").all()
    assert p.loc[p["check"] == "simpson", "detail"].str.contains("pooled across pinning").all()
    bal = p.loc[p["check"] == "balance", "detail"].str.extract(r"^(\w+)")[0]
    assert set(bal) == {"cpu_mhz", "pinning", "governor"}


# ------------------------------------------------------------------------------------------------------------
# checks the simulator does not plant (in-memory campaigns)


def test_warmup_declared_and_detected_and_exclusion_listed():
    c = make_campaign(seed=11, n=10, sessions=2)
    r = c.runs
    firsts = r.sort_values("order_index").groupby("session")["run_id"].first()
    slow = firsts[f"{C}-s1"]
    c = set_value(c, slow, 0.75)  # the first run after venet's second boot is 25 % slow
    c = with_runs(c, warmup=(lambda d: d["run_id"] == "r005", True))
    result = run_audit(c, exclude_warmup=False)
    w = problems(result)
    w = w[w["check"] == "warmup"]
    assert len(w) == 2
    assert "1 run(s) marked warmup in the manifest are kept in the comparison: r005" in w["detail"].iloc[0]
    assert w["detail"].iloc[1].startswith(f"run {slow}, the first of its session, is slower than the rest")
    assert result.excluded_runs.empty

    declared = run_audit(c)  # by default the manifest's warm-up runs only are left out, and listed with their count
    assert declared.excluded_runs["run_id"].tolist() == ["r005"]
    assert declared.excluded_runs["reason"].tolist() == ["warm-up (manifest)"]
    info = declared.findings[declared.findings["check"] == "warmup"]["detail"]
    assert "1 run(s) marked warmup in the manifest excluded from the comparison: r005" in info.tolist()
    ex = run_audit(c, exclude_warmup="detected")  # and the first-of-session run found slow
    assert sorted(ex.excluded_runs["run_id"]) == sorted(["r005", slow])
    assert ex.excluded_runs.set_index("run_id").loc["r005", "reason"] == "warm-up (manifest)"
    notes = ex.findings[ex.findings["check"] == "exclusions"]["detail"]
    assert notes.str.startswith("2 run(s) excluded on request").all() and len(notes) == 1
    # the excluded runs are gone from the counts
    assert ex.coverage[["n_baseline", "n_candidate"]].to_numpy().sum() == len(c.runs) - 2


def test_systematic_warmup_across_sessions():
    c = make_campaign(seed=12, n=12, sessions=6, cv=0.01)
    firsts = c.runs.sort_values("order_index").groupby("session")["run_id"].first()
    for run_id in firsts:
        c = set_value(c, run_id, 0.96)  # every first run 4 % slow: small per run, clear across 12 sessions
    w = problems(run_audit(c))
    sys_ = w[(w["check"] == "warmup") & (w["cell"] == "campaign")]
    assert len(sys_) == 1 and "first runs of each session are slower than the rest" in sys_["detail"].iloc[0]


def test_outlier_reported_and_excluded_on_request():
    c = set_value(make_campaign(seed=13, n=10), "r030", 0.5)
    result = run_audit(c)
    out = result.findings[result.findings["check"] == "outlier"]
    hit = out[out["detail"].str.startswith("run r030:")]
    assert len(hit) == 1 and hit["severity"].iloc[0] == "warn" and "kept in the comparison" in hit["detail"].iloc[0]
    assert hit["cell"].iloc[0] == cell_label(CELL_KEY, c.runs.set_index("run_id").loc["r030", list(CELL_KEY)].tolist())
    ex = run_audit(c, exclude_outliers=True)
    assert "r030" in ex.excluded_runs["run_id"].tolist()
    assert ex.excluded_runs.set_index("run_id").loc["r030", "reason"].startswith("outlier: ")


def test_confidence_clock_change_and_missing_info():
    c = make_campaign(seed=14)
    c = with_runs(c, confidence_met=(lambda d: d["run_id"].isin(["r001", "r002"]), False),
                  cpu_mhz_after=(lambda d: d["run_id"] == "r003", 1600.0),
                  cpu_mhz=(lambda d: d["run_id"].isin(["r010", "r011"]), np.nan),
                  pinning=(lambda d: d["run_id"] == "r012", pd.NA))
    p = problems(run_audit(c))
    conf = p[p["check"] == "confidence"]
    assert conf["detail"].str.contains("did not reach netperf's requested confidence").all()
    assert sorted(sum((d.split(": ")[-1].split(", ") for d in conf["detail"]), [])) == ["r001", "r002"]
    change = p[p["check"] == "cpu_mhz_change"]
    assert len(change) == 1 and change["detail"].iloc[0].endswith(": r003")
    miss = p[p["check"] == "missing_info"]["detail"]
    assert miss.str.contains("have no CPU frequency").sum() >= 1
    assert " ".join(miss).count("r010") == 1 and " ".join(miss).count("r011") == 1
    assert miss.str.contains(r"have no pinning recorded: .*r012", regex=True).any()


def test_simpson_across_frequency_bands():
    # within each clock band the candidate is 10 % faster, but most of its runs are at the low clock
    c = make_campaign(seed=15, n=12, cells=(("TCP_RR", 1),), cv=0.01, ratio=1.1)
    r = c.runs
    low_c = r[(r["pv_model"] == C)]["run_id"].tolist()[:9]
    low_b = r[(r["pv_model"] == B)]["run_id"].tolist()[:3]
    for run_id in low_c + low_b:
        c = set_value(c, run_id, 1600 / 2400)
    c = with_runs(c, cpu_mhz=(lambda d: d["run_id"].isin(low_c + low_b), 1600.0))
    p = problems(run_audit(c))
    s = p[p["check"] == "simpson"]
    assert s["cell"].tolist() == ["tool=netperf, test=TCP_RR, msg_size_bytes=1, pinning=split"]
    assert "pooled across frequency band" in s["detail"].iloc[0]


# ------------------------------------------------------------------------------------------------------------
# building blocks against independent references


def test_runs_test_matches_statsmodels():
    from statsmodels.sandbox.stats.runs import runstest_1samp

    rng = np.random.default_rng(16)
    for seq in (rng.random(40) < 0.5, np.r_[np.zeros(20), np.ones(20)].astype(bool)):
        switches, expected, z, p = _runs_test(seq)
        z_ref, p_ref = runstest_1samp(seq.astype(float), cutoff=0.5, correction=False)
        assert z == pytest.approx(z_ref)
        assert p == pytest.approx(p_ref / 2 if z < 0 else 1 - p_ref / 2)
        assert switches == int(np.sum(seq[1:] != seq[:-1]))


def test_smd_matches_textbook_formula():
    # Austin (2009): d = (mean_t - mean_c) / sqrt((s_t^2 + s_c^2) / 2)
    c = make_campaign(seed=17)
    r = c.runs
    r.loc[r["pv_model"] == C, "duration_s"] = [10.0, 10.5, 11.0, 9.5, 10.0, 12.0, 10.0, 10.0] * 2
    result = run_audit(dataclasses.replace(c, runs=r))
    x_b = r.loc[r["pv_model"] == B, "duration_s"].to_numpy()
    x_c = r.loc[r["pv_model"] == C, "duration_s"].to_numpy()
    expected = (x_c.mean() - x_b.mean()) / math.sqrt((x_b.var(ddof=1) + x_c.var(ddof=1)) / 2)
    assert result.balance.set_index("covariate").loc["duration_s", "smd"] == pytest.approx(expected)
    assert expected == pytest.approx(0.6944, abs=1e-4)  # baseline constant 10 s: sd_c / sqrt(2) in the denominator
    assert problems(result)["detail"].str.startswith("duration_s: standardized mean difference +0.69").any()


def test_frequency_bands():
    s = pd.Series([2400.0, 2396.0, 1600.0, np.nan, 1604.0, 3000.0])
    assert frequency_bands(s).tolist() == ["2396-2400 MHz", "2396-2400 MHz", "1600-1604 MHz", pd.NA,
                                           "1600-1604 MHz", "3000 MHz"]


# ------------------------------------------------------------------------------------------------------------
# result object and input validation


def test_result_rendering_is_escaped_and_complete():
    c = make_campaign(seed=18)
    c = with_runs(c, pv_model=(lambda d: d["pv_model"] == C, "<b>venet</b>"))
    c = with_runs(c, cpu_mhz=(lambda d: d["run_id"] == "r001", np.nan))
    result = audit(c, baseline=B, candidate="<b>venet</b>")
    html = result._repr_html_()
    assert "&lt;b&gt;venet&lt;/b&gt;" in html and "<b>venet</b>" not in html
    text = result.summary()
    assert text.startswith("Audit: virtio-net+vhost (baseline) vs <b>venet</b> (candidate) -- 0 error, 1 warn")
    assert "1. WARN missing_info (campaign) [virtio-net+vhost]" in text or "[<b>venet</b>]" in text
    assert list(result.to_frame().columns) == ["severity", "check", "cell", "pv_model", "metric", "detail",
                                               "suggestion"]
    assert (result.findings["suggestion"].str.len() > 10).all()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.findings = None  # type: ignore[misc]


def test_default_models_and_options():
    c = make_campaign(seed=19)
    first = c.runs.sort_values("order_index")["pv_model"].iloc[0]
    result = audit(c)
    assert result.baseline == first  # the model of the earliest run
    role = c.runs.assign(role=np.where(c.runs["pv_model"] == C, "baseline", "candidate"))
    assert audit(dataclasses.replace(c, runs=role)).baseline == C  # a manifest role column decides
    assert result.options["by"] == CELL_KEY == ("tool", "test", "msg_size_bytes", "pinning")
    three = with_runs(c, pv_model=(lambda d: d["run_id"] == "r000", "third"))
    with pytest.raises(ValueError, match=r"baseline, candidate: the campaign has 3 pv_models"):
        audit(three)
    assert audit(three, baseline=B, candidate=C).coverage[["n_baseline", "n_candidate"]].to_numpy().sum() == 31


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"baseline": "nope", "candidate": C}, ValueError, r"baseline: 'nope' is not a pv_model of the campaign"),
        ({"baseline": B, "candidate": B}, ValueError, r"baseline, candidate: both are"),
        ({"baseline": B, "candidate": C, "by": ("test", "colour")}, ValueError, r"by: unknown column 'colour'"),
        ({"baseline": B, "candidate": C, "by": 3}, TypeError, r"by: expected a sequence of column names"),
        ({"baseline": B, "candidate": C, "metrics": ["speed"]}, ValueError, r"metrics: unknown metric 'speed'"),
        ({"baseline": B, "candidate": C, "metrics": ["jitter_s"]}, ValueError,
         r"metrics: none of \['jitter_s'\] is measured"),
        ({"baseline": B, "candidate": C, "exclude_outliers": "yes"}, TypeError,
         r"exclude_outliers: expected True or False"),
        ({"baseline": B, "candidate": C, "exclude_warmup": 1}, TypeError, r"exclude_warmup: expected True or False"),
    ],
)
def test_argument_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        audit(make_campaign(seed=20, n=3), **kwargs)


def test_campaign_errors():
    c = make_campaign(seed=21, n=3)
    with pytest.raises(TypeError, match="campaign: expected an analysis.ingest.Campaign, got DataFrame"):
        audit(c.runs)
    with pytest.raises(ValueError, match="campaign.runs: missing column 'pv_model'"):
        audit(dataclasses.replace(c, runs=c.runs.drop(columns="pv_model")))
    with pytest.raises(ValueError, match="campaign.measurements: missing column 'value'"):
        audit(dataclasses.replace(c, measurements=c.measurements.drop(columns="value")))
    with pytest.raises(ValueError, match=r"baseline, candidate: only one given \('venet'\)"):
        audit(with_runs(c, pv_model=(lambda d: d["run_id"] == "r000", "third")), candidate=C)


def test_explicit_metrics_audit_each_metric():
    c = make_campaign(seed=22, n=10)
    result = run_audit(c, metrics=["throughput_bps", "transactions_per_s"])
    assert problems(result).empty
    c = set_value(c, "r010", 0.5)
    out = run_audit(c, metrics=["transactions_per_s", "throughput_bps"]).findings
    assert out.loc[out["check"] == "outlier", "metric"].notna().all()


# ------------------------------------------------------------------------------------------------------------
# the checks declare what they read: their order in CHECKS changes nothing


def _assert_same_audit(a: AuditResult, b: AuditResult) -> None:
    for name in ("findings", "excluded_cells", "excluded_runs", "balance", "coverage"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.options == b.options


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_reordering_checks_changes_nothing(monkeypatch, order):
    import analysis.audit as audit_module

    demo = load_campaign(ROOT / "data" / "raw" / "demo")
    mem = set_value(make_campaign(seed=11, n=10, sessions=2), "r030", 0.5)
    mem = with_runs(mem, warmup=(lambda d: d["run_id"] == "r005", True))
    cases = [(demo, {}), (mem, {"exclude_outliers": True, "exclude_warmup": "detected"})]
    before = [audit(c, **kw) for c, kw in cases]
    names = list(audit_module.CHECKS)
    names = names[::-1] if order == "reversed" else list(np.random.default_rng(5).permutation(names))
    assert names != list(audit_module.CHECKS)
    monkeypatch.setattr(audit_module, "CHECKS", {n: audit_module.CHECKS[n] for n in names})
    for (c, kw), b in zip(cases, before, strict=True):
        _assert_same_audit(audit(c, **kw), b)
    # without the coverage and balance checks the result's tables are still computed (they are facts, not side
    # effects of a check)
    monkeypatch.setattr(audit_module, "CHECKS", {n: ch for n, ch in audit_module.CHECKS.items()
                                                 if n not in ("balance", "one_model_cell")})
    bare = audit(demo)
    pd.testing.assert_frame_equal(bare.coverage, before[0].coverage)
    pd.testing.assert_frame_equal(bare.balance, before[0].balance)


def test_check_names_are_declared_once():
    from analysis.audit import CHECK_NAMES, CHECKS, FACTS

    assert set(CHECKS) <= set(CHECK_NAMES)
    assert all(need in FACTS for ch in CHECKS.values() for need in ch.needs)
    demo = audit(load_campaign(ROOT / "data" / "raw" / "demo"), exclude_outliers=True)
    assert set(demo.findings["check"]) <= set(CHECK_NAMES)
    assert {"one_model_cell", "too_few_runs", "balance", "exclusions"} <= set(demo.findings["check"])
