"""Collect: plan validation, schedule, command templates, system snapshots and check, and whole campaigns run with
fake tool executables (a fake iperf3 client printing a real iperf3 -J sample, a fake server listening on a port):
failing runs recorded, ingest accepts the folder unchanged, kill + --resume gives the same runs as an uninterrupted
campaign."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from analysis import collect as col
from analysis import sysinfo
from analysis.ingest import ingest_campaign
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.unit

BASE: dict = {
    "duration_s": 2,
    "trials": 2,
    "warmup": 1,
    "sizes": [1024, 16384],
    "ordering": {"method": "blocked-random", "seed": 7},
    "tools": {"iperf3": {"tests": ["IPERF3_TCP"]}},
    "pinning": {"split": {"client": "1", "server": "0"}},
    "models": {
        "A": {"role": "baseline", "prefix": "ip netns exec pvA", "port": 5201, "interface": "lo"},
        "B": {"prefix": ["ip", "netns", "exec", "pvB"]},
    },
}


def plan_with(**changes) -> dict:
    data = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


# ---------------------------------------------------------------------------------------------------- plan


def test_plan_parses_with_defaults():
    plan = col.parse_plan(BASE, source="p.yaml")
    assert plan.name == "p" and plan.seed == 7 and plan.sizes == (1024, 16384) and plan.warmup == 1
    assert plan.models["A"].prefix == ("ip", "netns", "exec", "pvA")
    assert plan.models["B"].prefix == ("ip", "netns", "exec", "pvB")
    assert plan.models["B"].host == "127.0.0.1" and plan.models["B"].port is None
    assert plan.pinnings["split"] == col.PinningSpec("split", "1", "0")
    assert plan.tools["iperf3"].binary == "iperf3" and plan.pause_s == 0.2


def test_example_plan_is_valid():
    plan = col.load_plan(ROOT / "examples" / "loopback.yaml")
    assert set(plan.models) == {"lo-gso-64k", "lo-nogso-1500"}
    assert plan.models["lo-gso-64k"].role == "baseline"
    assert len(col.build_schedule(plan)) == 2 * 3 * (1 + 5)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (plan_with(trials=None), r"p\.yaml: trials: expected this key \(required\)"),
        (plan_with(trials=0), r"trials: expected a whole number >= 1, found 0"),
        (plan_with(trials=True), r"trials: expected a whole number >= 1, found True"),
        (plan_with(duration_s=-1), r"duration_s: expected a number > 0, found -1"),
        (plan_with(sizes=[]), r"sizes: expected a non-empty list of message sizes in bytes"),
        (plan_with(sizes=[1024, "big"]), r"sizes\.1: expected a whole number >= 1, found 'big'"),
        (plan_with(sizes=[64, 64]), r"sizes: expected each size once"),
        (plan_with(bogus=1), r"bogus: expected one of the keys .* \(unknown key\)"),
        (plan_with(ordering={"method": "sorted", "seed": 1}), r"ordering\.method: expected one of \['blocked-random'\]"),
        (plan_with(ordering={"method": "blocked-random"}), r"ordering\.seed: expected this key \(required"),
        (plan_with(tools={"ping": {"tests": ["X"]}}), r"tools\.ping: expected a tool of \['iperf3', 'netperf', 'sockperf'\]"),
        (plan_with(tools={"iperf3": {"tests": ["TCP_RR"]}}), r"tools\.iperf3\.tests\.0: expected a iperf3 test from"),
        (plan_with(tools={"iperf3": {"tests": []}}), r"tools\.iperf3\.tests: expected a non-empty list of tests"),
        (plan_with(tools={"iperf3": {"tests": ["IPERF3_TCP"], "options": 5}}),
         r"tools\.iperf3\.options: expected a command: a string"),
        (plan_with(models={"A": {}}), r"models: expected at least two models"),
        (plan_with(models={"A": {}, "B b": {}}), r"models\.B b: expected a name of letters"),
        (plan_with(models={"A": {"port": 70000}, "B": {}}), r"models\.A\.port: expected a whole number in 1\.\.65535"),
        (plan_with(models={"A": {"role": "judge"}, "B": {}}), r"models\.A\.role: expected one of \['baseline', "),
        (plan_with(models={"A": {"role": "baseline"}, "B": {"role": "baseline"}}),
         r"models: expected at most one model with role: baseline"),
        (plan_with(models={"A": {"colour": 1}, "B": {}}), r"models\.A\.colour: expected one of the keys"),
        (plan_with(models={"A": {"setup": "ip netns add x"}, "B": {}}), r"models\.A\.setup: expected a list of commands"),
        (plan_with(models={"A": {"prefix": "ip 'netns"}, "B": {}}), r"models\.A\.prefix: expected a shell-quoted command"),
        (plan_with(models={"A": {"options": {"netperf": []}}, "B": {}}),
         r"models\.A\.options\.netperf: expected a tool the plan runs"),
        (plan_with(models={"A": {"env": {"X": [1]}}, "B": {}}), r"models\.A\.env\.X: expected a text or number value"),
        (plan_with(pinning={"split": {"client": "1-0"}}), r"pinning\.split\.client: range '1-0' runs backwards"),
        (plan_with(pinning={"split": {"client": "one"}}), r"pinning\.split\.client: expected a CPU list"),
        (plan_with(pinning={"split": {"cpu": "1"}}), r"pinning\.split\.cpu: expected one of the keys \['client', 'server'\]"),
        ([1, 2], r"p\.yaml: \(top level\): expected a mapping"),
    ],
)
def test_plan_errors_name_the_key(data, match):
    with pytest.raises(ValueError, match=match):
        col.parse_plan(data, source="p.yaml")


def test_load_plan_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"plan: .*nope\.yaml' is not a file; expected a YAML plan"):
        col.load_plan(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("trials: 2\nsizes: [1, 2\nmodels: {}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: line \d+: expected valid YAML"):
        col.load_plan(bad)
    with pytest.raises(TypeError, match="source: expected the plan's name"):
        col.parse_plan(BASE, source="")


# ---------------------------------------------------------------------------------------------------- schedule


def test_schedule_blocks_hold_every_unit_once_in_seeded_random_order():
    plan = col.parse_plan(BASE, source="p.yaml")
    runs = col.build_schedule(plan)
    units = [(m, "iperf3", "IPERF3_TCP", s, "split") for m in ("A", "B") for s in (1024, 16384)]
    assert len(runs) == len(units) * 3
    rng = np.random.default_rng(7)  # the documented draw: one permutation of the units per block
    for block in range(3):
        got = [(r.model, r.tool, r.test, r.msg_size_bytes, r.pinning) for r in runs if r.block == block]
        assert got == [units[i] for i in rng.permutation(len(units))]
    assert [r.order_index for r in runs] == list(range(len(runs)))
    assert all(r.warmup and r.trial == 0 for r in runs[:4]) and not any(r.warmup for r in runs[4:])
    assert [r.trial for r in runs[4:]] == [1] * 4 + [2] * 4
    assert runs[0].file.startswith("0001_iperf3_") and runs[0].file.endswith("_split_w1.json")
    assert runs[5].file.endswith("_t1.json") and runs[5].metadata_file == f"metadata_{runs[5].file[:-5]}.json"
    # same plan, same schedule; another seed, another order (same multiset of runs)
    assert col.build_schedule(col.parse_plan(BASE, source="p.yaml")) == runs
    other = col.build_schedule(col.parse_plan(plan_with(ordering={"seed": 8}), source="p.yaml"))
    assert [r.model for r in other] != [r.model for r in runs]
    assert sorted((r.model, r.msg_size_bytes, r.trial) for r in other) == sorted(
        (r.model, r.msg_size_bytes, r.trial) for r in runs)
    with pytest.raises(TypeError, match="plan: expected an analysis.collect.Plan"):
        col.build_schedule(BASE)


def test_schedule_interleaves_models():
    """No model runs all its trials in one stretch: in every block both models appear."""
    plan = col.parse_plan(plan_with(trials=5, warmup=0, sizes=[64, 1024, 16384]), source="p.yaml")
    runs = col.build_schedule(plan)
    for block in range(5):
        assert {r.model for r in runs if r.block == block} == {"A", "B"}
    longest = max(len(list(g)) for _, g in __import__("itertools").groupby(r.model for r in runs))
    assert longest < 3 * 5  # a model's 15 runs never form one block


def test_commands_match_the_real_sample_capture_lines():
    """The templates reproduce the exact client command lines the real samples were captured with
    (tests/data/samples/README.md)."""
    readme = (SAMPLES / "README.md").read_text()
    data = plan_with(duration_s=2, sizes=[4096], tools={
        "iperf3": {"tests": ["IPERF3_TCP"]}, "netperf": {"tests": ["TCP_STREAM", "TCP_RR"]},
        "sockperf": {"tests": ["SOCKPERF_PING_PONG"]}})
    plan = col.parse_plan(data, source="p.yaml")
    lines = {}
    for run in col.build_schedule(plan):
        if run.model == "B" and run.block == 1:
            server, client = col.run_commands(plan, run)
            lines[run.test] = (" ".join(server).replace("pvB", "pvA"), " ".join(client).replace("pvB", "pvA"))
    for test in ("IPERF3_TCP", "TCP_STREAM"):
        assert f"`{lines[test][1]}`" in readme
    assert lines["IPERF3_TCP"][0] == "ip netns exec pvA taskset -c 0 iperf3 -s -1 -B 127.0.0.1 -p 5201"
    plan_b = col.parse_plan(data | {"sizes": [64]}, source="p.yaml")
    run_b = next(r for r in col.build_schedule(plan_b) if r.model == "B" and r.test == "SOCKPERF_PING_PONG")
    client = " ".join(col.run_commands(plan_b, run_b)[1]).replace("pvB", "pvA")
    assert f"`{client}`" in readme
    run_a = next(r for r in col.build_schedule(plan_b) if r.model == "A" and r.test == "TCP_STREAM")
    assert col.run_commands(plan_b, run_a)[1][10:12] == ["-p", "5201"]  # a model's port serves every tool
    run_rr = next(r for r in col.build_schedule(plan_b) if r.model == "B" and r.test == "TCP_RR")
    assert col.run_commands(plan_b, run_rr)[1][-3:] == ["--", "-r", "64,64"]
    assert col.run_commands(plan_b, run_rr)[0][4:] == ["taskset", "-c", "0", "netserver", "-D", "-L", "127.0.0.1",
                                                       "-p", "12865"]


def test_format_schedule_and_dry_run_cli(tmp_path, capsys):
    from analysis.cli import main

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(BASE))
    assert main(["collect", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "12 runs = 3 blocks (1 warm-up, 2 trials) x 4 (model, cell) units; ordering blocked-random, seed 7" in out
    assert out.count("ip netns exec pvA taskset -c 1 iperf3 -c 127.0.0.1 -p 5201 -J -t 2 -l ") == 6
    assert not (tmp_path / "out").exists()
    assert main(["collect", str(path)]) == 2
    assert "--out: expected the campaign folder to write" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- sysinfo


def _fake_root(tmp_path: Path, *, governor="powersave", boost="1", load="3.5 2.0 1.0 1/100 1", isolated="",
               cur=("1800000", "2400000"), minmax=("800000", "3000000")) -> Path:
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "cpuinfo").write_text(
        "processor\t: 0\nmodel name\t: Fake CPU 9000\ncpu MHz\t\t: 1799.9\n\n"
        "processor\t: 1\nmodel name\t: Fake CPU 9000\ncpu MHz\t\t: 2401.5\n")
    (root / "proc" / "loadavg").write_text(load + "\n")
    cpu = root / "sys" / "devices" / "system" / "cpu"
    for c in (0, 1):
        f = cpu / f"cpu{c}" / "cpufreq"
        f.mkdir(parents=True)
        (f / "scaling_cur_freq").write_text(cur[c] + "\n")
        (f / "scaling_min_freq").write_text(minmax[0] + "\n")
        (f / "scaling_max_freq").write_text(minmax[1] + "\n")
        (f / "scaling_governor").write_text(governor + "\n")
    (cpu / "cpufreq").mkdir()
    (cpu / "cpufreq" / "boost").write_text(boost + "\n")
    (cpu / "online").write_text("0-1\n")
    (cpu / "isolated").write_text(isolated + "\n")
    return root


def test_cpu_snapshot_reads_proc_and_sysfs(tmp_path):
    snap = sysinfo.cpu_snapshot(root=_fake_root(tmp_path))
    assert snap["cpu_model"] == "Fake CPU 9000" and snap["loadavg"] == [3.5, 2.0, 1.0]
    assert snap["cpus"]["0"] == {"cpuinfo_mhz": 1799.9, "cpufreq_cur_mhz": 1800.0, "min_mhz": 800.0,
                                 "max_mhz": 3000.0, "governor": "powersave"}
    assert snap["turbo"] == {"enabled": True, "source": "cpufreq/boost"}
    assert sysinfo.mean_mhz(snap, [0, 1]) == 2100.0  # cpufreq's current frequency preferred over cpuinfo
    assert sysinfo.mean_mhz(snap, [1]) == 2400.0
    snap["cpus"]["1"]["cpufreq_cur_mhz"] = None
    assert sysinfo.mean_mhz(snap, [1]) == 2401.5


def test_system_check_flags_an_unstable_machine(tmp_path):
    res = sysinfo.system_check(root=_fake_root(tmp_path), interval_s=0)
    status = {f["check"]: f["status"] for f in res.findings}
    assert status == {"governor": "warn", "turbo": "warn", "load": "warn", "frequency": "warn",
                      "isolated_cpus": "warn"}
    text = res.summary()
    assert "governor not 'performance' (cpu0=powersave, cpu1=powersave)" in text
    assert "load average 3.50 > 1.00 (0.5 per CPU x 2)" in text
    assert "clock varies 1800..2400 MHz" in text and "5 warning(s)" in text
    assert list(res.to_frame().columns) == ["check", "status", "message"] and len(res.to_frame()) == 5
    assert "&lt;" not in res._repr_html_() and res._repr_html_().startswith("<pre>")


def test_system_check_passes_a_tuned_machine(tmp_path):
    root = _fake_root(tmp_path, governor="performance", boost="0", load="0.2 0.1 0.1 1/100 1", isolated="1",
                      cur=("3000000", "3000000"), minmax=("3000000", "3000000"))
    res = sysinfo.system_check(root=root, interval_s=0)
    assert [f["status"] for f in res.findings] == ["ok"] * 5 and res.warnings == ()


def test_system_check_errors(tmp_path):
    with pytest.raises(ValueError, match=r"interval_s: expected a number of seconds in \[0, 10\], got -1"):
        sysinfo.system_check(interval_s=-1)
    with pytest.raises(FileNotFoundError, match="root: .* is not a folder; expected the file-system root"):
        sysinfo.system_check(root=tmp_path / "missing")


def test_cpu_lists_affinity_offloads():
    assert sysinfo.parse_cpu_list("0-2,5") == (0, 1, 2, 5)
    assert sysinfo.format_cpu_list([5, 0, 1, 2]) == "0-2,5"
    with pytest.raises(ValueError, match=r"pin: expected a CPU list such as '1' or '0-2,5', found 'x'"):
        sysinfo.parse_cpu_list("x", name="pin")
    assert sysinfo.read_affinity(os.getpid()) == sysinfo.format_cpu_list(os.sched_getaffinity(0))
    assert sysinfo.read_affinity(2**22 + 12345) is None
    assert sysinfo.format_offloads({"generic-receive-offload": "on", "tcp-segmentation-offload": "off [fixed]"}) \
        == "tcp-segmentation-offload: off;generic-receive-offload: on"


def test_interface_snapshot_reports_failures_without_raising():
    snap = sysinfo.interface_snapshot("pvfair-no-such-if0")
    assert snap["mtu_bytes"] is None and snap["errors"]


# ---------------------------------------------------------------------------------------------------- campaigns

FAKE_CLIENT = r'''#!{python}
"""Fake iperf3 client: prints a real iperf3 -J sample with -l and the start time patched in."""
import json, os, sys, time
args = sys.argv[1:]
size = int(args[args.index("-l") + 1])
sample = json.load(open({sample!r}))
time.sleep(float(os.environ.get("FAKE_SLEEP", "0.02")))
now = time.time()
sample["start"]["timestamp"]["timesecs"] = int(now)
sample["start"]["timestamp"]["time"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))
sample["start"]["test_start"]["blksize"] = size
if str(size) in os.environ.get("FAKE_FAIL", "").split(","):
    print(json.dumps({{"start": sample["start"], "intervals": [], "end": {{}},
                      "error": "error - unable to connect to server: Connection refused"}}, indent=2))
    sys.exit(1)
print(json.dumps(sample, indent=2))
'''

FAKE_SERVER = r'''#!{python}
"""Fake iperf3 server: listens on -p until terminated."""
import socket, sys, time
args = sys.argv[1:]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((args[args.index("-B") + 1], int(args[args.index("-p") + 1])))
s.listen(1)
print("Server listening", flush=True)
time.sleep(60)
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_iperf3_plan(tmp_path: Path, client: str, *, name: str, trials: int, seed: int,
                     models: dict) -> tuple[Path, dict]:
    """A plan whose iperf3 client (*client*, a script template) and server are fakes reading the real sample;
    written to ``tmp_path/plan.yaml``; returns (plan path, plan dict)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sample = SAMPLES / "iperf3" / "x_iperf3_tcp_A_split_l4096_t1.json"
    for exe, text in (("fake-iperf3", client), ("fake-iperf3d", FAKE_SERVER)):
        p = bin_dir / exe
        p.write_text(text.format(python=sys.executable, sample=str(sample)))
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
    data = {
        "name": name, "duration_s": 1, "trials": trials, "warmup": 1, "sizes": [1024, 16384],
        "ordering": {"method": "blocked-random", "seed": seed}, "pause_s": 0, "timeout_s": 20, "session": "s1",
        "tools": {"iperf3": {"tests": ["IPERF3_TCP"], "binary": str(bin_dir / "fake-iperf3"),
                             "server_binary": str(bin_dir / "fake-iperf3d")}},
        "pinning": {"cpu0": {"client": "0", "server": "0"}},
        "models": models,
    }
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, data


