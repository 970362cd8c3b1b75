"""ingest: rejects for every reason, path safety, accounting, idempotence, Parquet round trip, CLI, real samples."""

from __future__ import annotations

import builtins
import io
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis import parsers
from analysis.cli import main
from analysis.ingest import (
    Campaign,
    default_out_dir,
    format_ingest_summary,
    ingest_campaign,
    load_campaign,
    write_campaign,
)
from analysis.parsers import IntervalSample, ParsedRun, ParseError, ToolReportedError
from analysis.schema import INTERVAL_COLUMNS, MEASUREMENT_COLUMNS, REJECT_COLUMNS, REJECT_REASONS, RUN_COLUMNS
from tests.conftest import SAMPLES

#: reject reasons of manifest marks (status / exclude columns), tested on their own campaigns
MARK_REASONS = {"marked_failed", "excluded_in_manifest"}

pytestmark = pytest.mark.unit


# ------------------------------------------------------------------------------------------------ fake tool
# "FAKE" files: first line FAKE, then key=value lines. ERROR=<text> is a tool-reported failure; a line without
# '=' is a parse error. Keys: msg (msg_size_bytes), test, mhz (cpu_mhz), tput (throughput_bps, bits/s),
# lat (latency_mean_s), ci (an extra field), iv (comma-separated interval throughputs, 1 s each), note.


def _fake_parse(text: str, path, *, test=None) -> ParsedRun:
    lines = text.split("\n")
    kv: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ParseError(path, i, "key=value", found=line)
        if key == "ERROR":
            raise ToolReportedError(path, i, value)
        kv[key] = value
    fields: dict = {"test": kv.get("test", test)}
    if "msg" in kv:
        fields["msg_size_bytes"] = int(kv["msg"])
    if "mhz" in kv:
        fields["cpu_mhz"] = float(kv["mhz"])
    if "ci" in kv:
        fields["confidence_interval_width_pct"] = float(kv["ci"])
    measurements = {"throughput_bps": float(kv["tput"])}
    if "lat" in kv:
        measurements["latency_mean_s"] = float(kv["lat"])
    intervals = tuple(IntervalSample("throughput_bps", float(j), float(j + 1), float(v))
                      for j, v in enumerate(kv["iv"].split(","))) if "iv" in kv else ()
    notes = (kv["note"],) if "note" in kv else ()
    return ParsedRun(tool="fake", parser="fake-kv", parser_version="1.2", fields=fields,
                     measurements=measurements, intervals=intervals, notes=notes)


FAKE = SimpleNamespace(TOOL="fake", PARSER_VERSION="1.2", sniff=lambda text: text.startswith("FAKE"),
                       parse=_fake_parse)


@pytest.fixture
def fake_tool(monkeypatch):
    monkeypatch.setattr(parsers, "PARSERS", {"fake": FAKE})
    return FAKE


def _make(root: Path, files: dict[str, str], manifest: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / "manifest.csv").write_text(manifest)
    return root


GOOD = {
    "a/run1.txt": "FAKE\nmsg=16384\ntest=TCP_STREAM\ntput=9.4e8\niv=9e8,9.8e8\n",
    "a/run2.txt": "FAKE\nmsg=16384\ntest=TCP_STREAM\ntput=9.0e8\nmhz=2596\nci=2.5\nnote=confidence not met\n",
    "b/run3.txt": "FAKE\r\nmsg=64\r\ntput=1.5e8\r\nlat=4.5e-5\r\nmhz=2000\r\n",
}
GOOD_MANIFEST = (
    "file,pv_model,test,msg_size_bytes,pinning,cpu_mhz_before,cpu_mhz_after,cpu_mhz,rack\n"
    "a/run1.txt,virtio,tcp_stream,,split,2000,2400,,r1\n"
    "a/run2.txt,virtio,,16384,split,,,,r1\n"
    "b/run3.txt,venet,UDP_STREAM,,same,,,1800,\n"
)

