"""Every notebook run by the report wrapper (papermill) on one tiny simulated campaign; the tables are asserted.

The campaign has a planted +20 % throughput cell (TCP_STREAM 64 B) and an A/A cell (TCP_STREAM 16384 B, true
ratio 1), both models at the same clock, and a ``<script>`` planted in the manifest's host column. One report is
made (module-scoped fixture, small n_resamples) and every test reads from it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from analysis.runner import NOTEBOOKS, run_report
from analysis.simulate import CampaignSpec, simulate_campaign
from tests.conftest import ROOT

pytestmark = pytest.mark.notebooks

SCRIPT = "<script>alert('pvfair')</script>"
SPEC = CampaignSpec(
    name="tiny",
    tests=("TCP_STREAM",),
    stream_msg_sizes_bytes=(64, 16384),
    trials=6,
    true_ratio={("TCP_STREAM", 64): 1.20},
    cv=0.03,
)


def _tiny_campaign(path):
    folder = simulate_campaign(path, SPEC, seed=11)
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    manifest["host"] = SCRIPT
    manifest.to_csv(folder / "manifest.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbreport")
    folder = _tiny_campaign(root / "raw" / "tiny")
    res = run_report(
        folder,
        out_dir=root / "reports",
        baseline=SPEC.baseline,
        candidate=SPEC.candidate,
        parameters={"n_resamples": "499", "seed": "7"},
        progress=False,
    )
    return res


def _cell(frame: pd.DataFrame, size: int) -> pd.Series:
    rows = frame[(frame["test"] == "TCP_STREAM") & (frame["msg_size_bytes"] == size)
                 & (frame["metric"] == "throughput_bps")]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_every_notebook_executed(made):
    assert [p.stem for p in made.notebooks] == list(NOTEBOOKS)
    assert [p.stem for p in made.html] == list(NOTEBOOKS)
    assert all(p.is_file() for p in (*made.notebooks, *made.html))
    tables = {p.stem for p in made.tables}
    assert {"runs", "rejects", "overview", "normalization", "audit_findings", "verdicts", "model_effects",
            "summary_verdicts"} <= tables


def test_ingest_tables(made):
    tables = made.report_dir / "tables"
    runs = pd.read_csv(tables / "runs.csv")
    assert len(runs) == 2 * 2 * SPEC.trials  # 2 sizes x 2 models x 6 trials
    assert set(runs["pv_model"]) == {SPEC.baseline, SPEC.candidate}
    assert pd.read_csv(tables / "rejects.csv").empty
    overview = pd.read_csv(tables / "overview.csv")
    assert overview.set_index("pv_model")["runs"].to_dict() == {SPEC.baseline: 12, SPEC.candidate: 12}
    norm = pd.read_csv(tables / "normalization.csv")
    assert len(norm) == 24 and norm["cpu_ghz"].notna().all()


def test_verdicts_planted_cell_faster_aa_cell_not(made):
    verdicts = pd.read_csv(made.report_dir / "tables" / "verdicts.csv")
    planted = _cell(verdicts, 64)
    assert planted["verdict"] == "faster"
    assert planted["ci_low"] < 1.20 < planted["ci_high"]
    assert planted["ci_low"] > 1.0
    aa = _cell(verdicts, 16384)
    assert aa["verdict"] not in {"faster", "slower"}
    assert aa["ci_low"] < 1.0 < aa["ci_high"]


def test_model_effects_recover_the_planted_ratio(made):
    effects = pd.read_csv(made.report_dir / "tables" / "model_effects.csv")
    ratio = effects[(effects["metric"] == "throughput_bps") & (effects["quantity"] == "model_ratio")]
    by_size = ratio.set_index("msg_size_bytes")
    assert by_size.loc[64, "ci_low"] < 1.20 < by_size.loc[64, "ci_high"]
    assert by_size.loc[16384, "ci_low"] < 1.0 < by_size.loc[16384, "ci_high"]


def test_audit_findings_table(made):
    findings = pd.read_csv(made.report_dir / "tables" / "audit_findings.csv")
    assert list(findings.columns[:3]) == ["severity", "check", "cell"]
    # a balanced, interleaved campaign at one clock: nothing worse than a note about the design
    assert not (findings["severity"] == "error").any()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("\u00a0", " "))


def test_summary_pdf(made):
    import pypdf

    reader = pypdf.PdfReader(made.pdf)
    assert len(reader.pages) >= 2
    text = _squash("".join(page.extract_text() for page in reader.pages))
    table = pd.read_csv(made.report_dir / "tables" / "summary_verdicts.csv", dtype=str, keep_default_na=False)
    assert len(table) == 2
    for value in table.to_numpy().ravel():
        assert _squash(value) in text, f"verdict table cell {value!r} not in the PDF text"
    for heading in ("Verdict", "Verdicttable", "Auditfindings", "Raw,per-GHzandclock-adjustedeffects",
                    "Methodnotes"):
        assert heading in text
    assert "importpandas" not in text and "fromanalysis" not in text  # no code in the PDF


def test_strings_from_raw_files_are_escaped(made):
    page = (made.report_dir / "01_ingest.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert(" not in page
    summary = (made.report_dir / "06_summary.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(" in summary and "<script>alert(" not in summary
    import pypdf

    text = "".join(p.extract_text() for p in pypdf.PdfReader(made.pdf).pages)
    assert _squash(SCRIPT) in _squash(text)  # shown as text in the PDF


def test_provenance(made):
    prov = json.loads(made.provenance.read_text())
    folder = prov["campaign_path"]
    assert prov["status"] == "complete"
    assert prov["parameters"]["n_resamples"] == 499 and prov["parameters"]["seed"] == 7
    assert prov["parameters"]["baseline"] == SPEC.baseline
    assert "manifest.csv" in prov["inputs_sha256"] and "truth.csv" in prov["inputs_sha256"]
    assert len(prov["inputs_sha256"]) == sum(1 for _ in __import__("pathlib").Path(folder).rglob("*") if _.is_file())
    assert set(prov["seconds"]) == {*NOTEBOOKS, "pdf"}


def test_papermill_cli_directly_with_inferred_models(made, tmp_path):
    """Acceptance: papermill on 04_compare from the repository root, no wrapper, baseline/candidate inferred."""
    out = tmp_path / "out.ipynb"
    campaign = made.parameters["campaign"]
    papermill = [sys.executable, "-m", "papermill"]
    res = subprocess.run(
        [*papermill, "notebooks/04_compare.ipynb", str(out), "-p", "campaign", campaign, "-p", "n_resamples", "99",
         "-p", "output_dir", str(tmp_path / "tables"), "--no-progress-bar"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    verdicts = pd.read_csv(tmp_path / "tables" / "verdicts.csv")
    assert set(verdicts["msg_size_bytes"]) == {64, 16384}