@pytest.fixture
def fake_plan(tmp_path):
    """A plan whose iperf3 client and server are fast fakes; returns (plan path, plan dict)."""
    port = _free_port()
    return fake_iperf3_plan(tmp_path, FAKE_CLIENT, name="fake", trials=2, seed=11, models={
        "base": {"role": "baseline", "port": port, "interface": "lo"},
        "cand": {"role": "candidate", "port": port, "env": {"FAKE_SLEEP": "0.03"}}})


def _manifest(out: Path) -> list[dict]:
    import csv

    with open(out / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


IDENTITY = ("file", "pv_model", "role", "tool", "test", "msg_size_bytes", "pinning", "trial", "block",
            "order_index", "warmup", "session", "command", "metadata", "status")


def test_campaign_runs_records_metadata_and_ingests_unchanged(fake_plan, tmp_path, monkeypatch):
    path, data = fake_plan
    path.write_text(yaml.safe_dump(data | {"trials": 1}, sort_keys=False))  # 8 runs: 2 blocks x 2 models x 2 sizes
    monkeypatch.setenv("FAKE_FAIL", "16384")  # every 16384-byte run fails: recorded, campaign goes on
    out = tmp_path / "camp"
    res = col.collect(path, out, progress=False, check_interval_s=0, log=lambda line: None)
    assert res.planned == 8 and res.already_done == 0 and len(res.executed) == 8 and res.complete
    assert len(res.failed) == 4 and {r["status"] for r in res.failed} == {"failed"}
    assert "8/8 runs done" in res.summary() and "note 1: run" in res.summary()
    rows = _manifest(out)
    schedule = col.build_schedule(col.load_plan(path))
    assert [r["file"] for r in rows] == [r.file for r in schedule]
    assert [r["order_index"] for r in rows] == [str(i) for i in range(8)]
    for row in rows:
        assert row["client_affinity"] == "0" and row["server_affinity"] == "0"  # read back from /proc
        assert float(row["cpu_mhz_before"]) > 0 and float(row["cpu_mhz_after"]) > 0
        assert row["status"] == ("failed" if row["msg_size_bytes"] == "16384" else "ok")
        assert row["warmup"] == ("True" if row["block"] == "0" else "False")
    lo_mtu = Path("/sys/class/net/lo/mtu").read_text().strip()  # independent of ip / ethtool
    assert {r["mtu_bytes"] for r in rows if r["pv_model"] == "base"} == {lo_mtu}
    assert {r["mtu_bytes"] for r in rows if r["pv_model"] == "cand"} == {""}  # no interface declared
    meta = json.loads((out / rows[0]["metadata"]).read_text())
    assert meta["before"]["cpu"]["cpus"] and meta["after"]["cpu"]["time_utc"] >= meta["before"]["cpu"]["time_utc"]
    assert meta["client"] == {"requested_cpus": "0", "applied_affinity": "0"} and meta["server"]["ready"] is True
    base_meta = json.loads((out / next(r for r in rows if r["pv_model"] == "base")["metadata"]).read_text())
    assert base_meta["before"]["interface"]["mtu_bytes"] == int(lo_mtu)
    assert base_meta["after"]["interface"]["interface"] == "lo"
    camp = json.loads((out / col.CAMPAIGN_FILE).read_text())
    assert camp["ordering"]["seed"] == 11 and camp["schedule"] == [r.file for r in schedule]
    assert camp["invocations"][0]["system_check"]["findings"] and camp["invocations"][0]["runs_executed"] == 8
    assert (out / col.PLAN_FILE).read_text() == path.read_text()
    assert not list(out.glob(".*"))  # no partial files left
    # raw output verbatim: the failing runs keep iperf3's error JSON
    failed = next(r for r in rows if r["status"] == "failed")
    assert '"error": "error - unable to connect' in (out / failed["file"]).read_text()
    campaign = ingest_campaign(out)
    assert campaign.summary["seen"] == 8 and campaign.summary["ingested"] == 4
    assert campaign.summary["rejected_by_reason"] == {"marked_failed": 4}  # metadata files are no rejects
    # collect's status column marks them; the tool's own error stays in the detail
    assert campaign.rejects["detail"].str.contains(r"marked failed in manifest \(status=failed\).*the file itself: "
                                                   "tool_error").all()
    runs = campaign.runs
    assert set(runs["msg_size_bytes"]) == {1024} and runs["cpu_mhz_source"].eq("manifest-before-after").all()
    assert runs["warmup"].sum() == 2 and set(runs["pv_model"]) == {"base", "cand"}


def test_kill_and_resume_gives_the_same_runs(fake_plan, tmp_path):
    path, data = fake_plan
    path.write_text(yaml.safe_dump(data | {"sizes": [1024]}, sort_keys=False))  # 6 runs
    full = tmp_path / "full"
    col.collect(path, full, progress=False, check_interval_s=0, log=lambda line: None)
    killed = tmp_path / "killed"
    env = dict(os.environ, FAKE_SLEEP="0.15")
    proc = subprocess.Popen([sys.executable, "-m", "analysis.cli", "collect", str(path), "--out", str(killed),
                             "--no-progress"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (killed / "manifest.csv").exists() and len(_manifest(killed)) >= 2:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(_manifest(killed))
    assert 2 <= n_before < 6
    # make the interruption as bad as it gets: a half-written run (partial + its final files without a row)
    nxt = col.build_schedule(col.load_plan(path))[n_before]
    (killed / nxt.file).write_text("{ half")
    (killed / nxt.metadata_file).write_text("{")
    (killed / f".{nxt.file}.partial").write_text("{")
    with pytest.raises(ValueError, match=r"out: .*killed' is not empty; expected a new or empty folder \(or "
                                         r"--resume"):
        col.collect(path, killed, progress=False, check_interval_s=0, log=lambda line: None)
    res = col.collect(path, killed, resume=True, progress=False, check_interval_s=0, log=lambda line: None)
    assert res.already_done == n_before and len(res.executed) == 6 - n_before and res.complete
    a, b = _manifest(full), _manifest(killed)
    assert [{k: r[k] for k in IDENTITY} for r in a] == [{k: r[k] for k in IDENTITY} for r in b]
    assert sorted(p.name for p in full.iterdir()) == sorted(p.name for p in killed.iterdir())
    assert json.loads((killed / nxt.file).read_text())["start"]["test_start"]["blksize"] == nxt.msg_size_bytes
    camp = json.loads((killed / col.CAMPAIGN_FILE).read_text())
    assert [i["resume"] for i in camp["invocations"]] == [False, True]
    assert f".{nxt.file}.partial" in camp["invocations"][1]["removed_unfinished"]
    c_full, c_killed = ingest_campaign(full), ingest_campaign(killed)
    assert c_full.summary["ingested"] == c_killed.summary["ingested"] == 6
    cols = ["run_id", "pv_model", "msg_size_bytes", "trial", "warmup", "order_index"]
    assert c_full.runs[cols].equals(c_killed.runs[cols])
    # resuming a finished campaign runs nothing
    again = col.collect(path, killed, resume=True, progress=False, check_interval_s=0, log=lambda line: None)
    assert again.executed == () and again.already_done == 6


def _small(path: Path, data: dict) -> tuple[Path, dict]:
    """The fake plan cut to 2 runs (one per model), for tests that need a campaign but not its size."""
    data = data | {"trials": 1, "warmup": 0, "sizes": [1024]}
    small = path.with_name("small.yaml")
    small.write_text(yaml.safe_dump(data, sort_keys=False))
    return small, data


def test_resume_refuses_another_plan_and_foreign_folders(fake_plan, tmp_path):
    path, data = _small(*fake_plan)
    out = tmp_path / "c"
    col.collect(path, out, progress=False, check_interval_s=0, log=lambda line: None)
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(data | {"trials": 3}))
    with pytest.raises(ValueError, match=r"plan: other\.yaml differs from the plan this campaign was started with"):
        col.collect(other, out, resume=True, progress=False, check_interval_s=0)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.txt").write_text("x")
    with pytest.raises(ValueError, match=r"has content but no metadata_campaign\.json; expected a folder made by"):
        col.collect(path, foreign, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"out: .*x\.txt' exists and is not a folder"):
        col.collect(path, foreign / "x.txt", progress=False)
    with pytest.raises(TypeError, match="resume: expected True or False"):
        col.collect(path, tmp_path / "n", resume="yes")
    with pytest.raises(TypeError, match="plan: expected a Plan or the path of a YAML plan"):
        col.collect(42, tmp_path / "n")


def test_missing_tool_bad_cpu_and_failing_setup(fake_plan, tmp_path):
    path, data = fake_plan
    missing = col.parse_plan(data | {"tools": {"iperf3": {"tests": ["IPERF3_TCP"],
                                                          "binary": "pvfair-no-such-tool"}}}, source="m.yaml")
    with pytest.raises(col.CollectError, match=r"m\.yaml: 'pvfair-no-such-tool' \(tools\.iperf3\.binary\) not "
                                               r"found on PATH"):
        col.collect(missing, tmp_path / "a", progress=False)
    n = os.cpu_count() or 1
    bad_cpu = col.parse_plan(data | {"pinning": {"far": {"client": str(n + 3)}}}, source="c.yaml")
    with pytest.raises(col.CollectError, match=rf"pinning\.far\.client: CPU list '{n + 3}' names a CPU this "
                                               rf"machine does not have; expected CPUs in 0\.\.{n - 1}"):
        col.collect(bad_cpu, tmp_path / "b", progress=False)
    marker = tmp_path / "torn-down"
    models = json.loads(json.dumps(data["models"]))
    models["base"]["teardown"] = [["touch", str(marker)]]
    models["cand"]["setup"] = ["false"]
    failing = col.parse_plan(data | {"models": models}, source="s.yaml")
    with pytest.raises(col.CollectError, match=r"s\.yaml: models\.cand\.setup: command 'false' failed \(exit 1\)"):
        col.collect(failing, tmp_path / "c", progress=False, check_interval_s=0, log=lambda line: None)
    assert marker.exists()  # the model already set up was torn down


def test_cli_collect_runs_and_reports(fake_plan, tmp_path, capsys):
    from analysis.cli import main

    path, _ = _small(*fake_plan)
    out = tmp_path / "cli"
    assert main(["collect", str(path), "--out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "collect fake -> " in captured.out and "2/2 runs done" in captured.out
    assert "system check:" in captured.err
    assert main(["collect", str(path), "--out", str(out)]) == 2
    assert "is not empty; expected a new or empty folder" in capsys.readouterr().err
    parser = argparse.ArgumentParser()
    col.cli_arguments(parser)
    args = parser.parse_args([str(path), "--out", str(tmp_path / "x"), "--resume", "--dry-run"])
    assert args.resume and args.dry_run


def test_sigterm_stops_tears_down_and_says_how_to_resume(fake_plan, tmp_path):
    path, data = fake_plan
    marker = tmp_path / "torn-down"
    models = json.loads(json.dumps(data["models"]))
    models["base"]["teardown"] = [["touch", str(marker)]]
    for model in models.values():  # every run lasts >= 1 s: SIGTERM lands mid-campaign even on a loaded machine
        model["env"] = {**model.get("env", {}), "FAKE_SLEEP": "1.0"}
    path.write_text(yaml.safe_dump(data | {"models": models}, sort_keys=False))
    out = tmp_path / "term"
    proc = subprocess.Popen([sys.executable, "-m", "analysis.cli", "collect", str(path), "--out", str(out),
                             "--no-progress"], cwd=ROOT, env=dict(os.environ, FAKE_SLEEP="1.0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ((out / "manifest.csv").exists() and _manifest(out)):
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert f"interrupted; continue with: pvfair collect {path} --out {out} --resume" in err
    assert marker.exists(), err
    assert 1 <= len(_manifest(out)) < 12
    camp = json.loads((out / col.CAMPAIGN_FILE).read_text())
    assert camp["invocations"][0]["finished"] and "base" in camp["invocations"][0]["teardown"]