BROKEN = {
    "bad_parse.txt": "FAKE\nmsg=64\nthis line is junk\n",
    "tool_failed.txt": "FAKE\nERROR=unable to connect to 10.0.0.2\n",
    "not_a_tool.txt": "hello world\n",
    "mismatch.txt": "FAKE\nmsg=16384\ntest=TCP_STREAM\ntput=1e9\n",
    "orphan.txt": "FAKE\ntput=1\n",
    "invalid_row.txt": "FAKE\ntput=1\n",
    "dup.txt": "FAKE\ntput=1\n",
    "README.md": "not a run",
    "truth.csv": "cell,ratio\n",
    "metadata.json": "{}",
}
BROKEN_MANIFEST = (
    "file,pv_model,msg_size_bytes\n"
    "bad_parse.txt,A,\n"
    "tool_failed.txt,A,\n"
    "not_a_tool.txt,A,\n"
    "mismatch.txt,A,1024\n"
    "gone.txt,B,\n"
    "../../etc/passwd,B,\n"
    "invalid_row.txt,B,many\n"
    "dup.txt,A,\n"
    "./dup.txt,B,\n"
    ",B,64\n"
)


@pytest.fixture
def good(tmp_path, fake_tool) -> Path:
    return _make(tmp_path / "raw" / "good", GOOD, GOOD_MANIFEST)


@pytest.fixture
def broken(tmp_path, fake_tool) -> Path:
    return _make(tmp_path / "raw" / "broken", BROKEN, BROKEN_MANIFEST)


# ------------------------------------------------------------------------------------------------ good runs


def test_runs_values_and_provenance(good):
    c = ingest_campaign(good)
    assert c.name == "good" and c.root == good
    runs = c.runs.set_index("run_id")
    assert list(c.runs["run_id"]) == ["a/run1.txt", "a/run2.txt", "b/run3.txt"]
    assert list(c.runs.columns[: len(RUN_COLUMNS)]) == list(RUN_COLUMNS)
    assert list(c.runs.columns[len(RUN_COLUMNS):]) == ["rack", "confidence_interval_width_pct", "cpu_mhz_tool",
                                                      "parse_notes"]
    r1, r2, r3 = (runs.loc[k] for k in ("a/run1.txt", "a/run2.txt", "b/run3.txt"))
    # tool spelling kept where the manifest agrees case-insensitively; empty cells filled from the file
    assert (r1["test"], r1["msg_size_bytes"], r2["test"], r3["test"], r3["msg_size_bytes"]) == (
        "TCP_STREAM", 16384, "TCP_STREAM", "UDP_STREAM", 64)
    assert (r1["cpu_mhz"], r1["cpu_mhz_source"]) == (2200.0, "manifest-before-after")
    assert (r2["cpu_mhz"], r2["cpu_mhz_source"]) == (2596.0, "tool")
    assert (r3["cpu_mhz"], r3["cpu_mhz_source"]) == (1800.0, "manifest")
    assert pd.isna(r1["cpu_mhz_tool"]) and pd.isna(r2["cpu_mhz_tool"]) and r3["cpu_mhz_tool"] == 2000.0
    assert r2["confidence_interval_width_pct"] == 2.5 and r2["parse_notes"] == "confidence not met"
    assert r1["rack"] == "r1" and pd.isna(r3["rack"])
    assert r1["source_file"] == "a/run1.txt" and r1["campaign"] == "good"
    import hashlib

    assert r1["source_sha256"] == hashlib.sha256((good / "a/run1.txt").read_bytes()).hexdigest()
    assert (r1["tool"], r1["parser"], r1["parser_version"]) == ("fake", "fake-kv", "1.2")
    assert str(c.runs["msg_size_bytes"].dtype) == "Int64" and str(c.runs["rack"].dtype) == "string"
    assert str(c.runs["confidence_interval_width_pct"].dtype) == "float64"


