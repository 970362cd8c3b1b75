"""Reports on Dask distributed: a LocalCluster of 2 workers, and a scheduler and worker started as processes.

The notebooks are tiny synthetic ones (the wrapper is under test, not the analysis), except for the command-line
run, which runs the real ``01_ingest`` notebook on a small simulated campaign.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.fanout import run_reports
from analysis.runner import ReportError
from analysis.simulate import CampaignSpec, simulate_campaign

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]

PARAMS = 'campaign: str = "x"  # campaign folder\noutput_dir: str = ""  # tables folder\n'
BODY = (
    "import pathlib, pandas as pd\nfrom analysis.notebook import save_tables\n"
    "if pathlib.Path(campaign).name.startswith('bad'):\n    raise RuntimeError('planted failure')\n"
    "m = pd.read_csv(campaign + '/manifest.csv')\nsave_tables(output_dir, manifest=m)\nlen(m)"
)


@pytest.fixture
def setup(tmp_path):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [new_markdown_cell("# one"), new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
                new_code_cell(BODY)]
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    nbformat.write(nb, nb_dir / "01_one.ipynb")
    camps = []
    for i, name in enumerate(["c1", "c2", "c3", "bad4"]):
        folder = tmp_path / "raw" / name
        folder.mkdir(parents=True)
        (folder / "a.txt").write_text("x\n")
        rows = "".join(f"a.txt,M{j}\n" for j in range(i + 1))
        (folder / "manifest.csv").write_text("file,pv_model\n" + rows)
        camps.append(folder)
    return nb_dir, camps


def _check_reports(out: Path, names) -> None:
    for i, name in enumerate(names):
        table = (out / name / "tables" / "manifest.csv").read_text().splitlines()
        assert len(table) == i + 2  # header + i + 1 rows: each campaign's own manifest
        assert json.loads((out / name / "provenance.json").read_text())["status"] == "complete"


def test_local_cluster_of_two_workers_runs_three_reports_and_reports_a_failure(setup, tmp_path, capsys,
                                                                             monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    nb_dir, camps = setup
    out = tmp_path / "reports"
    with pytest.raises(ReportError, match=r"1 of 4 campaign reports failed:\n  bad4: notebook 01_one.ipynb failed"
                                          r".*RuntimeError: planted failure"):
        run_reports(camps, jobs=2, out_dir=out, notebook_dir=nb_dir, notebooks=["01_one"], pdf=False,
                    progress=True)
    _check_reports(out, ["c1", "c2", "c3"])  # the failure stopped none of the others
    assert json.loads((out / "bad4" / "provenance.json").read_text())["status"] == "failed"
    index = (out / "index.html").read_text()
    assert all(f">{n}<" in index for n in ["c1", "c2", "c3", "bad4"])
    err = capsys.readouterr().err
    assert all(n in err for n in ["c1", "c2", "c3"]) and "bad4 failed" in err  # a bar per campaign


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and one ``dask worker`` as separate processes on 127.0.0.1, shared by the module's tests
    (each test writes its reports to a folder of its own)."""
    tmp_path = tmp_path_factory.mktemp("dask-cluster")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    sched_file = tmp_path / "scheduler.json"
    dask = str(Path(sys.executable).with_name("dask"))
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    deadline = time.monotonic() + 60
    while not sched_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(sched_file.read_text())["address"]
    procs.append(subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                   "--no-dashboard", "--name", "w1"], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(1, timeout=60)
    yield address
    try:  # the scheduler closes its workers and itself (faster than SIGTERM to each, which waits out timeouts)
        with Client(address, timeout="10s") as client:
            client.shutdown()
    except Exception:  # noqa: BLE001 - the processes are terminated below in any case
        pass
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_scheduler_and_worker_processes_serve_reports(setup, cluster, tmp_path):
    nb_dir, camps = setup
    out = tmp_path / "shared"
    results = run_reports(camps[:2], scheduler=cluster, out_dir=out, notebook_dir=nb_dir, notebooks=["01_one"],
                          pdf=False, progress=False)
    _check_reports(out, ["c1", "c2"])
    assert [r.report_dir for r in results] == [out / "c1", out / "c2"]
    # shipped back: the worker writes to a folder of its own and the client unpacks the report under out_dir
    here = tmp_path / "here"
    results = run_reports(camps[2:3], scheduler=cluster, ship=True, out_dir=here, notebook_dir=nb_dir,
                          notebooks=["01_one"], pdf=False, progress=False)
    assert results[0].report_dir == here / "c3" and results[0].provenance.is_file()
    assert (here / "c3" / "tables" / "manifest.csv").read_text().count("\n") == 4


def test_cli_report_on_the_scheduler_from_the_environment(cluster, tmp_path, monkeypatch, capsys):
    from analysis.cli import main

    raw = simulate_campaign(tmp_path / "raw" / "sim1", CampaignSpec(trials=2), seed=4)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster)
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(raw), "--notebooks", "01_ingest", "--no-pdf", "--quiet"]) == 0
    assert "index: reports/index.html" in capsys.readouterr().out
    report = tmp_path / "reports" / "sim1"  # no --out: sent back to where the client runs
    assert (report / "01_ingest.html").is_file()
    prov = json.loads((report / "provenance.json").read_text())
    assert prov["status"] == "complete" and len(prov["inputs_sha256"]) == 22  # 20 runs, manifest, truth
