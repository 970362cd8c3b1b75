"""iperf3 ``--json-stream`` (3.17+): the event stream parses into the same ParsedRun as the ``-J`` document.

Fixtures: tests/data/iperf3/json_stream/ (README there: built from -J captures of the real tool in the event
format of iperf3's src/iperf_api.c ``JSONStream_Output``)."""

from __future__ import annotations

import json

import pytest

from analysis.parsers import detect_tool, parse_file
from analysis.parsers.base import ParseError, ToolReportedError
from analysis.parsers.iperf3 import parse
from tests.conftest import TESTS

pytestmark = pytest.mark.unit

STREAM = TESTS / "data" / "iperf3" / "json_stream"
PAIRS = [
    ("tcp_l4096_3.12.jsonl", TESTS / "data" / "samples" / "iperf3" / "x_iperf3_tcp_A_split_l4096_t1.json"),
    ("udp_b1G_3.12.jsonl", TESTS / "data" / "samples" / "iperf3" / "x_iperf3_udp_B_split_b1G_t1.json"),
    ("tcp_reverse_3.12.jsonl", TESTS / "data" / "iperf3" / "tcp_reverse_3.12.json"),
    ("tcp_bidir_3.12.jsonl", TESTS / "data" / "iperf3" / "tcp_bidir_3.12.json"),
    ("tcp_omit1_3.9.jsonl", TESTS / "data" / "iperf3" / "tcp_omit1_3.9.json"),
]


@pytest.mark.parametrize(("stream", "document"), PAIRS, ids=[p[0] for p in PAIRS])
def test_stream_equals_the_json_document(stream, document):
    s, j = parse_file(STREAM / stream), parse_file(document)
    assert (s.tool, s.parser, j.parser) == ("iperf3", "iperf3-json-stream", "iperf3-json")
    assert s.fields == j.fields
    assert s.measurements == j.measurements
    assert s.intervals == j.intervals
    assert s.notes == j.notes


def test_values_read_off_the_stream():
    """Independent of the -J parser: the end event's sums, read by hand from the fixture."""
    lines = (STREAM / "tcp_l4096_3.12.jsonl").read_text().splitlines()
    end = json.loads(lines[-1])["data"]
    r = parse_file(STREAM / "tcp_l4096_3.12.jsonl")
    assert r.measurements["throughput_bps"] == end["sum_received"]["bits_per_second"]
    assert r.measurements["send_throughput_bps"] == end["sum_sent"]["bits_per_second"]
    assert r.fields["msg_size_bytes"] == 4096 and r.fields["test"] == "TCP_STREAM" and r.fields["tool_test"] == "IPERF3_TCP"
    n_intervals = sum(1 for ln in lines if json.loads(ln)["event"] == "interval")
    assert len([i for i in r.intervals if i.stream is None]) == n_intervals


def test_detected_as_iperf3():
    assert detect_tool((STREAM / "udp_b1G_3.12.jsonl").read_text()) == "iperf3"


def test_error_event_is_the_tools_error():
    with pytest.raises(ToolReportedError, match=r"error_connect_3.12.jsonl:2: expected a successful run, found "
                                                r"'tool error: error - unable to connect to server"):
        parse_file(STREAM / "error_connect_3.12.jsonl")


def _text():
    return (STREAM / "tcp_l4096_3.12.jsonl").read_text()


def test_truncated_stream_without_end_event():
    lines = _text().splitlines()
    with pytest.raises(ParseError, match=rf"s.jsonl:{len(lines) - 1}: expected exactly one 'end' event \(the file "
                                         r"ends before it: truncated\?\), found \"last event 'interval'\""):
        parse("\n".join(lines[:-1]) + "\n", "s.jsonl")


def test_line_cut_mid_event():
    text = _text()
    with pytest.raises(ParseError, match=r"s.jsonl:3: expected one complete JSON event per line"):
        parse(text[: text.index("\n", text.index("\n") + 1) + 40], "s.jsonl")


def test_missing_value_names_the_events_line():
    lines = _text().splitlines()
    start = json.loads(lines[0])
    del start["data"]["test_start"]["protocol"]
    lines[0] = json.dumps(start)
    with pytest.raises(ParseError, match=r"s.jsonl:1: expected a value \(.*\) at start.test_start.protocol"):
        parse("\n".join(lines) + "\n", "s.jsonl")
    interval = json.loads(lines[2])
    interval["data"]["sum"]["bits_per_second"] = "fast"
    lines[0], lines[2] = _text().splitlines()[0], json.dumps(interval)
    with pytest.raises(ParseError, match=r"s.jsonl:3: expected .* at intervals.1.sum.bits_per_second"):
        parse("\n".join(lines) + "\n", "s.jsonl")


def test_events_out_of_order_and_not_events():
    lines = _text().splitlines()
    with pytest.raises(ParseError, match=r"s.jsonl:1: expected events in iperf3's order"):
        parse("\n".join([lines[1], lines[0], *lines[2:]]) + "\n", "s.jsonl")
    with pytest.raises(ParseError, match=r's.jsonl:2: expected an event object \{"event": <name>, "data": <value>\}'):
        parse("\n".join([lines[0], '{"interval": 1}', *lines[2:]]) + "\n", "s.jsonl")
    with pytest.raises(ParseError, match=r"s.jsonl:2: expected each key once in an event object, found "
                                         r"'event = \"interval\" and \"x\"'"):
        parse("\n".join([lines[0], '{"event":"interval","event":"x","data":{}}', *lines[2:]]), "s.jsonl")


def test_warnings_before_and_full_output_after_are_notes():
    text = "warning: something odd\n" + _text() + json.dumps({"start": {}}, indent=1) + "\n"
    r = parse(text, "s.jsonl")
    assert r.measurements == parse_file(STREAM / "tcp_l4096_3.12.jsonl").measurements
    assert r.notes[0] == "iperf3 printed before the JSON: warning: something odd"
    assert "is not read (--json-stream-full-output" in r.notes[1]
    extra = '{"event":"server_output_text","data":"hello"}\n'
    lines = _text().splitlines(keepends=True)
    r = parse("".join(lines[:-1]) + extra + lines[-1], "s.jsonl")
    assert "1 'server_output_text' event(s) not read" in r.notes[0]