def test_measurements_and_intervals(good):
    c = ingest_campaign(good)
    assert list(c.measurements.columns) == list(MEASUREMENT_COLUMNS)
    assert c.measurements.values.tolist() == [
        ["a/run1.txt", "throughput_bps", 9.4e8], ["a/run2.txt", "throughput_bps", 9.0e8],
        ["b/run3.txt", "latency_mean_s", 4.5e-5], ["b/run3.txt", "throughput_bps", 1.5e8]]
    assert list(c.intervals.columns) == list(INTERVAL_COLUMNS)
    assert c.intervals[["run_id", "interval_start_s", "interval_end_s", "value"]].values.tolist() == [
        ["a/run1.txt", 0.0, 1.0, 9e8], ["a/run1.txt", 1.0, 2.0, 9.8e8]]
    assert c.intervals["stream"].isna().all()
    assert c.summary["seen"] == 3 and c.summary["ingested"] == 3 and c.summary["rejected"] == 0
    assert c.rejects.empty and list(c.rejects.columns) == list(REJECT_COLUMNS)


# ------------------------------------------------------------------------------------------------ rejects


def test_every_reject_reason(broken):
    c = ingest_campaign(broken)
    got = {(r.source_file, r.reason) for r in c.rejects.itertuples()}
    assert got == {
        ("bad_parse.txt", "parse_error"), ("tool_failed.txt", "tool_error"), ("not_a_tool.txt", "unknown_tool"),
        ("mismatch.txt", "manifest_mismatch"), ("gone.txt", "missing_file"), ("../../etc/passwd", "unsafe_path"),
        ("invalid_row.txt", "invalid_manifest_row"), ("dup.txt", "duplicate_manifest_row"),
        ("orphan.txt", "no_manifest_row"), ("manifest.csv:11", "invalid_manifest_row"),
    }
    assert {r for _, r in got} == set(REJECT_REASONS) - MARK_REASONS  # the marks: test_manifest_marks_*
    detail = dict(zip(c.rejects["source_file"], c.rejects["detail"], strict=True))
    assert detail["bad_parse.txt"] == "bad_parse.txt:3: expected key=value, found 'this line is junk'"
    assert "tool error: unable to connect to 10.0.0.2" in detail["tool_failed.txt"]
    assert detail["not_a_tool.txt"].startswith("not_a_tool.txt:1: expected output of one of ['fake']")
    assert detail["mismatch.txt"] == ("mismatch.txt: msg_size_bytes: manifest.csv line 5 says 1024, the file "
                                      "says 16384")
    assert detail["gone.txt"] == ("manifest.csv line 6 names 'gone.txt', which does not exist in the campaign "
                                  "folder")
    assert "'../../etc/passwd' has a '..' component" in detail["../../etc/passwd"]
    assert detail["invalid_row.txt"] == ("manifest.csv line 8: column 'msg_size_bytes': expected a whole number, "
                                         "found 'many'")
    assert detail["dup.txt"] == "manifest.csv lines 9, 10 all name 'dup.txt'; expected one row per file"
    assert detail["orphan.txt"].startswith("orphan.txt: fake output, but no row of manifest.csv names this file")
    # accounting: 7 data files + 3 ignored by name (README, truth, metadata) on disk + 3 manifest-only items
    s = c.summary
    assert (s["files_on_disk"], s["manifest_rows"], s["seen"], s["ingested"], s["rejected"]) == (10, 10, 10, 0, 10)
    assert s["seen"] == s["ingested"] + s["rejected"] == len(c.runs) + len(c.rejects)
    assert (s["files_seen"], s["ignored"]) == (13, 3) == (len(c.runs) + len(c.rejects) + len(c.ignored), 3)
    assert sum(s["rejected_by_reason"].values()) == s["rejected"]
    assert c.runs.empty and list(c.runs.columns[: len(RUN_COLUMNS)]) == list(RUN_COLUMNS)


