"""iperf 2 parser: text and -y C CSV, the real samples and hand-made edge cases (units, -P, UDP reports)."""

from __future__ import annotations

import pytest

from analysis.parsers import iperf2, parse_file
from analysis.parsers.base import ParseError
from analysis.schema import METRICS
from tests.conftest import SAMPLES, TESTS

pytestmark = pytest.mark.unit

TEXT = SAMPLES / "iperf2" / "x_iperf2_text_A_split_default_t1.txt"
CSV = SAMPLES / "iperf2" / "x_iperf2_csv_A_split_default_t1.txt"
EDGE = TESTS / "data" / "iperf2"


def _parse(path, text=None):
    return iperf2.parse(path.read_text() if text is None else text, path)


def test_real_text_sample():
    # [  1] 0.0000-2.0138 sec  4.01 GBytes  17.1 Gbits/sec
    r = _parse(TEXT)
    assert (r.tool, r.parser) == ("iperf2", "iperf2-text")
    assert r.measurements == {"throughput_bps": 17.1e9}
    assert r.fields["duration_s"] == pytest.approx(2.0138)
    assert r.fields["test"] == "IPERF2_TCP" and r.fields["direction"] == "send" and r.fields["streams"] == 1
    assert r.intervals == () and r.notes == ()


def test_real_csv_sample():
    # 19700101000000,127.0.0.1,57852,127.0.0.1,5001,1,0.0-2.0,5488508988,21801447620
    r = _parse(CSV)
    assert (r.tool, r.parser) == ("iperf2", "iperf2-csv")
    assert r.measurements == {"throughput_bps": 21801447620.0}
    assert r.fields["duration_s"] == 2.0 and r.fields["streams"] == 1 and r.fields["test"] == "IPERF2_TCP"
    assert r.fields["csv_timestamp"] == "19700101000000" and "start_time" not in r.fields


def test_detection_and_crlf():
    assert parse_file(TEXT).parser == "iperf2-text"
    assert parse_file(CSV).parser == "iperf2-csv"
    for path in (TEXT, CSV, EDGE / "text_udp_client_P2_2.1.txt"):
        text = path.read_text()
        assert iperf2.sniff(text)
        assert _parse(path, text.replace("\n", "\r\n")) == _parse(path, text)
    assert not iperf2.sniff("sockperf: == version #3.7 ==\n")


def test_unit_tables_match_iperf2_byte_snprintf():
    # kConversion (bytes) is 1024-based, kConversionForBits 1000-based; byte rates are 1024-based x 8
    assert iperf2.TRANSFER_UNITS["GBytes"] == 2**30 and iperf2.TRANSFER_UNITS["KBytes"] == 1024
    assert iperf2.RATE_UNITS["Gbits/sec"] == 1e9 and iperf2.RATE_UNITS["Kbits/sec"] == 1e3
    assert iperf2.RATE_UNITS["KBytes/sec"] == 8 * 1024


def test_byte_rate_units():
    # -f K: 1120 MBytes in 10 s = 114688 KBytes/sec = 114688 * 1024 * 8 bit/s
    r = _parse(EDGE / "text_tcp_format_KBytes.txt")
    assert r.measurements["throughput_bps"] == 114688 * 1024 * 8


def test_parallel_streams_sum_row_and_intervals():
    r = _parse(EDGE / "text_tcp_P2_i1_2.0.txt")
    assert r.measurements == {"throughput_bps": 1.86e9}
    assert r.fields["streams"] == 2 and r.fields["duration_s"] == 3.0
    assert len(r.intervals) == 9
    assert {s.stream for s in r.intervals} == {3, 4, None}
    second_sum = [s for s in r.intervals if s.stream is None][1]
    assert (second_sum.interval_start_s, second_sum.interval_end_s, second_sum.value) == (1.0, 2.0, 1.87e9)
    assert all(s.metric == "throughput_bps" for s in r.intervals)


def test_enhanced_output_retransmits_and_write_size():
    r = _parse(EDGE / "text_tcp_enhanced_2.1.txt")
    assert r.measurements == {"throughput_bps": 17.4e9, "retransmits": 12.0}
    assert r.fields["msg_size_bytes"] == 131072 and r.fields["duration_s"] == pytest.approx(10.0055)


