"""manifest.csv: structure, typed values, row rejects, path safety, reconciling with tool output, CPU clock."""

from __future__ import annotations

import os
import re

import pandas as pd
import pytest

from analysis.manifest import (
    IGNORED_FILES,
    MANIFEST_COLUMNS,
    RESERVED_COLUMNS,
    UnsafePathError,
    effective_cpu_mhz,
    is_ignored,
    list_campaign_files,
    normalize_path,
    parse_manifest_text,
    read_manifest,
    reconcile,
    resolve_inside,
    scan_campaign_files,
)

pytestmark = pytest.mark.unit


def _rows(text: str):
    return parse_manifest_text(text).rows


# ------------------------------------------------------------------------------------------------ paths


@pytest.mark.parametrize(
    ("given", "expected"),
    [("a.txt", "a.txt"), ("./netperf//run1.txt", "netperf/run1.txt"), ("netperf\\run1.txt", "netperf/run1.txt"),
     ("  a/./b.txt ", "a/b.txt")],
)
def test_normalize_path(given, expected):
    assert normalize_path(given) == expected


@pytest.mark.parametrize(
    ("given", "match"),
    [("../../etc/passwd", r"'\.\.' component"), ("a/../../b", r"'\.\.' component"), ("a\\..\\..\\b", r"'\.\.'"),
     ("/etc/passwd", "absolute path"), ("C:\\x\\y.txt", "absolute path"), ("\\\\host\\share\\x", "absolute path"),
     ("", "empty path"), ("./", "campaign folder itself")],
)
def test_normalize_path_refuses(given, match):
    with pytest.raises(UnsafePathError, match=match):
        normalize_path(given)


def test_resolve_inside_symlinks(tmp_path):
    camp = tmp_path / "camp"
    (camp / "sub").mkdir(parents=True)
    (camp / "sub" / "real.txt").write_text("x")
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(tmp_path / "outside.txt", camp / "out_link.txt")
    os.symlink(camp / "sub" / "real.txt", camp / "in_link.txt")
    os.symlink(tmp_path, camp / "dir_out")
    assert resolve_inside(camp, "in_link.txt") == (camp / "sub" / "real.txt").resolve()
    assert resolve_inside(camp, "sub/real.txt") == (camp / "sub" / "real.txt").resolve()
    with pytest.raises(UnsafePathError, match="resolves outside the campaign folder"):
        resolve_inside(camp, "out_link.txt")
    with pytest.raises(UnsafePathError, match="resolves outside the campaign folder"):
        resolve_inside(camp, "dir_out/outside.txt")
    with pytest.raises(UnsafePathError, match=r"'\.\.' component"):
        resolve_inside(camp, "../outside.txt")


