"""analysis.sides: several side folders merged into one campaign; the report and CLI accept them."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from analysis import cli, fanout
from analysis.ingest import load_campaign
from analysis.notebook import infer_models, resolve_campaign
from analysis.provenance import input_checksums
from analysis.sides import load_campaigns, marked_roles, side_folders, write_sides_file
from analysis.simulate import CampaignSpec, simulate_campaign

SPEC = CampaignSpec(tests=("TCP_RR",), trials=2)


@pytest.fixture(scope="module")
def labs(tmp_path_factory):
    root = tmp_path_factory.mktemp("labs") / "dispute"
    simulate_campaign(root / "lab-a", CampaignSpec(tests=("TCP_RR",), trials=2, baseline="virtio-net",
                                                   candidate="venet", host="host-a",
                                                   roles={"venet": "candidate", "virtio-net": "reference"},
                                                   broken_inputs=True), seed=1)
    simulate_campaign(root / "lab-b", CampaignSpec(tests=("TCP_RR",), trials=2, baseline="virtio-net",
                                                   candidate="vhost", host="host-b",
                                                   roles={"vhost": "baseline", "virtio-net": "reference"}), seed=2)
    return root


def test_merge_records_side_prefixes_ids_and_keeps_rejects(labs):
    a, b = load_campaign(labs / "lab-a"), load_campaign(labs / "lab-b")
    c = load_campaigns([labs / "lab-a", labs / "lab-b"], as_one="both")
    assert c.name == "both" and len(c.runs) == len(a.runs) + len(b.runs)
    assert c.runs.groupby("side")["host"].unique().map(list).to_dict() == {"lab-a": ["host-a"], "lab-b": ["host-b"]}
    assert c.runs["run_id"].is_unique and c.runs["run_id"].str.match(r"lab-[ab]/").all()
    assert set(c.measurements["run_id"]) == set(c.runs["run_id"])
    assert (c.runs["source_sha256"].notna()).all()
    # rejects per side: lab-a's three broken inputs, named with their side
    assert len(c.rejects) == len(a.rejects) == 3 and (c.rejects["side"] == "lab-a").all()
    assert c.rejects["source_file"].str.startswith("lab-a/").all()
    assert c.summary["sides"]["lab-a"]["rejected"] == 3 and c.summary["rejected"] == 3
    assert c.summary["seen"] == a.summary["seen"] + b.summary["seen"]


def test_side_column_in_manifest_wins(tmp_path):
    simulate_campaign(tmp_path / "x", SPEC, seed=3)
    man = pd.read_csv(tmp_path / "x" / "manifest.csv")
    man["lab"] = "Lab Alpha"
    man.to_csv(tmp_path / "x" / "manifest.csv", index=False)
    simulate_campaign(tmp_path / "y", SPEC, seed=4)
    c = load_campaigns([tmp_path / "x", tmp_path / "y"], as_one="xy")
    assert sorted(c.runs["side"].unique()) == ["Lab Alpha", "y"]


def test_sides_folder_loads_resolves_and_infers_roles(labs):
    assert [p.name for p in side_folders(labs)] == ["lab-a", "lab-b"]
    assert side_folders(labs / "lab-a") == []
    c = load_campaign(labs)
    assert c.name == "dispute" and set(c.runs["side"]) == {"lab-a", "lab-b"}
    assert resolve_campaign(labs) == labs.resolve()
    assert marked_roles(c.runs) == ("vhost", "venet")
    assert infer_models(c) == ("vhost", "venet")


def test_sides_file_and_as_one_cli(labs, tmp_path, monkeypatch):
    folder = write_sides_file(tmp_path / ".as-one" / "merged", [labs / "lab-a", labs / "lab-b"])
    assert [p.name for p in side_folders(folder)] == ["lab-a", "lab-b"]
    assert load_campaign(folder, cache=False).name == "merged"
    seen = {}

    def fake_run_reports(campaigns, **kwargs):
        seen["campaigns"] = campaigns
        return ()

    monkeypatch.setattr(fanout, "run_reports", fake_run_reports)
    p = argparse.ArgumentParser()
    cli.report_arguments(p)
    args = p.parse_args([str(labs / "lab-a"), str(labs / "lab-b"), "--as-one", "NAME", "--out", str(tmp_path)])
    assert cli.report_run(args) == 0
    assert seen["campaigns"][0] == tmp_path / ".as-one" / "NAME"
    assert resolve_campaign(seen["campaigns"][0]).name == "NAME"
    sums = input_checksums(folder)
    assert "sides.csv" in sums and "lab-a/manifest.csv" in sums and "lab-b/manifest.csv" in sums


def test_errors_name_the_input(labs, tmp_path):
    with pytest.raises(ValueError, match="paths: expected a list of campaign folders"):
        load_campaigns(labs, as_one="x")
    with pytest.raises(ValueError, match="as_one: expected a campaign name"):
        load_campaigns([labs / "lab-a"], as_one="a/b")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_campaigns([tmp_path / "nope"], as_one="x")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "sides.csv").write_text("side,path\nx,missing-folder\n")
    with pytest.raises(ValueError, match=r"sides.csv:2: path 'missing-folder' is not a folder"):
        side_folders(tmp_path / "s")
