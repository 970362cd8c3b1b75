"""``pvfair history`` on a small simulated archive: 07_history through the report machinery, HTML + PDF + index."""

from __future__ import annotations

import json

import pytest

from analysis import archive
from analysis.simulate import ArchiveSpec, CampaignSpec, simulate_archive

pytestmark = pytest.mark.notebooks

SPEC = ArchiveSpec(n_campaigns=8, versions=tuple(f"6.1.{i}" for i in (3, 9, 10, 11, 12, 13, 14, 15)),
                   change_at="6.1.12",
                   campaign=CampaignSpec(name="nightly", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 16384),
                                         trials=5, cv=0.02))


def test_pvfair_history_writes_a_pdf_naming_the_change(tmp_path, capsys):
    import pypdf

    from analysis.cli import main

    folders = simulate_archive(tmp_path / "raw", SPEC, seed=2)
    archive.add(folders, tmp_path / "archive")
    out = tmp_path / "reports"
    argv = ["history", str(tmp_path / "archive"), "--baseline", SPEC.campaign.baseline, "--candidate",
            SPEC.campaign.candidate, "-p", "n_resamples=999", "-p", "metrics=throughput_bps", "--out", str(out),
            "--quiet"]
    assert main(argv) == 0
    folder = out / "history-archive"
    assert f"history report: {folder}" in capsys.readouterr().out
    text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(folder / "summary.pdf").pages)
    assert "slower until 6.1.12; equivalent within ±5 % from version 6.1.12 on" in text
    assert "equivalent within ±5 % in every version from 6.1.3 to 6.1.15" in text  # 6.1.9 < 6.1.10 ordering
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["status"] == "complete" and prov["parameters"]["order_by"] == "guest_kernel"
    assert len(prov["inputs_sha256"]) == 8 * len(archive.TABLES)  # every Parquet file of the archive
    assert '<a href="history-archive/summary.pdf">summary.pdf</a>' in (out / "index.html").read_text()
    assert (folder / "tables" / "history_changes.csv").read_text().count("6.1.12") == 1
    assert main([*argv[:-3], "-p", "apha=1", "--out", str(out)]) == 2
    assert "parameter 'apha': unknown" in capsys.readouterr().err