def test_mixed_campaign_accounting(tmp_path, fake_tool):
    files = GOOD | BROKEN
    # the broken rows (file, pv_model, msg_size_bytes) padded to the good header's columns
    rows = [ln.split(",") for ln in BROKEN_MANIFEST.strip().split("\n")[1:]]
    manifest = GOOD_MANIFEST + "".join(f"{r[0]},{r[1]},,{r[2]},,,,,\n" for r in rows)
    c = ingest_campaign(_make(tmp_path / "mixed", files, manifest))
    s = c.summary
    assert (s["seen"], s["ingested"], s["rejected"]) == (13, 3, 10)
    assert s["rejected_by_reason"] == {reason: (2 if reason == "invalid_manifest_row" else 1)
                                       for reason in set(REJECT_REASONS) - MARK_REASONS}


def test_manifest_tool_column_forces_parser(tmp_path, fake_tool):
    root = _make(tmp_path / "c", {"x.txt": "no magic line\ntput=5\n", "y.txt": "no magic line\ntput=6\n"},
                 "file,pv_model,tool\nx.txt,A,fake\ny.txt,A,\n")
    c = ingest_campaign(root)
    assert c.runs[["run_id", "tool"]].values.tolist() == [["x.txt", "fake"]]
    assert c.measurements["value"].tolist() == [5.0]
    assert c.rejects[["source_file", "reason"]].values.tolist() == [["y.txt", "unknown_tool"]]


def test_directory_named_as_file(tmp_path, fake_tool):
    root = _make(tmp_path / "c", {"d/x.txt": "FAKE\ntput=1\n"}, "file,pv_model\nd,A\nd/x.txt,A\n")
    c = ingest_campaign(root)
    assert c.rejects.values.tolist() == [["d", "missing_file", "manifest.csv line 2 names 'd', which is a "
                                                               "directory"]]
    assert c.runs["run_id"].tolist() == ["d/x.txt"]


def test_non_utf8_file_is_a_parse_error(tmp_path, fake_tool):
    root = _make(tmp_path / "c", {}, "file,pv_model\nbin.dat,A\n")
    (root / "bin.dat").write_bytes(b"FAKE\ntput=1\n\xff\xfe")
    c = ingest_campaign(root)
    assert c.rejects.values.tolist() == [["bin.dat", "parse_error", "bin.dat:3: expected UTF-8 text, found "
                                                                    "'byte 0xff'"]]


def test_unreadable_file_is_a_parse_error(tmp_path, fake_tool, monkeypatch):
    root = _make(tmp_path / "c", {"locked.txt": "FAKE\ntput=1\n", "ok.txt": "FAKE\ntput=2\n"},
                 "file,pv_model\nlocked.txt,A\nok.txt,A\n")
    real_open = builtins.open

    def deny(file, *args, **kwargs):
        if str(file).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    c = ingest_campaign(root)
    assert c.rejects.values.tolist() == [["locked.txt", "parse_error", "locked.txt: expected a readable file, "
                                                                       "found Permission denied"]]
    assert c.runs["run_id"].tolist() == ["ok.txt"]


# ------------------------------------------------------------------------------------------------ path safety


@pytest.fixture
def forbid_outside_reads(monkeypatch):
    """Make any open() of a path outside the allowed root fail loudly; returns the list of attempts."""
    attempts: list[str] = []
    state: dict[str, Path] = {}

    def guard(path):
        p = Path(os.path.realpath(os.fspath(path))) if isinstance(path, str | os.PathLike) else None
        root = state.get("root")
        if p is not None and root is not None and root not in p.parents:
            attempts.append(str(p))
            raise AssertionError(f"ingest opened {p}, outside the campaign folder")

    real_open, real_os_open = builtins.open, os.open

    def fake_open(file, *args, **kwargs):
        guard(file)
        return real_open(file, *args, **kwargs)

    def fake_os_open(path, *args, **kwargs):
        guard(path)
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    return state, attempts


