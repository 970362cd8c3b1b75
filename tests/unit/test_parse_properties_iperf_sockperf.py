"""Property tests: the iperf3, iperf2 (text, CSV) and sockperf parsers on mutated copies of the real samples.

Each mutation (truncate, drop a line, duplicate a line, garble a number, swap a unit, insert a junk line) must give
either the *complete, correct* record -- the same measurements, intervals and run fields as the untouched file (a
free-text field such as ``tool_version`` may follow a garbled character) -- or a :class:`ParseError` naming the
file and a line of it. Never partial numbers, never another exception type. Unit swaps are always detectable
(every unit table differs by >= 2.4 % from any other, far beyond the printed precision), so they must raise.
"""

from __future__ import annotations

import math
import re
import string

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analysis.parsers import iperf2, iperf3, sockperf
from analysis.parsers.base import ParseError
from tests.conftest import SAMPLES

pytestmark = pytest.mark.unit

EXAMPLES = 220
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

IPERF3 = [SAMPLES / "iperf3" / "x_iperf3_tcp_A_split_l4096_t1.json",
          SAMPLES / "iperf3" / "x_iperf3_udp_B_split_b1G_t1.json"]
IPERF2_TEXT = SAMPLES / "iperf2" / "x_iperf2_text_A_split_default_t1.txt"
IPERF2_CSV = SAMPLES / "iperf2" / "x_iperf2_csv_A_split_default_t1.txt"
SOCKPERF = SAMPLES / "sockperf" / "x_sockperf_pp_udp_A_split_m64_t1.txt"

#: characters a digit is replaced by or gets next to; no digits and no 'e'/'E' (those can spell another valid
#: number, which no parser can tell from the real one)
GARBLE = "x.,-#/:Z%"
JUNK = string.ascii_letters + string.digits + " :=[],.-#/%()"
CORE = ("test", "direction", "streams", "msg_size_bytes", "duration_s", "start_time")


@st.composite
def mutation(draw, text: str, kinds: tuple[str, ...], swap=None):
    kind = draw(st.sampled_from(kinds))
    lines = text.splitlines(keepends=True)
    if kind == "truncate":
        k = draw(st.integers(0, len(text) - 1))
        return text[:k], kind
    if kind == "drop":
        i = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[:i] + lines[i + 1:]), kind
    if kind == "duplicate":
        i = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]), kind
    if kind == "garble":
        p = draw(st.sampled_from([m.start() for m in re.finditer(r"[0-9]", text)]))
        c = draw(st.sampled_from(GARBLE))
        if draw(st.booleans()):
            return text[:p] + c + text[p + 1:], kind
        return text[:p] + c + text[p:], kind
    if kind == "junk":
        i = draw(st.integers(0, len(lines)))
        junk = draw(st.text(alphabet=JUNK, min_size=1, max_size=60))
        return "".join(lines[:i] + [junk + "\n"] + lines[i:]), kind
    if kind == "swap":
        return swap(draw, text), kind
    raise AssertionError(kind)


def check(module, path, original, mutated: str, kind: str, *, must_fail: bool = False) -> None:
    """The oracle: a correct complete record, or a ParseError naming this file and one of its lines."""
    try:
        r = module.parse(mutated, path)
    except ParseError as exc:
        event(f"{kind}: ParseError")
        assert exc.path == str(path)
        n_lines = len(mutated.splitlines())
        if mutated.strip():
            assert 1 <= exc.line <= n_lines, (exc.line, n_lines, str(exc))
        assert str(exc).startswith(f"{path}:{exc.line}: expected " if exc.line else f"{path}: expected ")
        return
    event(f"{kind}: record")
    assert not must_fail, f"{kind}: a changed unit was accepted"
    assert r.measurements == original.measurements, kind
    assert all(math.isfinite(v) for v in r.measurements.values())
    assert r.intervals == original.intervals, kind
    for key in CORE:
        assert r.fields.get(key) == original.fields.get(key), (kind, key)
    for key, value in r.fields.items():
        assert key in original.fields, (kind, key)
        if value != original.fields[key]:
            assert kind == "garble" and isinstance(value, str), (kind, key, value)


# ---- iperf3 JSON

_UNIT_KEYS = {"bits_per_second": "bytes_per_second", "jitter_ms": "jitter_us", "seconds": "milliseconds",
              "lost_percent": "lost_ratio", "host_total": "host_total_ms"}


def _swap_iperf3_key(draw, text):
    pattern = '"(' + "|".join(_UNIT_KEYS) + ')"'
    spots = [(m.start(), m.group(1)) for m in re.finditer(pattern, text)]
    at, key = draw(st.sampled_from(spots))
    return text[:at] + f'"{_UNIT_KEYS[key]}"' + text[at + len(key) + 2:]


