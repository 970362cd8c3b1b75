"""Property tests: mutated real netperf files parse to the original record or raise ParseError (file and line).

Mutations of the real samples (classic stream, classic RR, omni CSV, omni KEY=VALUE): truncate at any character,
drop / duplicate / insert-junk at any line, garble a number (insert a character no number can contain), swap the
throughput unit. A mutation that leaves the data alone must give the original record; one that breaks it must raise
:class:`ParseError` naming the file and a line; never partial numbers, never another exception type.

The only outcome other than "same record" that a successful parse may give: a ``-k`` file with a ``KEY=VALUE`` line
dropped (or cut off after a whole line) is a valid file with fewer keys, so its record holds a subset of the
original's values, each unchanged; a swapped unit scales the throughput by the ratio of the units (factors written
out here, independently of the parser).
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.parsers import netperf
from analysis.parsers.base import ParseError
from analysis.schema import METRICS
from tests.conftest import SAMPLES

pytestmark = pytest.mark.unit

NP = SAMPLES / "netperf"
FILES = {
    "classic_stream": NP / "np_tcp_stream_A_split_m4096_t1.txt",
    "classic_rr": NP / "np_tcp_rr_B_split_r1x1_t1.txt",
    "omni_csv": NP / "x_np_csv_omni_A_split_m4096_t1.txt",
    "omni_kv": NP / "x_np_kv_tcp_rr_A_split_r1x1_t1.txt",
}
TEXTS = {k: p.read_text() for k, p in FILES.items()}
ORIGINAL = {k: netperf.parse(t, "orig.txt") for k, t in TEXTS.items()}
NAME = "mutant.txt"
#: bits per second per unit, for the swap-units mutation (netperf netlib.c calc_thruput_interval)
UNITS = {"10^0bits/s": 1.0, "10^3bits/s": 1e3, "10^6bits/s": 1e6, "10^9bits/s": 1e9, "KBytes/s": 8192.0,
         "MBytes/s": 8 * 2.0**20, "GBytes/s": 8 * 2.0**30}
BAD_UNITS = ["10^6furlongs/s", "Trans/s", "bits", "10^6bit/s", ""]
#: characters no number can contain (so a garbled number can never read as another number)
GARBLE = "abcdfghijklmnopqrstuvwxyzABCDFGHIJKLMNOPQRSTUVWXYZ#@!%&*_?~^"
JUNK = st.one_of(
    st.sampled_from(["", "   ", "junk", "hello world", "12 34", "1,2,3", "Throughput", "!!! WARNING",
                     "Interim result: n/a", "ERROR", "Local /Remote", "x=1",
                     "MEAN_LATENCY=5"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
            max_size=30),
)


def _lines(text):
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")


@st.composite
def mutants(draw, fmt):
    """(mutated text, what a successful parse may give: "same" | "subset" | ("scaled", k) | "error")."""
    text = TEXTS[fmt]
    lines = _lines(text)
    kind = draw(st.sampled_from(["truncate", "drop", "duplicate", "junk", "garble", "swap_units"]))
    if kind == "truncate":
        cut = draw(st.integers(0, len(text)))
        allowed = "subset" if fmt == "omni_kv" else "same"
        return text[:cut], allowed
    if kind in ("drop", "duplicate", "junk"):
        i = draw(st.integers(0, len(lines) - (1 if kind != "junk" else 0)))
        if kind == "drop":
            new = lines[:i] + lines[i + 1:]
            allowed = "subset" if fmt == "omni_kv" else "same"
        elif kind == "duplicate":
            new = lines[: i + 1] + lines[i:]
            allowed = "same"
        else:
            junk = draw(JUNK)
            new = lines[:i] + [junk] + lines[i:]
            # a junk line that happens to be a valid KEY=VALUE adds a key; nothing else may change the record
            allowed = "superset" if fmt == "omni_kv" and re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", junk) else "same"
        return "\n".join(new) + "\n", allowed
    if kind == "garble":
        spots = [(i, m) for i, ln in enumerate(lines)
                 for m in re.finditer(r"(?<![^\s,=])[-+]?(?:\d+\.?\d*|\.\d+)(?![^\s,])", ln)]
        i, m = draw(st.sampled_from(spots))
        pos = draw(st.integers(m.start(), m.end()))
        ch = draw(st.sampled_from(GARBLE))
        new = list(lines)
        new[i] = lines[i][:pos] + ch + lines[i][pos:]
        # the banner (line 1) carries no result numbers: garbling it may drop e.g. "first burst", nothing else
        return "\n".join(new) + "\n", ("same" if i == 0 else "error")
    # swap_units
    if "10^6bits/s" not in text:
        return text, "same"
    new_unit = draw(st.sampled_from(sorted(UNITS) + BAD_UNITS))
    mutated = text.replace("10^6bits/s", new_unit, 1)
    if new_unit in UNITS:
        return mutated, ("scaled", UNITS[new_unit] / 1e6)
    return mutated, "error"


def _check(fmt, mutated, allowed):
    original = ORIGINAL[fmt]
    try:
        run = netperf.parse(mutated, NAME)
    except ParseError as exc:  # ToolReportedError is a ParseError too
        assert exc.path == NAME and str(exc).startswith(NAME)
        n = len(mutated.replace("\r\n", "\n").split("\n"))
        assert 0 <= exc.line <= n + 1
        assert exc.line >= 1 or not mutated.strip()
        return
    assert allowed != "error", f"parsed a broken file: {mutated!r}"
    assert run.tool == "netperf"
    for metric, value in run.measurements.items():
        assert metric in METRICS and isinstance(value, float) and math.isfinite(value)
    for key, value in run.fields.items():  # a field the original has must keep its value
        if key in original.fields:
            assert value == original.fields[key], (key, mutated)
    m, o = run.measurements, original.measurements
    if allowed == "same":
        assert m == o, mutated
        assert run.intervals == original.intervals
    elif allowed == "subset":
        assert m.items() <= o.items(), mutated
    elif allowed == "superset":
        assert o.items() <= m.items(), mutated
    else:
        _, factor = allowed
        assert m.keys() == o.keys()
        assert m["throughput_bps"] == pytest.approx(o["throughput_bps"] * factor, rel=1e-12)
        assert {k: v for k, v in m.items() if k != "throughput_bps"} == {
            k: v for k, v in o.items() if k != "throughput_bps"}


PROPERTY = settings(max_examples=250, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(mutants("classic_stream"))
def test_classic_stream_mutations(case):
    _check("classic_stream", *case)


@PROPERTY
@given(mutants("classic_rr"))
def test_classic_rr_mutations(case):
    _check("classic_rr", *case)


@PROPERTY
@given(mutants("omni_csv"))
def test_omni_csv_mutations(case):
    _check("omni_csv", *case)


@PROPERTY
@given(mutants("omni_kv"))
def test_omni_kv_mutations(case):
    _check("omni_kv", *case)


@PROPERTY
@given(st.sampled_from(sorted(FILES)), st.booleans())
def test_crlf_and_trailing_blank_lines_change_nothing(fmt, crlf):
    text = TEXTS[fmt] + "\n\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    assert netperf.parse(text, NAME).measurements == ORIGINAL[fmt].measurements


def test_every_mutation_kind_is_exercised_on_real_data():
    # the mutation targets exist in the real files: numbers to garble, a unit to swap, lines to drop
    assert all(re.search(r"\d", t) for t in TEXTS.values())
    assert "10^6bits/s" in TEXTS["classic_stream"] and "10^6bits/s" in TEXTS["omni_csv"]
    assert all(len(_lines(t)) >= 2 for t in TEXTS.values())