def test_outside_paths_refused_and_never_read(tmp_path, fake_tool, forbid_outside_reads):
    state, attempts = forbid_outside_reads
    (tmp_path / "secret.txt").write_text("FAKE\ntput=1\n")
    root = _make(tmp_path / "raw" / "c", {"ok.txt": "FAKE\ntput=2\n"},
                 "file,pv_model\n../../etc/passwd,A\n/etc/passwd,A\n../../secret.txt,A\nlink.txt,A\n"
                 "linkdir/secret.txt,A\nok.txt,A\n")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "linkdir")
    os.symlink("/etc/passwd", root / "orphan_link")
    state["root"] = Path(os.path.realpath(root))
    c = ingest_campaign(root)
    assert attempts == []
    detail = dict(zip(c.rejects["source_file"], c.rejects["reason"] + ": " + c.rejects["detail"], strict=True))
    assert detail == {
        "../../etc/passwd": "unsafe_path: manifest.csv line 2: file: '../../etc/passwd' has a '..' component that "
                            "leaves the campaign folder; expected a path inside it (not opened)",
        "/etc/passwd": "unsafe_path: manifest.csv line 3: file: '/etc/passwd' is an absolute path; expected a path "
                       "relative to the campaign folder (not opened)",
        "../../secret.txt": "unsafe_path: manifest.csv line 4: file: '../../secret.txt' has a '..' component that "
                            "leaves the campaign folder; expected a path inside it (not opened)",
        "link.txt": "unsafe_path: manifest.csv line 5: file: 'link.txt' is a symlink (or under one) that resolves "
                    "outside the campaign folder; not opened",
        "linkdir/secret.txt": "unsafe_path: manifest.csv line 6: file: 'linkdir/secret.txt' is a symlink (or under "
                              "one) that resolves outside the campaign folder; not opened",
        "orphan_link": "unsafe_path: orphan_link: file: 'orphan_link' is a symlink (or under one) that resolves "
                       "outside the campaign folder; not opened",
    }
    assert c.runs["run_id"].tolist() == ["ok.txt"]
    assert c.summary["seen"] == 7 == len(c.runs) + len(c.rejects)


def test_guard_catches_an_outside_read(tmp_path, forbid_outside_reads):
    """The guard itself works: reading a file outside the root is caught."""
    state, attempts = forbid_outside_reads
    (tmp_path / "in").mkdir()
    (tmp_path / "out.txt").write_text("x")
    state["root"] = Path(os.path.realpath(tmp_path / "in"))
    with pytest.raises(AssertionError, match="outside the campaign folder"):
        (tmp_path / "out.txt").read_bytes()
    assert attempts == [str(Path(os.path.realpath(tmp_path / "out.txt")))]


def test_symlink_inside_the_folder_is_followed(tmp_path, fake_tool):
    root = _make(tmp_path / "c", {"real/x.txt": "FAKE\ntput=3\n"}, "file,pv_model\nalias.txt,A\nreal/x.txt,B\n")
    os.symlink(root / "real" / "x.txt", root / "alias.txt")
    c = ingest_campaign(root)
    assert c.runs[["run_id", "pv_model"]].values.tolist() == [["alias.txt", "A"], ["real/x.txt", "B"]]
    assert c.runs["source_sha256"].nunique() == 1


# ------------------------------------------------------------------------------------------------ argument errors


