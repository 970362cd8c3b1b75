"""analysis.simulate: seeded campaigns in real tool formats, their truth table, planted confounds, the demo folder."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re

import numpy as np
import pandas as pd
import pytest

from analysis import simulate as sim
from analysis.simulate import DEMO_SPEC, CampaignSpec, plan_runs, simulate_campaign, true_ratios
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.unit

SMALL = CampaignSpec(trials=2)


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _netperf_numbers(text: str) -> dict[str, float]:
    """Read the result row of netperf -c -C classic output independently of analysis.parsers (column positions from
    netperf's own headers: stream = recv sock, send sock, msg, elapsed, throughput, util l/r, SD l/r; RR = send
    sock, recv sock, req, resp, elapsed, rate, util l/r, SD l/r)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if "STREAM TEST" in lines[0]:
        f = lines[-1].split()
        return {"size": int(f[2]), "elapsed": float(f[3]), "rate": float(f[4]) * 1e6, "lutil": float(f[5]),
                "rutil": float(f[6]), "lsd": float(f[7]), "rsd": float(f[8])}
    f = lines[-2].split()
    return {"size": int(f[2]), "elapsed": float(f[4]), "rate": float(f[5]), "lutil": float(f[6]),
            "rutil": float(f[7]), "lsd": float(f[8]), "rsd": float(f[9])}


def _parsers_ready(tool: str) -> bool:
    from analysis.parsers import PARSERS

    return getattr(PARSERS[tool], "PARSER_VERSION", "0") != "0"


# ---------------------------------------------------------------------------------------------- reproducibility


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    a = simulate_campaign(tmp_path / "a", SMALL, seed=7)
    b = simulate_campaign(tmp_path / "b", SMALL, seed=7)
    c = simulate_campaign(tmp_path / "c", SMALL, seed=8)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert fa == fb
    assert fa["manifest.csv"] != fc["manifest.csv"]
    assert fa["truth.csv"] == fc["truth.csv"]  # the truth depends on the spec only


def test_layout_and_manifest_columns(tmp_path):
    out = simulate_campaign(tmp_path / "c", SMALL, seed=1)
    man = pd.read_csv(out / "manifest.csv")
    assert list(man.columns) == ["file", "pv_model", "tool", "test", "msg_size_bytes", "pinning", "cpu_mhz_before",
                                 "cpu_mhz_after", "n_cpus", "governor", "host", "session", "trial", "order_index",
                                 "start_time"]
    # 3 stream sizes + TCP_RR + UDP_RR, 2 models, 2 trials
    assert len(man) == 20
    assert sorted(man.file) == sorted(p.name for p in out.iterdir() if p.name not in ("manifest.csv", "truth.csv"))
    assert man.order_index.tolist() == list(range(20))
    assert man.file.is_unique
    assert set(man.pv_model) == {"virtio-net+vhost", "venet"}
    assert (man[man.test.isin(["TCP_RR", "UDP_RR"])].msg_size_bytes == 1).all()
    starts = pd.to_datetime(man.start_time, utc=True)
    assert starts.is_monotonic_increasing and starts.dt.tz is not None


def test_simulate_refuses_a_folder_with_content(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"out_dir: expected a new or empty folder"):
        simulate_campaign(tmp_path, SMALL)


# ---------------------------------------------------------------------------------------------- format fidelity


def test_netperf_stream_writer_reproduces_a_real_file():
    """Fed the numbers of a real netperf 2.7 -c -C run (tests/data/samples), the writer gives that file's bytes
    (the real build adds the ' : histogram : demo' banner suffix, so only the banner differs)."""
    real = (SAMPLES / "netperf" / "np_tcp_stream_A_split_m4096_t1.txt").read_text()
    v = {"test": "TCP_STREAM", "size": 4096, "elapsed_s": 2.0, "rate": 16829.34e6, "local_util": 71.23,
         "remote_util": 71.23, "local_sd": 0.693, "remote_sd": 0.693, "sockets": (16384, 131072)}
    mine = sim._netperf_classic(v)
    assert mine.split("\n", 1)[1] == real.split("\n", 1)[1]
    assert real.startswith(mine.split("\n", 1)[0].replace("192.168.122.1", "127.0.0.1"))


