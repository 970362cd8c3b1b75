"""iperf3 3.12 on 127.0.0.1 (tests/data/iperf3/lo_*, commands in that folder's README): ``--bidir`` and ``-P 2``
repeat iperf3's per-socket ``start`` keys, ``-u -R`` marks its UDP ``sum_sent`` ``sender: true``. Expected values
are read off the files here by a plain decoder that keeps every value of a repeated key, not by the parser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analysis.ingest import ingest_campaign
from analysis.parsers import iperf3, parse_file
from analysis.parsers.base import ParseError
from tests.conftest import SAMPLES, TESTS

pytestmark = pytest.mark.unit

DATA = TESTS / "data" / "iperf3"
BIDIR = [DATA / "lo_tcp_bidir_t1_3.12.json", DATA / "lo_tcp_bidir_t2_3.12.json"]
UDP_REVERSE = [DATA / "lo_udp_reverse_b50M_t1_3.12.json", DATA / "lo_udp_reverse_b50M_t2_3.12.json"]
UDP_FORWARD = DATA / "lo_udp_fwd_b50M_t1_3.12.json"
UDP_BIDIR = DATA / "lo_udp_bidir_b50M_t1_3.12.json"
TCP_P2 = DATA / "lo_tcp_P2_t1_3.12.json"
PER_SOCKET = ("sock_bufsize", "sndbuf_actual", "rcvbuf_actual")


class _AllValues(dict):
    """A decoded object that remembers every value of each key (``.all[key]``); as a dict, the first value."""

    def __init__(self, pairs):
        super().__init__()
        self.all: dict[str, list] = {}
        for k, v in pairs:
            self.all.setdefault(k, []).append(v)
            self.setdefault(k, v)


def _raw(path: Path) -> _AllValues:
    return json.loads(path.read_text(), object_pairs_hook=_AllValues)


def _line_of(text: str, needle: str, nth: int = 0) -> int:
    hits = [i + 1 for i, ln in enumerate(text.splitlines()) if needle in ln]
    return hits[nth]


# --------------------------------------------------------------------------------------------------------------
# --bidir and -P 2: iperf3 repeats the per-socket start keys


@pytest.mark.parametrize("path", BIDIR + [TCP_P2, UDP_BIDIR], ids=lambda p: p.stem)
def test_the_captures_really_repeat_the_per_socket_keys(path):
    start = _raw(path)["start"]
    for key in PER_SOCKET:
        assert len(start.all[key]) == 2, key  # one per stream socket: 2 streams
    assert all(len(v) == 1 for k, v in start.all.items() if k not in PER_SOCKET)


@pytest.mark.parametrize("path", BIDIR, ids=lambda p: p.stem)
def test_tcp_bidir_parses_as_tcp_bidir_with_both_directions_summed(path):
    raw = _raw(path)
    end = raw["end"]
    assert "bidir" not in raw["start"]["test_start"]  # 3.12 writes no bidir flag: the *_bidir_reverse sums say it
    r = parse_file(path)
    assert (r.fields["test"], r.fields["tool_test"], r.fields["direction"]) == ("TCP_BIDIR", "IPERF3_TCP", "bidir")
    m = r.measurements
    assert m["throughput_bps"] == (end["sum_received"]["bits_per_second"]
                                   + end["sum_received_bidir_reverse"]["bits_per_second"])
    assert m["send_throughput_bps"] == (end["sum_sent"]["bits_per_second"]
                                        + end["sum_sent_bidir_reverse"]["bits_per_second"])
    assert m["retransmits"] == end["sum_sent"]["retransmits"] + end["sum_sent_bidir_reverse"]["retransmits"]
    assert r.fields["duration_s"] == end["sum_sent"]["seconds"]
    assert r.fields["test_duration_s"] == raw["start"]["test_start"]["duration"]
    note = next(n for n in r.notes if "per-socket" in n)
    for key in PER_SOCKET:
        values = ", ".join(json.dumps(v) for v in raw["start"].all[key])
        assert f"start.{key} {values}" in note
    # intervals: the sum is the sending direction, sum_bidir_reverse the receiving one
    sums = [(s.metric, s.value) for s in r.intervals if s.stream is None]
    want = []
    for item in raw["intervals"]:
        want += [("send_throughput_bps", item["sum"]["bits_per_second"]),
                 ("throughput_bps", item["sum_bidir_reverse"]["bits_per_second"])]
    assert sums == want and len(raw["intervals"]) == raw["start"]["test_start"]["duration"]


def test_tcp_two_streams_parse_with_each_stream_in_the_intervals():
    raw = _raw(TCP_P2)
    r = parse_file(TCP_P2)
    assert (r.fields["test"], r.fields["direction"], r.fields["streams"]) == ("TCP_STREAM", "send", 2)
    assert r.measurements["throughput_bps"] == raw["end"]["sum_received"]["bits_per_second"]
    assert r.measurements["retransmits"] == raw["end"]["sum_sent"]["retransmits"]
    first = raw["intervals"][0]
    got = [(s.stream, s.value) for s in r.intervals if s.interval_start_s == 0.0]
    assert got == [(None, first["sum"]["bits_per_second"])] + [
        (j, s["bits_per_second"]) for j, s in enumerate(first["streams"])]


def test_udp_bidir_parses_with_per_socket_keys_noted():
    raw = _raw(UDP_BIDIR)
    end = raw["end"]
    r = parse_file(UDP_BIDIR)
    assert (r.fields["test"], r.fields["direction"]) == ("UDP_STREAM", "bidir")
    assert r.measurements["packets"] == (end["sum_received"]["packets"]
                                         + end["sum_received_bidir_reverse"]["packets"])
    assert r.measurements["jitter_s"] == max(end["sum_received"]["jitter_ms"],
                                             end["sum_received_bidir_reverse"]["jitter_ms"]) / 1000
    assert any("per-socket" in n and "start.sndbuf_actual 212992, 212992" in n for n in r.notes)


# --------------------------------------------------------------------------------------------------------------
# -u -R: UDP's sum_sent / sum_received are the sending and the receiving side, marked true / false in any direction


@pytest.mark.parametrize("path", UDP_REVERSE + [UDP_FORWARD], ids=lambda p: p.stem)
def test_udp_sum_sent_is_marked_sender_in_both_directions(path):
    raw = _raw(path)
    end = raw["end"]
    reverse = raw["start"]["test_start"]["reverse"]
    assert (end["sum_sent"]["sender"], end["sum_received"]["sender"]) == (True, False)
    assert end["sum"]["sender"] is (reverse == 0)  # the client's role is on end.sum
    assert end["sum_sent"]["jitter_ms"] == 0 and end["sum_sent"]["lost_packets"] == 0  # placeholders
    assert end["sum_received"]["jitter_ms"] > 0


@pytest.mark.parametrize("path", UDP_REVERSE, ids=lambda p: p.stem)
def test_udp_reverse_reads_the_receiving_side(path):
    raw = _raw(path)
    end, test_start = raw["end"], raw["start"]["test_start"]
    assert (test_start["protocol"], test_start["reverse"]) == ("UDP", 1)
    r = parse_file(path)
    f, m = r.fields, r.measurements
    assert (f["test"], f["tool_test"], f["direction"]) == ("UDP_STREAM", "IPERF3_UDP", "receive")
    assert f["target_bandwidth_bps"] == 50e6 == test_start["target_bitrate"]
    assert f["msg_size_bytes"] == test_start["blksize"]
    assert m["throughput_bps"] == end["sum_received"]["bits_per_second"]
    assert m["send_throughput_bps"] == end["sum_sent"]["bits_per_second"]
    assert m["jitter_s"] == end["sum_received"]["jitter_ms"] / 1000 and m["jitter_s"] > 0
    assert m["loss_pct"] == end["sum_received"]["lost_percent"]
    assert (m["lost_packets"], m["packets"]) == (end["sum_received"]["lost_packets"],
                                                 end["sum_received"]["packets"])
    assert f["duration_s"] == end["sum_sent"]["seconds"]
    assert m["local_cpu_util_pct"] == end["cpu_utilization_percent"]["host_total"]
    # the client receives: every interval sample is a receive rate, as the file's sums and streams give it
    want = []
    for item in raw["intervals"]:
        want += [("throughput_bps", None, item["sum"]["bits_per_second"])]
        want += [("throughput_bps", j, s["bits_per_second"]) for j, s in enumerate(item["streams"])]
    assert [(s.metric, s.stream, s.value) for s in r.intervals] == want
    assert all(item["sum"]["sender"] is False for item in raw["intervals"])


def test_udp_forward_still_reads_the_receiving_side():
    end = _raw(UDP_FORWARD)["end"]
    r = parse_file(UDP_FORWARD)
    assert (r.fields["test"], r.fields["direction"]) == ("UDP_STREAM", "send")
    assert r.measurements["jitter_s"] == end["sum_received"]["jitter_ms"] / 1000
    assert r.measurements["throughput_bps"] == end["sum_received"]["bits_per_second"]


def test_udp_reverse_flag_contradicting_the_clients_role_is_an_error():
    path = UDP_REVERSE[0]
    text = path.read_text()
    lines = text.splitlines()
    end = lines.index('\t"end":\t{')
    end_sum = next(i for i in range(end, len(lines)) if lines[i] == '\t\t"sum":\t{')
    line = 1 + next(i for i in range(end_sum, len(lines)) if '"sender"' in lines[i])
    edited = text.replace('"reverse":\t1', '"reverse":\t0')
    with pytest.raises(ParseError, match=rf"lo_udp_reverse_b50M_t1_3.12.json:{line}: expected sender true for "
                                         r"reverse=0 at end.sum.sender, found 'false'"):
        iperf3.parse(edited, path)


# --------------------------------------------------------------------------------------------------------------
# repeated keys: the same value is read once, different values are an error


TCP = SAMPLES / "iperf3" / "x_iperf3_tcp_A_split_l4096_t1.json"


def _with_line_after(text: str, needle: str, new_line: str) -> tuple[str, int]:
    lines = text.splitlines(keepends=True)
    i = next(k for k, ln in enumerate(lines) if needle in ln)
    return "".join(lines[: i + 1] + [new_line] + lines[i + 1:]), i + 1


def test_a_used_key_repeated_with_the_same_value_is_read_once():
    text = TCP.read_text()
    line = next(ln for ln in text.splitlines(keepends=True) if '"host_total"' in ln)
    edited, _ = _with_line_after(text, '"host_total"', line)
    r = iperf3.parse(edited, TCP)
    assert r.measurements["local_cpu_util_pct"] == _raw(TCP)["end"]["cpu_utilization_percent"]["host_total"]
    assert any("end.cpu_utilization_percent.host_total written 2 times with the same value" in n for n in r.notes)


def test_a_used_key_repeated_with_another_value_names_file_key_and_both_values():
    text = TCP.read_text()
    edited, first = _with_line_after(text, '"host_total"', '\t\t\t"host_total":\t12.5,\n')
    value = json.dumps(_raw(TCP)["end"]["cpu_utilization_percent"]["host_total"])  # 89.14335360208592
    with pytest.raises(ParseError, match=rf"x_iperf3_tcp_A_split_l4096_t1.json:{first + 1}: expected one value for "
                                         r"the repeated key end.cpu_utilization_percent.host_total, found "
                                         rf"'{re.escape(value)} \(line {first}\) and 12.5 \(line {first + 1}\)'"):
        iperf3.parse(edited, TCP)


def test_a_conflicting_repeat_inside_an_interval_names_its_path():
    text = TCP.read_text()
    edited, first = _with_line_after(text, '"bits_per_second"', '\t\t\t\t\t"bits_per_second":\t1,\n')
    with pytest.raises(ParseError, match=rf"json:{first + 1}: expected one value for the repeated key "
                                         r"intervals.0.streams.0.bits_per_second, found '9072668618.149233 "):
        iperf3.parse(edited, TCP)


def test_bidir_written_with_one_sum_sent_per_direction_is_refused():
    # iperf3 before the *_bidir_reverse keys wrote end.sum_sent / sum_received once per direction
    path = BIDIR[0]
    text = path.read_text()
    edited = text.replace('"sum_sent_bidir_reverse"', '"sum_sent"').replace('"sum_received_bidir_reverse"',
                                                                            '"sum_received"')
    second = _line_of(edited, '"sum_sent":', nth=1)
    with pytest.raises(ParseError, match=rf"lo_tcp_bidir_t1_3.12.json:{second}: expected one value for the repeated "
                                         r"key end.sum_sent, found '\{\"bits_per_second\": "):
        iperf3.parse(edited, path)


def test_per_socket_keys_with_different_values_are_accepted_and_listed():
    path = BIDIR[0]
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    second = [i for i, ln in enumerate(lines) if '"sndbuf_actual"' in ln][1]
    lines[second] = lines[second].replace("16384", "32768")
    r = iperf3.parse("".join(lines), path)
    assert any("start.sndbuf_actual 16384, 32768" in n for n in r.notes)
    assert r.measurements["throughput_bps"] == iperf3.parse(text, path).measurements["throughput_bps"]


def test_json_stream_events_judge_repeats_the_same_way():
    path = DATA / "json_stream" / "tcp_bidir_3.12.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith('{"event":"start"'))
    assert '"sock_bufsize":0,' in lines[start]
    lines[start] = lines[start].replace('"sock_bufsize":0,', '"sock_bufsize":0,"sock_bufsize":0,')
    r = iperf3.parse("".join(lines), path)
    assert r.parser == "iperf3-json-stream"
    assert any("per-socket" in n and "start.sock_bufsize 0, 0" in n for n in r.notes)
    end = next(i for i, ln in enumerate(lines) if ln.startswith('{"event":"end"'))
    lines[end] = lines[end].replace('"host_total":', '"host_total":1.5,"host_total":', 1)
    with pytest.raises(ParseError, match=rf"tcp_bidir_3.12.jsonl:{end + 1}: expected one value for the repeated key "
                                         r"end.cpu_utilization_percent.host_total, found '1.5 \(line "):
        iperf3.parse("".join(lines), path)


# --------------------------------------------------------------------------------------------------------------
# ingest: the canonical tests


def test_ingest_names_bidir_and_udp_reverse_runs(tmp_path):
    root = tmp_path / "lo"
    root.mkdir()
    files = {"bidir.json": BIDIR[0], "udp_r.json": UDP_REVERSE[0], "p2.json": TCP_P2, "udp_f.json": UDP_FORWARD}
    for name, src in files.items():
        (root / name).write_text(src.read_text())
    (root / "manifest.csv").write_text("file,pv_model,test\nbidir.json,A,TCP_BIDIR\nudp_r.json,A,UDP_STREAM\n"
                                       "p2.json,B,tcp_stream\nudp_f.json,B,IPERF3_UDP\n")
    c = ingest_campaign(root)
    assert c.rejects.empty, c.rejects.to_dict("records")
    runs = c.runs.set_index("source_file")
    got = {name: tuple(runs.loc[name, ["test", "tool_test", "direction", "streams"]]) for name in files}
    assert got == {"bidir.json": ("TCP_BIDIR", "IPERF3_TCP", "bidir", 1),
                   "udp_r.json": ("UDP_STREAM", "IPERF3_UDP", "receive", 1),
                   "p2.json": ("TCP_STREAM", "IPERF3_TCP", "send", 2),
                   "udp_f.json": ("UDP_STREAM", "IPERF3_UDP", "send", 1)}
    m = c.measurements.merge(c.runs[["run_id", "source_file"]], on="run_id")
    jitter = m[(m.source_file == "udp_r.json") & (m.metric == "jitter_s")].value.item()
    assert jitter == _raw(UDP_REVERSE[0])["end"]["sum_received"]["jitter_ms"] / 1000