_IPERF3_TEXTS = [p.read_text() for p in IPERF3]
_IPERF3_RECORDS = [iperf3.parse(t, p) for t, p in zip(_IPERF3_TEXTS, IPERF3, strict=True)]


@SETTINGS
@given(data=st.data())
def test_iperf3_mutations(data):
    i = data.draw(st.sampled_from([0, 1]))
    mutated, kind = data.draw(mutation(_IPERF3_TEXTS[i], ("truncate", "drop", "duplicate", "garble", "junk", "swap"),
                                       swap=_swap_iperf3_key))
    check(iperf3, IPERF3[i], _IPERF3_RECORDS[i], mutated, kind)


# ---- iperf2 text

_IPERF2_TEXT = IPERF2_TEXT.read_text()
_IPERF2_TEXT_RECORD = iperf2.parse(_IPERF2_TEXT, IPERF2_TEXT)
_UNIT_CHOICES = list(iperf2.TRANSFER_UNITS) + list(iperf2.RATE_UNITS) + ["KByte", "Xbits/sec", "gbits/sec"]


def _swap_iperf2_unit(draw, text):
    row = re.search(r"(?m)^\[  1\] [0-9].*$", text)
    units = [m for m in re.finditer(r"\b[A-Za-z]+(?:/sec)?\b", row.group(0)) if m.group(0) in
             (*iperf2.TRANSFER_UNITS, *iperf2.RATE_UNITS)]
    target = draw(st.sampled_from(units))
    new = draw(st.sampled_from([u for u in _UNIT_CHOICES if u != target.group(0)]))
    start = row.start() + target.start()
    return text[:start] + new + text[row.start() + target.end():]


@SETTINGS
@given(data=st.data())
def test_iperf2_text_mutations(data):
    mutated, kind = data.draw(mutation(_IPERF2_TEXT, ("truncate", "drop", "duplicate", "garble", "junk", "swap"),
                                       swap=_swap_iperf2_unit))
    check(iperf2, IPERF2_TEXT, _IPERF2_TEXT_RECORD, mutated, kind, must_fail=kind == "swap")


# ---- iperf2 CSV

_IPERF2_CSV = IPERF2_CSV.read_text()
_IPERF2_CSV_RECORD = iperf2.parse(_IPERF2_CSV, IPERF2_CSV)


def _swap_csv_fields(draw, text):
    parts = text.rstrip("\n").split(",")
    i, j = draw(st.sampled_from([(7, 8), (6, 7), (5, 8)]))
    parts[i], parts[j] = parts[j], parts[i]
    return ",".join(parts) + "\n"


@SETTINGS
@given(data=st.data())
def test_iperf2_csv_mutations(data):
    mutated, kind = data.draw(mutation(_IPERF2_CSV, ("truncate", "drop", "duplicate", "garble", "junk", "swap"),
                                       swap=_swap_csv_fields))
    check(iperf2, IPERF2_CSV, _IPERF2_CSV_RECORD, mutated, kind, must_fail=kind == "swap")


# ---- sockperf

_SOCKPERF = SOCKPERF.read_text()
_SOCKPERF_RECORD = sockperf.parse(_SOCKPERF, SOCKPERF)


def _swap_sockperf_unit(draw, text):
    spots = list(re.finditer(r"(?<=[0-9] )(sec|msec|usec)\b", text))
    target = draw(st.sampled_from(spots))
    new = draw(st.sampled_from([u for u in ("sec", "msec", "usec", "nsec", "s") if u != target.group(0)]))
    return text[:target.start()] + new + text[target.end():]


@SETTINGS
@given(data=st.data())
def test_sockperf_mutations(data):
    mutated, kind = data.draw(mutation(_SOCKPERF, ("truncate", "drop", "duplicate", "garble", "junk", "swap"),
                                       swap=_swap_sockperf_unit))
    check(sockperf, SOCKPERF, _SOCKPERF_RECORD, mutated, kind, must_fail=kind == "swap")


def test_the_oracle_is_not_vacuous():
    """Harmless mutations keep the record, harmful ones raise: the oracle sees both outcomes."""
    lines = _SOCKPERF.splitlines(keepends=True)
    harmless = "".join(lines[:4] + lines[5:])  # drop "Warmup stage ..."
    assert sockperf.parse(harmless, SOCKPERF).measurements == _SOCKPERF_RECORD.measurements
    with pytest.raises(ParseError):
        sockperf.parse("".join(lines[:-1]), SOCKPERF)
    junk_first = "garbage line\n" + _IPERF2_TEXT
    assert iperf2.parse(junk_first, IPERF2_TEXT).measurements == _IPERF2_TEXT_RECORD.measurements
