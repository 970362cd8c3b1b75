"""Notebooks 04 and 06 (the summary PDF) show the looks of a campaign collected until settled: the table with the
look and round at which each cell settled and the looks plot. The campaign is simulated (analysis.simulate, interleaved rounds) and its looks are
taken by analysis.sequential on the first rounds, as collect --until-settled records them."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from analysis.ingest import Campaign, load_campaign
from analysis.runner import run_report
from analysis.sequential import LOOKS_FILE, SequentialDesign, look_statistics, sequential_look
from analysis.simulate import CampaignSpec, simulate_campaign

pytestmark = pytest.mark.notebooks

SPEC = CampaignSpec(name="seq", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 16384), trials=4,
                    true_ratio={("TCP_STREAM", 64): 0.5}, cv=0.02, order="interleaved")


def test_report_shows_the_round_each_cell_settled(tmp_path):
    folder = simulate_campaign(tmp_path / "raw" / "seq", SPEC, seed=3)
    camp = load_campaign(folder)
    design = SequentialDesign(min_trials=3, max_trials=4, spending="pocock")
    looks = []
    for k, rnd in enumerate((3, 4), start=1):
        runs = camp.runs[camp.runs["trial"] <= rnd]
        part = Campaign(name=camp.name, runs=runs, measurements=camp.measurements, intervals=camp.intervals,
                        rejects=camp.rejects)
        stats = look_statistics(part, SPEC.baseline, SPEC.candidate, metrics=["throughput_bps"])
        prev = pd.concat(looks, ignore_index=True) if looks else None
        looks.append(sequential_look(stats, design, look=k, round=rnd, m=len(stats), previous=prev))
    frame = pd.concat(looks, ignore_index=True)
    frame.insert(0, "cell", [f"TCP_STREAM m{s}" for s in frame["msg_size_bytes"]])
    assert frame.set_index(["cell", "round"]).loc[("TCP_STREAM m64", 3), "verdict"] == "slower"
    frame.to_csv(folder / LOOKS_FILE, index=False)
    res = run_report(folder, out_dir=tmp_path / "reports", baseline=SPEC.baseline, candidate=SPEC.candidate,
                     notebooks=["04_compare", "06_summary"], parameters={"n_resamples": "199"}, pdf=False, progress=False)
    nb = json.loads((tmp_path / "reports" / "seq" / "04_compare.ipynb").read_text())
    assert res is not None
    html = [o["data"]["text/html"] for c in nb["cells"] for o in c.get("outputs", [])
            if "text/html" in o.get("data", {}) and "settled after round" in "".join(o["data"]["text/html"])]
    assert len(html) == 1
    cells = re.findall(r"<td>(.*?)</td>", "".join(html[0]))
    row = cells[cells.index("TCP_STREAM m64"):][:5]  # cell, metric, looks, settled after round, verdict
    assert row == ["TCP_STREAM m64", "throughput_bps", "1", "3", "slower"]
    pngs = [c for c in nb["cells"] if "looks_plot" in "".join(c["source"])
            and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert len(pngs) == 1
    # the summary (-> summary.pdf): per cell the look it settled at, and the looks plot
    nb6 = json.loads((tmp_path / "reports" / "seq" / "06_summary.ipynb").read_text())
    shown = ["".join(o["data"]["text/html"]) for c in nb6["cells"] if "looks_summary" in "".join(c["source"])
             for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert len(shown) == 2 and "settled at look" in shown[0] and shown[1].startswith("<img")
    cells6 = re.findall(r"<td>(.*?)</td>", shown[0])
    assert cells6[cells6.index("TCP_STREAM m64"):][:4] == ["TCP_STREAM m64", "throughput_bps", "1", "3"]
