"""The report on a host-confounded campaign: no model verdict, and the PDF's first page names the confound and
gives the bridging plan (every venet run on lab-a-host, every virtio run on lab-b-host, as in issue 15)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.runner import run_report
from analysis.simulate import CampaignSpec, simulate_campaign

pytestmark = pytest.mark.notebooks

SPEC = CampaignSpec(name="hosts", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64,), trials=6,
                    true_ratio={("TCP_STREAM", 64): 1.25})


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("confounded")
    folder = simulate_campaign(root / "raw" / "hosts", SPEC, seed=5)
    man = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    man["host"] = man["pv_model"].map({SPEC.candidate: "lab-a-host", SPEC.baseline: "lab-b-host"})
    man.to_csv(folder / "manifest.csv", index=False)
    return run_report(folder, out_dir=root / "reports", baseline=SPEC.baseline, candidate=SPEC.candidate,
                      parameters={"n_resamples": "499", "seed": "7"}, progress=False)


def test_no_model_verdict_and_the_plan(made):
    verdicts = pd.read_csv(made.report_dir / "tables" / "verdicts.csv")
    assert len(verdicts) == 2 and (verdicts["verdict"] == "confounded").all()
    assert (verdicts["verdict_label"] == "confounded with host").all()
    summary = pd.read_csv(made.report_dir / "tables" / "summary_verdicts.csv")
    assert set(summary["verdict"]) == {"confounded with host"}
    findings = pd.read_csv(made.report_dir / "tables" / "audit_findings.csv")
    assert findings["check"].eq("design_confound").any()


def test_pdf_first_page_names_the_confound_and_the_plan(made):
    from pypdf import PdfReader

    page = " ".join(PdfReader(made.pdf).pages[0].extract_text().split())
    assert "confounded with host in 2 of 2 compared cells" in page
    assert "Every compared cell is confounded with host" in page
    assert "Bridging plan" in page and "on host lab-a-host (where venet ran)" in page
    assert "runs per cell" in page