def test_netperf_stream_output_layout(tmp_path):
    out = simulate_campaign(tmp_path / "c", dataclasses.replace(SMALL, tests=("TCP_STREAM",),
                                                                 stream_msg_sizes_bytes=(4096,)), seed=3)
    f = next(p for p in out.iterdir() if p.suffix == ".txt")
    real = (SAMPLES / "netperf" / "np_tcp_stream_A_split_m4096_t1.txt").read_text().splitlines()
    mine = f.read_text().splitlines()
    assert mine[0] == ("MIGRATED TCP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 192.168.122.1 () port 0 "
                       "AF_INET")
    assert mine[1:6] == real[1:6] and len(mine) == 7
    assert re.fullmatch(r" 87380  16384   4096    10\.0\d  +\d+\.\d\d   \d\d\.\d\d    \d\d\.\d\d    "
                        r"\d+\.\d{3}   \d+\.\d{3}  ", mine[6])


def test_netperf_rr_output_layout(tmp_path):
    out = simulate_campaign(tmp_path / "c", dataclasses.replace(SMALL, tests=("UDP_RR",)), seed=3)
    text = next(p for p in out.iterdir() if p.suffix == ".txt").read_text()
    lines = text.splitlines()
    # netperf 2.7 -c -C RR header (src/nettest_bsd.c cpu_title with method letter S)
    assert lines[0].endswith(" : first burst 0") and "UDP REQUEST/RESPONSE TEST" in lines[0]
    assert lines[1:5] == [
        "Local /Remote",
        "Socket Size   Request Resp.  Elapsed Trans.   CPU    CPU    S.dem   S.dem",
        "Send   Recv   Size    Size   Time    Rate     local  remote local   remote",
        "bytes  bytes  bytes   bytes  secs.   per sec  % S    % S    us/Tr   us/Tr",
    ]
    assert lines[5] == "" and re.fullmatch(r"124928 124928 1       1      10\.0\d   \d+\.\d\d  .*", lines[6])
    assert lines[7] == "124928 124928"


def test_service_demand_is_netperf_arithmetic(tmp_path):
    """netperf: SD [us/KB] = util/100 * n_cpus * 1e6 / (bytes/s / 1024); RR: util/100 * n_cpus * 1e6 / (trans/s)."""
    out = simulate_campaign(tmp_path / "c", SMALL, seed=5)
    man = pd.read_csv(out / "manifest.csv")
    for row in man.itertuples():
        v = _netperf_numbers((out / row.file).read_text())
        per = v["rate"] / 8 / 1024 if row.test == "TCP_STREAM" else v["rate"]
        assert v["lsd"] == pytest.approx(v["lutil"] / 100 * 2 * 1e6 / per, rel=2e-3)
        assert v["rsd"] == pytest.approx(v["rutil"] / 100 * 2 * 1e6 / per, rel=2e-3)
        assert v["size"] == row.msg_size_bytes


# ---------------------------------------------------------------------------------------------- planted values


def test_noiseless_values_equal_hand_computed_model(tmp_path):
    """cv = 0: each written rate equals base * ratio * (MHz/nominal)^elasticity * pinning effect, computed by hand."""
    spec = CampaignSpec(tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 16384), trials=4, cv=0.0,
                        true_ratio={("TCP_STREAM", 64): 1.25, ("TCP_RR", 1): 0.8, ("TCP_STREAM", 16384): 1.0},
                        low_clock=("venet", 0.5, 1600.0), pinnings=("split", "same-core"),
                        pinning_effect={"same-core": 0.85})
    out = simulate_campaign(tmp_path / "c", spec, seed=11)
    man = pd.read_csv(out / "manifest.csv")
    base = {("TCP_STREAM", 64): 150e6, ("TCP_STREAM", 16384): 940e6, ("TCP_RR", 1): 12500.0}
    ratio = {("TCP_STREAM", 64): 1.25, ("TCP_STREAM", 16384): 1.0, ("TCP_RR", 1): 0.8}
    elasticity = {("TCP_STREAM", 64): 1.0, ("TCP_STREAM", 16384): 0.0, ("TCP_RR", 1): 1.0}
    for row in man.itertuples():
        key = (row.test, row.msg_size_bytes)
        clock = 1600.0 if row.cpu_mhz_before < 2000 else 2400.0
        expected = (base[key] * (ratio[key] if row.pv_model == "venet" else 1.0)
                    * (clock / 2400.0) ** elasticity[key] * (0.85 if row.pinning == "same-core" else 1.0))
        got = _netperf_numbers((out / row.file).read_text())["rate"]
        assert got == pytest.approx(expected, abs=0.006e6 if row.test == "TCP_STREAM" else 0.006), row.file


