"""analysis.present: the verdict and findings renderers (text within a width, Markdown, CSV, JSON)."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.present import Section, Summary, findings_summary, verdict_summary
from analysis.present.summary import ansi_color, fit_widths, strip_ansi
from analysis.vocabulary import VERDICT_COLORS

pytestmark = pytest.mark.unit

LONG_HOST = "build-host-17.lab.example.org (Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1)"


def _table(by=("test", "msg_size_bytes", "pinning"), **extra) -> pd.DataFrame:
    rows = [
        ("TCP_STREAM", 64, "split", "throughput_bps", 1.20, 1.10, 1.31, "faster", "raw", np.nan),
        ("TCP_STREAM", 16384, "split", "throughput_bps", 1.01, 0.99, 1.03, "faster but within margin",
         "model-adjusted", np.nan),
        ("TCP_STREAM", 1024, "split", "throughput_bps", 1.0, 0.97, 1.03, "equivalent", "per-GHz", np.nan),
        ("TCP_RR", 1, "split", "transactions_per_s", 0.9, 0.85, 0.95, "slower", "raw", np.nan),
        ("TCP_RR", 1, "split", "latency_mean_s", 1.02, 0.9, 1.2, "inconclusive", "raw", 23.0),
    ]
    f = pd.DataFrame(rows, columns=["test", "msg_size_bytes", "pinning", "metric", "estimate", "ci_low", "ci_high",
                                    "verdict", "headline", "runs_needed"])
    f["n_baseline"], f["n_candidate"] = 5, 3
    f["confidence_level"] = 0.99
    f["pvalue_adjusted"] = 0.01
    for k, v in extra.items():
        f[k] = v
    return f


def _result(frame: pd.DataFrame, by=("test", "msg_size_bytes", "pinning"), findings=None, notes=()):
    audit = None if findings is None else SimpleNamespace(findings=findings)
    return SimpleNamespace(to_frame=lambda: frame.copy(), by=tuple(by), margin=0.05, alpha=0.05,
                           confidence_level=0.99, statistic="mean", correction="holm", baseline="virtio",
                           candidate="venet", excluded=pd.DataFrame(), audit=audit, notes=tuple(notes))


def _findings():
    return pd.DataFrame({
        "severity": ["error", "warn", "info"], "check": ["too_few_runs", "balance", "order"],
        "cell": ["test=TCP_RR, msg_size_bytes=1, pinning=same-core", "campaign", "campaign"],
        "pv_model": [None, None, None], "metric": [None, None, None],
        "detail": ["too few runs: 2 of virtio, 5 of venet; a comparison needs at least 3 of each; excluded from "
                   "comparisons", "cpu_mhz: standardized mean difference -1.40 (> 0.1) " * 3, "interleaved"],
        "suggestion": ["run more", "", ""],
    })


def test_fit_widths_wraps_in_the_given_order():
    t = pd.DataFrame({"cell": ["16384 B, same-core"], "n": ["5/3"], "verdict": ["faster but within margin"]})
    # natural: 18 + 3 + 24 + 2 x 2 = 49
    assert fit_widths(t, 80, wrap=["cell", "verdict"]) == [18, 3, 24]
    assert fit_widths(t, 40, wrap=["cell", "verdict"]) == [9, 3, 24]  # cell gives all it can first
    assert fit_widths(t, 30, wrap=["cell", "verdict"]) == [9, 3, 14]
    assert fit_widths(t, 30, wrap=["verdict"]) == [18, 3, 7]
    assert fit_widths(t, 10, wrap=[]) == [18, 3, 24]  # nothing wrappable: never cut


def test_text_fits_the_width_and_keeps_every_word_of_a_long_label():
    f = _table(host=LONG_HOST)
    s = verdict_summary(_result(f, by=("test", "msg_size_bytes", "pinning", "host"), findings=_findings()))
    for width in (80,):
        text = s.as_text(width)
        assert max(len(line) for line in text.splitlines()) <= width
        words = " ".join(text.split())
        for word in LONG_HOST.split():
            assert word in words  # wrapped, not cut
        assert "…" not in text and "..." not in text


def test_verdict_text_shows_each_verdict_basis_and_runs_needed():
    text = verdict_summary(_result(_table(), findings=_findings(), notes=("a compare note",))).as_text()
    for word in ("faster", "slower", "equivalent within ±5 %", "inconclusive"):
        assert word in text
    assert "faster but within margin" in text.replace("\n", " ") or "faster but" in text
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("16384 B"))
    assert "adjusted" in row and "+1.0" in row and "[-1.0, +3.0]" in row
    assert any("per GHz" in line for line in lines)
    assert any(line.rstrip().endswith("23") for line in lines)  # runs needed of the inconclusive cell
    # sections by test, in order; one note per audit error or warning (info left out), then compare notes
    assert text.index("TCP_RR, pinning=split") < text.index("TCP_STREAM, pinning=split: throughput_bps")
    assert "error too_few_runs, test=TCP_RR" in text and "warn balance, campaign" in text
    assert "order, campaign" not in text
    assert "note: a compare note" in text


def test_basis_column_and_route_are_used_when_present():
    f = _table(basis="raw", route="bca")
    rows = verdict_summary(_result(f)).to_frame()
    assert set(rows["basis"]) == {"raw"} and set(rows["route"]) == {"bca"}
    text = verdict_summary(_result(f)).as_text()
    assert "route" in text and "bca" in text
    # without the columns: basis from headline, no route column
    rows = verdict_summary(_result(_table())).to_frame()
    assert "route" not in rows and set(rows["basis"]) == {"raw", "model-adjusted", "per-GHz"}


def test_cell_key_comes_from_the_result():
    f = _table(tool="iperf3")
    s = verdict_summary(_result(f, by=("tool", "test", "msg_size_bytes", "pinning")))
    assert {sec.title.split(":")[0] for sec in s.sections} == {"tool=iperf3, TCP_STREAM, pinning=split",
                                                               "tool=iperf3, TCP_RR, pinning=split"}
    assert "tool" in s.to_frame().columns


def test_csv_and_json_carry_the_typed_rows():
    s = verdict_summary(_result(_table()))
    back = pd.read_csv(io.StringIO(s.as_csv()))
    assert len(back) == 5
    r = back.set_index(["test", "msg_size_bytes", "metric"]).loc[("TCP_STREAM", 64, "throughput_bps")]
    assert r["verdict"] == "faster"
    assert r["change_pct"] == pytest.approx(20.0) and r["ci_low_pct"] == pytest.approx(10.0)
    doc = json.loads(s.as_json())
    assert [row["verdict"] for row in doc["rows"]] == list(back["verdict"])
    inconclusive = next(row for row in doc["rows"] if row["verdict"] == "inconclusive")
    assert inconclusive["runs_needed"] == 23
    assert next(row for row in doc["rows"] if row["verdict"] == "faster")["runs_needed"] is None  # NaN -> null
    assert doc["facts"]["baseline"] == "virtio"


def test_markdown_is_a_pipe_table_with_escaped_bars():
    f = _table(pinning="a|b")
    md = verdict_summary(_result(f, findings=_findings())).as_markdown()
    assert "### TCP_STREAM, pinning=a\\|b: throughput_bps" in md
    assert "| cell | n b/c | change % | CI % | verdict | basis | runs needed |" in md
    assert "| 64 B | 5/3 | +20.0 | [+10.0, +31.0] | faster | raw | - |" in md
    assert "1. error too_few_runs" in md


def test_colour_paints_the_verdict_words_only():
    s = verdict_summary(_result(_table()))
    plain, colored = s.as_text(), s.as_text(color=True)
    assert strip_ansi(colored) == plain
    assert ansi_color("faster", VERDICT_COLORS["faster"]) in colored
    assert ansi_color("slower", VERDICT_COLORS["slower"]) in colored
    assert "\x1b" not in plain
    assert ansi_color("x", "#1e8449") == "\x1b[38;2;30;132;73mx\x1b[0m"


def test_findings_summary_lists_by_severity_with_suggestions():
    res = SimpleNamespace(findings=_findings(), baseline="virtio", candidate="venet",
                          excluded_cells=pd.DataFrame({"cell": ["x"]}), excluded_runs=pd.DataFrame())
    s = findings_summary(res)
    assert [sec.title for sec in s.sections] == ["Errors (1)", "Warnings (1)", "Information (1)"]
    text = s.as_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "1. too_few_runs  test=TCP_RR, msg_size_bytes=1, pinning=same-core" in text
    assert "-> run more" in text
    assert "findings: 1 error, 1 warn, 1 info" in text
    assert list(pd.read_csv(io.StringIO(s.as_csv()))["check"]) == ["too_few_runs", "balance", "order"]


def test_empty_summary_says_so():
    s = Summary(title="t", empty="No cell could be compared.")
    assert "No cell could be compared." in s.as_text()
    assert s.as_csv().strip() == "" and json.loads(s.as_json())["rows"] == []
    sec = Section("x", pd.DataFrame({"a": ["1"]}), pd.DataFrame({"a": [1]}))
    assert Summary(title="t", sections=(sec,)).to_frame()["a"].tolist() == [1]


def test_html_escapes_campaign_strings_and_holds_every_display_cell():
    f = _table(pinning="<script>x</script>")
    s = verdict_summary(_result(f, findings=_findings()))
    page = s.as_html()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert s._repr_html_() == page
    for sec in s.sections:
        for v in sec.display.to_numpy().ravel():
            assert f"<td>{__import__('html').escape(v)}</td>" in page
    assert page.count('<table class="pvfair">') == len(s.sections)


def test_width_below_40_is_refused(capsys):
    from analysis.cli import main

    with pytest.raises(SystemExit):
        main(["compare", "data/raw/demo", "--width", "20"])
    assert "expected at least 40 characters, found 20" in capsys.readouterr().err