def test_udp_client_with_server_report():
    r = _parse(EDGE / "text_udp_client_2.0.txt")
    m = r.measurements
    assert m["send_throughput_bps"] == 1.05e6 and m["throughput_bps"] == 1.05e6
    assert m["jitter_s"] == pytest.approx(0.022e-3)
    assert (m["lost_packets"], m["packets"], m["loss_pct"]) == (0, 893, 0.0)
    assert r.fields["test"] == "IPERF2_UDP" and r.fields["msg_size_bytes"] == 1470


def test_udp_client_parallel_server_reports():
    r = _parse(EDGE / "text_udp_client_P2_2.1.txt")
    m = r.measurements
    assert m["send_throughput_bps"] == 2.10e6  # [SUM] of the client's own rows
    assert m["throughput_bps"] == pytest.approx(1.05e6 + 1.04e6)  # the two server reports
    assert (m["lost_packets"], m["packets"]) == (7, 893 + 893)
    assert m["loss_pct"] == pytest.approx(100 * 7 / 1786)
    assert m["jitter_s"] == pytest.approx((0.031 + 0.047) / 2 * 1e-3)
    assert r.fields["streams"] == 2 and r.fields["duration_s"] == pytest.approx(10.0153)
    assert len(r.notes) == 1 and "summed over 2 streams" in r.notes[0]


def test_udp_server_output():
    r = _parse(EDGE / "text_udp_server_2.0.txt")
    assert r.fields["iperf_role"] == "server" and r.fields["msg_size_bytes"] == 1470
    assert r.measurements == {"throughput_bps": 1.05e6, "jitter_s": pytest.approx(0.022e-3), "lost_packets": 0.0,
                              "packets": 893.0, "loss_pct": 0.0}


def test_udp_client_without_server_report_says_so():
    lines = (EDGE / "text_udp_client_2.0.txt").read_text().splitlines(keepends=True)
    r = _parse(EDGE / "text_udp_client_2.0.txt", "".join(lines[:-2]))
    assert r.measurements == {"send_throughput_bps": 1.05e6}
    assert any("no server report" in n for n in r.notes)


def test_csv_parallel_sum_row_and_udp_client():
    r = _parse(EDGE / "csv_tcp_P2_2.0.txt")
    assert r.measurements == {"throughput_bps": 1888044799.0} and r.fields["streams"] == 2
    r = _parse(EDGE / "csv_udp_client_2.0.txt")
    assert r.measurements == {"send_throughput_bps": 1049852.0, "throughput_bps": 1049850.0,
                              "jitter_s": pytest.approx(0.022e-3), "lost_packets": 0.0, "packets": 893.0,
                              "loss_pct": 0.0}
    assert r.fields["test"] == "IPERF2_UDP"


def test_csv_interval_rows():
    r = _parse(EDGE / "csv_tcp_i1.txt")
    assert r.measurements == {"throughput_bps": 935329792.0} and r.fields["duration_s"] == 2.0
    assert [(s.interval_start_s, s.interval_end_s, s.value) for s in r.intervals] == [
        (0.0, 1.0, 939524096.0), (1.0, 2.0, 931135488.0)]


def test_all_metrics_in_schema():
    for path in [TEXT, CSV, *sorted(EDGE.rglob("*.txt"))]:
        r = _parse(path)
        assert set(r.measurements) <= set(METRICS), path


# ---- errors: each message checked


def test_truncated_last_row():
    text = TEXT.read_text()[:-12]
    with pytest.raises(ParseError, match=r"x_iperf2_text_A_split_default_t1.txt:7: expected a complete last line"):
        _parse(TEXT, text)
    with pytest.raises(ParseError, match=r"x_iperf2_csv_A_split_default_t1.txt:1: expected a complete last line"):
        _parse(CSV, CSV.read_text()[:-5])


def test_no_rows_at_all():
    lines = TEXT.read_text().splitlines(keepends=True)
    with pytest.raises(ParseError, match=r"t1.txt:6: expected at least one iperf 2 report row"):
        _parse(TEXT, "".join(lines[:-1]))


