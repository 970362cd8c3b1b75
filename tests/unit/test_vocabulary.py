"""Campaigns as users write them: one test vocabulary across tools, direction in the cell, non-run files, marks.

Fixtures: ``tests/data/vocabulary`` (one real file per tool and mode, a manifest in each vocabulary) and
``tests/data/campaigns/nic_fwd_rev`` (real iperf3 forward / ``-R`` and sockperf ping-pong, a canonical-vocabulary
manifest with two runs marked failed, a README, logs and a script beside the runs).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.audit import audit, cell_label
from analysis.crosstool import tool_agreement
from analysis.ingest import ingest_campaign
from analysis.manifest import read_manifest
from analysis.model import fit_model
from analysis.parsers import PARSERS
from analysis.simulate import CampaignSpec, simulate_campaign
from analysis.vocabulary import CELL_KEY, TESTS, TOOL_TESTS, is_test_name
from analysis.vocabulary import same_test_name as names_match
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"
VOCAB = DATA / "vocabulary"
NIC = DATA / "campaigns" / "nic_fwd_rev"


def _campaign_copy(tmp_path: Path, src: Path, manifest: str | None = None) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    if manifest is not None:
        for p in dst.glob("manifest_*.csv"):
            if p.name != manifest:
                p.unlink()
        (dst / manifest).rename(dst / "manifest.csv")
        (dst / "expected.csv").unlink()
    return dst


def _accounting(c) -> None:
    s = c.summary
    assert s["files_seen"] == s["ingested"] + s["rejected"] + s["ignored"]
    assert (s["ingested"], s["rejected"], s["ignored"]) == (len(c.runs), len(c.rejects), len(c.ignored))


# ------------------------------------------------------------------------------------------------ vocabulary


def test_vocabulary_is_defined_once_and_covers_every_tool():
    assert list(TESTS) == ["TCP_STREAM", "TCP_MAERTS", "TCP_BIDIR", "UDP_STREAM", "TCP_RR", "UDP_RR", "TCP_CRR"]
    assert set(TOOL_TESTS) == set(PARSERS)
    assert all(callable(m.canonical_test) for m in PARSERS.values())
    assert CELL_KEY == ("tool", "test", "msg_size_bytes", "pinning")
    assert is_test_name("tcp_maerts") and is_test_name("SOCKPERF_UNDER_LOAD") and not is_test_name("UDP_PP")
    assert names_match("iperf3_tcp", "TCP_MAERTS", "IPERF3_TCP")
    assert not names_match("TCP_MAERTS", "TCP_STREAM", "IPERF3_TCP")


def test_one_clock_tolerance_reaches_every_stage(monkeypatch):
    """"Same clock" is vocabulary.CLOCK_TOLERANCE everywhere: audit's balance, compare's headline, the cell's
    clocks_differ, the model's clock status and the rerun plan's clock naming."""
    import analysis.audit as audit_module
    import analysis.model as model_module
    import analysis.rerun as rerun_module
    from analysis.vocabulary import CLOCK_TOLERANCE, TOOL_FREE_KEY, same_clock

    assert audit_module.NUMERIC_COVARIATES["cpu_mhz"] == model_module.CLOCK_JITTER == CLOCK_TOLERANCE == 0.01
    assert rerun_module.CLOCK_TOLERANCE is CLOCK_TOLERANCE
    assert same_clock(2400.0, 2423.0) and not same_clock(2400.0, 2425.0) and not same_clock(2400.0, np.nan)
    assert rerun_module._mhz(np.array([2398.0, 2399.0])) == 2400.0  # within the tolerance of a 100 MHz step
    monkeypatch.setattr(rerun_module, "CLOCK_TOLERANCE", 0.0001)
    assert rerun_module._mhz(np.array([2398.0, 2399.0])) == 2398.0
    assert TOOL_FREE_KEY == tuple(c for c in CELL_KEY if c != "tool")


@pytest.mark.parametrize("manifest", ["manifest_tool.csv", "manifest_canonical.csv"])
def test_every_tool_and_mode_ingests_in_either_vocabulary(tmp_path, manifest):
    expected = pd.read_csv(VOCAB / "expected.csv", dtype=str, keep_default_na=False)
    c = ingest_campaign(_campaign_copy(tmp_path, VOCAB, manifest))
    assert c.rejects.empty, c.rejects.to_dict("records")
    assert c.ignored["path"].tolist() == ["README.md"]
    _accounting(c)
    got = c.runs.set_index("run_id")
    for e in expected.itertuples(index=False):
        r = got.loc[e.file]
        assert (r["tool"], r["test"], r["tool_test"]) == (e.tool, e.test, e.tool_test), e.file
        assert (pd.isna(r["direction"]) and not e.direction) or r["direction"] == e.direction, e.file
    # every canonical test but none is measured here
    assert set(got["test"]) == set(TESTS)
    # the settings a tool records that change the measured quantity reach the runs table
    assert got.loc["iperf3/udp_b100M_3.12.json", "target_bandwidth_bps"] == 100e6


@pytest.mark.parametrize(("file", "says", "file_says"), [
    ("iperf3/tcp_forward_3.12.json", "TCP_MAERTS", "TCP_STREAM"),
    ("iperf3/tcp_reverse_3.12.json", "TCP_STREAM", "TCP_MAERTS"),
    ("iperf3/tcp_forward_3.12.json", "TCP_RR", "TCP_STREAM"),
    ("sockperf/ping_pong_tcp_3.7.txt", "UDP_RR", "TCP_RR"),
    ("iperf2/tcp_reverse_2.1.8.txt", "IPERF2_UDP", "TCP_MAERTS"),
])
def test_a_mismatch_of_fact_is_rejected_naming_both_values(tmp_path, file, says, file_says):
    root = _campaign_copy(tmp_path, VOCAB, "manifest_canonical.csv")
    text = (root / "manifest.csv").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith(file + ","))
    (root / "manifest.csv").write_text(text.replace(line, line.rsplit(",", 1)[0] + "," + says))
    c = ingest_campaign(root)
    rej = c.rejects.set_index("source_file")
    assert list(rej.index) == [file] and rej.loc[file, "reason"] == "manifest_mismatch"
    assert f"says {says!r}, the file says {file_says!r}" in rej.loc[file, "detail"]
    assert len(c.runs) == 17


# ------------------------------------------------------------------------------------------------ acceptance


@pytest.fixture(scope="module")
def nic():
    return ingest_campaign(NIC)


def test_acceptance_campaign_ingests_as_written(nic):
    """iperf3 forward/-R + sockperf ping-pong, manifest in TCP_STREAM / TCP_MAERTS / UDP_RR, README and logs."""
    manifest = pd.read_csv(NIC / "manifest.csv")
    assert set(manifest["test"]) == {"TCP_STREAM", "TCP_MAERTS", "UDP_RR"}
    _accounting(nic)
    s = nic.summary
    assert (s["files_seen"], s["ingested"], s["rejected"], s["ignored"]) == (24, 18, 2, 4)
    # every run ingests except the two marked failed (one whose file parses, one iperf3 error)
    assert sorted(nic.rejects["source_file"]) == ["iperf3/vmxnet3_rev_16k_t4.json",
                                                  "sockperf/virtio-net_pp_udp_m64_t4.txt"]
    assert set(nic.rejects["reason"]) == {"marked_failed"}
    detail = nic.rejects.set_index("source_file")["detail"]
    assert detail.str.contains("marked failed in manifest").all()
    assert "the file itself: tool_error" in detail["iperf3/vmxnet3_rev_16k_t4.json"]  # iperf3's error JSON
    assert detail["sockperf/virtio-net_pp_udp_m64_t4.txt"].endswith("(its file parses)")
    ign = dict(zip(nic.ignored["path"], nic.ignored["reason"], strict=True))
    assert sorted(ign) == ["README.md", "logs/console.log", "logs/iperf3_server.log", "scripts/capture.sh"]
    assert "looks like iperf2 output but is not a complete run" in ign["logs/iperf3_server.log"]
    # the manifest's status column is kept as text on the runs
    assert set(nic.runs["status"]) == {"ok"}


def test_acceptance_forward_and_reverse_are_separate_cells(nic):
    cells = nic.runs.groupby(list(CELL_KEY)).size()
    assert cells.to_dict() == {
        ("iperf3", "TCP_MAERTS", 16384, "split"): 6, ("iperf3", "TCP_STREAM", 16384, "split"): 6,
        ("sockperf", "UDP_RR", 64, "split"): 6}
    aud = audit(nic, baseline="virtio-net", candidate="vmxnet3")
    ign = aud.findings[aud.findings["check"] == "ignored"]
    assert ign["severity"].tolist() == ["info"] and ign["detail"].iloc[0].startswith(
        "4 file(s) in the campaign folder are not runs and were ignored: README.md, logs/console.log")
    cov = aud.coverage
    labels = set(cov["cell"])
    fwd = cell_label(CELL_KEY, ["iperf3", "TCP_STREAM", 16384, "split"])
    rev = cell_label(CELL_KEY, ["iperf3", "TCP_MAERTS", 16384, "split"])
    assert {fwd, rev} <= labels and fwd != rev


def test_acceptance_compare_keeps_directions_apart(nic):
    from analysis.compare import compare

    res = compare(nic, baseline="virtio-net", candidate="vmxnet3", metrics=["throughput_bps", "latency_mean_s"],
                  n_resamples=999, rng=1)
    t = res.to_frame()
    tp = t[t["metric"] == "throughput_bps"].set_index("test")
    assert sorted(tp.index) == ["TCP_MAERTS", "TCP_STREAM"]
    assert (tp["n_baseline"] == 3).all() and (tp["n_candidate"] == 3).all()  # the failed 4th trial is out
    # each cell's estimate is the ratio of its own runs' (geometric, on the t route of 3 runs) means, not of the
    # pooled directions
    v = nic.measurements[nic.measurements["metric"] == "throughput_bps"].merge(nic.runs, on="run_id")
    for test in ("TCP_STREAM", "TCP_MAERTS"):
        g = v[v["test"] == test]
        ratio = np.exp(np.log(g[g.pv_model == "vmxnet3"]["value"]).mean()
                       - np.log(g[g.pv_model == "virtio-net"]["value"]).mean())
        assert "Welch t" in tp.loc[test, "route"]
        assert tp.loc[test, "raw_estimate"] == pytest.approx(ratio, rel=1e-9)


# ------------------------------------------------------------------------------------------------ non-run files


def test_readme_logs_and_pvfairignore(tmp_path):
    spec = CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=(1024,), trials=2, tools=("iperf3",),
                        non_run_files=True)
    root = simulate_campaign(tmp_path / "c", spec, seed=3)
    c = ingest_campaign(root)
    assert c.rejects.empty and len(c.runs) == 4
    ign = dict(zip(c.ignored["path"], c.ignored["reason"], strict=True))
    stale = next(p for p in ign if p.startswith("scratch/"))
    assert sorted(ign) == sorted(["README.md", "logs/console.log", "plots/setup.png", "scripts/run_campaign.sh",
                                  stale, "truth.csv"])
    assert ign[stale] == "matches .pvfairignore pattern 'scratch/'"
    assert ign["plots/setup.png"].startswith("no manifest row names it and no parser recognizes it")
    _accounting(c)
    assert c.summary["files_seen"] == 4 + 6
    # without the ignore list the stale copy of a run is a lost run: a reject, not an ignored file
    (root / ".pvfairignore").unlink()
    c2 = ingest_campaign(root)
    assert c2.rejects[["source_file", "reason"]].values.tolist() == [[stale, "no_manifest_row"]]
    _accounting(c2)


def test_pvfairignore_beats_a_manifest_row_and_supports_negation(tmp_path):
    spec = CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=(1024,), trials=2, tools=("iperf3",))
    root = simulate_campaign(tmp_path / "c", spec, seed=4)
    files = sorted(p.name for p in root.glob("*.json"))
    (root / ".pvfairignore").write_text(f"*.json\n!{files[0]}\n")
    c = ingest_campaign(root)
    assert c.runs["run_id"].tolist() == [files[0]]
    assert c.ignored[c.ignored["path"].isin(files)]["reason"].str.contains(
        r"matches \.pvfairignore pattern '\*\.json' \(manifest\.csv line \d+ names it; not ingested\)").all()
    assert len(c.ignored) == len(files) - 1 + 1  # the other runs, and truth.csv
    _accounting(c)


# ------------------------------------------------------------------------------------------------ manifest marks


def _marked(tmp_path: Path, column: str, values: dict[int, str]) -> Path:
    spec = CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=(1024,), trials=3)
    root = simulate_campaign(tmp_path / "m", spec, seed=5)
    man = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    man[column] = [values.get(i, "") for i in range(len(man))]
    man.to_csv(root / "manifest.csv", index=False)
    return root


def test_status_failed_row_is_a_reject_even_where_the_file_parses(tmp_path):
    root = _marked(tmp_path, "status", {0: "failed", 1: "OK", 2: "ok"})
    man = read_manifest(root)
    c = ingest_campaign(root)
    first = man.rows[0].run_id
    assert c.rejects[["source_file", "reason"]].values.tolist() == [[first, "marked_failed"]]
    assert c.rejects["detail"].iloc[0] == ("manifest.csv line 2: marked failed in manifest (status=failed); not "
                                           "ingested (its file parses)")
    assert len(c.runs) == 5 and c.runs["status"].dtype == "string"  # other values kept as text
    _accounting(c)


def test_exclude_column_and_bad_marks(tmp_path):
    root = _marked(tmp_path, "exclude", {3: "yes", 4: "maybe"})
    c = ingest_campaign(root)
    rej = c.rejects.set_index("reason")
    assert rej.loc["excluded_in_manifest", "detail"].startswith("manifest.csv line 5: marked exclude=yes")
    assert "column 'exclude': expected true/false, yes/no or 1/0, found 'maybe'" in \
        rej.loc["invalid_manifest_row", "detail"]
    root2 = _marked(tmp_path / "b", "status", {0: "broken"})
    c2 = ingest_campaign(root2)
    assert "column 'status': expected ok or failed (timeout and error" in c2.rejects["detail"].iloc[0]
    assert "found 'broken'" in c2.rejects["detail"].iloc[0]


# ------------------------------------------------------------------------------------------------ cells and tools


@pytest.fixture(scope="module")
def two_tools(tmp_path_factory):
    """netperf and iperf3 both measure TCP_STREAM at 1024 bytes; the candidate is 20 % faster in truth."""
    spec = CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=(1024,), trials=5,
                        tools=("netperf", "iperf3"), true_ratio=1.2, cv=0.03, manifest_vocabulary="canonical")
    return ingest_campaign(simulate_campaign(tmp_path_factory.mktemp("tt") / "c", spec, seed=8))


def test_two_tools_measuring_one_test_are_two_cells(two_tools):
    c = two_tools
    assert c.rejects.empty and set(c.runs["test"]) == {"TCP_STREAM"}
    n = c.runs.groupby(list(CELL_KEY))["run_id"].size()
    assert n.to_dict() == {("iperf3", "TCP_STREAM", 1024, "split"): 10, ("netperf", "TCP_STREAM", 1024, "split"): 10}
    # the model fits each tool on its own (never one pooled stratum)
    m = fit_model(c, metric="throughput_bps", baseline="virtio-net+vhost", candidate="venet")
    assert sorted(m.effects["test"]) == ["TCP_STREAM (iperf3)", "TCP_STREAM (netperf)"]


def test_tool_agreement_compares_the_tools_separately(two_tools):
    from analysis.compare import compare

    res = compare(two_tools, baseline="virtio-net+vhost", candidate="venet", metrics=["throughput_bps"],
                  n_resamples=999, rng=2)
    t = res.to_frame()
    assert sorted(t["tool"]) == ["iperf3", "netperf"] and (t["n_baseline"] == 5).all()
    agree = tool_agreement(res)
    row = agree.to_frame().iloc[0]
    assert (row["tool_a"], row["tool_b"], row["test"], row["msg_size_bytes"]) == ("iperf3", "netperf",
                                                                                  "TCP_STREAM", 1024)
    # an independent recomputation of the z test from the two rows of the compare table
    a, b = t.set_index("tool").loc["iperf3"], t.set_index("tool").loc["netperf"]
    zq = stats.norm.ppf(0.5 + a["confidence_level"] / 2)
    se = math.sqrt(((np.log(a["ci_high"]) - np.log(a["ci_low"])) / (2 * zq)) ** 2
                   + ((np.log(b["ci_high"]) - np.log(b["ci_low"])) / (2 * zq)) ** 2)
    d = np.log(a["estimate"]) - np.log(b["estimate"])
    assert row["ratio_of_ratios"] == pytest.approx(math.exp(d))
    assert row["pvalue"] == pytest.approx(2 * stats.norm.sf(abs(d) / se))
    assert bool(row["agree"]) and "agree" in agree.summary()


def test_settings_that_change_the_measurement_are_named(two_tools):
    runs = two_tools.runs.copy()
    iperf = runs.index[runs["tool"] == "iperf3"]
    runs.loc[iperf[:3], "streams"] = 4
    c = dataclasses.replace(two_tools, runs=runs)
    f = audit(c, baseline="virtio-net+vhost", candidate="venet").findings
    s = f[f["check"] == "settings"]
    assert len(s) == 1 and s["severity"].iloc[0] == "warn"
    assert s["cell"].iloc[0] == cell_label(CELL_KEY, ["iperf3", "TCP_STREAM", 1024, "split"])
    assert "different streams: 1 (7 runs), 4 (3 runs)" in s["detail"].iloc[0]
    assert "by=(*CELL_KEY, 'streams')" in s["suggestion"].iloc[0]


# ------------------------------------------------------------------------------------------------ warm-up


def test_warmup_runs_left_out_by_default_and_included_on_request(tmp_path):
    from analysis.compare import compare

    spec = CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=(1024,), trials=6)
    root = simulate_campaign(tmp_path / "w", spec, seed=9)
    man = pd.read_csv(root / "manifest.csv", dtype=str, keep_default_na=False)
    man["warmup"] = np.where(man["trial"] == "1", "true", "false")  # trial 1 is each model's warm-up block
    man.to_csv(root / "manifest.csv", index=False)
    c = ingest_campaign(root)
    res = compare(c, baseline="virtio-net+vhost", candidate="venet", metrics=["throughput_bps"],
                  n_resamples=999, rng=3)
    row = res.to_frame().iloc[0]
    assert (row["n_baseline"], row["n_candidate"]) == (5, 5)
    ex = res.audit.excluded_runs
    assert len(ex) == 2 and set(ex["reason"]) == {"warm-up (manifest)"}
    both = compare(c, baseline="virtio-net+vhost", candidate="venet", metrics=["throughput_bps"],
                   n_resamples=999, rng=3, exclude_warmup=False).to_frame().iloc[0]
    assert (both["n_baseline"], both["n_candidate"]) == (6, 6)
    m = fit_model(c, metric="throughput_bps", baseline="virtio-net+vhost", candidate="venet")
    assert "2 warm-up run(s) (manifest warmup) left out" in m.notes
    assert len(m.residuals) == 10


# ------------------------------------------------------------------------------------------------ design fuzz


@pytest.mark.parametrize("seed", range(4))
def test_design_fuzz_mixed_directions_tools_and_non_run_files(tmp_path, seed):
    """Random designs mixing forward and reverse runs, tools, vocabularies and non-run files: every run ingests,
    the accounting holds, and forward and reverse never share a cell."""
    rng = np.random.default_rng(seed)
    tools = tuple(rng.choice(["netperf", "iperf3", "netperf-omni-kv"], size=int(rng.integers(1, 3)),
                             replace=False))
    size = int(rng.choice([64, 16384]))
    spec = CampaignSpec(tests=("TCP_STREAM", "TCP_MAERTS"), stream_msg_sizes_bytes=(size,),
                        trials=int(rng.integers(2, 5)), tools=tools,
                        manifest_vocabulary=str(rng.choice(["tool", "canonical"])),
                        non_run_files=bool(rng.integers(0, 2)), broken_inputs=bool(rng.integers(0, 2)),
                        true_ratio={("TCP_STREAM", size): 1.0, ("TCP_MAERTS", size): 4.7})
    root = simulate_campaign(tmp_path / "f", spec, seed=seed)
    c = ingest_campaign(root)
    _accounting(c)
    n_manifest = len(pd.read_csv(root / "manifest.csv"))
    assert len(c.runs) == n_manifest - (3 if spec.broken_inputs else 0)
    assert set(c.rejects["reason"]) <= {"parse_error", "tool_error", "missing_file"}
    assert (c.runs.groupby(list(CELL_KEY))["direction"].nunique() == 1).all()
    v = c.measurements[c.measurements["metric"] == "throughput_bps"].merge(c.runs, on="run_id")
    lr = v.groupby([*CELL_KEY, "pv_model"])["value"].mean().unstack("pv_model")
    ratio = lr["venet"] / lr["virtio-net+vhost"]
    assert np.allclose(ratio.xs("TCP_MAERTS", level="test"), 4.7, rtol=0.15)
    assert np.allclose(ratio.xs("TCP_STREAM", level="test"), 1.0, rtol=0.15)
