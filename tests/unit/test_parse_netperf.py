"""netperf parser: every real sample with the numbers visible in it, hand-made edge cases per quirk, each error.

Real samples: ``tests/data/samples/netperf`` (netperf 2.7.1, commands in that folder's README). Hand-made cases:
``tests/data/netperf`` (formats from netperf's ``src/nettest_bsd.c``, ``src/nettest_omni.c``, ``src/netlib.c``;
several rows are real output quoted in mailing-list posts). Unit factors are written out here independently of the
parser's table: ``-f k/m/g`` = 10^3/10^6/10^9 bits/s, ``-f K/M/G`` = 2^10/2^20/2^30 bytes/s (``calc_thruput``).
"""

from __future__ import annotations

import pytest

from analysis.parsers import netperf, parse_file, parse_text
from analysis.parsers.base import ParseError, ToolReportedError
from analysis.schema import METRICS
from tests.conftest import SAMPLES, TESTS

pytestmark = pytest.mark.unit

NP = SAMPLES / "netperf"
EDGE = TESTS / "data" / "netperf"
BANNER = "MIGRATED TCP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 127.0.0.1 () port 0 AF_INET"
STREAM_HDR = (
    "Recv   Send    Send                          \n"
    "Socket Socket  Message  Elapsed              \n"
    "Size   Size    Size     Time     Throughput  \n"
    "bytes  bytes   bytes    secs.    {unit}  \n"
    "\n"
)
ROW = "131072  16384  16384    10.00      {value}   \n"


def approx(x):
    return pytest.approx(x, rel=1e-12)


def _parse(name, **kw):
    return parse_file(EDGE / name, tool="netperf", **kw)


def _check_si(run):
    assert run.tool == "netperf"
    assert run.parser_version == netperf.PARSER_VERSION
    for metric, value in run.measurements.items():
        assert metric in METRICS
        assert isinstance(value, float)


# ------------------------------------------------------------------------------------------ real samples
def test_sample_tcp_stream_cpu():
    run = parse_file(NP / "np_tcp_stream_A_split_m4096_t1.txt")
    _check_si(run)
    assert run.parser == "netperf-classic"
    assert run.measurements == {
        "throughput_bps": approx(16829.34e6),
        "local_cpu_util_pct": approx(71.23),
        "remote_cpu_util_pct": approx(71.23),
        "local_service_demand_us_per_kb": approx(0.693),
        "remote_service_demand_us_per_kb": approx(0.693),
    }
    f = run.fields
    assert f["test"] == "TCP_STREAM" and f["direction"] == "send" and f["migrated"] is True
    assert f["msg_size_bytes"] == 4096 and f["duration_s"] == 2.0
    assert f["remote_recv_socket_bytes"] == 131072 and f["local_send_socket_bytes"] == 16384
    assert f["local_cpu_method"] == "S" and f["remote_cpu_method"] == "S"
    assert f["banner_flags"] == "histogram,demo"
    assert "confidence_met" not in f
    assert run.intervals == () and run.notes == ()


def test_sample_tcp_rr():
    run = parse_file(NP / "np_tcp_rr_B_split_r1x1_t1.txt")
    _check_si(run)
    assert run.measurements == {"transactions_per_s": approx(15050.55)}
    f = run.fields
    assert f["test"] == "TCP_RR" and "direction" not in f
    assert (f["msg_size_bytes"], f["response_size_bytes"], f["duration_s"]) == (1, 1, 2.0)
    assert (f["local_send_socket_bytes"], f["local_recv_socket_bytes"]) == (16384, 131072)
    assert (f["remote_send_socket_bytes"], f["remote_recv_socket_bytes"]) == (16384, 131072)
    assert f["first_burst"] == 0


def test_sample_udp_rr():
    run = parse_file(NP / "np_udp_rr_A_split_r1x1_t1.txt")
    assert run.measurements == {"transactions_per_s": approx(16007.60)}
    assert run.fields["test"] == "UDP_RR"
    assert run.fields["local_send_socket_bytes"] == 212992 and run.fields["remote_recv_socket_bytes"] == 212992


def test_sample_omni_csv():
    run = parse_file(NP / "x_np_csv_omni_A_split_m4096_t1.txt")
    _check_si(run)
    assert run.parser == "netperf-omni-csv"
    assert run.measurements == {
        "throughput_bps": approx(14805.98e6),
        "local_cpu_util_pct": approx(71.47),
        "remote_cpu_util_pct": approx(71.47),
    }
    f = run.fields
    assert f["test"] == "TCP_STREAM" and f["tool_test"] == "OMNI" and f["direction"] == "send"
    assert f["msg_size_bytes"] == 4096 and f["duration_s"] == 2.0