def test_garbled_row_and_unknown_unit():
    with pytest.raises(ParseError, match=r"t1.txt:7: expected an iperf 2 report row"):
        _parse(TEXT, TEXT.read_text().replace("17.1 Gbits", "17,1 Gbits"))
    with pytest.raises(ParseError, match=r"t1.txt:7: expected a Bandwidth unit \(one of bits/sec"):
        _parse(TEXT, TEXT.read_text().replace("Gbits/sec", "Xbits/sec"))
    with pytest.raises(ParseError, match=r"t1.txt:7: expected a Transfer unit"):
        _parse(TEXT, TEXT.read_text().replace("GBytes", "Gbits"))


def test_swapped_unit_fails_the_consistency_check():
    with pytest.raises(ParseError, match=r"t1.txt:7: expected Transfer / seconds consistent with Bandwidth"):
        _parse(TEXT, TEXT.read_text().replace("Gbits/sec", "Mbits/sec"))
    bad = CSV.read_text().replace("21801447620", "2180144762")
    with pytest.raises(ParseError, match=r"t1.txt:1: expected bytes x 8 / seconds consistent with bits per second"):
        _parse(CSV, bad)


def test_missing_final_row_after_intervals():
    lines = (EDGE / "text_tcp_P2_i1_2.0.txt").read_text().splitlines(keepends=True)
    with pytest.raises(ParseError, match=r"2.0.txt:14: expected a final summary row \(starting at 0\) for stream "
                                         r"\[4\]"):
        _parse(EDGE / "text_tcp_P2_i1_2.0.txt", "".join(lines[:-3]))


def test_server_report_missing_after_its_heading():
    lines = (EDGE / "text_udp_client_2.0.txt").read_text().splitlines(keepends=True)
    with pytest.raises(ParseError, match=r"2.0.txt:11: expected the server report row for \[3\]"):
        _parse(EDGE / "text_udp_client_2.0.txt", "".join(lines[:-1]))


def test_bad_banner_protocol_and_udp_rows_under_tcp():
    with pytest.raises(ParseError, match=r"t1.txt:2: expected protocol TCP or UDP in the client banner"):
        _parse(TEXT, TEXT.read_text().replace("TCP port", "SCTP port"))
    text = (EDGE / "text_udp_server_2.0.txt").read_text().replace("UDP port", "TCP port")
    with pytest.raises(ParseError, match=r"2.0.txt:8: expected TCP report rows \(the banner says TCP\)"):
        _parse(EDGE / "text_udp_server_2.0.txt", text)


def test_csv_field_errors():
    with pytest.raises(ParseError, match=r"t1.txt:1: expected an iperf 2 -y C row of 9 \(TCP\) or 14 \(UDP\) fields"):
        _parse(CSV, CSV.read_text().replace(",5001,", ",5001,7,"))
    with pytest.raises(ParseError, match=r"t1.txt:1: expected a whole number >= 0 for bytes \(field 8\)"):
        _parse(CSV, CSV.read_text().replace("5488508988", "5488.508988"))
    with pytest.raises(ParseError, match=r"t1.txt:1: expected an interval 'start-end' in field 7"):
        _parse(CSV, CSV.read_text().replace("0.0-2.0", "0.0to2.0"))
    with pytest.raises(ParseError, match=r"t1.txt:1: expected a 14-digit timestamp"):
        _parse(CSV, CSV.read_text().replace("19700101000000", "1970010100000x"))
    with pytest.raises(ParseError, match=r"x.txt: expected iperf 2 output, found 'empty file'"):
        iperf2.parse("\n", "x.txt")


def test_argument_validation():
    with pytest.raises(TypeError, match=r"text: expected the file's content as str, got bytes"):
        iperf2.parse(b"{}", "x")
    with pytest.raises(TypeError, match=r"path: expected str or pathlib.Path, got int"):
        iperf2.parse("", 3)
    with pytest.raises(TypeError, match=r"test: expected None or a test name \(str\), got int"):
        iperf2.parse("", "x", test=1)