def test_noisy_cell_means_recover_the_true_ratio(tmp_path):
    """With noise, the mean log ratio per cell is within 4 standard errors of log(true ratio)."""
    spec = CampaignSpec(stream_msg_sizes_bytes=(64, 16384), trials=30, cv=0.05,
                        true_ratio={("TCP_STREAM", 64): 1.3, ("UDP_RR", 1): 0.9})
    out = simulate_campaign(tmp_path / "c", spec, seed=2)
    man = pd.read_csv(out / "manifest.csv")
    man["rate"] = [_netperf_numbers((out / f).read_text())["rate"] for f in man.file]
    truth = true_ratios(spec).query("metric in ['throughput_bps', 'transactions_per_s']")
    for (test, size), g in man.groupby(["test", "msg_size_bytes"]):
        lb = np.log(g[g.pv_model == "venet"].rate.to_numpy())
        la = np.log(g[g.pv_model == "virtio-net+vhost"].rate.to_numpy())
        est = lb.mean() - la.mean()
        se = math.sqrt(lb.var(ddof=1) / len(lb) + la.var(ddof=1) / len(la))
        want = truth.query("test == @test and msg_size_bytes == @size").true_ratio.iloc[0]
        assert abs(est - math.log(want)) < 4 * se, (test, size, math.exp(est), want)
        assert 0.03 < lb.std(ddof=1) < 0.07  # the planted cv is visible


def test_drift_is_linear_in_model_run_order_and_centred(tmp_path):
    spec = CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64,), trials=20, cv=0.0,
                        drift_per_run={"venet": -0.002})
    out = simulate_campaign(tmp_path / "c", spec, seed=4)
    man = pd.read_csv(out / "manifest.csv")
    man["rate"] = [_netperf_numbers((out / f).read_text())["rate"] for f in man.file]
    v = man[man.pv_model == "venet"].sort_values("order_index")
    j = np.arange(len(v))
    slope, intercept = np.polyfit(j, np.log(v.rate.to_numpy()), 1)
    assert slope == pytest.approx(-0.002, abs=2e-5)
    # centred: the model's mid-run is at the undrifted level (150 Mb/s at ratio 1)
    assert math.exp(intercept + slope * (len(v) - 1) / 2) == pytest.approx(150e6, rel=1e-3)
    b = man[man.pv_model == "virtio-net+vhost"]
    assert np.ptp(np.log(b.rate.to_numpy())) < 1e-4


def test_sessions_are_contiguous_blocks_with_their_own_level(tmp_path):
    spec = CampaignSpec(tests=("TCP_RR",), trials=12, cv=0.0, sessions=3, session_sd=0.1)
    out = simulate_campaign(tmp_path / "c", spec, seed=9)
    man = pd.read_csv(out / "manifest.csv")
    man["rate"] = [_netperf_numbers((out / f).read_text())["rate"] for f in man.file]
    for _, g in man.groupby("pv_model"):
        g = g.sort_values("order_index")
        assert g.session.tolist() == sorted(g.session.tolist())  # contiguous in run order
        assert g.groupby("session").size().tolist() == [4, 4, 4]
        levels = g.groupby("session").rate.agg(["min", "max"])
        assert (levels["max"] / levels["min"] < 1.0001).all()  # cv = 0: one level per session
        assert levels["min"].nunique() == 3


# ---------------------------------------------------------------------------------------------- confounds in the manifest


def test_low_clock_fraction_is_planted_per_cell(tmp_path):
    spec = CampaignSpec(trials=6, low_clock=("venet", 0.5, 1600.0))
    man = plan_runs(spec, seed=3)
    low = man.cpu_mhz_before < 2000
    assert not low[man.pv_model == "virtio-net+vhost"].any()
    per_cell = man[man.pv_model == "venet"].assign(low=low).groupby(["test", "msg_size_bytes"]).low.sum()
    assert (per_cell == 3).all()
    lows = man[low]
    assert (abs(lows.cpu_mhz_before - 1600) < 20).all() and (abs(lows.cpu_mhz_after - 1600) < 20).all()
    assert set(man[man.pv_model == "venet"].governor) == {"ondemand"}
    assert set(man[man.pv_model == "virtio-net+vhost"].governor) == {"performance"}


def test_pinning_mix_and_balanced_default():
    mix = CampaignSpec(trials=10, pinnings=("split", "same-core"),
                       pinning_mix={"virtio-net+vhost": {"split": 0.8, "same-core": 0.2},
                                    "venet": {"split": 0.5, "same-core": 0.5}})
    man = plan_runs(mix, seed=1)
    counts = man.groupby(["pv_model", "test", "msg_size_bytes", "pinning"]).size().unstack()
    assert (counts.loc["virtio-net+vhost", "split"] == 8).all() and (counts.loc["virtio-net+vhost", "same-core"] == 2).all()
    assert (counts.loc["venet"] == 5).all().all()
    balanced = plan_runs(CampaignSpec(trials=3, pinnings=("split", "same-core")), seed=1)
    assert (balanced.groupby(["pv_model", "test", "msg_size_bytes", "pinning"]).size() == 3).all()


