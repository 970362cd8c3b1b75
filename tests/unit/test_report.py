"""pvfair report: parameter checking, campaign resolution, provenance, escaping, index, PDF, failures.

The runner (analysis.runner, .fanout), its parameters, provenance and export, the notebook helpers
(analysis.notebook) and the HTML renderers (analysis.present).

The wrapper is exercised on tiny synthetic notebooks (no analysis stage needed); the real notebooks are run in
tests/notebooks/.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from analysis.export import _breakable, format_index, write_index
from analysis.fanout import run_reports
from analysis.ingest import Campaign
from analysis.model import fit_models, primary_metrics
from analysis.notebook import (
    REPO_ROOT,
    campaign_overview,
    infer_models,
    multi_size_tests,
    resolve_campaign,
    save_tables,
    setup_notebook,
    showcase_row,
)
from analysis.parameters import notebook_parameters, parse_parameter, split_assignments
from analysis.present.campaign import format_header_html, format_overview_table
from analysis.present.findings import format_confounds_html, format_findings_table
from analysis.present.html import format_html_table, format_notes_html, format_paragraph_html
from analysis.present.verdicts import (
    format_effects_table,
    format_excluded_table,
    format_verdict_brief,
    format_verdict_bullets_html,
    format_verdict_table,
)
from analysis.provenance import input_checksums
from analysis.runner import ReportError, run_report

pytestmark = pytest.mark.unit

SCRIPT = "<script>alert('pvfair')</script>"

PARAMS = (
    'campaign: str = "x"  # campaign folder\n'
    'output_dir: str = ""  # tables folder\n'
    "alpha: float = 0.05  # family-wise error rate\n"
    'metrics: "Optional[list[str]]" = None  # metrics to compare\n'
)


def _notebook(path: Path, body: str, params: str = PARAMS) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_markdown_cell(f"# {path.stem}"),
        new_code_cell(params, metadata={"tags": ["parameters"]}),
        new_code_cell(body),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _campaign_folder(root: Path, name: str = "camp", host: str = SCRIPT) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("run a\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.txt").write_text("run b\n")
    (folder / "manifest.csv").write_text(f"file,pv_model,host\na.txt,A,{host}\nsub/b.txt,B,h2\n")
    return folder


@pytest.fixture
def notebooks(tmp_path) -> Path:
    nb_dir = tmp_path / "nb"
    _notebook(
        nb_dir / "01_one.ipynb",
        "import pandas as pd\nfrom analysis.notebook import save_tables\n"
        "m = pd.read_csv(campaign + '/manifest.csv')\n"
        "save_tables(output_dir, manifest=m, alpha=pd.DataFrame({'alpha': [alpha]}))\nm",
    )
    _notebook(
        nb_dir / "02_two.ipynb",
        "assert 'm' not in globals(), 'namespace of the previous notebook leaked'\n"
        "import pandas as pd\nimport matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(); ax.plot([1, 2, 3]); plt.show()\n"
        "print('metrics:', metrics)\n"
        "pd.read_csv(campaign + '/manifest.csv')",
    )
    return nb_dir


# ------------------------------------------------------------------------------------------------ parameters


@pytest.mark.parametrize(
    ("text", "type_name", "expected"),
    [
        ("0.01", "float", 0.01),
        ("7", "int", 7),
        ("holm", "str", "holm"),
        ("None", "Optional[str]", None),
        ("venet", "Optional[str]", "venet"),
        ("a, b", "Optional[list[str]]", ["a", "b"]),
        ("['a','b']", "list[str]", ["a", "b"]),
        ("true", "bool", True),
    ],
)
def test_parse_parameter(text, type_name, expected):
    assert parse_parameter("p", text, type_name) == expected


def test_parse_parameter_errors():
    with pytest.raises(ValueError, match=r"parameter 'alpha': expected float, found 'abc'"):
        parse_parameter("alpha", "abc", "float")
    with pytest.raises(ValueError, match=r"parameter 'x': unsupported annotated type 'dict'"):
        parse_parameter("x", "{}", "dict")
    with pytest.raises(ValueError, match=r"-p: expected key=value, found 'alpha'"):
        split_assignments(["alpha"])


def test_notebook_parameters(notebooks, tmp_path):
    spec = notebook_parameters(notebooks / "01_one.ipynb")
    assert list(spec) == ["campaign", "output_dir", "alpha", "metrics"]
    assert spec["alpha"] == {"type": "float", "default": "0.05", "help": "family-wise error rate"}
    assert spec["metrics"]["type"] == "Optional[list[str]]"
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, tmp_path / "bare.ipynb")
    with pytest.raises(ValueError, match=r"notebook: bare.ipynb has no cell tagged 'parameters'"):
        notebook_parameters(tmp_path / "bare.ipynb")


def test_unknown_and_reserved_parameters_refused(notebooks, tmp_path):
    folder = _campaign_folder(tmp_path)
    kw = dict(out_dir=tmp_path / "r", notebook_dir=notebooks, notebooks=["01_one", "02_two"], progress=False)
    with pytest.raises(ValueError, match=r"parameter 'apha': unknown; the notebooks' parameters cells define"):
        run_report(folder, parameters={"apha": "0.01"}, **kw)
    with pytest.raises(ValueError, match=r"parameter 'output_dir' is set by the wrapper"):
        run_report(folder, parameters={"output_dir": "/tmp"}, **kw)
    with pytest.raises(ValueError, match=r"parameter 'alpha': expected float, found 'x'"):
        run_report(folder, parameters={"alpha": "x"}, **kw)
    with pytest.raises(FileNotFoundError, match=r"notebooks: .*03_nope.ipynb not found"):
        run_report(folder, **{**kw, "notebooks": ["03_nope"]})
    with pytest.raises(ValueError, match=r"notebooks: expected at least one notebook name"):
        run_report(folder, **{**kw, "notebooks": []})
    assert not (tmp_path / "r").exists()  # refused before anything ran or was written


# ------------------------------------------------------------------------------------------------- campaigns


def test_resolve_campaign(tmp_path, monkeypatch):
    folder = _campaign_folder(tmp_path)
    assert resolve_campaign(folder) == folder.resolve()
    monkeypatch.chdir(tmp_path)
    assert resolve_campaign("camp") == folder.resolve()
    # the notebooks' default resolves from the repository root whatever the current folder
    assert resolve_campaign("data/raw/demo") == (REPO_ROOT / "data" / "raw" / "demo").resolve()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"campaign: 'empty' is not a campaign folder .*manifest.csv"):
        resolve_campaign("empty")


def _mem_campaign(models, root=None) -> Campaign:
    runs = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(len(models))],
            "pv_model": pd.array(models, dtype="string"),
            "tool": "netperf",
            "test": "TCP_STREAM",
            "msg_size_bytes": pd.array([64] * len(models), dtype="Int64"),
            "pinning": "split",
            "cpu_mhz": [2400.0] * len(models),
            "host": [SCRIPT] + ["h"] * (len(models) - 1),
            "host_kernel": "2.6.31",
            "guest_kernel": pd.NA,
        }
    )
    return Campaign("mem", runs, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), root=root)


def test_infer_models(tmp_path):
    folder = _campaign_folder(tmp_path)  # manifest: A first, then B
    c = _mem_campaign(["B", "A", "B"], root=folder)
    assert infer_models(c) == ("A", "B")
    assert infer_models(c, baseline="B") == ("B", "A")
    assert infer_models(c, candidate="A") == ("B", "A")
    (folder / "manifest.csv").write_text("file,pv_model,role\na.txt,A,candidate\nsub/b.txt,B,baseline\n")
    assert infer_models(c) == ("B", "A")
    assert infer_models(_mem_campaign(["B", "A"])) == ("A", "B")  # in memory, no manifest: sorted
    with pytest.raises(ValueError, match=r"baseline: PV model 'C' is not in campaign 'mem'"):
        infer_models(c, baseline="C")
    with pytest.raises(ValueError, match=r"candidate: must differ from baseline, both are 'A'"):
        infer_models(c, baseline="A", candidate="A")
    with pytest.raises(ValueError, match=r"holds 3 PV models \['A', 'B', 'C'\]; name the baseline"):
        infer_models(_mem_campaign(["A", "B", "C"]))


def test_campaign_overview_and_escaping():
    ov = campaign_overview(_mem_campaign(["A", "B", "A"]))
    assert ov["pv_model"].tolist() == ["A", "B"]
    assert ov["runs"].tolist() == [2, 1]
    assert ov.loc[0, "hosts"] == f"{SCRIPT}, h"
    assert ov.loc[1, "guest_kernels"] == "-"
    table = format_html_table(ov)
    assert "&lt;script&gt;alert(" in table
    assert "<script>" not in table
    notes = format_notes_html([SCRIPT], title="<b>")
    assert "<script>" not in notes and "&lt;b&gt;" in notes and "<ol><li>" in notes
    assert format_notes_html([]) == "<p>None.</p>"


# --------------------------------------------------------------------------------------------- tables and I/O


def test_save_tables(tmp_path):
    assert save_tables("", a=pd.DataFrame({"x": [1]})) == []
    assert save_tables(None, a=pd.DataFrame({"x": [1]})) == []
    [path] = save_tables(tmp_path / "t", verdicts=pd.DataFrame({"x": [1, 2]}))
    assert path.name == "verdicts.csv"
    assert pd.read_csv(path)["x"].tolist() == [1, 2]
    with pytest.raises(TypeError, match=r"save_tables: table 'bad' must be a pandas DataFrame, got list"):
        save_tables(tmp_path, bad=[1])


def test_input_checksums(tmp_path):
    folder = _campaign_folder(tmp_path)
    sums = input_checksums(folder)
    assert list(sums) == ["a.txt", "manifest.csv", "sub/b.txt"]
    assert sums["sub/b.txt"] == hashlib.sha256(b"run b\n").hexdigest()


def test_format_index_escapes_and_links():
    page = format_index(
        [
            {"campaign": "demo", "status": "complete", "created_utc": "t", "pdf": "summary.pdf",
             "html": ["01_ingest.html"]},
            {"campaign": "a<b>", "status": "failed", "created_utc": "t", "pdf": None, "html": []},
        ]
    )  # fmt: skip
    assert '<a href="demo/summary.pdf">summary.pdf</a>' in page
    assert '<a href="demo/01_ingest.html">01_ingest</a>' in page
    assert "a&lt;b&gt;" in page and "<b>" not in page
    assert page.index("a&lt;b&gt;") < page.index("demo/summary.pdf")  # sorted by campaign


# ----------------------------------------------------------------------------------------------- the wrapper


def test_run_report_end_to_end(notebooks, tmp_path):
    folder = _campaign_folder(tmp_path)
    res = run_report(
        folder,
        out_dir=tmp_path / "reports",
        parameters={"alpha": "0.01", "metrics": "throughput_bps,latency_mean_s"},
        notebook_dir=notebooks,
        notebooks=["01_one", "02_two"],
        progress=False,
    )
    rdir = tmp_path / "reports" / "camp"
    assert res.report_dir == rdir
    assert [p.name for p in res.notebooks] == ["01_one.ipynb", "02_two.ipynb"]
    assert [p.name for p in res.html] == ["01_one.html", "02_two.html"]
    assert [p.name for p in res.tables] == ["alpha.csv", "manifest.csv"]
    # the typed parameter reached the kernel
    assert pd.read_csv(rdir / "tables" / "alpha.csv")["alpha"].tolist() == [0.01]
    executed = nbformat.read(rdir / "02_two.ipynb", as_version=4)
    out = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "metrics: ['throughput_bps', 'latency_mean_s']" in out
    # provenance
    prov = json.loads((rdir / "provenance.json").read_text())
    assert prov["status"] == "complete"
    assert prov["parameters"]["alpha"] == 0.01
    assert prov["parameters"]["campaign"] == str(folder.resolve())
    assert prov["inputs_sha256"]["a.txt"] == hashlib.sha256(b"run a\n").hexdigest()
    assert prov["packages"]["papermill"] and prov["packages"]["weasyprint"]
    assert set(prov["git"]) == {"commit", "dirty"}
    assert set(prov["seconds"]) == {"01_one", "02_two", "pdf"}
    # escaping: the planted <script> is text in the HTML and in the PDF
    page = (rdir / "01_one.html").read_text()
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert(" not in page
    import pypdf

    reader = pypdf.PdfReader(res.pdf)
    text = "".join(p.extract_text() for p in reader.pages)
    assert SCRIPT in text
    assert "metrics: ['throughput_bps', 'latency_mean_s']" in text
    assert "import pandas" not in text  # code hidden in the PDF
    frame = res.to_frame()
    assert frame["kind"].tolist().count("notebook") == 2 and "pdf" in frame["kind"].tolist()
    assert "2 notebooks, 2 HTML, 2 tables" in res.summary()
    assert res._repr_html_().startswith("<pre>")


def test_failing_notebook_stops_batch(notebooks, tmp_path):
    _notebook(notebooks / "03_bad.ipynb", "x = 1\nraise RuntimeError('planted failure')")
    folder = _campaign_folder(tmp_path)
    with pytest.raises(
        ReportError,
        match=r"notebook 03_bad.ipynb failed in cell 3 .*RuntimeError: planted failure; partial executed notebook kept",
    ):
        run_report(folder, out_dir=tmp_path / "r", notebook_dir=notebooks, notebooks=["03_bad", "02_two"],
                   shared_kernel=False, progress=False)  # fmt: skip
    rdir = tmp_path / "r" / "camp"
    assert (rdir / "03_bad.ipynb").is_file()  # the partial executed notebook is kept
    assert not (rdir / "02_two.ipynb").exists()  # the batch stopped
    prov = json.loads((rdir / "provenance.json").read_text())
    assert prov["status"] == "failed" and "planted failure" in prov["error"]


def test_run_reports_parallel_and_index(notebooks, tmp_path):
    a = _campaign_folder(tmp_path / "raw", "alpha")
    b = _campaign_folder(tmp_path / "raw", "beta", host="h")
    out = tmp_path / "reports"
    results = run_reports([a, b], jobs=2, out_dir=out, notebook_dir=notebooks, notebooks=["01_one"],
                          pdf=False, progress=False)  # fmt: skip
    assert [r.campaign for r in results] == ["alpha", "beta"]
    page = (out / "index.html").read_text()
    assert '<a href="alpha/01_one.html">01_one</a>' in page and '<a href="beta/01_one.html">01_one</a>' in page
    assert write_index(out) == out / "index.html"
    with pytest.raises(ValueError, match=r"jobs: expected a positive integer, got 0"):
        run_reports([a], jobs=0)
    with pytest.raises(ValueError, match=r"campaigns: expected at least one campaign folder"):
        run_reports([])
    with pytest.raises(ValueError, match=r"campaigns: two campaign folders share the name\(s\) \['alpha'\]"):
        run_reports([a, a], out_dir=out, notebook_dir=notebooks, notebooks=["01_one"])


def test_cli_refuses_unknown_parameter(capsys):
    from analysis.cli import main

    assert main(["report", "data/raw/demo", "-p", "apha=0.01", "--out", "/nonexistent/x"]) == 2
    assert "parameter 'apha': unknown" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ tables for reading


def _verdict_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "test": ["TCP_STREAM", "TCP_STREAM", "TCP_RR"],
            "msg_size_bytes": [16384, 64, 1],
            "pinning": ["split", "split", "split"],
            "metric": ["throughput_bps", "throughput_bps", "transactions_per_s"],
            "n_baseline": [8, 8, 6],
            "n_candidate": [5, 5, 6],
            "estimate": [1.03, 1.237, 0.9],
            "ci_low": [0.971, 1.162, 0.8],
            "ci_high": [1.092, 1.316, 1.01],
            "pvalue_adjusted": [0.4, 0.001, 0.06],
            "verdict": ["inconclusive", "faster", "inconclusive"],
            "runs_needed": [17.0, np.nan, np.nan],
            "headline": ["model-adjusted", "raw", "raw"],
            "raw_estimate": [1.016, 1.237, 0.9],
            "raw_ci_low": [0.99, 1.16, 0.8],
            "raw_ci_high": [1.05, 1.31, 1.01],
            "per_ghz_estimate": [1.219, np.nan, 0.9],
            "model_estimate": [1.03, np.nan, np.nan],
            "model_ci_low": [0.971, np.nan, np.nan],
            "model_ci_high": [1.092, np.nan, np.nan],
            "clock_elasticity": [0.04, np.nan, np.nan],
            "clock_reading": ["wire-bound", pd.NA, pd.NA],
            "clock_mhz_baseline": [2399.4, 2400.0, 2400.0],
            "clock_mhz_candidate": [2081.2, 2400.0, 2400.0],
        }
    )


def test_format_verdict_table():
    t = format_verdict_table(_verdict_frame(), by=("test", "msg_size_bytes", "pinning"))
    nb = "\u00a0"
    # sorted by test, then size as a number
    assert t["test"].tolist() == ["TCP_RR", "TCP_STREAM", "TCP_STREAM"]
    assert t["size (B)"].tolist() == ["1", "64", "16384"]
    row = t.iloc[2]
    assert row["change"] == f"+3.0{nb}%"
    assert row["CI"] == f"[-2.9,{nb}+9.2]{nb}%"
    assert (row["verdict"], row["basis"], row["runs needed"], row["n (b/c)"]) == ("inconclusive", "adjusted",
                                                                                  "17", "8/5")
    assert row["per GHz"] == f"+21.9{nb}%"
    assert t.iloc[1]["per GHz"] == "-" and t.iloc[0]["runs needed"] == "-"  # NaN runs_needed shows as "-"


def test_format_effects_table():
    t = format_effects_table(_verdict_frame())
    row = t[t["size (B)"] == "16384"].iloc[0]
    assert row["clock MHz (b/c)"] == "2399/2081"
    assert row["adjusted"] == "+3.0\u00a0%" and row["elasticity"] == "0.04" and row["reading"] == "wire-bound"
    assert t[t["size (B)"] == "64"].iloc[0]["reading"] == "-"


def test_findings_table_and_header_escape():
    findings = pd.DataFrame(
        {"severity": ["error", "info", "warn"], "check": ["too_few_runs", "outlier", "balance"],
         "cell": ["c1", "c2", "campaign"], "pv_model": [pd.NA, "A", pd.NA],
         "detail": ["few", "odd", f"host differs: {SCRIPT}"], "suggestion": ["run more", "look", "rerun"]}
    )  # fmt: skip
    page = format_findings_table(findings, severities=("error", "warn"))
    assert "too_few_runs" in page and "outlier" not in page and "suggestion" not in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "No findings of severity error" in format_findings_table(findings.iloc[[1]])
    ov = campaign_overview(_mem_campaign(["A", "B"]))
    head = format_header_html(f"c{SCRIPT}", "A", "B", ov, {"alpha": 0.05})
    assert "A (1 runs)" in head and "alpha 0.05" in head and "<script>" not in head
    assert format_paragraph_html(SCRIPT).count("&lt;script&gt;") == 1
    tv = format_overview_table(ov)
    assert tv.columns.tolist() == ["attribute", "A", "B"] and "cpu_mhz_min" in tv["attribute"].tolist()


def test_small_helpers():
    frame = _verdict_frame()
    assert multi_size_tests(frame) == ["TCP_STREAM"]
    assert multi_size_tests(pd.DataFrame()) == []
    assert showcase_row(frame) == 1
    with pytest.raises(ValueError, match=r"frame: the verdict table is empty"):
        showcase_row(pd.DataFrame())
    c = _mem_campaign(["A", "B"])
    c = Campaign("m", c.runs, pd.DataFrame({"run_id": ["r0"], "metric": ["latency_mean_s"], "value": [1.0]}),
                 pd.DataFrame(), pd.DataFrame())
    assert primary_metrics(c) == ["latency_mean_s"]
    setup_notebook()  # outside IPython: nothing to do, no error


def test_fit_models_matches_fit_model():
    import tempfile

    from analysis.ingest import load_campaign
    from analysis.model import fit_model
    from analysis.simulate import CampaignSpec, simulate_campaign

    with tempfile.TemporaryDirectory() as d:
        spec = CampaignSpec(tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 1024), trials=4)
        camp = load_campaign(simulate_campaign(Path(d) / "c", spec, seed=3))
    both = fit_models(camp, baseline=spec.baseline, candidate=spec.candidate)
    assert list(both.results) == ["throughput_bps", "transactions_per_s"]
    direct = fit_model(camp, metric="throughput_bps", baseline=spec.baseline, candidate=spec.candidate)
    got = both.to_frame()
    got = got[got["metric"] == "throughput_bps"].drop(columns="metric").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, direct.to_frame())
    assert set(both.raw_vs_adjusted["metric"]) == {"throughput_bps", "transactions_per_s"}
    assert "transactions_per_s" in both.summary()
    with pytest.raises(ValueError, match=r"metrics: \['jitter_s'\] not measured in campaign"):
        fit_models(camp, baseline=spec.baseline, candidate=spec.candidate, metrics=["jitter_s"])


def test_verdict_brief_and_confounds():
    frame = _verdict_frame()
    brief = format_verdict_brief(frame, baseline="virtio", candidate="venet", margin=0.05, n_excluded=2)
    assert brief == ("venet vs virtio (baseline): faster in 1 of 3 compared cells, inconclusive in 2. The models ran "
                     "at different CPU clocks in 1 of them: those verdicts rest on the clock-adjusted regression "
                     "effect. 2 cell(s) not compared.")
    findings = pd.DataFrame(
        {"severity": ["error", "error", "warn", "info"], "check": ["too_few_runs", "too_few_runs", "balance", "outlier"],
         "detail": ["too few runs", "too few runs", f"host mix differs: {SCRIPT} " + "x" * 100, "odd"]}
    )  # fmt: skip
    html_list = format_confounds_html(findings)
    assert "<strong>cells with too few runs</strong> (2):<ul><li>too few runs</li></ul>" in html_list  # shown once
    assert "covariate imbalance between the models" in html_list and "outlier" not in html_list
    assert "&lt;script&gt;" in html_list and "<script>" not in html_list
    assert "…" not in html_list and "x" * 100 in html_list  # every detail in full, never ellipsized
    assert format_confounds_html(findings.iloc[[3]]) == "<p>The audit found no error or warn.</p>"
    many = pd.DataFrame({"severity": ["warn"] * 5, "check": ["drift"] * 5, "detail": [f"d{i}" for i in range(5)]})
    listed = format_confounds_html(many, max_items=3)
    assert "<li>d2</li>" in listed and "d3" not in listed and "and 2 more (see the audit findings table)" in listed


def test_verdict_bullets_count_every_verdict_and_name_the_strongest():
    from types import SimpleNamespace

    frame = _verdict_frame()
    frame.loc[3] = frame.loc[1]
    frame.loc[3, ["msg_size_bytes", "estimate", "ci_low", "ci_high"]] = [1024, 1.08, 1.02, 1.15]
    excluded = pd.DataFrame({"test": ["TCP_STREAM", "UDP_RR", "TCP_RR"], "msg_size_bytes": [256, 1, 1],
                             "pinning": ["same-core"] * 3, "metric": [np.nan] * 3,
                             "n_baseline": [2, 3, 0], "n_candidate": [5, 3, 4],
                             "reason": ["too few runs: 2 of virtio, 5 of venet", "too few runs: 3 of each <b>",
                                        "measured by venet only (4 runs), none of virtio"]})  # fmt: skip
    findings = pd.DataFrame({"severity": ["error", "warn", "warn"], "check": ["a", "b", "c"], "detail": list("xyz")})
    result = SimpleNamespace(table=frame, excluded=excluded, by=("test", "msg_size_bytes", "pinning"),
                             baseline="virtio", candidate="venet", statistic="mean", correction="holm", alpha=0.05,
                             confidence_level=0.99, margin=0.05, audit=SimpleNamespace(findings=findings))
    out = format_verdict_bullets_html(result, strongest=1)
    assert "4 comparison(s), 3 cell(s) not compared" in out
    # faster: 2 cells, the larger change named first and alone; the other counted
    assert ("<strong>faster</strong> in 2 of 4 compared cells &mdash; strongest: TCP_STREAM 64 B split +23.7\u00a0% "
            "[+16.2,\u00a0+31.6]\u00a0%; 1 more in the verdict table</li>") in out
    # inconclusive: the cell closest to a verdict (fewest runs needed) named with its runs
    assert "TCP_STREAM 16384 B split +3.0\u00a0%" in out and "about 17 runs per model would settle it" in out
    assert "<strong>not compared</strong>: 3 &mdash; too few runs (2), measured by venet only (1)" in out
    assert "1 error(s), 2 warning(s)" in out and "clock-adjusted</strong>: 1 of the 4" in out
    table = format_excluded_table(excluded, by=result.by)
    assert table["reason"].tolist()[0] == "measured by venet only (4 runs), none of virtio"  # sorted by cell
    assert table["n (b/c)"].tolist() == ["0/4", "2/5", "3/3"] and (table["metric"] == "-").all()
    assert "&lt;b&gt;" in format_html_table(table) and "<b>" not in format_html_table(table)


def test_pdf_tables_break_long_words_not_numbers():
    t = pd.DataFrame({"metric": ["transactions_per_s"], "host": ["kvm.example.lab"], "ci": ["[+7.2,\u00a0+20.9]\u00a0%"],
                      "clock": ["2400.5/1919"]})
    out = _breakable("<p>not_a_cell</p>" + format_html_table(t))
    assert "<p>not_a_cell</p>" in out and "<th>metric</th>" in out  # only the cells get break opportunities
    assert "transactions_<wbr>per_<wbr>s" in out and "kvm.<wbr>example.<wbr>lab" in out
    assert "[+7.2,<wbr>\u00a0+20.9]" in out and "2400.5/1919" in out