def test_sample_omni_kv_rr():
    run = parse_file(NP / "x_np_kv_tcp_rr_A_split_r1x1_t1.txt")
    _check_si(run)
    assert run.parser == "netperf-omni-kv"
    assert run.measurements == {
        "latency_mean_s": approx(97.80e-6),
        "latency_p50_s": approx(79e-6),
        "latency_p90_s": approx(115e-6),
        "latency_p99_s": approx(398e-6),
        "transactions_per_s": approx(10187.727),
    }
    assert run.fields["test"] == "TCP_RR"


@pytest.mark.parametrize("path", sorted(NP.iterdir()), ids=lambda p: p.name)
def test_every_sample_is_detected_and_crlf_tolerated(path):
    text = path.read_text()
    assert netperf.sniff(text)
    lf = parse_text(text, path)
    crlf = parse_text(text.replace("\n", "\r\n"), path, "netperf")
    assert crlf == lf


# ------------------------------------------------------------------------------------------ hand-made cases
def test_maerts_cpu_method_c_and_gbytes():
    run = _parse("tcp_maerts_cpu_GBytes.txt")
    assert run.fields["test"] == "TCP_MAERTS" and run.fields["direction"] == "receive"
    assert run.measurements["throughput_bps"] == approx(1.09 * 8 * 2**30)
    assert run.measurements["local_service_demand_us_per_kb"] == approx(10.812)
    assert run.measurements["remote_service_demand_us_per_kb"] == approx(20.546)
    assert run.fields["local_recv_socket_bytes"] == 131072 and run.fields["remote_send_socket_bytes"] == 16384
    assert run.fields["local_cpu_method"] == "C"


def test_udp_stream_rows_kept_and_loss_derived():
    run = _parse("udp_stream_cpu_loss.txt")
    m = run.measurements
    assert m["send_throughput_bps"] == approx(2351.7e6)
    assert m["throughput_bps"] == approx(2351.6e6)
    assert m["packets"] == 2100620 and m["lost_packets"] == 81
    assert m["loss_pct"] == approx(100 * 81 / 2100620)
    assert m["local_cpu_util_pct"] == approx(36.69) and m["remote_cpu_util_pct"] == approx(26.18)
    assert m["local_service_demand_us_per_kb"] == approx(5.112)
    assert m["remote_service_demand_us_per_kb"] == approx(3.648)
    f = run.fields
    assert (f["messages_sent"], f["messages_send_errors"], f["messages_received"]) == (2100620, 0, 2100539)
    assert f["msg_size_bytes"] == 1400 and f["banner_flags"] == "demo,cpu bind"


def test_udp_stream_classic_banner_mbytes():
    run = _parse("udp_stream_classic_MBytes.txt")
    assert run.fields["test"] == "UDP_STREAM" and run.fields["migrated"] is False
    assert run.measurements["throughput_bps"] == approx(197.22 * 8 * 2**20)
    assert run.measurements["loss_pct"] == 0.0
    assert run.fields["duration_s"] == 9.99 and run.fields["remote_elapsed_s"] == 9.99


def test_tcp_stream_classic_banner_to_host():
    run = _parse("tcp_stream_classic_to_MBytes.txt")
    assert run.fields["test"] == "TCP_STREAM"
    assert run.measurements == {"throughput_bps": approx(175.87 * 8 * 2**20)}


def test_confidence_not_met_keeps_reported_widths():
    run = _parse("tcp_stream_confidence_not_met.txt")
    f = run.fields
    assert f["confidence_met"] is False
    assert f["confidence_interval_width_pct"] == 6.663
    assert f["local_cpu_confidence_width_pct"] == 14.049
    assert f["remote_cpu_confidence_width_pct"] == 13.944
    assert f["confidence_target_halfwidth_pct"] == 2.5 and f["confidence_level_pct"] == 99
    assert run.measurements["throughput_bps"] == approx(9591.78e6)
    assert any("confidence was not achieved" in n for n in run.notes)


def test_confidence_met_when_asked_and_no_warning():
    run = _parse("tcp_stream_confidence_met_old.txt")
    assert run.fields["confidence_met"] is True
    assert run.measurements == {"throughput_bps": approx(40.23e6)}


