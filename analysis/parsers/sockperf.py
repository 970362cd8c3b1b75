"""Parser for sockperf ``ping-pong`` and ``under-load`` client output (sockperf 2.x ... 3.x).

Lines are read after the ``sockperf:`` marker, so prefixes such as ``[STDOUT] `` or time stamps are tolerated, and
ANSI colour codes are stripped. What is read:

* ``== version #3.7-no.git ==`` -> ``tool_version``; ``[ 0] IP = ... PORT = ... # UDP`` -> ``protocol``;
* ``[Valid Duration] RunTime=1.550 sec; SentMessages=...; ReceivedMessages=...`` -> ``duration_s``,
  ``sent_messages``, ``received_messages`` (older versions: ``[including warmup] RunTime=...``, noted);
  ``[Total Run] RunTime=...`` -> ``total_runtime_s``;
* ``====> avg-latency=45.659 (std-dev=31.007, ...)`` (3.x), ``avg-lat=  1.403 (std-dev=0.677)`` (2.x/early 3.x)
  or ``avg-rtt=`` (``--full-rtt``) -> ``latency_mean_s``, ``latency_stddev_s``;
* ``# dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0`` (older: ``packets``) ->
  ``dropped_messages``, ``duplicated_messages``, ``out_of_order_messages``;
* ``Summary: Latency is 45.659 usec`` / ``Summary: Round trip is ...`` (checked against the avg line);
* ``Total 16966 observations``, ``<MAX>``/``<MIN> observation``, ``percentile 25.000`` ... ``99.999`` ->
  ``latency_max_s``, ``latency_min_s``, ``latency_p25_s`` ... ``latency_p99999_s``. sockperf prints a
  percentile only when its rank ``int(0.5 + p x N) - 1`` is >= 0, so exactly those are required.

**Latency kind.** sockperf reports half the round-trip time ("Latency", ``avg-latency``/``avg-lat``) unless run
with ``--full-rtt`` (``avg-rtt``, "Round trip"). The field ``latency_kind`` says which: ``"half_rtt"`` or
``"rtt"``; the values are kept as printed (microseconds -> seconds), never doubled or halved.

**Test.** The output does not name the mode. The manifest's ``test`` (``SOCKPERF_PING_PONG`` /
``SOCKPERF_UNDER_LOAD``) decides when given; otherwise ping-pong answers every message and under-load only every
``--reply-every`` (default 100) message, so SentMessages / ReceivedMessages > 1.5 in the valid window means
under-load (noted as inferred).

Failures: ``ERROR``/"No messages were received"/"No valid observations" lines raise
:class:`ToolReportedError`; a missing, repeated, out-of-order or garbled statistics line raises
:class:`ParseError` naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from analysis.parsers.base import ParsedRun, ParseError, ToolReportedError, check_parse_args

TOOL = "sockperf"
PARSER = "sockperf"
PARSER_VERSION = "1"

__all__ = ["TOOL", "PARSER", "PARSER_VERSION", "TESTS", "PERCENTILE_METRICS", "sniff", "parse", "canonical_test"]

TESTS = ("SOCKPERF_PING_PONG", "SOCKPERF_UNDER_LOAD")


def canonical_test(fields: dict[str, Any]) -> str:
    """The canonical test (:data:`analysis.vocabulary.TESTS`): ping-pong and under-load are request/response,
    ``UDP_RR`` (sockperf's default transport) or ``TCP_RR`` with ``--tcp``. The mode stays in ``tool_test``."""
    return "TCP_RR" if fields.get("protocol") == "TCP" else "UDP_RR"

#: percentile as printed -> metric, in the order sockperf prints them
PERCENTILE_METRICS: dict[str, str] = {
    "99.999": "latency_p99999_s",
    "99.990": "latency_p9999_s",
    "99.900": "latency_p999_s",
    "99.000": "latency_p99_s",
    "90.000": "latency_p90_s",
    "75.000": "latency_p75_s",
    "50.000": "latency_p50_s",
    "25.000": "latency_p25_s",
}

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\^\[\[[0-9;]*m")
_MARK = re.compile(r"sockperf(?:\[[A-Z]+\])?:\s?")
_F = r"[0-9]+\.[0-9]+"
_I = r"[0-9]+"

_VERSION = re.compile(r"== version #(?P<v>\S+) ==")
_TOTAL_RUN = re.compile(rf"\[Total Run\] RunTime=(?P<rt>{_F}) sec; (?:Warm up (?:time=(?P<wu>{_I}) msec|packets={_I}); )?"
                        rf"SentMessages=(?P<sent>{_I}); ReceivedMessages=(?P<recv>{_I})(?:; SkippedMessages={_I})?")
_VALID = re.compile(rf"\[(?P<kind>Valid Duration|including warmup)\] RunTime=(?P<rt>{_F}) sec; "
                    rf"SentMessages=(?P<sent>{_I}); ReceivedMessages=(?P<recv>{_I})")
_AVG = re.compile(rf"====> avg-(?P<kind>latency|lat|rtt)=\s*(?P<avg>{_F}) \(std-dev=(?P<sd>{_F})"
                  rf"(?:, mean-ad={_F}, median-ad={_F}, siqr={_F}, cv={_F}, std-error={_F}, "
                  rf"{_F}% ci=\[{_F}, {_F}\])?\)")
_ERRORS = re.compile(rf"# dropped (?P<u>messages|packets) = (?P<drop>{_I}); # duplicated (?P=u) = (?P<dup>{_I}); "
                     rf"# out-of-order (?P=u) = (?P<ooo>{_I})")
_SUMMARY = re.compile(rf"Summary: (?P<kind>Latency|Round trip)(?: of burst of {_I} messages)? is (?P<v>{_F}) usec")
_OBS = re.compile(rf"Total (?P<n>{_I}) observations; each percentile contains {_F} observations")
_MAX = re.compile(rf"---> <MAX> observation =\s*(?P<v>{_F})")
_MIN = re.compile(rf"---> <MIN> observation =\s*(?P<v>{_F})")
_PCTL = re.compile(rf"---> percentile\s*(?P<p>{_F}) =\s*(?P<v>{_F})")
_SERVER = re.compile(rf"========= Printing statistics for Server No: (?P<n>{_I})")
_PARAMS = re.compile(r"test was performed using the following parameters: (?P<p>.*)")
_TARGET = re.compile(rf"\[\s*{_I}\] IP = \S+\s+PORT =\s*{_I} # (?P<proto>TCP|UDP)")
_TOOL_ERRORS = re.compile(r"(ERROR\b.*|No messages were received from the server.*|No valid observations found.*|"
                          r"Test end before test start.*|Test ends uncompleted.*)")
#: words that mark a statistics line: such a line must match one of the patterns above
_STAT_WORDS = re.compile(r"avg-|percentile|observation|dropped|duplicated|out-of-order|RunTime|Summary:")
_KIND = {"latency": "half_rtt", "lat": "half_rtt", "rtt": "rtt", "Latency": "half_rtt", "Round trip": "rtt"}


def _clean(line: str) -> str:
    return _ANSI.sub("", line).rstrip()


def sniff(text: str) -> bool:
    """True when *text* has ``sockperf:`` lines (possibly behind prefixes and ANSI codes)."""
    return re.search(r"(?m)sockperf(?:\[[A-Z]+\])?: ", text[:50000]) is not None


def _us(raw: str) -> float:
    return float(Decimal(raw) / 1_000_000)


class _State:
    def __init__(self, path: str | Path):
        self.path = path
        self.seen: dict[str, int] = {}
        self.values: dict[str, Any] = {}
        self.order: list[str] = []

    def once(self, key: str, n: int, line: str) -> None:
        if key in self.seen:
            raise ParseError(self.path, n, f"the {key} line once (first on line {self.seen[key]})", found=line)
        self.seen[key] = n
        self.order.append(key)


def _on_version(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("version", n, s)
    st.values["tool_version"] = m["v"]


def _on_total(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("[Total Run]", n, s)
    st.values["total_runtime_s"] = float(m["rt"])
    if m["wu"] is not None:
        st.values["warmup_s"] = int(m["wu"]) / 1000.0


def _on_valid(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("RunTime", n, s)
    st.values["duration_s"] = float(m["rt"])
    st.values["sent_messages"] = int(m["sent"])
    st.values["received_messages"] = int(m["recv"])
    st.values["valid_window"] = m["kind"] == "Valid Duration"


def _on_avg(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("avg", n, s)
    st.values["avg"] = m["avg"]
    st.values["sd"] = m["sd"]
    st.values["kind"] = _KIND[m["kind"]]


def _on_errors(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("dropped", n, s)
    st.values["dropped"] = int(m["drop"])
    st.values["dup"] = int(m["dup"])
    st.values["ooo"] = int(m["ooo"])


def _on_summary(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("Summary", n, s)
    st.values["summary"] = (m["v"], _KIND[m["kind"]], n, s)


def _on_obs(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("observations", n, s)
    st.values["n_obs"] = int(m["n"])


def _on_max(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("<MAX>", n, s)
    st.values["max"] = (m["v"], n)


def _on_min(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("<MIN>", n, s)
    st.values["min"] = (m["v"], n)


def _on_pctl(st: _State, m: re.Match, n: int, s: str) -> None:
    p = m["p"]
    if p not in PERCENTILE_METRICS:
        raise ParseError(st.path, n, f"a percentile sockperf prints (one of {', '.join(PERCENTILE_METRICS)})",
                         found=s)
    st.once(f"percentile {p}", n, s)
    st.values.setdefault("pctl", {})[p] = (m["v"], n)


def _on_server(st: _State, m: re.Match, n: int, s: str) -> None:
    st.once("Printing statistics", n, s)
    if m["n"] != "0":
        raise ParseError(st.path, n, "statistics of a single server (No: 0)", found=s)


def _on_params(st: _State, m: re.Match, n: int, s: str) -> None:
    for key, val in re.findall(r"--([a-z-]+)=(\S+)", m["p"]):
        if key == "msg-size" and re.fullmatch(_I, val):
            st.values["msg_size_bytes"] = int(val)
        if key == "reply-every" and re.fullmatch(_I, val):
            st.values["reply_every"] = int(val)
    st.values["full_rtt_flag"] = "--full-rtt" in m["p"]


#: statistics line patterns and what to do with a match (tried in this order)
_HANDLERS: tuple[tuple[re.Pattern, Callable[[_State, re.Match, int, str], None]], ...] = (
    (_VERSION, _on_version),
    (_TOTAL_RUN, _on_total),
    (_VALID, _on_valid),
    (_AVG, _on_avg),
    (_ERRORS, _on_errors),
    (_SUMMARY, _on_summary),
    (_OBS, _on_obs),
    (_MAX, _on_max),
    (_MIN, _on_min),
    (_PCTL, _on_pctl),
    (_SERVER, _on_server),
    (_PARAMS, _on_params),
)
#: the first six characters every match of each pattern starts with -> the handlers to try (the patterns' literal
#: starts differ, so at most one can match a line; a line whose start is not here matches none of them)
_HANDLERS_BY_START: dict[str, tuple[tuple[re.Pattern, Callable[[_State, re.Match, int, str], None]], ...]] = {}
for _pattern, _handler in _HANDLERS:
    for _start in {_VERSION: ("== ver",), _TOTAL_RUN: ("[Total",), _VALID: ("[Valid", "[inclu"), _AVG: ("====> ",),
                   _ERRORS: ("# drop",), _SUMMARY: ("Summar",), _OBS: ("Total ",), _MAX: ("---> <",),
                   _MIN: ("---> <",), _PCTL: ("---> p",), _SERVER: ("======",), _PARAMS: ("test w",)}[_pattern]:
        _HANDLERS_BY_START[_start] = _HANDLERS_BY_START.get(_start, ()) + ((_pattern, _handler),)


def _scan(text: str, path: str | Path) -> tuple[_State, int]:
    # ANSI codes stripped from the whole text at once: no code spans a newline, so each line comes out as
    # _clean would make it (then only its trailing blanks go)
    lines = _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    st = _State(path)
    for n, line in enumerate(lines, start=1):
        line = line.rstrip()
        m = _MARK.search(line)
        if m is None:
            if (t := _TARGET.search(line)) is not None:
                st.values.setdefault("protocol", t["proto"])
            continue
        body = line[m.end():].strip()
        if (e := _TOOL_ERRORS.match(body)) is not None:
            raise ToolReportedError(path, n, e.group(0))
        for pattern, handler in _HANDLERS_BY_START.get(body[:6], ()):
            hit = pattern.fullmatch(body)
            if hit is not None:
                if n == len(lines) and not text.endswith(("\n", "\r")) and handler is not _on_params:
                    raise ParseError(path, n, "a complete last line (the file ends without a newline: "
                                     "truncated?)", found=body)
                handler(st, hit, n, body)
                break
        else:
            if _STAT_WORDS.search(body):
                raise ParseError(path, n, "a sockperf statistics line (avg-latency=, percentile, <MAX>/<MIN>, "
                                 "dropped messages, RunTime=, Summary:)", found=body)
    return st, len(lines)


def _expected_percentiles(n_obs: int) -> list[str]:
    return [p for p in PERCENTILE_METRICS if int(0.5 + float(p) / 100.0 * n_obs) - 1 >= 0]



def _check_statistics(st: _State, text: str, path) -> list[str]:
    """Check that every statistics line is there, in sockperf's order, consistent with the others (the Summary
    repeating the avg line, as many observations as received messages, percentiles non-decreasing); returns the
    percentiles the observation count makes sockperf print."""
    v = st.values
    need = [("avg", "the '====> avg-latency=' line"), ("RunTime", "the '[Valid Duration] RunTime=' line"),
            ("dropped", "the '# dropped messages' line"), ("observations", "the 'Total N observations' line"),
            ("<MAX>", "the '<MAX> observation' line"), ("<MIN>", "the '<MIN> observation' line")]
    for key, what in need:
        if key not in st.seen:
            last = len(text.splitlines())  # the line the statistics should have come by (0: blank file)
            raise ParseError(path, last, what, found="end of file" if st.seen else "none")
    n_obs = v["n_obs"]
    expected = _expected_percentiles(n_obs)
    block = ["observations", "<MAX>"] + [f"percentile {p}" for p in expected] + ["<MIN>"]
    got = [k for k in st.order if k in block or k.startswith("percentile ")]
    if got != block:
        missing = next((k for k in block if k not in got), None)
        where = st.seen.get(missing, st.seen["<MIN>"]) if missing else st.seen[got[0]]
        raise ParseError(path, where, f"the percentile block in sockperf's order ({', '.join(block)})",
                         found=", ".join(got))
    head = ["RunTime", "avg", "dropped"]
    positions = [st.seen[k] for k in head] + [st.seen["observations"]]
    if positions != sorted(positions):
        raise ParseError(path, st.seen["avg"], "RunTime, avg-latency, dropped messages, then the percentiles",
                         found="lines out of order")
    kind = v["kind"]
    if "summary" in v:
        s_val, s_kind, s_line, s_text = v["summary"]
        if s_val != v["avg"] or s_kind != kind:
            raise ParseError(path, s_line, f"the Summary to repeat the avg line ({v['avg']} usec, {kind})",
                             found=s_text)
    if v["valid_window"] and v["received_messages"] != n_obs:
        raise ParseError(path, st.seen["observations"], f"as many observations as ReceivedMessages "
                         f"({v['received_messages']})", found=str(n_obs))
    order = [v["min"]] + [v["pctl"][p] for p in reversed(expected)] + [v["max"]]
    values = [float(x) for x, _ in order]
    for (x, ln), prev in zip(order[1:], values, strict=False):
        if float(x) < prev:
            raise ParseError(path, ln, f"a value >= the previous percentile ({prev})", found=x)
    return expected


def _infer_test(v: dict[str, Any], test: str | None) -> tuple[str, list[str]]:
    """The sockperf test: the manifest's when it names one, else inferred from the output (the reply-every
    setting, else the ratio of sent to received messages); with notes saying what was inferred and why."""
    notes: list[str] = []
    ratio = v["sent_messages"] / v["received_messages"] if v["received_messages"] else float("inf")
    if test is not None and test.upper() in ("UDP_RR", "TCP_RR"):
        # a canonical name does not say ping-pong or under-load: inferred (ingest checks the transport)
        notes.append(f"sockperf: manifest test {test!r} is a canonical name; the sockperf mode is inferred")
        test = None
    if test is not None and test not in TESTS:
        notes.append(f"sockperf: manifest test {test!r} is not a sockperf test; inferred from the output instead")
        test = None
    if test is None:
        if "reply_every" in v:
            test = TESTS[1] if v["reply_every"] > 1 else TESTS[0]
        else:
            test = TESTS[1] if ratio > 1.5 else TESTS[0]
            notes.append(f"sockperf: test inferred from SentMessages/ReceivedMessages = {ratio:.3g}")
    return test, notes


def parse(text: str, path: str | Path, *, test: str | None = None) -> ParsedRun:
    """Parse one sockperf ``ping-pong`` or ``under-load`` client output.

    Parameters
    ----------
    text : the file's content (``\\r\\n``, ANSI codes and line prefixes tolerated)
    path : the file, named in errors
    test : ``"SOCKPERF_PING_PONG"`` or ``"SOCKPERF_UNDER_LOAD"`` from the manifest; inferred when None (or
        when it names no sockperf test: ingest then reports the disagreement)

    Raises
    ------
    ToolReportedError
        sockperf reported a failed run.
    ParseError
        a statistics line is missing, repeated, out of order or garbled (file and line named).
    """
    check_parse_args(text, path, test)
    st, _ = _scan(text, path)
    v = st.values
    expected = _check_statistics(st, text, path)
    n_obs, kind = v["n_obs"], v["kind"]
    meas: dict[str, float] = {
        "latency_mean_s": _us(v["avg"]),
        "latency_stddev_s": _us(v["sd"]),
        "latency_min_s": _us(v["min"][0]),
        "latency_max_s": _us(v["max"][0]),
        "dropped_messages": float(v["dropped"]),
        "duplicated_messages": float(v["dup"]),
        "out_of_order_messages": float(v["ooo"]),
    }
    for p in expected:
        meas[PERCENTILE_METRICS[p]] = _us(v["pctl"][p][0])
    notes: list[str] = []
    if kind == "half_rtt":
        notes.append("sockperf latency is half the round-trip time (no --full-rtt)")
    if not v["valid_window"]:
        notes.append("sockperf: old output without [Valid Duration]; duration and messages include warm-up")
    test, test_notes = _infer_test(v, test)
    notes += test_notes
    fields: dict[str, Any] = {
        "test": test,
        "direction": "send",
        "streams": 1,
        "duration_s": v["duration_s"],
        "latency_kind": kind,
        "sent_messages": v["sent_messages"],
        "received_messages": v["received_messages"],
        "observations": n_obs,
    }
    for key in ("tool_version", "protocol", "msg_size_bytes", "total_runtime_s", "warmup_s"):
        if key in v:
            fields[key] = v[key]
    return ParsedRun(tool=TOOL, parser=PARSER, parser_version=PARSER_VERSION, fields=fields, measurements=meas,
                     intervals=(), notes=tuple(notes))
