"""Real collection with sockperf (Debian 12 ``sockperf`` 3.7) on loopback: ping-pong and under-load, two models,
then ingest and compare on the result.

The two models are two network namespaces whose loopback MTU differs (65536 vs 1500), made and removed by the
plan's setup/teardown commands; where namespaces cannot be made (not root, no ``ip netns``) they are two sockperf
option sets on 127.0.0.1 (blocking vs ``--nonblocked`` sockets). The collector starts one sockperf server per run
on a loopback address (UDP, found ready in ``/proc/<pid>/net/udp``), and each run is bounded by ``duration_s +
timeout_s``. sockperf 3.7 sleeps 2 s before every measurement, so a 1-second run takes about 3.5 s: the plan is
the smallest that compare accepts (3 runs per model and cell; 12 runs). ``make test`` installs sockperf first
(Makefile ``tools`` target).
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
from analysis.vocabulary import CELL_KEY
from tests.network.test_collect_iperf3 import _namespaces, _netns_possible

pytestmark = [pytest.mark.network, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")]

TESTS = ("SOCKPERF_PING_PONG", "SOCKPERF_UNDER_LOAD")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _models(use_netns: bool, tag: str) -> dict:
    if not use_netns:
        port = _free_udp_port()
        return {"msg-default": {"role": "baseline", "port": port, "interface": "lo"},
                "msg-nonblocked": {"role": "candidate", "port": port, "interface": "lo",
                                   "options": {"sockperf": ["--nonblocked"]}}}
    models = {}
    for name, ns, mtu, role in (("lo-64k", f"{tag}a", 65536, "baseline"), ("lo-1500", f"{tag}b", 1500, "candidate")):
        models[name] = {"role": role, "prefix": f"ip netns exec {ns}", "port": 11111, "interface": "lo",
                        "setup": [f"ip netns add {ns}", f"ip netns exec {ns} ip link set lo up mtu {mtu}"],
                        "teardown": [f"ip netns delete {ns}"]}
    return models


def test_collect_real_sockperf_ping_pong_and_under_load(tmp_path):
    if shutil.which("sockperf") is None:
        pytest.skip("sockperf not installed (make test installs it: Makefile target 'tools')")
    use_netns = _netns_possible()
    tag = f"pvfs{os.getpid() % 100000}"
    data = {
        "name": "sockperf-loopback", "duration_s": 1, "trials": 3, "warmup": 0, "sizes": [256],
        "ordering": {"method": "blocked-random", "seed": 7}, "pause_s": 0, "timeout_s": 15, "server_wait_s": 5,
        "tools": {"sockperf": {"tests": list(TESTS)}},
        "pinning": {"none": {}},
        "models": _models(use_netns, tag),
    }
    plan = col.parse_plan(data, source="sockperf-loopback.yaml")
    out = tmp_path / "sockperf-collected"
    try:
        result = col.collect(plan, out, progress=False, check_interval_s=0, log=lambda line: None)
    finally:
        if use_netns:
            leftover = [ns for ns in _namespaces() if ns.startswith(tag)]
            for ns in leftover:
                subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
    if use_netns:
        assert not leftover, f"teardown left namespaces {leftover}"
    n = 2 * 2 * 1 * 3  # models x tests x sizes x trials
    assert result.complete and len(result.executed) == n, result.summary()
    assert result.failed == (), result.summary()

    campaign = ingest_campaign(out)
    assert campaign.summary["seen"] == n and campaign.summary["ingested"] == n, campaign.rejects
    runs = campaign.runs
    assert set(runs["tool"]) == {"sockperf"}
    assert sorted(runs["tool_test"].unique()) == sorted(TESTS) and set(runs["test"]) == {"UDP_RR"}
    assert list(runs["msg_size_bytes"].unique()) == [256]
    assert runs["tool_version"].notna().all()
    # interleaved: every block holds both models
    for block in range(3):
        assert set(runs.loc[runs["trial"] == block + 1, "pv_model"]) == set(plan.models)
    m = campaign.measurements.merge(runs[["run_id", "tool_test"]].rename(columns={"tool_test": "test"}), on="run_id")
    for test in TESTS:
        lat = m[(m["test"] == test) & (m["metric"] == "latency_mean_s")]["value"]
        assert len(lat) == n // 2
        assert ((lat > 1e-7) & (lat < 0.05)).all(), lat.describe()  # loopback round trips: 0.1 us .. 50 ms
        p99 = m[(m["test"] == test) & (m["metric"] == "latency_p99_s")]["value"]
        assert len(p99) == n // 2
    if use_netns:
        mtu = runs.groupby("pv_model")["mtu_bytes"].unique()
        assert list(mtu["lo-64k"]) == [65536] and list(mtu["lo-1500"]) == [1500]

    from analysis.compare import compare

    baseline, candidate = list(plan.models)
    # ping-pong and under-load are both UDP_RR: the tool's own mode splits them (the audit's settings check
    # names a cell that mixes them under the default key)
    res = compare(campaign, baseline=baseline, candidate=candidate, metrics="latency_mean_s", n_resamples=999,
                  rng=7, by=(*CELL_KEY, "tool_test"))
    table = res.to_frame()
    assert sorted(zip(table["tool_test"], table["msg_size_bytes"], strict=True)) == [(t, 256) for t in sorted(TESTS)]
    assert (table["n_baseline"] == 3).all() and (table["n_candidate"] == 3).all()