def test_ignored_files_and_listing(tmp_path):
    assert IGNORED_FILES == ("manifest.csv", "readme*", "truth.csv", "metadata*", ".*")
    assert [is_ignored(n) for n in ("README.md", "readme", "Manifest.CSV", "truth.csv", "metadata.json",
                                    ".gitkeep", "run.txt", "truth2.csv")] == [
        True, True, True, True, True, True, False, False]
    for rel in ("manifest.csv", "README.md", "truth.csv", "metadata.yaml", ".gitkeep", "a.txt", "n/b.txt",
                "n/README", "n/m/c.json", ".hidden/d.txt"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    assert list_campaign_files(tmp_path) == ["a.txt", "n/b.txt", "n/m/c.json"]


def test_scan_flags_symlinks(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("x")
    os.symlink(tmp_path / "d" / "a.txt", tmp_path / "link.txt")
    os.symlink(tmp_path / "d", tmp_path / "linked_dir")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    assert scan_campaign_files(tmp_path) == {"d/a.txt": True, "dangling": False, "link.txt": False}


# ------------------------------------------------------------------------------------------------ structure


@pytest.mark.parametrize(
    ("text", "match"),
    [("", "manifest.csv: empty; expected a header row"),
     ("\n\n", "manifest.csv: empty; expected a header row"),
     ("path,pv_model\na,b\n", r"manifest.csv: line 1: no 'file' column; expected a header with at least file, "
                              r"pv_model, found \['path', 'pv_model'\]"),
     ("file,model\na,b\n", "no 'pv_model' column"),
     ("test\nTCP_RR\n", "no 'file' or 'pv_model' column"),
     ("file,pv_model,,x\n", "header column 3 has no name"),
     ("file,pv_model,trial,trial\n", r"duplicated header column\(s\) \['trial'\]"),
     ("file,pv_model,run_id\n", r"column\(s\) \['run_id'\] are set by ingest"),
     ("file,pv_model,source_sha256\n", "set by ingest"),
     ('file,pv_model\n"a.txt"x,A\n', "manifest.csv: line 2: expected CSV"),
     ("file,pv_model\na\x00,A\n", "expected CSV text, found a NUL byte")],
)
def test_broken_manifest_raises(text, match):
    with pytest.raises(ValueError, match=match):
        parse_manifest_text(text)


def test_read_manifest_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.csv: not found at .*expected a manifest.csv with columns "
                                                "file, pv_model"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_bytes(b"file,pv_model\na.txt,\xff\n")
    with pytest.raises(ValueError, match="manifest.csv: line 2: expected UTF-8 CSV text, found byte 0xff"):
        read_manifest(tmp_path)


def test_reserved_columns_are_the_derived_ones():
    assert set(RESERVED_COLUMNS) == {"campaign", "run_id", "cpu_mhz_source", "duration_s", "confidence_met",
                                     "tool_version", "source_file", "source_sha256", "parser", "parser_version"}
    assert "file" not in MANIFEST_COLUMNS and MANIFEST_COLUMNS["msg_size_bytes"] == "Int64"


# ------------------------------------------------------------------------------------------------ values


def test_typed_values_and_extras(tmp_path):
    (tmp_path / "manifest.csv").write_bytes(
        "\ufefffile,pv_model,msg_size_bytes,cpu_mhz,warmup,start_time,tool,direction,trial,kernel_cmdline\r\n"
        "./n/a.txt,virtio,1e3,2596.5,yes,2009-09-01 12:00:00,NetPerf,Send,0,quiet splash\r\n"
        "b.txt,venet,,,0,2009-09-01T14:00:00+02:00,,,,\r\n".encode())
    m = read_manifest(tmp_path)
    a, b = m.rows
    assert m.extra_columns == ("kernel_cmdline",)
    assert (a.line, a.file, a.run_id, a.problem) == (2, "./n/a.txt", "n/a.txt", None)
    assert a.values == {"pv_model": "virtio", "msg_size_bytes": 1000, "cpu_mhz": 2596.5, "warmup": True,
                        "start_time": pd.Timestamp("2009-09-01 12:00:00", tz="UTC"), "tool": "netperf",
                        "direction": "send", "trial": 0, "kernel_cmdline": "quiet splash"}
    assert isinstance(a.values["msg_size_bytes"], int)
    assert b.values == {"pv_model": "venet", "warmup": False,
                        "start_time": pd.Timestamp("2009-09-01 12:00:00", tz="UTC")}
    frame = m.to_frame()
    assert list(frame["run_id"]) == ["n/a.txt", "b.txt"] and frame["reason"].isna().all()
    assert "2 rows, 2 valid" in m.summary() and "extra columns (kept as text): kernel_cmdline" in m.summary()


@pytest.mark.parametrize(
    ("cells", "match"),
    [("a.txt,A,abc", r"manifest.csv line 2: column 'msg_size_bytes': expected a whole number, found 'abc'"),
     ("a.txt,A,1024.5", r"column 'msg_size_bytes': expected a whole number, found '1024.5'"),
     ("a.txt,A,-64", r"column 'msg_size_bytes': expected a positive number, found '-64'"),
     ("a.txt,A,64,fast", r"column 'cpu_mhz': expected a finite number, found 'fast'"),
     ("a.txt,A,64,inf", r"column 'cpu_mhz': expected a finite number, found 'inf'"),
     ("a.txt,A,,,sideways", r"column 'direction': expected one of \['send', 'receive', 'bidir'\]"),
     ("a.txt,A,,,,maybe", r"column 'warmup': expected true/false, yes/no or 1/0, found 'maybe'"),
     ("a.txt,A,,,,,yesterday-ish", r"column 'start_time': expected a date and time"),
     ("a.txt,A,,,,,,ping", r"column 'tool': expected one of \['iperf2', 'iperf3', 'netperf', 'sockperf'\]"),
     ("a.txt,A,,,,,,,-1", r"column 'trial': expected a number >= 0, found '-1'"),
     ("a.txt,,64", r"manifest.csv line 2: column 'pv_model' is empty; expected the PV model's name"),
     ("a.txt,A,,,,,,,,,surplus", r"11 cells but the header has 9 columns"),
     (",A,64", r"manifest.csv line 2: column 'file' is empty; expected a path")],
)
def test_invalid_rows(cells, match):
    header = "file,pv_model,msg_size_bytes,cpu_mhz,direction,warmup,start_time,tool,trial\n"
    (row,) = _rows(header + cells + "\n")
    assert row.problem is not None
    reason, detail = row.problem
    assert reason == "invalid_manifest_row"
    assert re.search(match, detail), detail


def test_several_errors_in_one_row_are_all_named():
    (row,) = _rows("file,pv_model,msg_size_bytes,streams\na.txt,A,x,0\n")
    assert row.problem == ("invalid_manifest_row", "manifest.csv line 2: column 'msg_size_bytes': expected a "
                           "whole number, found 'x'; column 'streams': expected a positive number, found '0'")


def test_unsafe_and_duplicate_rows():
    rows = _rows("file,pv_model\n../../etc/passwd,A\n/etc/shadow,A\na.txt,A\n\n./a.txt,B\nb.txt,B\n")
    assert [r.problem[0] if r.problem else None for r in rows] == [
        "unsafe_path", "unsafe_path", "duplicate_manifest_row", "duplicate_manifest_row", None]
    assert rows[0].run_id is None and rows[0].source_file == "../../etc/passwd"
    assert rows[0].problem[1] == ("manifest.csv line 2: file: '../../etc/passwd' has a '..' component that leaves "
                                  "the campaign folder; expected a path inside it (not opened)")
    assert rows[2].problem[1] == "manifest.csv lines 4, 6 all name 'a.txt'; expected one row per file"
    assert rows[3].line == 6  # the blank line 5 is skipped but counted
    assert rows[4].values == {"pv_model": "B"}


def test_line_numbers_follow_multiline_quoted_cells():
    rows = _rows('file,pv_model,note\na.txt,A,"two\nlines"\nb.txt,,x\n')
    assert rows[1].line == 4
    assert rows[1].problem[1].startswith("manifest.csv line 4:")
    assert rows[0].values["note"] == "two\nlines"


def test_fewer_cells_than_columns_are_empty():
    (row,) = _rows("file,pv_model,test,trial\na.txt,A\n")
    assert row.problem is None and row.values == {"pv_model": "A"}


def test_summary_html_is_escaped():
    m = parse_manifest_text("file,pv_model,<b>x</b>\na.txt,A,1\n")
    assert "&lt;b&gt;x&lt;/b&gt;" in m._repr_html_() and "<b>x" not in m._repr_html_()


# ------------------------------------------------------------------------------------------------ reconcile


def test_reconcile_fills_and_reports_mismatch():
    merged, bad = reconcile({"pv_model": "A", "msg_size_bytes": 1024}, {"msg_size_bytes": 16384, "test": "TCP_RR"},
                            where="manifest.csv line 3")
    assert bad == ["msg_size_bytes: manifest.csv line 3 says 1024, the file says 16384"]
    merged, bad = reconcile({"pv_model": "A", "test": "tcp_stream", "streams": 1},
                            {"test": "TCP_STREAM", "msg_size_bytes": 16384, "streams": 1, "duration_s": 10.0,
                             "confidence_interval_width_pct": 2.5, "tool_version": None})
    assert bad == []
    assert merged == {"pv_model": "A", "test": "TCP_STREAM", "streams": 1, "msg_size_bytes": 16384,
                      "duration_s": 10.0, "confidence_interval_width_pct": 2.5}


def test_reconcile_tolerances_and_cpu_precedence():
    t = pd.Timestamp("2026-11-26 00:40:17", tz="UTC")
    _, bad = reconcile({"start_time": t, "cpu_mhz": 1000.0}, {"start_time": t + pd.Timedelta("500ms"),
                                                             "cpu_mhz": 2596.0})
    assert bad == []
    _, bad = reconcile({"start_time": t}, {"start_time": t + pd.Timedelta("1h")})
    assert bad == ["start_time: manifest.csv says 2026-11-26T00:40:17+00:00, the file says "
                   "2026-11-26T01:40:17+00:00"]
    _, bad = reconcile({"note": "2.50", "other": "x"}, {"note": 2.5, "other": 3})
    assert bad == ["other: manifest.csv says 'x', the file says '3'"]
    _, bad = reconcile({"direction": "send", "test": "TCP_RR"}, {"direction": "receive", "test": "TCP_STREAM"})
    assert bad == ["direction: manifest.csv says 'send', the file says 'receive'",
                   "test: manifest.csv says 'TCP_RR', the file says 'TCP_STREAM'"]


@pytest.mark.parametrize(
    ("manifest", "tool", "expected"),
    [({"cpu_mhz_before": 2000.0, "cpu_mhz_after": 2400.0, "cpu_mhz": 1.0}, {"cpu_mhz": 2596.0},
      (2200.0, "manifest-before-after")),
     ({"cpu_mhz_before": 2000.0, "cpu_mhz": 1800.0}, {"cpu_mhz": 2596.0}, (1800.0, "manifest")),
     ({"cpu_mhz_after": 2000.0}, {"cpu_mhz": 2596.0}, (2596.0, "tool")),
     ({}, {}, (None, None))],
)
def test_effective_cpu_mhz(manifest, tool, expected):
    assert effective_cpu_mhz(manifest, tool) == expected
