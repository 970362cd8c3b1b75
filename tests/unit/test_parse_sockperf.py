"""sockperf parser: the real ping-pong sample and hand-made edge cases (versions, prefixes, ANSI, under-load)."""

from __future__ import annotations

import pytest

from analysis.parsers import parse_file, sockperf
from analysis.parsers.base import ParseError, ToolReportedError
from analysis.schema import METRICS
from tests.conftest import SAMPLES, TESTS

pytestmark = pytest.mark.unit

PP = SAMPLES / "sockperf" / "x_sockperf_pp_udp_A_split_m64_t1.txt"
EDGE = TESTS / "data" / "sockperf"
US = 1e-6


def _parse(path, text=None, **kw):
    return sockperf.parse(path.read_text() if text is None else text, path, **kw)


def test_real_ping_pong_sample():
    r = _parse(PP)
    m = r.measurements
    assert m["latency_mean_s"] == pytest.approx(45.659 * US, rel=1e-12)
    assert m["latency_stddev_s"] == pytest.approx(31.007 * US, rel=1e-12)
    assert m["latency_p99_s"] == pytest.approx(171.905 * US, rel=1e-12)
    assert m["latency_min_s"] == pytest.approx(8.247 * US, rel=1e-12)
    assert m["latency_max_s"] == pytest.approx(1311.401 * US, rel=1e-12)
    expected = {"latency_p99999_s": 1311.401, "latency_p9999_s": 1087.248, "latency_p999_s": 285.113,
                "latency_p90_s": 52.527, "latency_p75_s": 44.761, "latency_p50_s": 39.759, "latency_p25_s": 35.923}
    for k, v in expected.items():
        assert m[k] == pytest.approx(v * US, rel=1e-12), k
    assert (m["dropped_messages"], m["duplicated_messages"], m["out_of_order_messages"]) == (0, 0, 0)
    f = r.fields
    assert f["observations"] == 16966 and f["sent_messages"] == 16966 and f["received_messages"] == 16966
    assert f["duration_s"] == 1.550 and f["total_runtime_s"] == 2.001 and f["warmup_s"] == 0.4
    assert f["latency_kind"] == "half_rtt" and f["tool_version"] == "3.7-no.git" and f["protocol"] == "UDP"
    assert f["test"] == "SOCKPERF_PING_PONG"
    assert set(m) <= set(METRICS)


def test_detection_and_crlf():
    assert parse_file(PP).tool == "sockperf"
    text = PP.read_text()
    assert _parse(PP, text.replace("\n", "\r\n")) == _parse(PP, text)


def test_manifest_test_hint_decides():
    assert _parse(PP, test="SOCKPERF_UNDER_LOAD").fields["test"] == "SOCKPERF_UNDER_LOAD"
    r = _parse(PP, test="TCP_RR")
    assert r.fields["test"] == "SOCKPERF_PING_PONG" and any("TCP_RR" in n for n in r.notes)


def test_full_rtt_with_stdout_prefix_ansi_and_crlf():
    path = EDGE / "pp_full_rtt_stdout_prefix_3.10.txt"
    assert b"\r\n" in path.read_bytes()
    r = sockperf.parse(path.read_bytes().decode(), path)
    assert r.fields["latency_kind"] == "rtt" and r.fields["protocol"] == "TCP"
    assert r.fields["tool_version"] == "3.10-0.git737d1e3f3a5a"
    m = r.measurements
    assert m["latency_mean_s"] == pytest.approx(47.051 * US) and m["latency_stddev_s"] == pytest.approx(6.004 * US)
    assert (m["dropped_messages"], m["duplicated_messages"], m["out_of_order_messages"]) == (12, 1, 3)
    assert m["latency_p999_s"] == pytest.approx(98.337 * US)
    assert not any("half" in n for n in r.notes)


