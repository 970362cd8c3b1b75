"""iperf2 ``-e -y C`` as iperf 2.1.8 (Debian 12) writes it: files captured from the real tool on 127.0.0.1
(tests/data/iperf2/2.1.8/README.md gives the commands). Expected values are read off the raw rows by hand."""

from __future__ import annotations

import pytest

from analysis.parsers import parse_file
from analysis.parsers.base import ParseError
from analysis.parsers.iperf2 import parse
from tests.conftest import TESTS

pytestmark = pytest.mark.unit

DATA = TESTS / "data" / "iperf2" / "2.1.8"


def test_tcp_client_with_intervals():
    r = parse_file(DATA / "tcp_client_e_yC_i1_2.1.8.txt")
    assert r.tool == "iperf2" and r.parser == "iperf2-csv"
    assert r.fields["protocol"] == "TCP" and r.fields["streams"] == 1 and r.fields["duration_s"] == 2.0
    assert r.measurements == {"throughput_bps": 15216756279.0}  # the 0.0-2.0 row, not an interval row
    assert [(s.interval_start_s, s.interval_end_s, s.value) for s in r.intervals] == [
        (0.0, 1.0, 14874051040.0), (1.0, 2.0, 15738077184.0)]
    assert r.fields["csv_timestamp"] == "20261201220129.486"


def test_tcp_parallel_without_sum_row_is_summed_and_noted():
    for name in ("tcp_client_e_yC_P2_2.1.8.txt", "tcp_server_e_yC_P2_2.1.8.txt"):
        r = parse_file(DATA / name)
        assert r.fields["streams"] == 2
        assert any("no ID -1 sum row" in n for n in r.notes)
    assert parse_file(DATA / "tcp_client_e_yC_P2_2.1.8.txt").measurements["throughput_bps"] == (
        4686864909.0 + 4792928623.0)
    assert parse_file(DATA / "tcp_server_e_yC_P2_2.1.8.txt").measurements["throughput_bps"] == (
        10496418576.0 + 5631785703.0)


def test_udp_client_rows_are_the_senders():
    """The client's final row has total -1 (receiver unknown): a send rate, no jitter or loss."""
    r = parse_file(DATA / "udp_client_e_yC_i1_2.1.8.txt")
    assert r.fields["protocol"] == "UDP" and r.fields["test"] == "UDP_STREAM" and r.fields["tool_test"] == "IPERF2_UDP"
    assert r.measurements == {"send_throughput_bps": 10496926.0}
    assert any("no server report" in n for n in r.notes)
    assert [s.metric for s in r.intervals] == ["send_throughput_bps"] * 2
    assert [s.value for s in r.intervals] == [10501680.0, 10489920.0]


def test_udp_server_report():
    r = parse_file(DATA / "udp_server_e_yC_2.1.8.txt")
    m = r.measurements
    assert m["throughput_bps"] == 10497230.0
    assert m["jitter_s"] == pytest.approx(0.003e-3)
    assert (m["lost_packets"], m["packets"], m["loss_pct"]) == (0.0, 1787.0, 0.0)


def test_server_stopped_by_signal_keeps_its_message_as_a_note():
    r = parse_file(DATA / "udp_server_sigterm_e_yC_2.1.8.txt")
    assert r.measurements["packets"] == 449.0
    assert any("Waiting for server threads" in n for n in r.notes)


def test_a_sender_row_with_losses_is_refused():
    row = "20261201220122.713,127.0.0.1,59423,127.0.0.1,5612,1,0.0-2.0,2626890,10496926,0.000,3,-1,-0.000,0\n"
    with pytest.raises(ParseError, match=r"x.csv:1: expected a UDP sender row \(total -1\) with lost 0"):
        parse(row, "x.csv")


def test_a_header_led_enhanced_csv_of_newer_iperf_is_refused_by_name():
    """iperf >= 2.2 writes a header line before enhanced CSV rows: refused clearly, not misread as 2.1 rows."""
    from analysis.parsers import detect_tool

    text = ("time,srcaddress,srcport,dstaddr,dstport,transferid,istart,iend,bytes,speed,writecnt,writeerr\n"
            "20261201220129.486,127.0.0.1,44520,127.0.0.1,5611,1,0.0,1.0,1859256380,14874051040,100,0\n")
    assert detect_tool(text) == "iperf2"
    with pytest.raises(ParseError, match=r"new.csv:1: expected iperf 2 -y C rows without a header line .* iperf >= "
                                         r"2.2's enhanced CSV, which is not read yet, found 'time,srcaddress"):
        parse(text, "new.csv")
