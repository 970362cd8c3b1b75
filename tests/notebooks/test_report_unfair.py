"""``pvfair report`` on campaigns that cannot be (fully) compared: the report is the explanation, exit status 0.

* ``unfair``: every venet run pinned same-core at 1600 MHz, every virtio run split at 2400 MHz, one cell measured
  by virtio only: pinning x model and clock x model confounds, no cell comparable (issue 16). summary.pdf must
  open with "No cell could be compared", name the confounds and end with the rerun plan.
* ``disjoint``: the stream tests (netperf and iperf3) ran at disjoint message sizes (baseline at 1448 B,
  candidate at 32768 B), TCP_RR normally: the throughput model is listed as not fitted with the reason, in the
  model notebook's table and in the PDF.

Both campaigns go through one ``pvfair report`` process (module-scoped fixture, small n_resamples).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from analysis.simulate import CampaignSpec, simulate_campaign
from tests.conftest import ROOT

pytestmark = pytest.mark.notebooks

BASE, CAND = "virtio-net+vhost", "venet"
UNFAIR = CampaignSpec(
    name="unfair", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 16384), pinnings=("split", "same-core"),
    trials=3, pinning_mix={CAND: {"same-core": 1.0}, BASE: {"split": 1.0}}, low_clock=(CAND, 1.0, 1600.0),
    one_model_cells=((BASE, "TCP_STREAM", 16384),),
)
DISJOINT = CampaignSpec(
    name="disjoint", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(1448, 32768), trials=3,
    one_model_cells=((BASE, "TCP_STREAM", 1448), (CAND, "TCP_STREAM", 32768)), tools=("netperf", "iperf3"),
    true_ratio={("TCP_RR", 1): 1.3},
)


def pdf_text(path) -> str:
    import pypdf

    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    return re.sub(r"\s+", " ", text)  # lines break anywhere in a PDF


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("unfair")
    folders = [simulate_campaign(root / "raw" / s.name, s, seed=5) for s in (UNFAIR, DISJOINT)]
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "report", *map(str, folders), "--out", str(root / "reports"),
         "--baseline", BASE, "--candidate", CAND, "-p", "n_resamples=199", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    return proc, root / "reports"


def test_report_exits_0_on_both(reports):
    proc, out = reports
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("unfair", "disjoint"):
        assert (out / name / "summary.pdf").stat().st_size > 0


def test_unfair_summary_opens_with_no_cell_compared_names_the_confounds_and_ends_with_the_plan(reports):
    _, out = reports
    text = pdf_text(out / "unfair" / "summary.pdf")
    opening = text[text.index("Verdict in brief"):][:600]
    assert "Verdict in brief No cell could be compared: the design confounds pinning x model" in opening
    assert f"{BASE} ran only split and {CAND} only same-core" in opening
    assert "clock x model" in opening and "one-model cells" in opening
    plan_at = text.rindex("What to run next")
    assert plan_at > text.index("Method notes")  # the plan ends the summary
    plan = text[plan_at:]
    assert "Rerun plan: 35 run(s) in 5 cell(s)" in plan
    table = pd.read_csv(out / "unfair" / "tables" / "summary_rerun_plan.csv")
    assert table["runs_to_add"].sum() == 35 and set(table["run_pinning"]) == {"split", "same-core"}
    # the cells that only venet ran (same-core, 1600 MHz) are to be run by virtio, same-core, at 1600 MHz
    sc = table[(table["pinning"] == "same-core") & (table["pv_model"] == BASE)]
    assert len(sc) == 2 and (sc["run_cpu_mhz"] == 1600).all() and (sc["runs_to_add"] == 5).all()
    assert pd.read_csv(out / "unfair" / "tables" / "verdicts.csv").empty


def test_disjoint_sizes_model_listed_as_not_fitted_in_the_model_table_and_the_pdf(reports):
    _, out = reports
    nf = pd.read_csv(out / "disjoint" / "tables" / "model_not_fitted.csv")
    row = nf[nf["metric"] == "throughput_bps"]
    assert len(row) == 1 and row["test"].iloc[0] == "all tests"
    reason = row["reason"].iloc[0]
    why = f"the two models ran at no common message size ({BASE} at 1448 B; {CAND} at 32768 B)"
    assert reason.count(why) == 2  # one test, measured by two tools: each tool's fit listed
    assert "TCP_STREAM (iperf3)" in reason and "TCP_STREAM (netperf)" in reason
    effects = pd.read_csv(out / "disjoint" / "tables" / "model_effects.csv")
    assert set(effects["metric"]) == {"transactions_per_s"}  # every primary metric: fitted or listed
    text = pdf_text(out / "disjoint" / "summary.pdf")
    assert "Regression models fitted: transactions_per_s; not fitted: 1 metric/test pair(s)" in text
    assert "no common message size" in text
    verdicts = pd.read_csv(out / "disjoint" / "tables" / "verdicts.csv")
    assert set(verdicts["test"]) == {"TCP_RR"}  # the stream tests are excluded cells, TCP_RR compared