def test_interleaved_and_blocked_order():
    inter = plan_runs(CampaignSpec(trials=4), seed=5).sort_values("order_index")
    assert inter.trial.is_monotonic_increasing  # blocked per trial
    first_block = inter[inter.trial == 1].pv_model.tolist()
    assert len(set(first_block)) == 2 and first_block != sorted(first_block)  # models mixed within a trial
    blocked = plan_runs(CampaignSpec(trials=4, order="blocked"), seed=5).sort_values("order_index")
    base = blocked[blocked.pv_model == "virtio-net+vhost"].order_index
    cand = blocked[blocked.pv_model == "venet"].order_index
    assert base.max() < cand.min()


def test_one_model_cell_is_measured_by_that_model_only():
    spec = CampaignSpec(one_model_cells=(("virtio-net+vhost", "TCP_STREAM", 16384),))
    man = plan_runs(spec, seed=0)
    cell = man[(man.test == "TCP_STREAM") & (man.msg_size_bytes == 16384)]
    assert set(cell.pv_model) == {"virtio-net+vhost"} and len(cell) == 5
    t = true_ratios(spec)
    assert not t[(t.test == "TCP_STREAM") & (t.msg_size_bytes == 16384)].both_models.any()
    assert t[t.msg_size_bytes != 16384].both_models.all()


def test_broken_inputs(tmp_path):
    out = simulate_campaign(tmp_path / "c", dataclasses.replace(SMALL, broken_inputs=True), seed=1)
    man = pd.read_csv(out / "manifest.csv")
    assert len(man) == 23
    missing = [f for f in man.file if not (out / f).exists()]
    assert len(missing) == 1 and missing[0].endswith("_missing.txt")
    trunc = out / next(f for f in man.file if "truncated" in f)
    text = trunc.read_text()
    assert text.startswith("MIGRATED TCP STREAM TEST") and not text.endswith("\n")
    err = out / next(f for f in man.file if f.endswith("_error.json"))
    import json

    doc = json.loads(err.read_text())
    assert doc["error"].startswith("error - unable to connect") and doc["intervals"] == [] and doc["end"] == {}


# ---------------------------------------------------------------------------------------------- truth table


def test_truth_table_matches_spec():
    spec = CampaignSpec(true_ratio={("TCP_STREAM", 64): 1.25, ("UDP_RR", 1): 0.9}, pinnings=("split", "same-core"))
    t = true_ratios(spec)
    assert list(t.columns) == ["test", "msg_size_bytes", "pinning", "metric", "true_ratio", "tool", "both_models",
                               "tool_test"]
    assert len(t) == 5 * 2 * 5  # 5 cells, 2 pinnings, 5 metrics each
    get = {(r.test, r.msg_size_bytes, r.pinning, r.metric): r.true_ratio for r in t.itertuples()}
    assert get[("TCP_STREAM", 64, "same-core", "throughput_bps")] == 1.25
    assert get[("TCP_STREAM", 64, "split", "local_service_demand_us_per_kb")] == pytest.approx(0.8)
    assert get[("TCP_STREAM", 1024, "split", "throughput_bps")] == 1.0  # unnamed cells: 1.0
    assert get[("UDP_RR", 1, "split", "transactions_per_s")] == 0.9
    assert get[("UDP_RR", 1, "split", "remote_service_demand_us_per_tr")] == pytest.approx(1 / 0.9)
    assert get[("UDP_RR", 1, "split", "local_cpu_util_pct")] == 1.0
    assert true_ratios(CampaignSpec(true_ratio=1.1)).query("metric == 'throughput_bps'").true_ratio.eq(1.1).all()


def test_truth_csv_equals_true_ratios(tmp_path):
    out = simulate_campaign(tmp_path / "c", SMALL, seed=0)
    pd.testing.assert_frame_equal(pd.read_csv(out / "truth.csv"), true_ratios(SMALL), check_dtype=False)


def test_default_elasticity():
    assert [sim.default_elasticity("TCP_STREAM", s) for s in (64, 1024, 2048, 16384, 65536)] == [1.0, 1.0, 0.5,
                                                                                                  0.0, 0.0]
    assert sim.default_elasticity("TCP_RR", 1) == 1.0
    spec = CampaignSpec(clock_elasticity={("TCP_STREAM", 64): 0.3})
    assert spec.elasticity("TCP_STREAM", 64) == 0.3 and spec.elasticity("TCP_STREAM", 16384) == 0.0
    assert CampaignSpec(clock_elasticity=0.7).elasticity("UDP_RR", 1) == 0.7