def test_ingest_argument_errors(tmp_path, fake_tool):
    with pytest.raises(FileNotFoundError, match="path: .*nope' does not exist; expected a campaign folder"):
        ingest_campaign(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match="path: .*f.txt' is not a folder; expected a campaign folder"):
        ingest_campaign(tmp_path / "f.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="manifest.csv: not found"):
        ingest_campaign(tmp_path / "empty")
    with pytest.raises(TypeError, match="progress: expected True or False, got 'yes'"):
        ingest_campaign(tmp_path / "empty", progress="yes")
    (tmp_path / "empty" / "manifest.csv").write_text("path,model\n")
    with pytest.raises(ValueError, match="manifest.csv: line 1: no 'file' or 'pv_model' column"):
        ingest_campaign(tmp_path / "empty")


# ------------------------------------------------------------------------------------------------ I/O


def test_write_is_idempotent_and_round_trips(good, tmp_path, capsys):
    first, second = ingest_campaign(good, progress=True), ingest_campaign(good)
    capsys.readouterr()
    for table in ("runs", "measurements", "intervals", "rejects"):
        pd.testing.assert_frame_equal(getattr(first, table), getattr(second, table))
    w1 = write_campaign(first, tmp_path / "out1")
    w2 = write_campaign(second, tmp_path / "out2")
    for key in w1:
        assert w1[key].read_bytes() == w2[key].read_bytes(), key
    summary = json.loads(w1["summary"].read_text())
    assert summary == first.summary
    loaded = load_campaign(tmp_path / "out1")
    assert loaded.name == "good" and loaded.root == good and loaded.summary == first.summary
    for table in ("runs", "measurements", "intervals", "rejects"):
        pd.testing.assert_frame_equal(getattr(loaded, table), getattr(first, table), check_dtype=True)


def test_load_campaign_from_raw_and_errors(good, tmp_path):
    c = load_campaign(good)
    assert isinstance(c, Campaign) and len(c.runs) == 3 and not (good.parent.parent / "processed").exists()
    with pytest.raises(FileNotFoundError, match="path: .*missing' does not exist; expected a raw campaign folder"):
        load_campaign(tmp_path / "missing")
    (tmp_path / "neither").mkdir()
    with pytest.raises(ValueError, match="has neither runs.parquet nor manifest.csv"):
        load_campaign(tmp_path / "neither")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is not a folder"):
        load_campaign(tmp_path / "file.txt")
    out = tmp_path / "partial"
    write_campaign(c, out)
    (out / "intervals.parquet").unlink()
    with pytest.raises(ValueError, match="has runs.parquet but no intervals.parquet"):
        load_campaign(out)


def test_write_campaign_checks(good, tmp_path):
    c = ingest_campaign(good)
    with pytest.raises(TypeError, match="campaign: expected an analysis.ingest.Campaign, got dict"):
        write_campaign({}, tmp_path / "o")
    (tmp_path / "o").write_text("x")
    with pytest.raises(ValueError, match="out_dir: .* exists and is not a folder"):
        write_campaign(c, tmp_path / "o")
    bad = Campaign(**{**c.__dict__, "summary": {**c.summary, "seen": 99}})
    with pytest.raises(AssertionError, match="seen 99 != ingested 3 \\+ rejected 0"):
        write_campaign(bad, tmp_path / "o2")


def test_format_summary_and_repr(broken):
    c = ingest_campaign(broken)
    text = format_ingest_summary(c)
    assert text.splitlines()[0] == "campaign broken: 13 files seen, 0 ingested, 10 rejected, 3 ignored (not runs)"
    assert "rejected by reason: duplicate_manifest_row 1, invalid_manifest_row 2, manifest_mismatch 1" in text
    assert "  reject gone.txt: missing_file: manifest.csv line 6 names 'gone.txt'" in text
    short = format_ingest_summary(c, max_rejects=2)
    assert "... and 8 more rejects" in short and short.endswith("... and 1 more ignored files")
    assert repr(c).startswith("Campaign(name='broken', runs=0, measurements=0, intervals=0, rejects=10, ignored=3")
    assert "  ignored README.md: not a run by name" in text
    page = c._repr_html_()
    assert page.startswith("<pre>") and "&#x27;gone.txt&#x27;" in page and "'gone.txt'" not in page


def test_default_out_dir(tmp_path, monkeypatch):
    assert default_out_dir(tmp_path / "data" / "raw" / "demo") == (tmp_path / "data" / "processed" / "demo"
                                                                   ).resolve()
    assert default_out_dir(tmp_path / "elsewhere" / "demo") == Path("data/processed/demo")


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_end_to_end(broken, tmp_path, capsys):
    out = tmp_path / "processed"
    assert main(["ingest", str(broken), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "campaign broken: 13 files seen, 0 ingested, 10 rejected, 3 ignored (not runs)" in printed
    assert "reject ../../etc/passwd: unsafe_path:" in printed and "reject orphan.txt: no_manifest_row:" in printed
    assert f"to {out}" in printed
    assert sorted(p.name for p in out.iterdir()) == ["ignored.parquet", "ingest_summary.json", "intervals.parquet",
                                                     "measurements.parquet", "rejects.parquet", "runs.parquet"]
    assert len(pd.read_parquet(out / "rejects.parquet")) == 10


def test_cli_default_out(good, capsys):
    assert main(["ingest", str(good)]) == 0
    assert (good.parent.parent / "processed" / "good" / "runs.parquet").is_file()


def test_cli_errors_exit_2(tmp_path, capsys, fake_tool):
    assert main(["ingest", str(tmp_path / "nope")]) == 2
    assert "pvfair ingest: error: campaign folder" in capsys.readouterr().err
    root = _make(tmp_path / "c", {}, "file\nx\n")
    assert main(["ingest", str(root), "--out", str(tmp_path / "o")]) == 2
    assert "manifest.csv: line 1: no 'pv_model' column" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------------ real samples


def _sample_campaign(tmp_path: Path) -> Path:
    root = tmp_path / "raw" / "samples"
    shutil.copytree(SAMPLES, root)
    rows = ["file,pv_model,pinning,trial,cpu_mhz"]
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "README.md":
            rel = p.relative_to(root).as_posix()
            model = "B" if "_B_" in p.name else "A"
            rows.append(f"{rel},{model},split,1,2596")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


#: run_id -> {metric: value as printed in the file, in SI units}
SAMPLE_VALUES = {
    "netperf/np_tcp_stream_A_split_m4096_t1.txt": {"throughput_bps": 16829.34e6, "local_cpu_util_pct": 71.23,
                                                   "remote_service_demand_us_per_kb": 0.693},
    "netperf/np_tcp_rr_B_split_r1x1_t1.txt": {"transactions_per_s": 15050.55},
    "netperf/np_udp_rr_A_split_r1x1_t1.txt": {"transactions_per_s": 16007.60},
    "netperf/x_np_csv_omni_A_split_m4096_t1.txt": {"throughput_bps": 14805.98e6, "remote_cpu_util_pct": 71.47},
    "netperf/x_np_kv_tcp_rr_A_split_r1x1_t1.txt": {"transactions_per_s": 10187.727, "latency_mean_s": 97.80e-6,
                                                   "latency_p99_s": 398e-6},
    "iperf3/x_iperf3_tcp_A_split_l4096_t1.json": {"throughput_bps": 8839996340.06405},
    "iperf3/x_iperf3_udp_B_split_b1G_t1.json": {"packets": 172589.0, "lost_packets": 342.0},
    "iperf2/x_iperf2_text_A_split_default_t1.txt": {"throughput_bps": 17.1e9},
    "iperf2/x_iperf2_csv_A_split_default_t1.txt": {"throughput_bps": 21801447620.0},
    "sockperf/x_sockperf_pp_udp_A_split_m64_t1.txt": {"latency_mean_s": 45.659e-6, "latency_min_s": 8.247e-6},
}


def test_real_samples_campaign(tmp_path):
    root = _sample_campaign(tmp_path)
    c = ingest_campaign(root)
    assert c.rejects.empty, format_ingest_summary(c)
    assert c.summary["seen"] == c.summary["ingested"] == 10  # README.md is ignored
    assert sorted(c.runs["run_id"]) == sorted(SAMPLE_VALUES)
    m = c.measurements.set_index(["run_id", "metric"])["value"]
    for run_id, values in SAMPLE_VALUES.items():
        for metric, expected in values.items():
            assert m[(run_id, metric)] == pytest.approx(expected, rel=1e-9), (run_id, metric)
    runs = c.runs.set_index("run_id")
    stream = runs.loc["netperf/np_tcp_stream_A_split_m4096_t1.txt"]
    assert (stream["tool"], stream["test"], stream["msg_size_bytes"], stream["pv_model"], stream["pinning"]) == (
        "netperf", "TCP_STREAM", 4096, "A", "split")
    assert (stream["cpu_mhz"], stream["cpu_mhz_source"], stream["parser"]) == (2596.0, "manifest",
                                                                            "netperf-classic")
    assert runs.loc["netperf/np_tcp_rr_B_split_r1x1_t1.txt", "pv_model"] == "B"
    assert runs.loc["netperf/np_tcp_rr_B_split_r1x1_t1.txt", "response_size_bytes"] == 1
    iperf3 = runs.loc["iperf3/x_iperf3_tcp_A_split_l4096_t1.json"]
    assert iperf3["start_time"] == pd.Timestamp("2026-11-26 00:40:17", tz="UTC")
    assert (iperf3["tool_version"], iperf3["msg_size_bytes"]) == ("3.12", 4096)
    assert runs["tool"].value_counts().to_dict() == {"netperf": 5, "iperf3": 2, "iperf2": 2, "sockperf": 1}
    assert c.intervals.groupby("run_id").size().to_dict() == {"iperf3/x_iperf3_tcp_A_split_l4096_t1.json": 4,
                                                              "iperf3/x_iperf3_udp_B_split_b1G_t1.json": 4}
    import hashlib

    for rid, sha in runs["source_sha256"].items():
        assert sha == hashlib.sha256((SAMPLES / rid).read_bytes()).hexdigest()
    assert set(runs["parser_version"]) <= {str(parsers.PARSERS[t].PARSER_VERSION) for t in parsers.PARSERS}
    # ingest reads each file once and decodes it exactly as parsers.read_text does
    from analysis.ingest import _decode

    for rid in SAMPLE_VALUES:
        assert _decode((SAMPLES / rid).read_bytes(), rid) == parsers.read_text(SAMPLES / rid)
    assert _decode(b"\xef\xbb\xbfa\r\nb\rc", "x") == "a\nb\nc"


def test_real_sample_manifest_mismatch(tmp_path):
    root = _sample_campaign(tmp_path)
    text = (root / "manifest.csv").read_text().replace("file,pv_model,pinning,trial,cpu_mhz",
                                                       "file,pv_model,pinning,trial,cpu_mhz,msg_size_bytes,test")
    lines = text.strip().split("\n")
    lines = [lines[0]] + [ln + (",1024," if "np_tcp_stream" in ln else ",,TCP_RR" if "np_udp_rr" in ln else ",,")
                          for ln in lines[1:]]
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    c = ingest_campaign(root)
    line_no = next(i for i, ln in enumerate(lines, start=1) if "np_tcp_stream" in ln)
    udp_no = next(i for i, ln in enumerate(lines, start=1) if "np_udp_rr" in ln)
    assert c.rejects.values.tolist() == [
        ["netperf/np_tcp_stream_A_split_m4096_t1.txt", "manifest_mismatch",
         f"netperf/np_tcp_stream_A_split_m4096_t1.txt: msg_size_bytes: manifest.csv line {line_no} says 1024, the "
         "file says 4096"],
        ["netperf/np_udp_rr_A_split_r1x1_t1.txt", "manifest_mismatch",
         f"netperf/np_udp_rr_A_split_r1x1_t1.txt: test: manifest.csv line {udp_no} says 'TCP_RR', the file says "
         "'UDP_RR'"],
    ]
    assert c.summary["ingested"] == 8 and c.summary["seen"] == 10


def test_real_samples_cli_and_reload(tmp_path, capsys):
    root = _sample_campaign(tmp_path)
    assert main(["ingest", str(root)]) == 0
    out = tmp_path / "processed" / "samples"
    assert "campaign samples: 11 files seen, 10 ingested, 0 rejected, 1 ignored (not runs)" in capsys.readouterr().out
    loaded, fresh = load_campaign(out), ingest_campaign(root)
    for table in ("runs", "measurements", "intervals", "rejects", "ignored"):
        pd.testing.assert_frame_equal(getattr(loaded, table), getattr(fresh, table))
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["ingest", str(root)]) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