def test_rr_cpu_method_p_service_demand_per_transaction():
    run = _parse("tcp_rr_cpu_P.txt")
    assert run.measurements == {
        "transactions_per_s": approx(16941.71),
        "local_cpu_util_pct": approx(0.19),
        "remote_cpu_util_pct": approx(0.19),
        "local_service_demand_us_per_tr": approx(7.881),
        "remote_service_demand_us_per_tr": approx(8.053),
    }
    assert run.fields["local_cpu_method"] == "P" and run.fields["duration_s"] == 600.0


def test_tcp_crr_and_banner_suffixes():
    run = _parse("tcp_crr.txt")
    assert run.fields["test"] == "TCP_CRR"
    assert run.measurements == {"transactions_per_s": approx(5012.34)}
    assert (run.fields["msg_size_bytes"], run.fields["response_size_bytes"]) == (64, 1024)
    assert run.fields["banner_flags"] == "histogram,interval,dirty data,demo"


def test_p0_rows_need_the_manifest_test():
    run = _parse("tcp_stream_P0.txt", test="tcp_stream")
    assert run.parser == "netperf-classic-rows"
    assert run.fields["test"] == "TCP_STREAM" and run.fields["msg_size_bytes"] == 16384
    assert run.measurements == {"throughput_bps": approx(4742.36e6)}
    assert any("default unit 10^6bits/s" in n for n in run.notes)
    rr = _parse("udp_rr_P0.txt", test="UDP_RR")
    assert rr.measurements == {"transactions_per_s": approx(16007.60)}
    assert rr.fields["remote_recv_socket_bytes"] == 212992
    with pytest.raises(ParseError, match=r"tcp_stream_P0.txt:1: expected .*test name must come from the manifest"):
        _parse("tcp_stream_P0.txt")
    assert not netperf.sniff((EDGE / "tcp_stream_P0.txt").read_text())


def test_p0_cpu_rows():
    text = "131072  16384  16384    10.00      9132.37   6.13     11.79    0.440   0.846 \n"
    run = netperf.parse(text, "p0.txt", test="TCP_MAERTS")
    assert run.fields["direction"] == "receive"
    assert run.measurements["remote_service_demand_us_per_kb"] == approx(0.846)
    udp = ("212992   65507   10.00      114455      0     5997.0     12.55    1.371\n"
           "212992           10.00      114455            5997.0     8.12     0.887\n")
    run = netperf.parse(udp, "p0.txt", test="UDP_STREAM")
    assert run.measurements["remote_cpu_util_pct"] == approx(8.12) and run.measurements["loss_pct"] == 0.0


def test_sentinel_minus_one_is_missing():
    run = _parse("tcp_stream_local_cpu_only.txt")
    assert run.measurements == {
        "throughput_bps": approx(9132.37e6),
        "local_cpu_util_pct": approx(6.13),
        "local_service_demand_us_per_kb": approx(0.440),
    }
    assert run.fields["remote_cpu_method"] == "U"
    assert len([n for n in run.notes if "not measured" in n]) == 2


def test_demo_interim_lines_become_intervals():
    run = _parse("tcp_stream_demo_interim.txt")
    assert [(s.metric, s.interval_start_s, s.interval_end_s) for s in run.intervals] == [
        ("throughput_bps", 0.0, 1.0), ("throughput_bps", 1.0, 2.0)]
    assert [s.value for s in run.intervals] == [approx(16712.35e6), approx(16946.33e6)]
    assert run.measurements == {"throughput_bps": approx(16829.34e6)}


def test_verbose_sections_after_table_are_not_values():
    run = _parse("tcp_stream_verbose.txt")
    assert run.measurements == {"throughput_bps": approx(16.83e9)}
    assert any("verbose output from line 9" in n for n in run.notes)


def test_omni_kv_full_with_interim_and_cpu_frequency():
    run = _parse("omni_kv_stream_full.txt")
    assert run.measurements == {
        "throughput_bps": approx(16760.55e6),
        "local_cpu_util_pct": approx(70.12),
        "local_service_demand_us_per_kb": approx(0.686),
    }
    f = run.fields
    assert f["cpu_mhz"] == 2596.0 and f["remote_cpu_mhz"] == 2596.0 and f["n_cpus"] == 2
    assert f["msg_size_bytes"] == 16384 and f["direction"] == "send" and f["protocol"] == "TCP"
    assert f["local_send_socket_final_bytes"] == 4194304 and "confidence_level_pct" not in f
    assert [(s.interval_start_s, s.interval_end_s) for s in run.intervals] == [(0.0, 1.0), (1.0, approx(2.001))]
    assert [s.value for s in run.intervals] == [approx(16500.12e6), approx(17020.44e6)]
    assert any("REMOTE_CPU_UTIL, REMOTE_SD" in n for n in run.notes)