# ---------------------------------------------------------------------------------------------- round trip via parsers


@pytest.mark.skipif(not _parsers_ready("netperf"), reason="netperf parser not landed yet")
def test_written_files_parse_with_the_planted_values(tmp_path):
    from analysis.parsers import parse_file

    spec = CampaignSpec(trials=2, cv=0.0, true_ratio={("TCP_STREAM", 1024): 1.2})
    out = simulate_campaign(tmp_path / "c", spec, seed=12)
    man = pd.read_csv(out / "manifest.csv")
    for row in man.itertuples():
        run = parse_file(out / row.file)
        assert run.tool == "netperf"
        assert run.fields["test"] == row.test
        assert int(run.fields["msg_size_bytes"]) == row.msg_size_bytes
        metric = "throughput_bps" if row.test == "TCP_STREAM" else "transactions_per_s"
        ref = _netperf_numbers((out / row.file).read_text())
        assert run.measurements[metric] == pytest.approx(ref["rate"], rel=1e-9)
        assert run.measurements["local_cpu_util_pct"] == pytest.approx(ref["lutil"])
        if row.test == "TCP_STREAM" and row.msg_size_bytes == 1024:
            want = 800e6 * (1.2 if row.pv_model == "venet" else 1.0)
            assert run.measurements[metric] == pytest.approx(want, abs=0.006e6)


@pytest.mark.skipif(not _parsers_ready("netperf"), reason="netperf parser not landed yet")
def test_broken_inputs_fail_to_parse(tmp_path):
    from analysis.parsers import ParseError, parse_file

    out = simulate_campaign(tmp_path / "c", dataclasses.replace(SMALL, broken_inputs=True), seed=1)
    man = pd.read_csv(out / "manifest.csv")
    trunc = next(f for f in man.file if "truncated" in f)
    with pytest.raises(ParseError, match=re.escape(trunc)):
        parse_file(out / trunc)


@pytest.mark.skipif(not _parsers_ready("iperf3"), reason="iperf3 parser not landed yet")
def test_iperf3_error_file_is_a_tool_error(tmp_path):
    from analysis.parsers import ToolReportedError, parse_file

    out = simulate_campaign(tmp_path / "c", dataclasses.replace(SMALL, broken_inputs=True), seed=1)
    err = next(p for p in out.iterdir() if p.name.endswith("_error.json"))
    with pytest.raises(ToolReportedError, match="unable to connect"):
        parse_file(err)


# ---------------------------------------------------------------------------------------------- the demo


def test_demo_spec_plants_what_the_issue_asks():
    s = DEMO_SPEC
    assert s.stream_msg_sizes_bytes[0] == 64 and s.stream_msg_sizes_bytes[-1] == 65536
    assert set(s.tests) >= {"TCP_STREAM", "TCP_RR", "UDP_RR"} and s.trials >= 5
    assert s.low_clock is not None and s.pinning_mix is not None and s.one_model_cells and s.drift_per_run
    assert s.broken_inputs
    man = plan_runs(s, seed=2009)
    # every (test, size, pinning) stratum except the one-model cell is measured by both models, >= 2 runs each
    n = man.groupby(["test", "msg_size_bytes", "pinning", "pv_model"]).size().unstack()
    one = {(t, sz) for _, t, sz in s.one_model_cells}
    both = n[[(t, sz) not in one for t, sz, _ in n.index]]
    assert (both.fillna(0) >= 2).all().all()
    assert 100 <= len(man) <= 400


