"""collect --until-settled for real: iperf3 on loopback in two network namespaces.

* a clearly slower model (loopback MTU 1500 without GSO/TSO against MTU 65536 with them), two message sizes:
  both cells are "slower" and stop at the minimum rounds (on a loaded machine one may need a round or two more);
* two identical models (both namespaces MTU 65536 with GSO): the cell runs on until it is equivalent or reaches
  the maximum, and is never called faster or slower;
* both folders ingest and compare as any other campaign (the looks are metadata files).

Needs root and ``ip netns`` (CI has them; skipped otherwise); runs are 1-2 s, a few seconds per round. On a
heavily loaded machine the loopback rates get noisy enough that a clear cell can need more rounds than asserted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from analysis import collect as col
from analysis.ingest import ingest_campaign
from analysis.sequential import SequentialDesign
from analysis.settle import collect_until_settled, read_looks
from tests.network.test_collect_iperf3 import _namespaces, _netns_possible

pytestmark = [pytest.mark.network, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")]


def _model(ns: str, mtu: int, gso: bool, role: str) -> dict:
    state = "on" if gso else "off"
    setup = [f"ip netns add {ns}", f"ip netns exec {ns} ip link set lo up mtu {mtu}"]
    if shutil.which("ethtool"):
        setup.append(f"ip netns exec {ns} ethtool -K lo gso {state} tso {state}")
    return {"role": role, "prefix": f"ip netns exec {ns}", "port": 5201, "interface": "lo", "setup": setup,
            "teardown": [f"ip netns delete {ns}"]}


def _plan(name: str, models: dict, sizes: list[int], trials: int, duration_s: int = 1) -> col.Plan:
    split = {"split": {"client": "1", "server": "0"}} if (col.os.cpu_count() or 1) >= 2 else {"none": {}}
    data = {"name": name, "duration_s": duration_s, "trials": trials, "warmup": 0, "sizes": sizes,
            "ordering": {"method": "blocked-random", "seed": 20091105}, "pause_s": 0, "timeout_s": 15,
            "server_wait_s": 5, "tools": {"iperf3": {"tests": ["IPERF3_TCP"]}}, "pinning": split, "models": models}
    return col.parse_plan(data, source=f"{name}.yaml")


def _run(plan: col.Plan, out, design: SequentialDesign, tag: str):
    try:
        return collect_until_settled(plan, out, design=design, progress=False, check_interval_s=0,
                                     log=lambda line: None)
    finally:
        for ns in [ns for ns in _namespaces() if ns.startswith(tag)]:  # only if the teardown did not run
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


@pytest.fixture
def netns_iperf3():
    if shutil.which("iperf3") is None:
        pytest.skip("iperf3 not installed (make test installs it: Makefile target 'tools')")
    if not _netns_possible():
        pytest.skip("needs root and ip netns to make two network namespaces")
    return f"pvfs{col.os.getpid() % 100000}"


def test_clear_cells_stop_at_the_minimum_rounds(netns_iperf3, tmp_path):
    tag = netns_iperf3
    models = {"lo-gso-64k": _model(f"{tag}a", 65536, True, "baseline"),
              "lo-nogso-1500": _model(f"{tag}b", 1500, False, "candidate")}
    plan = _plan("settle-clear", models, [131072, 262144], trials=6, duration_s=2)  # 2 s: load spikes average out
    design = SequentialDesign(min_trials=3, max_trials=6, spending="pocock")
    out = tmp_path / "clear"
    res = _run(plan, out, design, tag)
    assert res.collect.failed == (), res.summary()
    # at the first look (3 paired rounds: a t with 2 df) one run slowed by a load spike on a busy machine can hold a
    # cell for a round or two; on a quiet machine both stop at round 3
    rounds = res.settled_round.values()
    print(res.summary())
    assert 3 in rounds and all(r is not None and r < 6 for r in rounds), res.summary()
    looks = read_looks(out)
    final = looks.groupby("cell").tail(1)
    assert (final["verdict"] == "slower").all() and (final["rci_high"] < 1).all(), looks
    assert not looks["verdict"].isin(["faster", "equivalent"]).any(), looks
    campaign = ingest_campaign(out)
    n_runs = 2 * sum(rounds)
    assert campaign.summary["ingested"] == campaign.summary["seen"] == n_runs, campaign.rejects
    for size, rnd in zip(campaign.runs.groupby("msg_size_bytes")["trial"].max().index,
                         campaign.runs.groupby("msg_size_bytes")["trial"].max(), strict=True):
        assert rnd == res.settled_round[f"IPERF3_TCP m{size} {next(iter(plan.pinnings))}"]

    from analysis.compare import compare

    table = compare(campaign, baseline="lo-gso-64k", candidate="lo-nogso-1500", metrics="throughput_bps",
                    n_resamples=999, rng=1).to_frame()
    assert sorted(table["msg_size_bytes"]) == [131072, 262144] and (table["estimate"] < 1).all()


def test_identical_models_run_on_until_equivalent_or_the_maximum(netns_iperf3, tmp_path):
    tag = netns_iperf3
    models = {"lo-a": _model(f"{tag}c", 65536, True, "baseline"),
              "lo-b": _model(f"{tag}d", 65536, True, "candidate")}
    plan = _plan("settle-same", models, [131072], trials=5)
    design = SequentialDesign(min_trials=3, max_trials=5, margin=0.10)
    out = tmp_path / "same"
    res = _run(plan, out, design, tag)
    assert res.collect.failed == (), res.summary()
    looks = read_looks(out)
    assert not looks["verdict"].isin(["faster", "slower"]).any(), looks
    final = looks.iloc[-1]
    assert final["verdict"] == "equivalent" or final["round"] == 5, looks
    rounds = int(final["round"])
    assert list(looks["round"]) == list(range(3, rounds + 1))
    campaign = ingest_campaign(out)
    assert campaign.summary["ingested"] == 2 * rounds, campaign.rejects