def test_omni_kv_rr_latency_stats_and_trans_units():
    run = _parse("omni_kv_rr_latency.txt")
    m = run.measurements
    assert m["transactions_per_s"] == approx(12345.678)
    assert m["latency_min_s"] == approx(52e-6) and m["latency_max_s"] == approx(1830e-6)
    assert m["latency_mean_s"] == approx(80.71e-6) and m["latency_stddev_s"] == approx(12.05e-6)
    assert (m["latency_p50_s"], m["latency_p90_s"], m["latency_p99_s"]) == (approx(78e-6), approx(95e-6),
                                                                            approx(140e-6))
    assert m["local_service_demand_us_per_tr"] == approx(57.519)
    assert m["remote_service_demand_us_per_tr"] == approx(53.873)
    assert (run.fields["msg_size_bytes"], run.fields["response_size_bytes"]) == (64, 1024)
    assert run.fields["test"] == "UDP_RR"


def test_omni_human_columns():
    run = _parse("omni_human_O.txt")
    assert run.parser == "netperf-omni-human"
    assert run.measurements == {"throughput_bps": approx(14805.98e6), "local_cpu_util_pct": approx(71.47)}
    f = run.fields
    assert f["cpu_mhz"] == 2596.0 and f["msg_size_bytes"] == 4096 and f["duration_s"] == 2.0
    assert f["command_line"] == "netperf -H 127.0.0.1 -t omni -- -O ..."


def test_omni_csv_interim_rows_and_quoted_values():
    text = ("OMNI Send TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 127.0.0.1 () port 0 AF_INET : demo\n"
            "14000.50,10^6bits/s,1.000,1732582345.123\n"
            "Throughput,Throughput Units,Command Line,Local CPU Frequency MHz\n"
            '14805.98,10^6bits/s,"netperf -t omni, -- -o",2596\n')
    run = netperf.parse(text, "csv.txt")
    assert run.measurements == {"throughput_bps": approx(14805.98e6)}
    assert run.fields["command_line"] == "netperf -t omni, -- -o" and run.fields["cpu_mhz"] == 2596.0
    assert [(s.interval_start_s, s.interval_end_s, s.value) for s in run.intervals] == [
        (0.0, 1.0, approx(14000.50e6))]


@pytest.mark.parametrize(
    ("unit", "bits_per_unit"),
    [
        ("10^0bits/s", 1.0),  # -f b
        ("10^3bits/s", 1e3),  # -f k
        ("10^6bits/s", 1e6),  # -f m
        ("10^9bits/s", 1e9),  # -f g
        ("10^6bits/sec", 1e6),  # netperf 2.4 header
        ("Bytes   /s", 8.0),  # -f B, "%-8.8s/s"
        ("KBytes  /s", 8 * 1024.0),  # -f K
        ("MBytes  /s", 8 * 1024.0**2),  # -f M
        ("GBytes  /s", 8 * 1024.0**3),  # -f G
        ("KBytes/sec", 8 * 1024.0),
        ("2^10Bytes/s", 8 * 1024.0),
    ],
)
def test_f_unit_variants(unit, bits_per_unit):
    text = BANNER + "\n" + STREAM_HDR.format(unit=unit) + ROW.format(value="123.45")
    run = netperf.parse(text, "f.txt")
    assert run.measurements["throughput_bps"] == approx(123.45 * bits_per_unit)


def test_old_rr_cpu_header_without_letters_ms_per_tr():
    text = ("TCP REQUEST/RESPONSE TEST to hpindigo\n"
            "Local /Remote\n"
            "Socket Size   Request Resp.  Elapsed Trans.   CPU    CPU    S.dem   S.dem\n"
            "Send   Recv   Size    Size   Time    Rate     local  remote local   remote\n"
            "bytes  bytes  bytes   bytes  secs.   per sec  %      %      ms/Tr   ms/Tr\n"
            "\n"
            "8192   8192   1       1      10.00   1520.63  19.25  -1.00  0.253   -1.000\n"
            "8192   8192\n")
    run = netperf.parse(text, "old.txt")
    assert run.measurements == {"transactions_per_s": approx(1520.63), "local_cpu_util_pct": approx(19.25),
                                "local_service_demand_us_per_tr": approx(253.0)}
    assert "local_cpu_method" not in run.fields