def test_demo_folder_is_what_make_demo_regenerates(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "scripts" / "make_demo.py")
    make_demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_demo)
    assert make_demo.main(["--out", str(tmp_path / "demo")]) == 0
    assert _files(tmp_path / "demo") == _files(ROOT / "data" / "raw" / "demo")


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("change", "match"), [
    ({"baseline": "venet"}, r"spec.baseline / spec.candidate: expected two different"),
    ({"tests": ()}, r"spec.tests: expected at least one test"),
    ({"tests": ("TCP_FOO",)}, r"spec.tests: unknown test 'TCP_FOO'"),
    ({"stream_msg_sizes_bytes": (0,)}, r"spec.stream_msg_sizes_bytes: expected positive integers"),
    ({"pinnings": ("a", "a")}, r"spec.pinnings: expected distinct pinning labels"),
    ({"trials": 0}, r"spec.trials: expected an integer >= 1"),
    ({"true_ratio": {("TCP_STREAM", 99): 1.2}}, r"spec.true_ratio: key \('TCP_STREAM', 99\) is not a"),
    ({"true_ratio": -1.0}, r"spec.true_ratio: expected a positive number"),
    ({"clock_elasticity": float("nan")}, r"spec.clock_elasticity: expected a finite number"),
    ({"cv": -0.1}, r"spec.cv: expected a finite number >= 0"),
    ({"nominal_mhz": 0.0}, r"spec.nominal_mhz: expected a positive number"),
    ({"low_clock": ("xen", 0.5, 1600.0)}, r"spec.low_clock: model 'xen' is neither"),
    ({"low_clock": ("venet", 1.5, 1600.0)}, r"spec.low_clock: fraction must be in \[0, 1\]"),
    ({"low_clock": ("venet", 0.5, -1.0)}, r"spec.low_clock: MHz must be a positive number"),
    ({"low_clock": ("venet", 0.5)}, r"spec.low_clock: expected \(model, fraction, MHz\)"),
    ({"pinning_effect": {"numa": 0.9}}, r"spec.pinning_effect: unknown pinning 'numa'"),
    ({"pinning_effect": {"split": 0.0}}, r"spec.pinning_effect: multiplier for 'split' must be positive"),
    ({"pinning_mix": {"venet": {"split": 1.0}}}, r"spec.pinning_mix: expected shares for both models"),
    ({"pinning_mix": {"venet": {"numa": 1.0}, "virtio-net+vhost": {"split": 1.0}}},
     r"spec.pinning_mix\['venet'\]: unknown pinning 'numa'"),
    ({"pinning_mix": {"venet": {"split": 0.5}, "virtio-net+vhost": {"split": 1.0}}},
     r"spec.pinning_mix\['venet'\]: shares must be >= 0 and sum to 1"),
    ({"one_model_cells": (("venet", "TCP_STREAM", 99),)}, r"spec.one_model_cells: expected \(model, test"),
    ({"one_model_cells": (("venet", "TCP_RR", 1), ("virtio-net+vhost", "TCP_RR", 1))},
     r"spec.one_model_cells: a cell is listed twice"),
    ({"drift_per_run": {"xen": 0.01}}, r"spec.drift_per_run: model 'xen' is neither"),
    ({"drift_per_run": {"venet": float("inf")}}, r"spec.drift_per_run: drift of 'venet' must be finite"),
    ({"order": "random"}, r"spec.order: expected one of \['blocked', 'interleaved'\]"),
    ({"sessions": 0}, r"spec.sessions: expected an integer >= 1"),
    ({"session_sd": -1.0}, r"spec.session_sd: expected a finite number >= 0"),
    ({"tools": ("ttcp",)}, r"spec.tools: expected distinct names from"),
    ({"tests": ("TCP_RR",), "tools": ("iperf3",)}, r"spec.tools: none of \('iperf3',\) measures any of the tests"),
    ({"cpu_util_pct": 0.0}, r"spec.cpu_util_pct: expected a percentage in \(0, 100\]"),
    ({"n_cpus": 0}, r"spec.n_cpus: expected an integer >= 1"),
])
def test_bad_spec_is_refused_naming_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        true_ratios(dataclasses.replace(CampaignSpec(), **change))


def test_bad_spec_type_and_seed(tmp_path):
    with pytest.raises(TypeError, match=r"spec: expected a CampaignSpec, got dict"):
        simulate_campaign(tmp_path / "c", {"trials": 3})
    with pytest.raises(ValueError, match=r"seed: expected a non-negative integer, got -1"):
        simulate_campaign(tmp_path / "c", SMALL, seed=-1)


# ---------------------------------------------------------------------------------------------- other formats

ALL_TOOLS = ("netperf", "netperf-omni-kv", "iperf3", "iperf2", "sockperf")


def _all_parsers_ready() -> bool:
    return all(_parsers_ready(t) for t in ("netperf", "iperf3", "iperf2", "sockperf"))


