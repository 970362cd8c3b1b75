"""iperf3 -J parser: the real samples (values as they stand in the files) and hand-made edge cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from analysis.parsers import iperf3, parse_file
from analysis.parsers.base import ParseError, ToolReportedError
from analysis.schema import METRICS, RUN_COLUMNS
from tests.conftest import SAMPLES, TESTS

pytestmark = pytest.mark.unit

TCP = SAMPLES / "iperf3" / "x_iperf3_tcp_A_split_l4096_t1.json"
UDP = SAMPLES / "iperf3" / "x_iperf3_udp_B_split_b1G_t1.json"
EDGE = TESTS / "data" / "iperf3"


def _parse(path, text=None):
    return iperf3.parse(path.read_text() if text is None else text, path)


def test_real_tcp_sample_values_from_end():
    r = _parse(TCP)
    assert (r.tool, r.parser, r.parser_version) == ("iperf3", "iperf3-json", iperf3.PARSER_VERSION)
    m = r.measurements
    assert m["throughput_bps"] == 8839996340.06405  # end.sum_received.bits_per_second
    assert m["send_throughput_bps"] == 8840434517.82741  # end.sum_sent.bits_per_second
    assert m["retransmits"] == 8
    assert m["local_cpu_util_pct"] == pytest.approx(89.143353602085924)
    assert m["remote_cpu_util_pct"] == pytest.approx(81.2578810687354)
    f = r.fields
    assert f["test"] == "IPERF3_TCP" and f["direction"] == "send"
    assert f["msg_size_bytes"] == 4096 and f["streams"] == 1
    assert f["duration_s"] == 2.00001 and f["test_duration_s"] == 2.0 and f["omit_s"] == 0.0
    assert f["tool_version"] == "3.12"
    assert f["system_info"].startswith("Linux vm 6.18.44")
    assert f["start_time"] == datetime(2026, 11, 26, 0, 40, 17, tzinfo=UTC)
    assert r.notes == ()


def test_real_tcp_sample_intervals_sum_and_stream():
    r = _parse(TCP)
    got = [(s.metric, s.stream, s.interval_start_s, s.interval_end_s, s.value) for s in r.intervals]
    assert got == [
        ("send_throughput_bps", None, 0.0, 1.000051, 9072668618.1492329),
        ("send_throughput_bps", 0, 0.0, 1.000051, 9072668618.1492329),
        ("send_throughput_bps", None, 1.000051, 2.00001, 8608178924.1634941),
        ("send_throughput_bps", 0, 1.000051, 2.00001, 8608178924.1634941),
    ]


def test_real_udp_sample_sum_sent_and_received():
    r = _parse(UDP)
    m = r.measurements
    assert m["throughput_bps"] == 997583795.550516  # sum_received
    assert m["send_throughput_bps"] == 999587507.79962552  # sum_sent
    assert m["jitter_s"] == pytest.approx(0.0049290149606994156e-3)
    assert m["lost_packets"] == 342 and m["packets"] == 172589
    assert m["loss_pct"] == pytest.approx(0.19815863119897559)
    assert m["local_cpu_util_pct"] == pytest.approx(62.8903421201906)
    assert m["remote_cpu_util_pct"] == pytest.approx(34.108123674477064)
    assert r.fields["test"] == "IPERF3_UDP" and r.fields["msg_size_bytes"] == 1448
    assert r.fields["duration_s"] == 2.000096
    assert "retransmits" not in m
    assert len(r.intervals) == 4


def test_every_field_and_metric_is_in_the_schema():
    for path in [TCP, UDP, *sorted(EDGE.glob("tcp_*.json")), EDGE / "udp_legacy_sum_3.1.json"]:
        r = _parse(path)
        assert set(r.measurements) <= set(METRICS), path
        assert {"test", "msg_size_bytes", "streams", "direction", "duration_s"} <= set(r.fields) & set(RUN_COLUMNS)
        assert all(s.metric in METRICS for s in r.intervals)


def test_parse_file_detects_iperf3():
    assert parse_file(TCP).tool == "iperf3"
    assert iperf3.sniff(TCP.read_text()) and not iperf3.sniff("sockperf: == version #3.7 ==\n")


def test_crlf_line_endings_give_the_same_record():
    text = TCP.read_text()
    assert _parse(TCP, text.replace("\n", "\r\n")) == _parse(TCP, text)


def test_bidir_sums_both_directions():
    path = EDGE / "tcp_bidir_3.12.json"
    end = json.loads(path.read_text())["end"]
    r = _parse(path)
    assert r.fields["direction"] == "bidir"
    m = r.measurements
    assert m["throughput_bps"] == pytest.approx(end["sum_received"]["bits_per_second"]
                                                + end["sum_received_bidir_reverse"]["bits_per_second"])
    assert m["send_throughput_bps"] == pytest.approx(end["sum_sent"]["bits_per_second"]
                                                     + end["sum_sent_bidir_reverse"]["bits_per_second"])
    assert m["retransmits"] == 3 + 5
    assert any("bidir" in n for n in r.notes)
    first = [s for s in r.intervals if s.interval_start_s == 0.0]
    assert {(s.metric, s.stream) for s in first} == {("send_throughput_bps", None), ("throughput_bps", None),
                                                    ("send_throughput_bps", 0), ("throughput_bps", 1)}


def test_reverse_is_receive_direction():
    path = EDGE / "tcp_reverse_3.12.json"
    end = json.loads(path.read_text())["end"]
    r = _parse(path)
    assert r.fields["direction"] == "receive"
    assert r.measurements["throughput_bps"] == end["sum_received"]["bits_per_second"]
    assert r.measurements["retransmits"] == 17
    assert {s.metric for s in r.intervals} == {"throughput_bps"}


def test_reverse_flag_contradicting_sender_flag_is_an_error():
    text = (EDGE / "tcp_reverse_3.12.json").read_text().replace('"reverse":\t1', '"reverse":\t0')
    with pytest.raises(ParseError, match=r"tcp_reverse_3.12.json:\d+: expected sender true for reverse=0"):
        _parse(EDGE / "tcp_reverse_3.12.json", text)


def test_omitted_intervals_are_skipped():
    r = _parse(EDGE / "tcp_omit1_3.9.json")
    assert r.fields["omit_s"] == 1.0 and r.fields["tool_version"] == "3.9"
    sums = [s for s in r.intervals if s.stream is None]
    assert [(s.interval_start_s, s.interval_end_s) for s in sums] == [(0.0, 1.000087), (1.000087, 2.000042)]
    assert sums[0].value == pytest.approx(117833728 * 8 / 1.000087)


def test_legacy_udp_end_sum_only():
    r = _parse(EDGE / "udp_legacy_sum_3.1.json")
    m = r.measurements
    assert m["send_throughput_bps"] == 1048512.571
    assert m["throughput_bps"] == pytest.approx(1048512.571 * (1 - 1 / 32))
    assert (m["jitter_s"], m["lost_packets"], m["packets"], m["loss_pct"]) == (pytest.approx(0.0241e-3), 1, 32,
                                                                              3.125)
    assert r.fields["start_time"] == datetime(2018, 11, 6, 10, 15, 2, tzinfo=UTC)
    assert any("derived" in n for n in r.notes)


def test_error_key_is_a_tool_reported_error_with_its_text():
    path = EDGE / "error_connect_3.12.json"
    with pytest.raises(ToolReportedError, match=r"error_connect_3.12.json:10: .*unable to connect to server") as ei:
        _parse(path)
    assert ei.value.reason == "tool_error" and "Connection refused" in ei.value.error_text


def test_truncated_json_names_the_line():
    lines = TCP.read_text().splitlines(keepends=True)
    text = "".join(lines[:120])
    with pytest.raises(ParseError, match=r"x_iperf3_tcp_A_split_l4096_t1.json:12\d: expected complete iperf3 JSON"):
        _parse(TCP, text)


def test_duplicate_key_with_another_value_names_its_line():
    # the same value repeated is read once (tests/unit/test_parse_iperf3_loopback.py); another value is an error
    lines = TCP.read_text().splitlines(keepends=True)
    i = next(k for k, ln in enumerate(lines) if '"host_total"' in ln)
    text = "".join(lines[: i + 1] + [lines[i].replace("89.", "12.")] + lines[i + 1:])
    with pytest.raises(ParseError, match=rf"json:{i + 2}: expected one value for the repeated key "
                                         r"end.cpu_utilization_percent.host_total, found '89.\d+ \(line "
                                         rf"{i + 1}\) and 12.\d+ \(line {i + 2}\)'"):
        _parse(TCP, text)


def test_missing_required_value_names_key_and_line():
    # the key is gone, so the line named is its parent object's
    lines = TCP.read_text().splitlines(keepends=True)
    text = "".join(ln for ln in lines if '"blksize"' not in ln)
    with pytest.raises(ParseError, match=r"json:26: expected a value \(a whole number >= 0\) at "
                                         r"start.test_start.blksize, found 'nothing'"):
        _parse(TCP, text)


def test_wrong_type_and_negative_values_are_rejected():
    text = TCP.read_text().replace('"num_streams":\t1', '"num_streams":\t"one"')
    with pytest.raises(ParseError, match=r"json:28: expected a whole number >= 0 at start.test_start.num_streams"):
        _parse(TCP, text)
    text = TCP.read_text().replace("8839996340.06405", "-8839996340.06405")
    with pytest.raises(ParseError, match=r"json:135: expected a finite number >= 0 at "
                                         r"end.sum_received.bits_per_second"):
        _parse(TCP, text)


def test_nan_and_overflowing_numbers_are_rejected():
    with pytest.raises(ParseError, match=r"json:117: expected a finite JSON number, found 'NaN'"):
        _parse(TCP, TCP.read_text().replace("8839996340.06405", "NaN"))
    with pytest.raises(ParseError, match=r"expected a finite number >= 0 at end.sum_received.bits_per_second"):
        _parse(TCP, TCP.read_text().replace("8839996340.06405", "8839996340e999"))


def test_missing_retransmits_while_streams_have_them():
    lines = TCP.read_text().splitlines(keepends=True)
    i = next(k for k, ln in enumerate(lines) if '"sum_sent"' in ln)
    j = next(k for k in range(i, len(lines)) if '"retransmits"' in lines[k])
    text = "".join(lines[:j] + lines[j + 1:])
    with pytest.raises(ParseError, match=r"expected retransmits \(the per-stream sender records carry them\)"):
        _parse(TCP, text)


def test_unknown_protocol_and_non_object_are_rejected():
    with pytest.raises(ParseError, match=r"json:27: expected one of \['TCP', 'UDP'\] at start.test_start.protocol, "
                                         r"found 'SCTP'"):
        _parse(TCP, TCP.read_text().replace('"protocol":\t"TCP"', '"protocol":\t"SCTP"'))
    with pytest.raises(ParseError, match=r"x.json:1: expected a JSON object at the top level, found 'list'"):
        iperf3.parse("[1, 2]\n", "x.json")
    with pytest.raises(ParseError, match=r"x.json: expected iperf3 -J output \(a JSON object\), found 'empty file'"):
        iperf3.parse("", "x.json")


def test_warning_lines_before_the_json_are_kept_as_notes():
    text = "Warning: --bidir option is in use and is an experimental feature.\n" + TCP.read_text()
    r = _parse(TCP, text)
    assert r.measurements == _parse(TCP).measurements
    assert r.notes == ("iperf3 printed before the JSON: Warning: --bidir option is in use and is an experimental "
                       "feature.",)


def test_json_stream_output_is_read_as_its_events():
    """--json-stream is parsed (tests/unit/test_parse_iperf3_json_stream.py); empty events name the start line."""
    text = '{"event":"start","data":{}}\n{"event":"end","data":{}}\n'
    with pytest.raises(ParseError, match=r"s.json:1: expected a value \(a JSON object\) at start.test_start"):
        iperf3.parse(text, "s.json")


def test_retransmits_minus_one_means_not_available():
    d = json.loads(TCP.read_text())
    d["end"]["sum_sent"]["retransmits"] = -1
    for s in d["end"]["streams"]:
        s["sender"]["retransmits"] = -1
    r = iperf3.parse(json.dumps(d, indent=1), TCP)
    assert "retransmits" not in r.measurements
    assert "iperf3: retransmits not available (-1)" in r.notes


def test_argument_validation():
    with pytest.raises(TypeError, match=r"text: expected the file's content as str, got bytes"):
        iperf3.parse(b"{}", "x")
    with pytest.raises(TypeError, match=r"path: expected str or pathlib.Path, got int"):
        iperf3.parse("", 3)
    with pytest.raises(TypeError, match=r"test: expected None or a test name \(str\), got int"):
        iperf3.parse("", "x", test=1)
