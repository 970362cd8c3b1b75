"""Real collection with iperf3 on loopback: a tiny plan (2 models x 2 message sizes x 3 trials, 1-second runs),
then ingest and compare on the result.

The two models are two network namespaces whose loopback differs (MTU 65536 + GSO/TSO vs MTU 1500 without), made
and removed by the plan's own setup/teardown commands; where namespaces cannot be made (not root, no ``ip netns``)
the models are two iperf3 option sets on 127.0.0.1 (default window vs a 32 KiB socket buffer, on a free port). The test starts and
stops its own iperf3 servers (one per run, through the collector), uses loopback addresses only, and each run is
bounded by ``duration_s + timeout_s``. ``make test`` installs iperf3 first (Makefile ``tools`` target).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from analysis import collect as col
from analysis.ingest import ingest_campaign

pytestmark = [pytest.mark.network, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")]


def _netns_possible() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"pvfair-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return made


def _namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _models(use_netns: bool, tag: str) -> dict:
    if not use_netns:
        with socket.socket() as s:  # a free loopback port, so parallel test runs do not collide
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return {"default-window": {"role": "baseline", "port": port, "interface": "lo"},
                "window-32k": {"role": "candidate", "port": port, "interface": "lo",
                               "options": {"iperf3": ["-w", "32K"]}}}
    gso = shutil.which("ethtool") is not None
    models = {}
    for name, ns, mtu, state, role in (("lo-gso-64k", f"{tag}a", 65536, "on", "baseline"),
                                       ("lo-nogso-1500", f"{tag}b", 1500, "off", "candidate")):
        setup = [f"ip netns add {ns}", f"ip netns exec {ns} ip link set lo up mtu {mtu}"]
        if gso:
            setup.append(f"ip netns exec {ns} ethtool -K lo gso {state} tso {state}")
        models[name] = {"role": role, "prefix": f"ip netns exec {ns}", "port": 5201, "interface": "lo",
                        "setup": setup, "teardown": [f"ip netns delete {ns}"]}
    return models


def test_collect_real_iperf3_then_ingest_and_compare(tmp_path):
    if shutil.which("iperf3") is None:
        pytest.skip("iperf3 not installed (make test installs it: Makefile target 'tools')")
    use_netns = _netns_possible()
    tag = f"pvft{os.getpid() % 100000}"
    split = (os.cpu_count() or 1) >= 2
    data = {
        "name": "loopback-test", "duration_s": 1, "trials": 3, "warmup": 0, "sizes": [16384, 131072],
        "ordering": {"method": "blocked-random", "seed": 20091105}, "pause_s": 0, "timeout_s": 15,
        "server_wait_s": 5,
        "tools": {"iperf3": {"tests": ["IPERF3_TCP"]}},
        "pinning": {"split": {"client": "1", "server": "0"}} if split else {"none": {}},
        "models": _models(use_netns, tag),
    }
    plan = col.parse_plan(data, source="loopback-test.yaml")
    out = tmp_path / "loopback-collected"
    try:
        result = col.collect(plan, out, progress=False, check_interval_s=0, log=lambda line: None)
    finally:
        if use_netns:
            leftover = [ns for ns in _namespaces() if ns.startswith(tag)]
            for ns in leftover:  # only if the collector's teardown did not run
                subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
    if use_netns:
        assert not leftover, f"teardown left namespaces {leftover}"
    assert result.complete and len(result.executed) == 12
    assert result.failed == (), result.summary()

    campaign = ingest_campaign(out)
    assert campaign.summary["seen"] == 12 and campaign.summary["ingested"] == 12, campaign.rejects
    runs = campaign.runs.sort_values("order_index")
    baseline, candidate = list(plan.models)
    # interleaved: every block holds both models, and no model runs all its trials in one stretch
    for block in range(3):
        assert set(runs.loc[runs["trial"] == block + 1, "pv_model"]) == {baseline, candidate}
    assert runs["cpu_mhz_source"].eq("manifest-before-after").all()
    assert (runs["cpu_mhz"] > 0).all() and runs["tool_version"].str.startswith("3.").all()
    if use_netns:
        mtu = runs.groupby("pv_model")["mtu_bytes"].unique()
        assert list(mtu[baseline]) == [65536] and list(mtu[candidate]) == [1500]
    if split:
        assert set(runs["client_affinity"]) == {"1"} and set(runs["server_affinity"]) == {"0"}
    tput = campaign.measurements.query("metric == 'throughput_bps'")
    assert len(tput) == 12 and (tput["value"] > 1e6).all()

    from analysis.compare import VERDICTS, compare

    res = compare(campaign, baseline=baseline, candidate=candidate, metrics="throughput_bps", n_resamples=999,
                  rng=20091105)
    table = res.to_frame()
    assert sorted(table["msg_size_bytes"].tolist()) == [16384, 131072]
    assert set(table["verdict"]) <= set(VERDICTS)
    assert (table["n_baseline"] == 3).all() and (table["n_candidate"] == 3).all()
    assert ((table["ci_low"] <= table["estimate"]) & (table["estimate"] <= table["ci_high"])).all()