def test_every_format_is_written_with_its_parser_key_and_test_name(tmp_path):
    out = simulate_campaign(tmp_path / "c", CampaignSpec(trials=1, tools=ALL_TOOLS), seed=1)
    man = pd.read_csv(out / "manifest.csv")
    fmt = man.file.str.split("_").str[1]
    assert set(fmt) == set(ALL_TOOLS)
    assert dict(zip(fmt, man.tool, strict=True)) == {"netperf": "netperf", "netperf-omni-kv": "netperf",
                                                     "iperf3": "iperf3", "iperf2": "iperf2", "sockperf": "sockperf"}
    assert set(man[fmt == "iperf3"].test) == {"IPERF3_TCP"} and set(man[fmt == "iperf2"].test) == {"IPERF2_TCP"}
    assert set(man[fmt == "sockperf"].test) == {"SOCKPERF_PING_PONG"} and set(man[fmt == "sockperf"].msg_size_bytes) == {64}
    # 5 cells netperf + 5 omni + 3 iperf3 + 3 iperf2 + 1 sockperf, 2 models
    assert len(man) == 34
    t = true_ratios(CampaignSpec(tools=ALL_TOOLS))
    assert set(t.tool) == set(ALL_TOOLS)
    assert set(t[t.tool == "sockperf"].metric) == {"latency_mean_s", "latency_p50_s", "latency_p99_s"}


def test_iperf3_json_is_cjson_formatted_and_consistent(tmp_path):
    import json

    out = simulate_campaign(tmp_path / "c", CampaignSpec(trials=1, tools=("iperf3",), cv=0.0,
                                                         stream_msg_sizes_bytes=(16384,)), seed=1)
    man = pd.read_csv(out / "manifest.csv")
    f = out / man.file[0]
    text = f.read_text()
    # cJSON layout of real iperf3 -J output (tests/data/samples/iperf3): tab indents, "key":<TAB>value
    real = (SAMPLES / "iperf3" / "x_iperf3_tcp_A_split_l4096_t1.json").read_text()
    assert text.splitlines()[:3] == real.splitlines()[:3]
    assert '\t\t"test_start":\t{' in text and "\t\t}, {\n" in text
    doc = json.loads(text)
    iv = doc["intervals"]
    assert len(iv) == sim.RUN_SECONDS and sum(i["sum"]["bytes"] for i in iv) == doc["end"]["sum_sent"]["bytes"]
    assert doc["end"]["sum_received"]["bits_per_second"] == pytest.approx(940e6, rel=1e-3)
    assert doc["start"]["timestamp"]["timesecs"] == int(pd.Timestamp(man.start_time[0]).timestamp())
    assert doc["start"]["test_start"]["blksize"] == 16384


def test_cjson_numbers_follow_cjson_rules():
    assert sim._cjson_number(0) == "0" and sim._cjson_number(2.0) == "2"
    assert sim._cjson_number(2210119680) == "2210119680"
    assert sim._cjson_number(1.000051) == "1.000051"
    assert sim._cjson_number(9072668618.1492329) == "9072668618.1492329"  # 17 digits when 15 do not round-trip


def test_iperf2_units_follow_iperf2_adaptive_format():
    # Transfer: 1024-based; Bandwidth: 1000-based; 3 significant digits (iperf 2 byte_snprintf)
    assert sim._iperf2_adaptive(4.01 * 1024**3, 1024.0, ("Byte", "KByte", "MByte", "GByte")) == "4.01 GByte"
    assert sim._iperf2_adaptive(17.1e9, 1000.0, ("bits", "Kbits", "Mbits", "Gbits")) == "17.1 Gbits"
    assert sim._iperf2_adaptive(150.2e6, 1000.0, ("bits", "Kbits", "Mbits", "Gbits")) == " 150 Mbits"


@pytest.mark.skipif(not _all_parsers_ready(), reason="parsers not landed yet")
def test_every_format_parses_to_the_planted_noiseless_values(tmp_path):
    """cv = 0: each parsed metric equals the planted rate (latency = 1/rate; sockperf: half round trip)."""
    from analysis.parsers import parse_file

    spec = CampaignSpec(trials=1, tools=ALL_TOOLS, cv=0.0, low_clock=("venet", 0.5, 1600.0),
                        true_ratio={("TCP_STREAM", 64): 1.25, ("UDP_RR", 1): 0.9})
    out = simulate_campaign(tmp_path / "c", spec, seed=3)
    plan = plan_runs(spec, seed=3)
    tol = {"iperf2": 5e-3, "iperf3": 2e-3}  # iperf2 prints 3 significant digits; iperf3 counts whole blocks
    for row in plan.itertuples():
        run = parse_file(out / row.file)
        assert run.tool == row.tool and row.test in (run.fields["test"], run.fields["tool_test"]), row.file
        fmt = row.file.split("_")[1]
        rate = row.true_rate
        m = run.measurements
        if "throughput_bps" in m:
            assert m["throughput_bps"] == pytest.approx(rate, rel=tol.get(fmt, 1e-4)), row.file
        if "transactions_per_s" in m:
            assert m["transactions_per_s"] == pytest.approx(rate, rel=1e-4), row.file
        if fmt == "netperf-omni-kv" and "latency_mean_s" in m:
            assert m["latency_mean_s"] == pytest.approx(1 / rate, rel=1e-3)
            assert run.fields["cpu_mhz"] == round(row.clock_mhz)
        if fmt == "sockperf":
            assert m["latency_mean_s"] == pytest.approx(0.5 / rate, rel=1e-3)