def test_under_load_with_old_avg_lat():
    r = _parse(EDGE / "ul_avg_lat_3.1.txt")
    assert r.fields["test"] == "SOCKPERF_UNDER_LOAD"
    assert r.fields["latency_kind"] == "half_rtt" and "warmup_s" not in r.fields
    assert r.measurements["latency_mean_s"] == pytest.approx(11.520 * US)
    assert r.measurements["latency_p25_s"] == pytest.approx(10.511 * US)
    assert r.measurements["latency_min_s"] == pytest.approx(8.870 * US)
    assert any("inferred" in n for n in r.notes)


def test_one_observation_omits_the_25th_percentile():
    r = _parse(EDGE / "pp_one_observation_3.7.txt")
    assert "latency_p25_s" not in r.measurements
    assert r.measurements["latency_p50_s"] == pytest.approx(250.113 * US)


def test_server_down_is_a_tool_error():
    with pytest.raises(ToolReportedError, match=r"pp_server_down_3.7.txt:9: .*No messages were received"):
        _parse(EDGE / "pp_server_down_3.7.txt")


# ---- errors


def _lines():
    return PP.read_text().splitlines(keepends=True)


def test_missing_percentile_line():
    lines = _lines()
    text = "".join(ln for ln in lines if "percentile 90.000" not in ln)
    with pytest.raises(ParseError, match=r"t1.txt:\d+: expected the percentile block in sockperf's order"):
        _parse(PP, text)


def test_duplicated_line():
    lines = _lines()
    text = "".join(lines[:20] + [lines[19]] + lines[20:])
    with pytest.raises(ParseError, match=r"t1.txt:21: expected the percentile 99.000 line once \(first on line 20\)"):
        _parse(PP, text)


def test_garbled_number_and_unknown_percentile():
    with pytest.raises(ParseError, match=r"t1.txt:12: expected a sockperf statistics line"):
        _parse(PP, PP.read_text().replace("avg-latency=45.659", "avg-latency=45,659"))
    with pytest.raises(ParseError, match=r"t1.txt:20: expected a percentile sockperf prints"):
        _parse(PP, PP.read_text().replace("percentile 99.000", "percentile 98.000"))


def test_truncated_files():
    text = PP.read_text()
    with pytest.raises(ParseError, match=r"t1.txt:25: expected a complete last line"):
        _parse(PP, text[:-3])
    with pytest.raises(ParseError, match=r"t1.txt:20: expected the '<MIN> observation' line, found 'end of file'"):
        _parse(PP, "".join(_lines()[:20]))
    with pytest.raises(ParseError, match=r"x.txt:1: expected the '====> avg-latency=' line, found 'none'"):
        sockperf.parse("sockperf: Starting test...\n", "x.txt")


def test_inconsistent_values():
    with pytest.raises(ParseError, match=r"t1.txt:14: expected the Summary to repeat the avg line"):
        _parse(PP, PP.read_text().replace("Latency is 45.659", "Latency is 45.000"))
    with pytest.raises(ParseError, match=r"t1.txt:15: expected as many observations as ReceivedMessages"):
        _parse(PP, PP.read_text().replace("Total 16966", "Total 16965"))
    with pytest.raises(ParseError, match=r"t1.txt:\d+: expected a value >= the previous percentile"):
        _parse(PP, PP.read_text().replace("=   52.527", "=   12.527"))
    with pytest.raises(ParseError, match=r"t1.txt:10: expected statistics of a single server"):
        _parse(PP, PP.read_text().replace("Server No: 0", "Server No: 1"))


def test_argument_validation():
    with pytest.raises(TypeError, match=r"text: expected the file's content as str, got bytes"):
        sockperf.parse(b"{}", "x")
    with pytest.raises(TypeError, match=r"path: expected str or pathlib.Path, got int"):
        sockperf.parse("", 3)
    with pytest.raises(TypeError, match=r"test: expected None or a test name \(str\), got int"):
        sockperf.parse("", "x", test=1)