def test_tool_reported_errors():
    for name, line, text in [("err_establish_control.txt", 1, "establish_control could not establish"),
                             ("err_send_data.txt", 2, "send_data: data send error"),
                             ("err_no_response.txt", 2, "receive_response: no response received")]:
        path = EDGE / name
        assert netperf.sniff(path.read_text())
        with pytest.raises(ToolReportedError, match=rf"{name}:{line}: expected a successful run") as info:
            parse_file(path)
        assert text in info.value.error_text and info.value.reason == "tool_error"


def test_sniff_rejects_other_tools():
    for other in ("iperf2/x_iperf2_text_A_split_default_t1.txt", "iperf2/x_iperf2_csv_A_split_default_t1.txt",
                  "iperf3/x_iperf3_tcp_A_split_l4096_t1.json"):
        assert not netperf.sniff((SAMPLES / other).read_text())
    assert netperf.sniff("Throughput,Throughput Units\n1.0,10^6bits/s\n")


# ------------------------------------------------------------------------------------------ errors
TRUNC_ROW = "131072  16384  16384    10.00      123.4"
ERRORS = [
    ("", {}, r"^e.txt: expected netperf output, found 'an empty file'"),
    ("MIGRATED TCP FOO TEST from a to b\n1\n", {}, r"e.txt:1: expected a netperf test banner"),
    ("OMNI Sideways TEST from a to b\n", {}, r"e.txt:1: expected an omni banner"),
    (BANNER + "\n!!! WARNING\n!!! something else\n", {}, r"e.txt:3: expected the netperf confidence warning line"),
    (BANNER + "\nInterim result: lots\n", {}, r"e.txt:2: expected a demo-mode line"),
    (BANNER + "\n\n", {}, r"e.txt:3: expected a netperf result .* after the banner"),
    (BANNER + "\nLocal /Remote\n", {}, r"e.txt:2: expected the result table of a TCP_STREAM test"),
    (BANNER + "\nRecv   Send    Send\nSocket Socket  Message  Elapsed\nSize Size\n", {},
     r"e.txt:4: expected the netperf stream header line 'Size Size Size Time Throughput'"),
    (STREAM_HDR.format(unit="10^6bits/s") + ROW.format(value="1.0"), {},
     r"e.txt:1: expected a netperf banner .* or the test name from the manifest"),
    (ROW.format(value="1.0"), {"test": "FOO_BAR"}, r"e.txt:1: expected a test with a classic result table"),
    (BANNER + "\n" + ROW.format(value="1.0"), {}, r"e.txt:2: expected the result table's column header"),
    ("1 2 3\n", {"test": "TCP_STREAM"}, r"e.txt:1: expected a TCP_STREAM result row of 9 or 5 columns"),
    (BANNER + "\n" + STREAM_HDR.format(unit="10^6bits/s") + "1 2 3\n", {},
     r"e.txt:7: expected the result row of 5 columns"),
    (BANNER + "\n" + STREAM_HDR.format(unit="10^6bits/s") + ROW.format(value="12x.4"), {},
     r"e.txt:7: expected a number for 'result column 5', found '12x.4'"),
    (BANNER + "\n" + STREAM_HDR.format(unit="10^6bits/s") + "131072  16384.5  16384  10.00  1.0\n", {},
     r"e.txt:7: expected an integer for 'result column 2'"),
    (BANNER + "\n" + STREAM_HDR.format(unit="10^6bits/s") + ROW.format(value="1e999"), {},
     r"e.txt:7: expected a finite number for 'result column 5'"),
    (BANNER + "\n" + STREAM_HDR.format(unit="10^6bits/s") + TRUNC_ROW, {},
     r"e.txt:7: expected a complete line .*file ends mid-line"),
    (BANNER + "\n" + STREAM_HDR.format(unit="10^6furlongs/s") + ROW.format(value="1.0"), {},
     r"e.txt:5: expected a netperf throughput unit .* found '10\^6furlongs/s'"),
    (BANNER + "\n" + STREAM_HDR.format(unit="Trans/s") + ROW.format(value="1.0"), {},
     r"e.txt:5: expected a bits or bytes per second unit for a stream test"),
    (BANNER + "\n" + STREAM_HDR.format(unit="10^6bits/s") + ROW.format(value="1.0") + "junk\n", {},
     r"e.txt:8: expected the end of the netperf output after the result, found 'junk'"),
    (BANNER + "\nTHROUGHPUT=1\nnot a pair\n", {}, r"e.txt:3: expected a KEY=VALUE line"),
    ("THROUGHPUT_X[0]=1\n", {}, r"e.txt:1: expected an indexed key"),
    ("NETPERF_UNITS[0]=Trans/s\nNETPERF_UNITS[0]=Trans/s\n", {}, r"e.txt:2: expected NETPERF_UNITS\[0\] once"),
    ("MEAN_LATENCY=1\nMEAN_LATENCY=1\n", {}, r"e.txt:2: expected each key once; MEAN_LATENCY already on line 1"),
    ("NETPERF_INTERIM_RESULT[0]=1\nNETPERF_UNITS[0]=Trans/s\nMEAN_LATENCY=1\n", {},
     r"e.txt:1: expected NETPERF_INTERVAL\[0\] with the other demo-mode keys"),
    ((EDGE / "omni_csv_no_header_P0.txt").read_text(), {},
     r"e.txt:1: expected a CSV header naming the columns: .*-o selectors"),
    ("Throughput,Throughput Units\n", {}, r"e.txt:2: expected the CSV value line under the header"),
    ("Throughput,Throughput Units\n1.0\n", {}, r"e.txt:2: expected 2 comma-separated values, one per header"),
    ("Throughput,Throughput\n1.0,2.0\n", {}, r"e.txt:1: expected each column once; 'Throughput' appears twice"),
    ("MEAN_LATENCY=3\nTHROUGHPUT=1.0\n", {}, r"e.txt:2: expected THROUGHPUT_UNITS next to THROUGHPUT"),
    ("Elapsed Time (sec),Protocol\n2.00,TCP\n", {}, r"e.txt:2: expected at least one netperf result value"),
    ("LOCAL_SD=1.0\nSD_UNITS=furlongs\nLOCAL_CPU_UTIL=3\n", {}, r"e.txt:2: expected a service demand unit"),
    (BANNER + "\nThroughput\n\n", {}, r"e.txt:2: expected four netperf -O header lines"),
    (BANNER + "\nThroughput Throughput\n           Units\n\n\n\n", {},
     r"e.txt:6: expected the netperf -O value line under its four header lines"),
    (BANNER + "\n Throughput\n\n\n\n1.0\n", {}, r"e.txt:2: expected netperf -O column headers starting in the"),
    (BANNER + "\nThroughput Throughput\n           Units\n\n\n 14805.98  10^6bits/s\n", {},
     r"e.txt:6: expected a value aligned under column 1"),
    (BANNER + "\nFoo Bar\n\n\n\n1 2\n", {}, r"e.txt:2: expected netperf result columns"),
]


