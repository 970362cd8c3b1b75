"""``pvfair compare`` / ``pvfair audit`` agree with the tables notebooks 03 and 04 write under papermill.

One small campaign with a planted faster cell, an A/A cell, a thin cell (too few runs) and a clock confound, so the
verdict table holds several verdict words and the audit errors and warnings. The two notebooks are run by the
report wrapper with non-default parameters; the commands are given the same parameters, and their CSV output
must carry the verdicts (and the findings) of the notebooks' tables, row for row.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analysis.cli import main
from analysis.runner import run_report
from analysis.simulate import CampaignSpec, simulate_campaign

pytestmark = pytest.mark.notebooks

SPEC = CampaignSpec(
    name="reading",
    tests=("TCP_STREAM", "TCP_RR"),
    stream_msg_sizes_bytes=(64, 1024, 16384),
    trials=5,
    true_ratio={("TCP_STREAM", 64): 1.25, ("TCP_RR", 1): 0.85},
    cv=0.03,
    low_clock=("venet", 0.4, 2000.0),
)
PARAMS = {"n_resamples": "999", "seed": "5", "alpha": "0.1", "margin": "0.08"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("reading")
    folder = simulate_campaign(root / "raw" / "reading", SPEC, seed=3)
    res = run_report(folder, out_dir=root / "reports", parameters=PARAMS, notebooks=("03_audit", "04_compare"),
                     pdf=False, progress=False)
    return folder, res.report_dir / "tables"


def _run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_compare_csv_verdicts_equal_the_notebook_table(report, capsys):
    folder, tables = report
    pairs = [a for k, v in PARAMS.items() for a in ("-p", f"{k}={v}")]
    out = _run(capsys, "compare", str(folder), *pairs, "--format", "csv")
    cli = pd.read_csv(io.StringIO(out))
    nb = pd.read_csv(tables / "verdicts.csv")
    keys = ["test", "msg_size_bytes", "pinning", "metric"]
    merged = nb.merge(cli, on=keys, how="outer", suffixes=("_nb", "_cli"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[keys + ["_merge"]]
    assert len(merged) == len(nb) >= 4
    assert (merged["verdict_nb"] == merged["verdict_cli"]).all()
    assert (merged["estimate"].sub(1).mul(100) - merged["change_pct"]).abs().max() < 1e-9
    assert len(set(nb["verdict"])) >= 2  # the campaign gives the comparison something to tell apart


def test_compare_text_fits_80_columns_and_names_every_verdict(report, capsys):
    folder, tables = report
    pairs = [a for k, v in PARAMS.items() for a in ("-p", f"{k}={v}")]
    out = _run(capsys, "compare", str(folder), *pairs)
    assert max(len(line) for line in out.splitlines()) <= 80
    from analysis.vocabulary import verdict_label

    for v in set(pd.read_csv(tables / "verdicts.csv")["verdict"]):
        assert verdict_label(v, 0.08) in out
    findings = pd.read_csv(tables / "audit_findings.csv")
    shown = findings[findings["severity"].isin(["error", "warn"])]
    assert len(shown) >= 1
    for check in set(shown["check"]):
        assert f" {check}, " in out


def test_audit_csv_equals_the_notebook_findings(report, capsys):
    folder, tables = report
    out = _run(capsys, "audit", str(folder), "--format", "csv")
    cli = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    nb = pd.read_csv(tables / "audit_findings.csv", dtype=str, keep_default_na=False)
    cols = ["severity", "check", "cell", "pv_model", "detail"]
    assert cli[cols].to_dict("records") == nb[cols].to_dict("records")
    text = _run(capsys, "audit", str(folder))
    assert max(len(line) for line in text.splitlines()) <= 80
