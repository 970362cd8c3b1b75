"""collect --until-settled with fake tools: a clear cell stops at the first look, an identical-models cell runs
on until it is equivalent or reaches the maximum, every look is recorded, the folder ingests unchanged, and an
interrupted sequence resumed gives the same runs and looks as an uninterrupted one."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis import collect as col
from analysis.cli import main as cli_main
from analysis.ingest import ingest_campaign
from analysis.sequential import LOOKS_FILE, SEQUENTIAL_FILE, SequentialDesign
from analysis.settle import collect_until_settled, looks_summary, read_looks
from tests.unit.test_collect import _free_port, _manifest, fake_iperf3_plan

pytestmark = pytest.mark.unit

#: a fake iperf3 client: the real sample with the throughput scaled by FAKE_SCALE_<size> (per model) and a
#: deterministic +-CV noise from a per-(model, size) counter kept in FAKE_STATE
FAKE_CLIENT = r'''#!{python}
import json, os, random, sys, time
args = sys.argv[1:]
size = int(args[args.index("-l") + 1])
model = os.environ["FAKE_MODEL"]
state = os.path.join(os.environ["FAKE_STATE"], f"{{model}}_{{size}}")
count = int(open(state).read()) if os.path.exists(state) else 0
open(state, "w").write(str(count + 1))
rng = random.Random(f"{{model}}-{{size}}-{{count}}")
factor = float(os.environ.get(f"FAKE_SCALE_{{size}}", "1")) * (1 + rng.gauss(0, float(os.environ["FAKE_CV"])))
sample = json.load(open({sample!r}))
now = time.time()
sample["start"]["timestamp"]["timesecs"] = int(now)
sample["start"]["test_start"]["blksize"] = size
for key in ("sum_sent", "sum_received"):
    sample["end"][key]["bits_per_second"] *= factor
print(json.dumps(sample, indent=2))
'''


@pytest.fixture
def plan_path(tmp_path, monkeypatch):
    port = _free_port()
    path, _ = fake_iperf3_plan(tmp_path, FAKE_CLIENT, name="settle", trials=6, seed=5, models={
        "base": {"role": "baseline", "port": port, "env": {"FAKE_MODEL": "base"}},
        # the candidate is 2x slower at 16 KiB and identical at 1 KiB
        "cand": {"role": "candidate", "port": port, "env": {"FAKE_MODEL": "cand", "FAKE_SCALE_16384": "0.5"}}})
    monkeypatch.setenv("FAKE_CV", "0.02")
    return path


def _state(tmp_path, name, monkeypatch):
    d = tmp_path / f"state-{name}"
    d.mkdir()
    monkeypatch.setenv("FAKE_STATE", str(d))


QUIET = {"progress": False, "check_interval_s": 0, "log": lambda line: None}
DESIGN = SequentialDesign(min_trials=3, max_trials=6, spending="pocock")


def test_clear_cell_stops_at_the_first_look_identical_cell_runs_on(plan_path, tmp_path, monkeypatch):
    _state(tmp_path, "a", monkeypatch)
    out = tmp_path / "camp"
    res = collect_until_settled(plan_path, out, design=DESIGN, **QUIET)
    rows = _manifest(out)
    measured = [r for r in rows if r["warmup"] == "False"]
    by_cell = {size: [r for r in measured if r["msg_size_bytes"] == size] for size in ("1024", "16384")}
    # the 2x cell settled at the first look (after round 3): 3 runs of each model, no more
    assert res.settled_round["IPERF3_TCP m16384 cpu0"] == 3
    assert sorted(int(r["trial"]) for r in by_cell["16384"]) == [1, 1, 2, 2, 3, 3]
    looks = read_looks(out)
    clear = looks[looks["cell"] == "IPERF3_TCP m16384 cpu0"]
    assert list(clear["verdict"]) == ["slower"] and clear["estimate"].between(0.45, 0.55).all()
    assert list(clear["route"]) == ["Welch t (log)"] and (clear["rci_high"] < 1).all()
    # the identical cell: equivalent at some look, or ran to the maximum; its runs stop right there
    same = looks[looks["cell"] == "IPERF3_TCP m1024 cpu0"]
    last = int(same["round"].iloc[-1])
    assert same["verdict"].iloc[-1] in ("equivalent", "inconclusive")
    assert (same["verdict"].iloc[-1] == "equivalent") or last == 6
    assert list(same["round"]) == list(range(3, last + 1))
    assert sorted(int(r["trial"]) for r in by_cell["1024"]) == sorted(2 * list(range(1, last + 1)))
    assert not same["verdict"].iloc[:-1].isin(["equivalent", "faster", "slower"]).any()
    # rounds stay interleaved: within every round both models of every running cell, in the schedule's order
    schedule = col.build_schedule(col.load_plan(plan_path))
    order = [r.file for r in schedule if r.file in {row["file"] for row in rows}]
    assert [r["file"] for r in rows] == order
    assert res.skipped == len(schedule) - len(rows) == 2 * 3 + 2 * (6 - last)
    # recorded: the design, m, per look the cells settled; the folder ingests unchanged (metadata* ignored)
    state = json.loads((out / SEQUENTIAL_FILE).read_text())
    assert state["design"] == DESIGN.to_dict() and state["m"] == 2 and state["baseline"] == "base"
    assert state["looks"][0]["settled"] and "IPERF3_TCP m16384 cpu0" in state["looks"][0]["settled"]
    campaign = ingest_campaign(out)
    assert campaign.summary["ingested"] == len(rows) and campaign.summary["rejected_by_reason"] == {}
    assert "runs saved" in res.summary() and "settled after round 3" in res.summary()
    # what the summary notebook shows: per cell the look and round it settled at, and the looks plot
    shown = looks_summary(out).to_frame().set_index("cell")
    assert shown.loc["IPERF3_TCP m16384 cpu0", ["settled at look", "settled after round", "verdict"]].tolist() == [
        1, 3, "slower"]
    same_row = shown.loc["IPERF3_TCP m1024 cpu0"]
    assert same_row["looks"] == len(same) and same_row["verdict"] == same["verdict"].iloc[-1]
    assert (same_row["settled at look"] == len(same)) if same_row["verdict"] == "equivalent" else pd.isna(
        same_row["settled at look"])
    assert len(looks_summary(out).figure().axes) >= 2
    assert looks_summary(tmp_path) is None  # a folder without looks: a fixed design


def test_interrupted_sequence_resumes_exactly(plan_path, tmp_path, monkeypatch):
    _state(tmp_path, "full", monkeypatch)
    full = tmp_path / "full"
    collect_until_settled(plan_path, full, design=DESIGN, **QUIET)
    _state(tmp_path, "cut", monkeypatch)
    cut = tmp_path / "cut"
    real, calls = col._execute, []

    def stop_at_17th(*args, **kwargs):
        calls.append(1)
        if len(calls) == 17:  # 4 warm-up + 12 measured runs, the first look, then round 4 (1 KiB cell only)
            raise KeyboardInterrupt("test")
        return real(*args, **kwargs)

    monkeypatch.setattr(col, "_execute", stop_at_17th)
    with pytest.raises(KeyboardInterrupt):
        collect_until_settled(plan_path, cut, design=DESIGN, **QUIET)
    monkeypatch.setattr(col, "_execute", real)
    with pytest.raises(ValueError, match="--resume: the sequential design differs"):
        collect_until_settled(plan_path, cut, design=SequentialDesign(min_trials=3, max_trials=6), resume=True,
                              **QUIET)
    res = collect_until_settled(plan_path, cut, design=DESIGN, resume=True, **QUIET)
    assert res.collect.already_done == 16
    keys = ("file", "pv_model", "msg_size_bytes", "trial", "block", "order_index", "warmup")
    assert [{k: r[k] for k in keys} for r in _manifest(full)] == [{k: r[k] for k in keys} for r in _manifest(cut)]
    a, b = read_looks(full), read_looks(cut)
    assert a.drop(columns="note").equals(b.drop(columns="note"))
    sa, sb = (json.loads((p / SEQUENTIAL_FILE).read_text()) for p in (full, cut))
    assert sa["settled"] == sb["settled"]
    assert [(lk["round"], lk["settled"]) for lk in sa["looks"]] == [(lk["round"], lk["settled"]) for lk in sb["looks"]]
    again = collect_until_settled(plan_path, cut, design=DESIGN, resume=True, **QUIET)
    assert again.collect.executed == ()


def test_cli_until_settled(plan_path, tmp_path, monkeypatch, capsys):
    _state(tmp_path, "cli", monkeypatch)
    out = tmp_path / "c"
    code = cli_main(["collect", str(plan_path), "--out", str(out), "--until-settled", "--min-trials", "3",
                     "--max-trials", "4", "--spending", "pocock", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0 and "until settled (pocock spending" in captured.out
    assert (out / LOOKS_FILE).is_file()
    assert cli_main(["collect", str(plan_path), "--out", str(tmp_path / "d"), "--until-settled", "--min-trials",
                     "5", "--max-trials", "4"]) == 2
    assert "max_trials: expected at least min_trials (5)" in capsys.readouterr().err
    assert cli_main(["collect", str(plan_path), "--dry-run", "--until-settled", "--max-trials", "8",
                     "--look-every", "2"]) == 0
    text = capsys.readouterr().out
    assert "looks after rounds (3, 5, 7, 8)" in text and "runs = 9 blocks (1 warm-up, 8 trials)" in text
    # two cells of 3 runs cannot lend each other a variance prior: the plan says what the first look can settle
    assert "first look after round 3: 2 cells of 3 runs lend each other 2 df" in text