@pytest.mark.parametrize(("text", "kw", "match"), ERRORS, ids=[e[2][:60] for e in ERRORS])
def test_errors_name_file_line_and_expectation(text, kw, match):
    with pytest.raises(ParseError, match=match) as info:
        netperf.parse(text, "e.txt", **kw)
    assert info.value.path == "e.txt"
    assert type(info.value) is ParseError


def test_bad_arguments():
    with pytest.raises(TypeError, match="text: expected the file's content as str"):
        netperf.parse(b"x", "e.txt")
    with pytest.raises(TypeError, match=r"path: expected str or pathlib.Path, got"):
        netperf.parse("x", 3)
    with pytest.raises(TypeError, match=r"test: expected None or a test name \(str\), got"):
        netperf.parse("x", "e.txt", test=5)


def test_omni_human_two_blocks_and_headerless():
    text = ("OMNI Send TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 127.0.0.1 () port 0 AF_INET\n"
            "Throughput Throughput  \n"
            "           Units       \n"
            "\n"
            "\n"
            "14805.98   10^6bits/s  \n"
            "\n"
            "Local Elapsed \n"
            "CPU   Time    \n"
            "Util  (sec)   \n"
            "%             \n"
            "xx    2.00    \n")
    with pytest.raises(ParseError, match=r"o.txt:12: expected a number for 'LOCAL_CPU_UTIL', found 'xx'"):
        netperf.parse(text, "o.txt")
    run = netperf.parse(text.replace("xx   ", "71.47"), "o.txt")
    assert run.measurements == {"throughput_bps": approx(14805.98e6), "local_cpu_util_pct": approx(71.47)}
    assert run.fields["duration_s"] == 2.0
    with pytest.raises(ParseError, match=r"h.txt:1: expected four netperf -O header lines .*-O selectors"):
        netperf.parse("14805.98   10^6bits/s  71.47\n", "h.txt")