@pytest.mark.skipif(not _all_parsers_ready(), reason="parsers not landed yet")
def test_ingested_multi_tool_campaign_recovers_truth_within_noise(tmp_path):
    """Ingest a noisy campaign in all formats; every truth.csv ratio is within 4 SE of the geometric-mean ratio."""
    from analysis.ingest import load_campaign

    spec = CampaignSpec(trials=8, tools=ALL_TOOLS, cv=0.04, stream_msg_sizes_bytes=(64, 16384),
                        true_ratio={("TCP_STREAM", 64): 1.25, ("UDP_RR", 1): 0.85, ("TCP_RR", 1): 1.1})
    out = simulate_campaign(tmp_path / "c", spec, seed=21)
    camp = load_campaign(out)
    assert len(camp.rejects) == 0 and len(camp.runs) == len(pd.read_csv(out / "manifest.csv"))
    runs = camp.runs[["run_id", "pv_model", "test", "msg_size_bytes", "pinning"]].astype(object)
    runs["fmt"] = runs.run_id.str.split("_").str[1]
    data = camp.measurements.merge(runs, on="run_id")
    truth = pd.read_csv(out / "truth.csv")
    checked = 0
    for t in truth.itertuples():
        g = data[(data.fmt == t.tool) & (data.test == t.test) & (data.msg_size_bytes == t.msg_size_bytes)
                 & (data.pinning == t.pinning) & (data.metric == t.metric)]
        c = np.log(g[g.pv_model == "venet"].value.to_numpy(float))
        b = np.log(g[g.pv_model == "virtio-net+vhost"].value.to_numpy(float))
        assert len(c) == len(b) == 8, (t, len(c), len(b))
        se = math.sqrt(c.var(ddof=1) / len(c) + b.var(ddof=1) / len(b))
        assert abs(c.mean() - b.mean() - math.log(t.true_ratio)) < 4 * se + 2e-3, t
        checked += 1
    assert checked == len(truth)


@pytest.mark.skipif(not _all_parsers_ready(), reason="parsers not landed yet")
def test_demo_ingests_with_exactly_the_planted_rejects():
    from analysis.ingest import load_campaign

    camp = load_campaign(ROOT / "data" / "raw" / "demo")
    assert sorted(camp.rejects.reason) == ["missing_file", "parse_error", "tool_error"]
    assert len(camp.runs) == 150


def test_pinning_draw_per_run_draws_each_runs_pinning_with_the_shares():
    """pinning_draw='per-run': each run's pinning is an independent draw with the model's shares (the counts per
    cell vary; over many runs the share converges: binomial check, 4 sd), and the default stays apportioned."""
    mix = {"virtio-net+vhost": {"split": 0.7, "same-core": 0.3}, "venet": {"split": 0.2, "same-core": 0.8}}
    spec = CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=tuple(range(64, 64 + 40)),
                        pinnings=("split", "same-core"), trials=5, pinning_mix=mix, pinning_draw="per-run")
    plan = plan_runs(spec, seed=3)
    for model, shares in mix.items():
        runs = plan[plan["pv_model"] == model]
        n, k = len(runs), int((runs["pinning"] == "split").sum())
        p = shares["split"]
        assert abs(k - n * p) < 4 * (n * p * (1 - p)) ** 0.5, (model, k, n)
        per_cell = runs.groupby("msg_size_bytes")["pinning"].apply(lambda s: (s == "split").sum())
        assert per_cell.nunique() > 1  # not apportioned
    apportioned = plan_runs(CampaignSpec(tests=("TCP_STREAM",), pinnings=("split", "same-core"), trials=5,
                                         pinning_mix=mix), seed=3)
    counts = apportioned.groupby(["pv_model", "msg_size_bytes"])["pinning"].apply(lambda s: (s == "split").sum())
    assert set(counts.xs("venet")) == {1} and set(counts.xs("virtio-net+vhost")) == {4}
    with pytest.raises(ValueError, match=r"spec.pinning_draw: expected 'apportioned' or 'per-run'"):
        plan_runs(CampaignSpec(pinning_draw="random"))
