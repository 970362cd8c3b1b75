"""Parser for netperf output: classic result tables and omni output, into SI units.

Formats (the ``parser`` name in the result):

``netperf-classic``
    The classic tables of TCP_STREAM, TCP_MAERTS, TCP_SENDFILE, UDP_STREAM, TCP_RR, UDP_RR, TCP_CRR, TCP_CC (netperf
    2.x, including the ``MIGRATED`` tests of netperf >= 2.5), with or without ``-c/-C`` (utilization and service
    demand; any CPU method letter), with the banner suffixes (``: demo``, ``: histogram``, ``: first burst N``,
    ``: +/-2.500% @ 99% conf.``, ``: interval``, ``: dirty data`` ...), the ``!!! WARNING`` block printed when the
    confidence asked for with ``-i/-I`` was not reached, demo-mode ``Interim result:`` lines and any ``-f`` unit.
``netperf-classic-rows``
    ``-P 0`` output: number rows only, no banner and no header. The test must come from the manifest (``test=``);
    the throughput unit is then netperf's default (``-f m``, 10^6 bits/s), which a note records.
``netperf-omni-csv`` / ``netperf-omni-human`` / ``netperf-omni-kv``
    omni ``-o`` (CSV with human column names), ``-O`` (columns of four header lines over a value line) and ``-k``
    (``KEY=VALUE``; demo-mode ``NETPERF_INTERIM_RESULT[i]`` ... into the intervals). Values of ``-1`` (netperf's
    "not measured") read as missing.

Units (netperf ``netlib.c``: ``format_units`` and ``calc_thruput_interval``): ``-f k/m/g`` print 10^3/10^6/10^9
bits per second (``10^6bits/s``), ``-f K/M/G`` print 2^10/2^20/2^30 *bytes* per second (``KBytes/s``), ``-f b``
and ``-f B`` bits and bytes per second; see :data:`THROUGHPUT_UNITS`. Service demand stays in microseconds per KB
(stream tests) or per transaction (RR tests, ``*_service_demand_us_per_tr``); latencies (omni, microseconds) become
seconds.

UDP_STREAM keeps both rows: the sender's (``send_throughput_bps``, messages sent "Okay" and send "Errors") and the
receiver's (``throughput_bps``, messages received). ``packets`` is the messages sent, ``lost_packets`` sent minus
received, ``loss_pct`` = 100 x (sent - received) / sent; failed send calls (the "Errors" column) never left the host
and are kept apart as ``messages_send_errors``.

A file is read strictly: every line must be part of the format, the last value line must end with a newline (a file
cut mid-line is refused rather than read as a shorter number), and anything else raises
:class:`~analysis.parsers.base.ParseError` naming the file and the line. A run netperf itself reports as failed
(``send_data: data send error``, ``netperf: receive_response: no response received``, ``establish_control ...``)
raises :class:`~analysis.parsers.base.ToolReportedError`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.parsers.base import IntervalSample, ParsedRun, ParseError, ToolReportedError, check_parse_args
from analysis.schema import METRICS

TOOL = "netperf"
PARSER_VERSION = "1"

__all__ = ["TOOL", "PARSER_VERSION", "sniff", "parse", "canonical_test", "THROUGHPUT_UNITS", "TEST_NAMES", "TEST_KINDS"]

#: throughput unit as netperf prints it (without the ``/s`` or ``/sec``) -> bits per second per unit
THROUGHPUT_UNITS: dict[str, float] = {
    "10^0bits": 1.0,
    "10^3bits": 1e3,
    "10^6bits": 1e6,
    "10^9bits": 1e9,
    "Bytes": 8.0,
    "KBytes": 8.0 * 2**10,
    "MBytes": 8.0 * 2**20,
    "GBytes": 8.0 * 2**30,
    "2^0Bytes": 8.0,
    "2^10Bytes": 8.0 * 2**10,
    "2^20Bytes": 8.0 * 2**20,
    "2^30Bytes": 8.0 * 2**30,
}
#: the unit netperf prints for transaction rates (``-f x``, the default of RR tests under omni)
_TRANS_UNITS = frozenset({"Trans", "Tran", "Transactions"})
#: netperf's default ``-f m`` (used for ``-P 0`` rows, which carry no unit)
_DEFAULT_UNIT = "10^6bits"

#: banner test title (between an optional ``MIGRATED`` and ``TEST``) -> test name
TEST_NAMES: dict[str, str] = {
    "TCP STREAM": "TCP_STREAM",
    "TCP MAERTS": "TCP_MAERTS",
    "TCP SENDFILE": "TCP_SENDFILE",
    "UDP UNIDIRECTIONAL SEND": "UDP_STREAM",
    "UDP STREAM": "UDP_STREAM",
    "TCP REQUEST/RESPONSE": "TCP_RR",
    "UDP REQUEST/RESPONSE": "UDP_RR",
    "TCP Connect/Request/Response": "TCP_CRR",
    "TCP Connect/Close": "TCP_CC",
    "TCP Transactional/Request/Response": "TCP_TRR",
    "SCTP STREAM": "SCTP_STREAM",
    "SCTP REQUEST/RESPONSE": "SCTP_RR",
}

#: test name -> (classic table kind, direction from the client's point of view or None)
TEST_KINDS: dict[str, tuple[str, str | None]] = {
    "TCP_STREAM": ("stream", "send"),
    "TCP_SENDFILE": ("stream", "send"),
    "SCTP_STREAM": ("stream", "send"),
    "TCP_MAERTS": ("stream", "receive"),
    "UDP_STREAM": ("udp_stream", "send"),
    "TCP_RR": ("rr", None),
    "UDP_RR": ("rr", None),
    "TCP_CRR": ("rr", None),
    "TCP_CC": ("rr", None),
    "TCP_TRR": ("rr", None),
    "SCTP_RR": ("rr", None),
}

#: netperf's own test names that are not the canonical one (:data:`analysis.vocabulary.TESTS`)
_CANONICAL = {"TCP_SENDFILE": "TCP_STREAM"}


def canonical_test(fields: dict[str, Any]) -> str:
    """The canonical test (:data:`analysis.vocabulary.TESTS`) of a netperf run: its own name for the classic
    tests (``TCP_SENDFILE`` is a ``TCP_STREAM``; SCTP, ``TCP_CC`` and ``TCP_TRR`` have no canonical name and keep
    theirs); for ``OMNI`` from its direction and protocol (send ``TCP_STREAM``, receive ``TCP_MAERTS``, both ways
    ``TCP_RR``; UDP ``UDP_STREAM`` / ``UDP_RR``)."""
    test = fields.get("test")
    if test != "OMNI":
        return _CANONICAL.get(test, test)
    udp = str(fields.get("protocol", "")).upper() == "UDP"
    rr = fields.get("omni_direction") in ("Send|Recv", "Recv|Send") or fields.get("direction") is None
    if rr:
        return "UDP_RR" if udp else "TCP_RR"
    if udp:
        return "UDP_STREAM"
    return "TCP_MAERTS" if fields.get("direction") == "receive" else "TCP_STREAM"


#: omni ``DIRECTION`` / banner word -> direction
_OMNI_DIRECTIONS: dict[str, str | None] = {
    "Send": "send",
    "Receive": "receive",
    "Recv": "receive",
    "Send|Recv": None,
    "Recv|Send": None,
}

_NUM_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INT_RE = re.compile(r"[-+]?\d+")
_NONFINITE_RE = re.compile(r"[-+]?(?:nan|inf(?:inity)?)", re.IGNORECASE)

# ----------------------------------------------------------------------------------------------- tool errors
#: lines netperf (or netserver) prints when a run fails; normal output never starts like this
_TOOL_ERRORS = tuple(
    re.compile(p)
    for p in (
        r"^establish_control\b",
        r"^netperf: \S",
        r"^netserver: \S",
        r"^[A-Za-z_]\w*: data (?:send|recv|receive) error",
        r"^(?:recv_response|receive_response|send_request|send_response)\b",
        r"^[A-Za-z_]\w*: .*\b(?:errno|failed|refused|unreachable|timed out|no response)\b",
    )
)
#: all of :data:`_TOOL_ERRORS` in one pass over the whole text: a line matches when, after its leading whitespace
#: (``str.strip``'s and ``\s``'s are the same Unicode set), one of them matches there
_TOOL_ERROR_ANY = re.compile(r"^[^\S\n]*(?:" + "|".join(f"(?:{r.pattern[1:]})" for r in _TOOL_ERRORS) + ")",
                             re.MULTILINE)
#: literals of which every :data:`_TOOL_ERRORS` match contains one: a text with none of them needs no regex pass
_TOOL_ERROR_WORDS = ("establish_control", "netperf: ", "netserver: ", ": data ", "_response", "_request", "errno",
                     "failed", "refused", "unreachable", "timed out", "no response")

# ----------------------------------------------------------------------------------------------- banner
_BANNER_RE = re.compile(
    r"^(?P<migrated>MIGRATED\s+)?(?P<title>[A-Za-z][\w/|]*(?:\s+[\w/|]+)*?)\s+TEST(?:\s+(?:from|to)\s+.*)?$"
)


def _sfx_conf(m: re.Match, acc: _Acc) -> None:
    acc.fields["confidence_target_halfwidth_pct"] = float(m["w"])
    acc.fields["confidence_level_pct"] = int(m["l"])
    acc.confidence_requested = True


def _sfx_burst(m: re.Match, acc: _Acc) -> None:
    acc.fields["first_burst"] = int(m["n"])


def _sfx_flag(m: re.Match, acc: _Acc) -> None:
    acc.banner_flags.append(m[0])


#: banner suffixes (after `` : ``) -> what they set
_SUFFIXES: tuple[tuple[re.Pattern, Callable[[re.Match, _Acc], None]], ...] = (
    (re.compile(r"\+/-\s*(?P<w>\d+(?:\.\d+)?)%\s*@\s*(?P<l>\d+)%\s*conf\.(?:\s+on result only)?"), _sfx_conf),
    (re.compile(r"first burst (?P<n>\d+)"), _sfx_burst),
    (re.compile(r"histogram|demo|(?:spin )?interval|dirty data|nodelay|copy avoidance|no control|cpu bind"),
     _sfx_flag),
)

# ----------------------------------------------------------------------------------------------- preamble
_CONF_BLOCK = tuple(
    re.compile(p)
    for p in (
        r"!!! WARNING",
        r"!!! Desired confidence was not achieved within the specified iterations\.(?: \(\d+\))?",
        r"!!! This implies that there was variability in the test environment that",
        r"!!! must be investigated before going further\.",
        r"!!! Confidence intervals: Throughput\s*:\s*(?P<v>\d+(?:\.\d+)?)%.*",
        r"!!!\s+Local CPU util\s*:\s*(?P<v>\d+(?:\.\d+)?)%.*",
        r"!!!\s+Remote CPU util\s*:\s*(?P<v>\d+(?:\.\d+)?)%.*",
    )
)
_CONF_FIELDS = {4: "confidence_interval_width_pct", 5: "local_cpu_confidence_width_pct",
                6: "remote_cpu_confidence_width_pct"}
_INTERIM_RE = re.compile(
    r"^Interim result:\s*(?P<v>\S+)\s+(?P<u>\S+?)/s(?:ec)? over\s+(?P<iv>\S+)\s+seconds"
    r"(?: ending at (?P<end>\d+(?:\.\d+)?))?$"
)

# ----------------------------------------------------------------------------------------------- classic tables
_UNIT_RE = r"(?P<unit>\S+(?: /s(?:ec)?)?)"
_CPU2 = r"%(?: (?P<lm>[A-Z?]))? %(?: (?P<rm>[A-Z?]))?"


@dataclass(frozen=True)
class _Table:
    """One classic result table: header line patterns (whitespace-normalized) and row column types.

    Column types: ``i`` integer, ``f`` number, ``c`` optional number (CPU columns: -1, nan and inf read as
    missing).
    """

    kind: str
    header: tuple[str, ...]
    rows: tuple[str, ...]
    cpu: bool


_TABLES: dict[str, tuple[_Table, _Table]] = {
    # kind -> (with CPU columns, without); the variant whose header matches is used
    "stream": (
        _Table("stream", (
            "Recv Send Send Utilization Service Demand",
            r"Socket Socket Message Elapsed (?:Send|Recv) (?:Send|Recv) (?:Send|Recv) (?:Send|Recv)",
            "Size Size Size Time Throughput local remote local remote",
            rf"bytes bytes bytes secs\. {_UNIT_RE} {_CPU2} (?P<sd>[um]s/KB) [um]s/KB",
        ), ("iiiffcccc",), True),
        _Table("stream", (
            "Recv Send Send",
            "Socket Socket Message Elapsed",
            "Size Size Size Time Throughput",
            rf"bytes bytes bytes secs\. {_UNIT_RE}",
        ), ("iiiff",), False),
    ),
    "udp_stream": (
        _Table("udp_stream", (
            "Socket Message Elapsed Messages CPU Service",
            "Size Size Time Okay Errors Throughput Util Demand",
            rf"bytes bytes secs\.? # # {_UNIT_RE} %(?: (?P<lm>[A-Z?])(?P<rm>[A-Z?])?)? (?P<sd>[um]s/KB)",
        ), ("iifiifcc", "ififcc"), True),
        _Table("udp_stream", (
            "Socket Message Elapsed Messages",
            "Size Size Time Okay Errors Throughput",
            rf"bytes bytes secs\.? # # {_UNIT_RE}",
        ), ("iifiif", "ifif"), False),
    ),
    "rr": (
        _Table("rr", (
            "Local /Remote",
            r"Socket Size Request Resp\. Elapsed Trans\. CPU CPU S\.dem S\.dem",
            "Send Recv Size Size Time Rate local remote local remote",
            rf"bytes [Bb]ytes bytes bytes secs\. per sec {_CPU2} (?P<sd>[um]s/Tr) [um]s/Tr",
        ), ("iiiiffcccc", "ii"), True),
        _Table("rr", (
            "Local /Remote",
            r"Socket Size Request Resp\. Elapsed Trans\.",
            "Send Recv Size Size Time Rate",
            r"bytes [Bb]ytes bytes bytes secs\. per sec",
        ), ("iiiiff", "ii"), False),
    ),
}
#: first header line (normalized) -> table kind
_TABLE_FIRST: dict[str, str] = {}
for _kind, _variants in _TABLES.items():
    for _t in _variants:
        _TABLE_FIRST.setdefault(_t.header[0], _kind)
#: header line pattern -> compiled
_HEADER_RES: dict[str, re.Pattern] = {p: re.compile(p) for _vs in _TABLES.values() for _t in _vs for p in _t.header}

#: titles of the verbose (-v 2) sections netperf may print after the result table; they carry no result
_VERBOSE_SECTIONS = re.compile(r"^(?:Alignment\b|Maximum\b|Histogram\b|Segment\b|Local\s+Remote\b)")

# ----------------------------------------------------------------------------------------------- omni
#: omni output selector -> its header lines (netperf ``nettest_omni.c``, ``print_omni_init_list``); a CSV header
#: joins the non-empty lines with a space, ``-O`` stacks them in four rows.
_OMNI_HEADERS: dict[str, tuple[str, ...]] = {
    "THROUGHPUT": ("Throughput",),
    "THROUGHPUT_UNITS": ("Throughput", "Units"),
    "ELAPSED_TIME": ("Elapsed", "Time", "(sec)"),
    "DIRECTION": ("Direction",),
    "PROTOCOL": ("Protocol",),
    "SOCKET_TYPE": ("Socket", "Type"),
    "COMMAND_LINE": ("Command", "Line"),
    "UUID": ("Test", "UUID"),
    "RESULT_BRAND": ("Result", "Tag"),
    "CONFIDENCE_LEVEL": ("Confidence", "Level", "Percent"),
    "CONFIDENCE_INTERVAL": ("Confidence", "Width", "Target"),
    "CONFIDENCE_ITERATION": ("Confidence", "Iterations", "Run"),
    "THROUGHPUT_CONFID": ("Throughput", "Confidence", "Width (%)"),
    "LOCAL_CPU_CONFID": ("Local", "CPU", "Confidence", "Width (%)"),
    "REMOTE_CPU_CONFID": ("Remote", "CPU", "Confidence", "Width (%)"),
    "RT_LATENCY": ("Round", "Trip", "Latency", "usec/tran"),
    "TRANSACTION_RATE": ("Transaction", "Rate", "Tran/s"),
    "TRANSPORT_MSS": ("Transport", "MSS", "bytes"),
    "LOCAL_TRANSPORT_RETRANS": ("Local", "Transport", "Retransmissions"),
    "REMOTE_TRANSPORT_RETRANS": ("Remote", "Transport", "Retransmissions"),
    "REQUEST_SIZE": ("Request", "Size", "Bytes"),
    "RESPONSE_SIZE": ("Response", "Size", "Bytes"),
    "BURST_SIZE": ("Initial", "Burst", "Requests"),
    "LSS_SIZE": ("Local", "Send Socket", "Size", "Initial"),
    "LSS_SIZE_END": ("Local", "Send Socket", "Size", "Final"),
    "LSR_SIZE": ("Local", "Recv Socket", "Size", "Initial"),
    "LSR_SIZE_END": ("Local", "Recv Socket", "Size", "Final"),
    "RSS_SIZE": ("Remote", "Send Socket", "Size", "Initial"),
    "RSS_SIZE_END": ("Remote", "Send Socket", "Size", "Final"),
    "RSR_SIZE": ("Remote", "Recv Socket", "Size", "Initial"),
    "RSR_SIZE_END": ("Remote", "Recv Socket", "Size", "Final"),
    "LOCAL_SEND_SIZE": ("Local", "Send", "Size"),
    "LOCAL_RECV_SIZE": ("Local", "Recv", "Size"),
    "REMOTE_SEND_SIZE": ("Remote", "Send", "Size"),
    "REMOTE_RECV_SIZE": ("Remote", "Recv", "Size"),
    "LOCAL_CPU_UTIL": ("Local", "CPU", "Util", "%"),
    "REMOTE_CPU_UTIL": ("Remote", "CPU", "Util", "%"),
    "LOCAL_SD": ("Local", "Service", "Demand"),
    "REMOTE_SD": ("Remote", "Service", "Demand"),
    "SD_UNITS": ("Service", "Demand", "Units"),
    "LOCAL_CPU_METHOD": ("Local", "CPU", "Util", "Method"),
    "REMOTE_CPU_METHOD": ("Remote", "CPU", "Util", "Method"),
    "LOCAL_CPU_COUNT": ("Local", "CPU", "Count"),
    "REMOTE_CPU_COUNT": ("Remote", "CPU", "Count"),
    "LOCAL_CPU_FREQUENCY": ("Local", "CPU", "Frequency", "MHz"),
    "REMOTE_CPU_FREQUENCY": ("Remote", "CPU", "Frequency", "MHz"),
    "MIN_LATENCY": ("Minimum", "Latency", "Microseconds"),
    "MAX_LATENCY": ("Maximum", "Latency", "Microseconds"),
    "P50_LATENCY": ("50th", "Percentile", "Latency", "Microseconds"),
    "P90_LATENCY": ("90th", "Percentile", "Latency", "Microseconds"),
    "P99_LATENCY": ("99th", "Percentile", "Latency", "Microseconds"),
    "MEAN_LATENCY": ("Mean", "Latency", "Microseconds"),
    "STDDEV_LATENCY": ("Stddev", "Latency", "Microseconds"),
}
_HUMAN_TO_KEY: dict[str, str] = {" ".join(v): k for k, v in _OMNI_HEADERS.items()}

#: omni selector -> (metric, factor to SI); a negative value is netperf's "not measured"
_OMNI_METRICS: dict[str, tuple[str, float]] = {
    "TRANSACTION_RATE": ("transactions_per_s", 1.0),
    "MEAN_LATENCY": ("latency_mean_s", 1e-6),
    "STDDEV_LATENCY": ("latency_stddev_s", 1e-6),
    "MIN_LATENCY": ("latency_min_s", 1e-6),
    "MAX_LATENCY": ("latency_max_s", 1e-6),
    "P50_LATENCY": ("latency_p50_s", 1e-6),
    "P90_LATENCY": ("latency_p90_s", 1e-6),
    "P99_LATENCY": ("latency_p99_s", 1e-6),
    "LOCAL_CPU_UTIL": ("local_cpu_util_pct", 1.0),
    "REMOTE_CPU_UTIL": ("remote_cpu_util_pct", 1.0),
    "LOCAL_TRANSPORT_RETRANS": ("retransmits", 1.0),
}
#: omni selector -> (run field, type); ``i`` integer, ``f`` number, ``s`` text
_OMNI_FIELDS: dict[str, tuple[str, str]] = {
    "ELAPSED_TIME": ("duration_s", "f"),
    "LOCAL_CPU_FREQUENCY": ("cpu_mhz", "f"),
    "REMOTE_CPU_FREQUENCY": ("remote_cpu_mhz", "f"),
    "LOCAL_CPU_COUNT": ("n_cpus", "i"),
    "REMOTE_CPU_COUNT": ("remote_n_cpus", "i"),
    "LOCAL_SEND_SIZE": ("local_send_size_bytes", "i"),
    "LOCAL_RECV_SIZE": ("local_recv_size_bytes", "i"),
    "REMOTE_SEND_SIZE": ("remote_send_size_bytes", "i"),
    "REMOTE_RECV_SIZE": ("remote_recv_size_bytes", "i"),
    "REQUEST_SIZE": ("request_size_bytes", "i"),
    "RESPONSE_SIZE": ("response_size_bytes", "i"),
    "BURST_SIZE": ("first_burst", "i"),
    "LSS_SIZE": ("local_send_socket_bytes", "i"),
    "LSR_SIZE": ("local_recv_socket_bytes", "i"),
    "RSS_SIZE": ("remote_send_socket_bytes", "i"),
    "RSR_SIZE": ("remote_recv_socket_bytes", "i"),
    "LSS_SIZE_END": ("local_send_socket_final_bytes", "i"),
    "LSR_SIZE_END": ("local_recv_socket_final_bytes", "i"),
    "RSS_SIZE_END": ("remote_send_socket_final_bytes", "i"),
    "RSR_SIZE_END": ("remote_recv_socket_final_bytes", "i"),
    "TRANSPORT_MSS": ("transport_mss_bytes", "i"),
    "REMOTE_TRANSPORT_RETRANS": ("remote_retransmits", "i"),
    "RT_LATENCY": ("rt_latency_us", "f"),
    "CONFIDENCE_LEVEL": ("confidence_level_pct", "i"),
    "CONFIDENCE_INTERVAL": ("confidence_target_width_pct", "f"),
    "CONFIDENCE_ITERATION": ("confidence_iterations", "i"),
    "THROUGHPUT_CONFID": ("confidence_interval_width_pct", "f"),
    "LOCAL_CPU_CONFID": ("local_cpu_confidence_width_pct", "f"),
    "REMOTE_CPU_CONFID": ("remote_cpu_confidence_width_pct", "f"),
    "LOCAL_CPU_METHOD": ("local_cpu_method", "s"),
    "REMOTE_CPU_METHOD": ("remote_cpu_method", "s"),
    "PROTOCOL": ("protocol", "s"),
    "DIRECTION": ("omni_direction", "s"),
    "SOCKET_TYPE": ("socket_type", "s"),
    "COMMAND_LINE": ("command_line", "s"),
    "UUID": ("test_uuid", "s"),
    "RESULT_BRAND": ("result_brand", "s"),
}
_OMNI_FIELD_RANK: dict[str, int] = {k: i for i, k in enumerate(_OMNI_FIELDS)}
_OMNI_SPECIAL = frozenset({"THROUGHPUT", "THROUGHPUT_UNITS", "LOCAL_SD", "REMOTE_SD", "SD_UNITS"})
_SD_UNITS_RE = re.compile(r"^(?P<t>u|us|usec|m|ms|msec)/(?P<per>KB|Tr|Tran|Trans)$", re.IGNORECASE)
_KV_RE = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]*)(?:\[(?P<idx>\d+)\])?=(?P<value>.*)$")
_INTERIM_KEYS = {"NETPERF_INTERIM_RESULT": "value", "NETPERF_UNITS": "unit", "NETPERF_INTERVAL": "interval",
                 "NETPERF_ENDING": "ending"}

_SNIFF_RES = (
    re.compile(r"^(?:MIGRATED\s+)?[A-Za-z][\w/|]*(?:\s+[\w/|]+)*?\s+TEST\s+(?:from|to)\s", re.M),
    re.compile(r"^(?:THROUGHPUT|TRANSACTION_RATE|MEAN_LATENCY|P\d+_LATENCY|LOCAL_CPU_UTIL|ELAPSED_TIME"
               r"|NETPERF_INTERIM_RESULT\[\d+\])=", re.M),
    re.compile(r"^(?:establish_control could not|netperf: \S|send_data: data send error)", re.M),
)
#: per :data:`_SNIFF_RES` pattern, literals of which each of its matches contains one (cheap pre-checks)
_SNIFF_NEEDS = (("TEST",), ("=",), ("establish_control could not", "netperf: ", "send_data: data send error"))


# ================================================================================================ helpers
@dataclass
class _Acc:
    """What the parse has gathered so far (turned into a :class:`ParsedRun` at the end)."""

    parser: str = "netperf-classic"
    fields: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, float] = field(default_factory=dict)
    intervals: list[IntervalSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    banner_flags: list[str] = field(default_factory=list)
    confidence_requested: bool = False
    confidence_block: bool = False
    test: str | None = None
    banner_line: int = 0

    def metric(self, name: str, value: float | None) -> None:
        if value is None:
            return
        assert name in METRICS, name
        self.measurements[name] = float(value)


class _Lines:
    """The file's lines (``\\r\\n`` folded, trailing blanks stripped) with a cursor and error helpers."""

    def __init__(self, text: str, path: str):
        self.path = path
        norm = text.replace("\r\n", "\n").replace("\r", "\n")
        self.text = norm
        self.final_newline = norm.endswith("\n")
        raw = norm.split("\n")
        if self.final_newline:
            raw.pop()
        self.lines = [ln.rstrip() for ln in raw]
        self.i = 0

    def eof(self) -> bool:
        return self.i >= len(self.lines)

    @property
    def line(self) -> str:
        return self.lines[self.i]

    @property
    def lineno(self) -> int:
        return self.i + 1

    def skip_blank(self) -> None:
        while not self.eof() and not self.line.strip():
            self.i += 1

    def error(self, expected: str, *, line: int | None = None, found: str | None = None) -> ParseError:
        if line is None:
            line = self.lineno if not self.eof() else len(self.lines) + 1
            if found is None:
                found = self.line.strip() if not self.eof() else "end of file"
        return ParseError(self.path, line, expected, found=found)

    def take_value_line(self, expected: str) -> tuple[int, str]:
        """The current line as a line carrying values: it must exist and be complete (newline-terminated)."""
        if self.eof():
            raise self.error(expected)
        if self.i == len(self.lines) - 1 and not self.final_newline:
            raise self.error(f"a complete line ({expected}); the file ends mid-line, so it looks truncated")
        no, ln = self.lineno, self.line
        self.i += 1
        return no, ln


def _norm(line: str) -> str:
    return " ".join(line.split())


def _num(tok: str, lines: _Lines, no: int, what: str) -> float:
    if not _NUM_RE.fullmatch(tok):
        raise ParseError(lines.path, no, f"a number for {what!r}", found=tok)
    value = float(tok)
    if not math.isfinite(value):
        raise ParseError(lines.path, no, f"a finite number for {what!r}", found=tok)
    return value


def _int(tok: str, lines: _Lines, no: int, what: str) -> int:
    if not _INT_RE.fullmatch(tok):
        raise ParseError(lines.path, no, f"an integer for {what!r}", found=tok)
    return int(tok)


def _opt(tok: str, lines: _Lines, no: int, what: str, acc: _Acc) -> float | None:
    """An optional measurement (CPU, service demand): negative (netperf's -1 "not measured"), nan, inf -> None."""
    if _NONFINITE_RE.fullmatch(tok):
        acc.notes.append(f"netperf printed {tok!r} for {what}; read as missing")
        return None
    value = _num(tok, lines, no, what)
    if value < 0:
        acc.notes.append(f"netperf printed {tok} for {what} (not measured); read as missing")
        return None
    return value


_WS_RE = re.compile(r"\s+")
_PER_SECOND_RE = re.compile(r"(?P<base>.+?)/s(?:ec)?")
#: unit text -> :func:`_unit`'s answer (a pure function of a handful of distinct texts)
_UNIT_MEMO: dict[str, tuple[str, float] | None] = {}


def _unit(text: str) -> tuple[str, float] | None:
    """``("bits", factor to bit/s)`` or ``("trans", 1.0)`` for a netperf unit such as ``10^6bits/s``."""
    try:
        return _UNIT_MEMO[text]
    except KeyError:
        pass
    unit = _UNIT_MEMO[text] = _read_unit(text)
    if len(_UNIT_MEMO) > 256:  # garbled units in many files: keep the memo small
        _UNIT_MEMO.clear()
    return unit


def _read_unit(text: str) -> tuple[str, float] | None:
    compact = _WS_RE.sub("", text)
    m = _PER_SECOND_RE.fullmatch(compact)
    base = m["base"] if m else compact
    if base in THROUGHPUT_UNITS:
        return "bits", THROUGHPUT_UNITS[base]
    if base in _TRANS_UNITS:
        return "trans", 1.0
    return None


def _unit_or_raise(text: str, lines: _Lines, no: int) -> tuple[str, float]:
    unit = _unit(text)
    if unit is None:
        raise ParseError(lines.path, no, "a netperf throughput unit (10^6bits/s, 10^9bits/s, KBytes/s, MBytes/s, "
                         "GBytes/s, Trans/s ...)", found=text)
    return unit


# ================================================================================================ sniff
def sniff(text: str) -> bool:
    """True when *text* looks like netperf output: a ``... TEST from ... to ...`` banner, omni ``KEY=VALUE`` or
    CSV with omni column names, or a netperf error message. ``-P 0`` number rows are not recognisable: pass
    ``tool="netperf"`` for them.

    >>> sniff("MIGRATED TCP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 127.0.0.1 () port 0 AF_INET\\n")
    True
    >>> sniff("131072  16384  16384    10.00    4742.36\\n")
    False
    """
    head = text[:8192]
    if any(r.search(head) for r, needs in zip(_SNIFF_RES, _SNIFF_NEEDS, strict=True)
           if any(w in head for w in needs)):
        return True
    if "," not in head:  # the CSV header test below needs a comma
        return False
    for line in head.splitlines()[:50]:
        if "," in line:
            names = [c.strip() for c in line.split(",")]
            if any(n in _HUMAN_TO_KEY for n in names) and not any(_NUM_RE.fullmatch(n) for n in names):
                return True
    return False


# ================================================================================================ parse
def _parse_iv(text: Any, path: Any, test: Any) -> tuple[str, str, str | None]:
    check_parse_args(text, path, test)
    return text, str(path), (test.strip().upper() or None) if test is not None else None


def parse(text: str, path: str | Path, *, test: str | None = None) -> ParsedRun:
    """Parse one netperf output file.

    Parameters
    ----------
    text : the file's content (``\\n`` or ``\\r\\n`` line endings)
    path : the file, for error messages
    test : the manifest's test name (``TCP_STREAM``, ``TCP_RR`` ...); needed for ``-P 0`` output, which has no
        banner; otherwise the banner's test wins (the ingest compares the two)

    Returns
    -------
    ParsedRun
        ``tool="netperf"``, ``parser`` one of ``netperf-classic``, ``netperf-classic-rows``, ``netperf-omni-csv``,
        ``netperf-omni-human``, ``netperf-omni-kv``; measurements in SI units.

    Raises
    ------
    ParseError
        the text is not complete netperf output (file, line, what was expected)
    ToolReportedError
        netperf reported the run as failed
    """
    text, path, test = _parse_iv(text, path, test)
    lines = _Lines(text, path)
    _check_tool_errors(lines)
    lines.skip_blank()
    if lines.eof():
        raise ParseError(path, 0, "netperf output", found="an empty file")
    acc = _Acc()
    _banner(lines, acc)
    _preamble(lines, acc)
    if lines.eof():
        raise lines.error("a netperf result (table, CSV, KEY=VALUE or columns) after the banner")
    _BODIES[_body_kind(lines.line)](lines, acc, test)
    return _finish(acc)


def _check_tool_errors(lines: _Lines) -> None:
    text = lines.text
    if not any(w in text for w in _TOOL_ERROR_WORDS):
        return
    m = _TOOL_ERROR_ANY.search(text)  # leftmost match = first such line
    if m is not None:
        i = lines.text.count("\n", 0, m.start())
        raise ToolReportedError(lines.path, i + 1, lines.lines[i].strip())


def _banner(lines: _Lines, acc: _Acc) -> None:
    parts = lines.line.strip().split(" : ")
    m = _BANNER_RE.match(parts[0].strip())
    if not m:
        return
    title = " ".join(m["title"].split())
    acc.banner_line = lines.lineno
    if title.startswith("OMNI "):
        word = title[5:]
        if word not in _OMNI_DIRECTIONS:
            raise lines.error("an omni banner 'OMNI Send|Receive|Send|Recv TEST'")
        acc.test = "OMNI"
        if _OMNI_DIRECTIONS[word]:
            acc.fields["direction"] = _OMNI_DIRECTIONS[word]
    elif title in TEST_NAMES:
        acc.test = TEST_NAMES[title]
    else:
        raise lines.error(f"a netperf test banner, one of {sorted(TEST_NAMES)} or OMNI")
    acc.fields["migrated"] = bool(m["migrated"])
    for sfx in parts[1:]:
        sfx = sfx.strip()
        for pattern, apply in _SUFFIXES:
            sm = pattern.fullmatch(sfx)
            if sm:
                apply(sm, acc)
                break
        else:
            acc.notes.append(f"netperf banner suffix {sfx!r} not recognised; ignored")
    lines.i += 1


def _preamble(lines: _Lines, acc: _Acc) -> None:
    """Blank lines, the ``!!!`` confidence warning and demo ``Interim result:`` lines before the result."""
    clock = 0.0
    while True:
        lines.skip_blank()
        if lines.eof():
            return
        line = lines.line.strip()
        if line.startswith("!!!"):
            if acc.confidence_block:
                raise lines.error("one '!!! WARNING' confidence block")
            for k, pattern in enumerate(_CONF_BLOCK):
                cur = lines.line.strip() if not lines.eof() else ""
                m = pattern.fullmatch(cur)
                if not m:
                    raise lines.error(f"the netperf confidence warning line {pattern.pattern!r}")
                if k in _CONF_FIELDS:
                    acc.fields[_CONF_FIELDS[k]] = float(m["v"])
                lines.i += 1
            acc.confidence_block = True
            continue
        m = _INTERIM_RE.fullmatch(line)
        if m:
            no, _ = lines.take_value_line("a demo-mode 'Interim result:' line")
            value = _num(m["v"], lines, no, "Interim result")
            span = _num(m["iv"], lines, no, "Interim result interval")
            kind, factor = _unit_or_raise(m["u"], lines, no)
            metric = "throughput_bps" if kind == "bits" else "transactions_per_s"
            acc.intervals.append(IntervalSample(metric, clock, clock + span, value * factor))
            clock += span
            continue
        if line.startswith("Interim result"):
            raise lines.error("a demo-mode line 'Interim result: <value> <unit>/s over <s> seconds ...'")
        return


def _body_kind(line: str) -> str:
    norm = _norm(line)
    if _KV_RE.match(line.strip()):
        return "kv"
    if norm in _TABLE_FIRST:
        return "classic"
    if "," in line:
        return "csv"
    if all(_NUM_RE.fullmatch(t) or _NONFINITE_RE.fullmatch(t) for t in norm.split()):
        return "rows"
    return "human"


# ------------------------------------------------------------------------------------------ classic
def _classic(lines: _Lines, acc: _Acc, hint: str | None) -> None:
    acc.parser = "netperf-classic"
    test = _classic_test(lines, acc, hint)
    kind, _ = TEST_KINDS[test]
    table_kind = _TABLE_FIRST[_norm(lines.line)]
    if table_kind != kind:
        raise lines.error(f"the result table of a {test} test ({kind.replace('_', ' ')} columns)")
    start = lines.i
    best: tuple[int, str] | None = None
    for table in _TABLES[kind]:
        lines.i = start
        hdr: dict[str, str | None] = {}
        for pattern in table.header:
            m = _HEADER_RES[pattern].fullmatch(_norm(lines.line)) if not lines.eof() else None
            if not m:
                if best is None or lines.i > best[0]:
                    best = (lines.i, pattern)
                break
            hdr.update(m.groupdict())
            lines.i += 1
        else:
            _table_body(lines, acc, table, hdr, test)
            return
    lines.i = best[0]
    raise lines.error(f"the netperf {kind.replace('_', ' ')} header line {best[1]!r}")


def _classic_test(lines: _Lines, acc: _Acc, hint: str | None) -> str:
    if acc.test is None:
        if hint is None:
            raise ParseError(lines.path, lines.lineno, "a netperf banner ('... TEST from ... to ...') naming the "
                             "test, or the test name from the manifest", found=lines.line.strip())
        acc.test = hint
    if acc.test not in TEST_KINDS:
        raise ParseError(lines.path, acc.banner_line or lines.lineno,
                         f"a test with a classic result table, one of {sorted(TEST_KINDS)}", found=acc.test)
    return acc.test


def _rows(lines: _Lines, acc: _Acc, hint: str | None) -> None:
    """``-P 0`` output: result rows with neither banner nor header."""
    if acc.test is not None:
        raise lines.error("the result table's column header after the banner")
    acc.parser = "netperf-classic-rows"
    if hint is None:
        raise lines.error("a netperf banner and header; for -P 0 output (number rows only) the test name must "
                          "come from the manifest's test column")
    test = _classic_test(lines, acc, hint)
    kind, _ = TEST_KINDS[test]
    ncols = len(lines.line.split())
    table = next((t for t in _TABLES[kind] if len(t.rows[0]) == ncols), None)
    if table is None:
        counts = " or ".join(str(len(t.rows[0])) for t in _TABLES[kind])
        raise lines.error(f"a {test} result row of {counts} columns (netperf -P 0)")
    hdr: dict[str, str | None] = {"unit": _DEFAULT_UNIT, "sd": "us/Tr" if kind == "rr" else "us/KB"}
    if kind != "rr":
        acc.notes.append("netperf -P 0 output carries no unit header; throughput read in netperf's default "
                         "unit 10^6bits/s (-f m)")
    _table_body(lines, acc, table, hdr, test)


def _read_row(lines: _Lines, acc: _Acc, types: str, what: str) -> list[Any]:
    lines.skip_blank()
    no, line = lines.take_value_line(f"the {what} row of {len(types)} columns")
    toks = line.split()
    if len(toks) != len(types):
        raise ParseError(lines.path, no, f"the {what} row of {len(types)} columns", found=line.strip())
    out: list[Any] = []
    for k, (tok, t) in enumerate(zip(toks, types, strict=True)):
        # the plain case inline; anything else (not a number, nan/inf, a negative CPU value) through the
        # checked readers, which name the column or add the note
        if t == "i":
            if _INT_RE.fullmatch(tok):
                out.append(int(tok))
                continue
        elif _NUM_RE.fullmatch(tok):
            value = float(tok)
            if math.isfinite(value) and (t == "f" or value >= 0):
                out.append(value)
                continue
        label = f"{what} column {k + 1}"
        out.append(_opt(tok, lines, no, label, acc) if t == "c" else _READERS[t](tok, lines, no, label))
    return out


_READERS: dict[str, Callable[[str, _Lines, int, str], Any]] = {"i": _int, "f": _num}


def _table_body(lines: _Lines, acc: _Acc, table: _Table, hdr: dict[str, str | None], test: str) -> None:
    unit_no = lines.i  # the unit sits on the last header line
    rows = [_read_row(lines, acc, types, name)
            for types, name in zip(table.rows, ("result", "second result"), strict=False)]
    if table.kind != "rr":
        kind, factor = _unit_or_raise(hdr["unit"] or "", lines, unit_no)
        if kind != "bits":
            raise ParseError(lines.path, unit_no, "a bits or bytes per second unit for a stream test",
                             found=hdr["unit"])
    else:
        factor = 1.0
    sd_scale = 1000.0 if (hdr.get("sd") or "us").startswith("ms") else 1.0
    _, direction = TEST_KINDS[test]
    if direction:
        acc.fields["direction"] = direction
    _TABLE_APPLY[table.kind](acc, rows, factor, sd_scale, test, table.cpu)
    if table.cpu:
        for side in ("lm", "rm"):
            if hdr.get(side):
                acc.fields[f"{'local' if side == 'lm' else 'remote'}_cpu_method"] = hdr[side]
    _trailer(lines, acc)


def _apply_stream(acc: _Acc, rows: list[list[Any]], factor: float, sd_scale: float, test: str, cpu: bool) -> None:
    r = rows[0]
    if TEST_KINDS[test][1] == "receive":  # TCP_MAERTS: local receives, remote sends
        acc.fields["local_recv_socket_bytes"], acc.fields["remote_send_socket_bytes"] = r[0], r[1]
    else:
        acc.fields["remote_recv_socket_bytes"], acc.fields["local_send_socket_bytes"] = r[0], r[1]
    acc.fields["msg_size_bytes"] = r[2]
    acc.fields["duration_s"] = r[3]
    acc.metric("throughput_bps", r[4] * factor)
    if cpu:
        acc.metric("local_cpu_util_pct", r[5])
        acc.metric("remote_cpu_util_pct", r[6])
        acc.metric("local_service_demand_us_per_kb", None if r[7] is None else r[7] * sd_scale)
        acc.metric("remote_service_demand_us_per_kb", None if r[8] is None else r[8] * sd_scale)


def _apply_udp_stream(acc: _Acc, rows: list[list[Any]], factor: float, sd_scale: float, test: str,
                      cpu: bool) -> None:
    send, recv = rows
    acc.fields["local_send_socket_bytes"] = send[0]
    acc.fields["msg_size_bytes"] = send[1]
    acc.fields["duration_s"] = send[2]
    acc.fields["messages_sent"], acc.fields["messages_send_errors"] = send[3], send[4]
    acc.fields["remote_recv_socket_bytes"] = recv[0]
    acc.fields["remote_elapsed_s"] = recv[1]
    acc.fields["messages_received"] = recv[2]
    acc.metric("send_throughput_bps", send[5] * factor)
    acc.metric("throughput_bps", recv[3] * factor)
    sent, received = send[3], recv[2]
    acc.metric("packets", sent)
    if sent > 0 and received <= sent:
        acc.metric("lost_packets", sent - received)
        acc.metric("loss_pct", 100.0 * (sent - received) / sent)
    elif received > sent:
        acc.notes.append(f"netperf UDP_STREAM: {received} messages received but {sent} sent; loss not derived")
    if cpu:
        acc.metric("local_cpu_util_pct", send[6])
        acc.metric("local_service_demand_us_per_kb", None if send[7] is None else send[7] * sd_scale)
        acc.metric("remote_cpu_util_pct", recv[4])
        acc.metric("remote_service_demand_us_per_kb", None if recv[5] is None else recv[5] * sd_scale)


def _apply_rr(acc: _Acc, rows: list[list[Any]], factor: float, sd_scale: float, test: str, cpu: bool) -> None:
    r, remote = rows
    acc.fields["local_send_socket_bytes"], acc.fields["local_recv_socket_bytes"] = r[0], r[1]
    acc.fields["remote_send_socket_bytes"], acc.fields["remote_recv_socket_bytes"] = remote[0], remote[1]
    acc.fields["msg_size_bytes"], acc.fields["response_size_bytes"] = r[2], r[3]
    acc.fields["duration_s"] = r[4]
    acc.metric("transactions_per_s", r[5])
    if cpu:
        acc.metric("local_cpu_util_pct", r[6])
        acc.metric("remote_cpu_util_pct", r[7])
        acc.metric("local_service_demand_us_per_tr", None if r[8] is None else r[8] * sd_scale)
        acc.metric("remote_service_demand_us_per_tr", None if r[9] is None else r[9] * sd_scale)


_TABLE_APPLY: dict[str, Callable[..., None]] = {
    "stream": _apply_stream,
    "udp_stream": _apply_udp_stream,
    "rr": _apply_rr,
}


def _trailer(lines: _Lines, acc: _Acc) -> None:
    """After the result: blank lines, or netperf's verbose sections (read as notes, not values)."""
    lines.skip_blank()
    if lines.eof():
        return
    if _VERBOSE_SECTIONS.match(lines.line.strip()):
        acc.notes.append(f"netperf verbose output from line {lines.lineno} on not read")
        lines.i = len(lines.lines)
        return
    raise lines.error("the end of the netperf output after the result")


# ------------------------------------------------------------------------------------------ omni
def _kv(lines: _Lines, acc: _Acc, hint: str | None) -> None:
    acc.parser = "netperf-omni-kv"
    values: dict[str, tuple[str, int]] = {}
    interim: dict[int, dict[str, tuple[str, int]]] = {}
    all_lines, n = lines.lines, len(lines.lines)
    last_complete = n if lines.final_newline else n - 1  # lines before this index end with a newline
    i = lines.i
    while True:
        while i < n and not all_lines[i].strip():  # skip_blank
            i += 1
        if i >= n:
            break
        if i >= last_complete:  # take_value_line's refusal of a last line cut short
            lines.i = i
            lines.take_value_line("a KEY=VALUE line (netperf -k output)")
        no, line = i + 1, all_lines[i]
        i += 1
        lines.i = i
        m = _KV_RE.fullmatch(line.strip())
        if not m:
            raise ParseError(lines.path, no, "a KEY=VALUE line (netperf -k output)", found=line.strip())
        key, idx, value = m["key"], m["idx"], m["value"]
        if idx is not None:
            if key not in _INTERIM_KEYS:
                raise ParseError(lines.path, no, f"an indexed key, one of {sorted(_INTERIM_KEYS)}", found=key)
            slot = interim.setdefault(int(idx), {})
            if _INTERIM_KEYS[key] in slot:
                raise ParseError(lines.path, no, f"{key}[{idx}] once", found=line.strip())
            slot[_INTERIM_KEYS[key]] = (value, no)
            continue
        if key in values:
            raise ParseError(lines.path, no, f"each key once; {key} already on line {values[key][1]}",
                             found=line.strip())
        values[key] = (value, no)
    lines.i = i
    _interim(lines, acc, interim)
    _omni_apply(lines, acc, values, hint)


def _interim(lines: _Lines, acc: _Acc, interim: dict[int, dict[str, tuple[str, int]]]) -> None:
    clock = 0.0
    for idx in sorted(interim):
        slot = interim[idx]
        first_no = min(no for _, no in slot.values())
        for part in ("value", "unit", "interval"):
            if part not in slot:
                name = next(k for k, v in _INTERIM_KEYS.items() if v == part)
                raise ParseError(lines.path, first_no, f"{name}[{idx}] with the other demo-mode keys of "
                                 f"interval {idx}", found="none")
        value = _num(slot["value"][0], lines, slot["value"][1], f"NETPERF_INTERIM_RESULT[{idx}]")
        span = _num(slot["interval"][0], lines, slot["interval"][1], f"NETPERF_INTERVAL[{idx}]")
        kind, factor = _unit_or_raise(slot["unit"][0], lines, slot["unit"][1])
        metric = "throughput_bps" if kind == "bits" else "transactions_per_s"
        acc.intervals.append(IntervalSample(metric, clock, clock + span, value * factor))
        clock += span


def _csv(lines: _Lines, acc: _Acc, hint: str | None) -> None:
    acc.parser = "netperf-omni-csv"
    header: list[str] | None = None
    header_no = 0
    interim_rows: list[tuple[int, list[str]]] = []
    while True:
        lines.skip_blank()
        if lines.eof():
            raise lines.error("the CSV value line under the header (netperf -o output)")
        no, line = lines.take_value_line("a netperf -o CSV line")
        cells = next(csv.reader([line]))
        names = [c.strip() for c in cells]
        if all(n and not _NUM_RE.fullmatch(n) for n in names) and any(n in _HUMAN_TO_KEY for n in names):
            header, header_no = names, no
            break
        if len(cells) == 4 and _unit(cells[1].strip()) is not None:
            interim_rows.append((no, cells))  # demo mode: value,units,interval,ending
            continue
        raise ParseError(lines.path, no, "a CSV header naming the columns: netperf -o under -P 0 prints none, and "
                         "the column order is only known from the -o selectors; re-run without -P 0",
                         found=line.strip())
    lines.skip_blank()
    no, line = lines.take_value_line("the CSV value line under the header (netperf -o output)")
    cells = next(csv.reader([line]))
    if len(cells) != len(header):
        raise ParseError(lines.path, no, f"{len(header)} comma-separated values, one per header column (line "
                         f"{header_no})", found=line.strip())
    clock = 0.0
    for ino, cells_i in interim_rows:
        value = _num(cells_i[0].strip(), lines, ino, "interim result")
        kind, factor = _unit_or_raise(cells_i[1].strip(), lines, ino)
        span = _num(cells_i[2].strip(), lines, ino, "interim interval")
        acc.intervals.append(IntervalSample("throughput_bps" if kind == "bits" else "transactions_per_s",
                                            clock, clock + span, value * factor))
        clock += span
    _omni_columns(lines, acc, header, [c.strip() for c in cells], [no] * len(cells), header_no, hint)
    _trailer(lines, acc)


def _human(lines: _Lines, acc: _Acc, hint: str | None) -> None:
    """omni ``-O``: blocks of four header lines (some may be blank) over one value line."""
    acc.parser = "netperf-omni-human"
    names: list[str] = []
    values: list[str] = []
    value_nos: list[int] = []
    header_no = 0
    while True:
        lines.skip_blank()
        if lines.eof():
            break
        header_no = lines.lineno
        hdr = lines.lines[lines.i: lines.i + 4]
        if len(hdr) < 4:
            raise lines.error("four netperf -O header lines over a value line (under -P 0 netperf prints no "
                              "headers, and the column order is only known from the -O selectors)")
        lines.i += 4
        value_no, val = lines.take_value_line("the netperf -O value line under its four header lines")
        if not val.strip():
            raise ParseError(lines.path, value_no, "the netperf -O value line under its four header lines",
                             found="a blank line")
        starts = [m.start() for m in re.finditer(r"\S+", hdr[0])]
        if not starts or starts[0] != 0:
            raise ParseError(lines.path, header_no, "netperf -O column headers starting in the first column",
                             found=hdr[0])
        bounds = list(zip(starts, starts[1:] + [None], strict=True))
        for a, b in bounds:
            cell = val[a:b]
            if a > 0 and a <= len(val) and val[a - 1:a] not in ("", " "):
                raise ParseError(lines.path, value_no, f"a value aligned under column {len(names) + 1}",
                                 found=val.strip())
            if cell and cell[0] == " " and cell.strip():
                raise ParseError(lines.path, value_no, f"a value aligned under column {len(names) + 1}",
                                 found=val.strip())
            names.append(" ".join(h[a:b].strip() for h in hdr if h[a:b].strip()))
            values.append(cell.strip())
            value_nos.append(value_no)
        if not any(n in _HUMAN_TO_KEY for n in names):
            raise ParseError(lines.path, header_no, "netperf result columns (netperf -O headers such as "
                             "'Throughput' or 'Mean Latency Microseconds'), or a classic result table",
                             found=hdr[0].strip())
    _omni_columns(lines, acc, names, values, value_nos, header_no, hint)


def _omni_columns(lines: _Lines, acc: _Acc, names: list[str], cells: list[str], value_nos: list[int],
                  header_no: int, hint: str | None) -> None:
    values: dict[str, tuple[str, int]] = {}
    unknown = []
    for name, cell, value_no in zip(names, cells, value_nos, strict=True):
        key = _HUMAN_TO_KEY.get(name)
        if key is None:
            unknown.append(name)
            continue
        if key in values:
            raise ParseError(lines.path, header_no, f"each column once; {name!r} appears twice", found=name)
        values[key] = (cell, value_no)
    if unknown:
        acc.notes.append(f"netperf omni columns not read: {', '.join(repr(u) for u in unknown)}")
    _omni_apply(lines, acc, values, hint)


def _omni_apply(lines: _Lines, acc: _Acc, values: dict[str, tuple[str, int]], hint: str | None) -> None:
    """Map omni selector values to fields and SI measurements."""
    if acc.test is None and hint is not None:
        acc.test = hint
    missing: list[str] = []

    def number(key: str, what_type: str = "f") -> float | int | None:
        raw, no = values[key]
        raw = raw.strip()
        if raw == "" or _NONFINITE_RE.fullmatch(raw):
            missing.append(key)
            return None
        v: float | int = _int(raw, lines, no, key) if what_type == "i" else _num(raw, lines, no, key)
        if v < 0:
            missing.append(key)
            return None
        return v

    for key in sorted(values.keys() & _OMNI_FIELD_RANK.keys(), key=_OMNI_FIELD_RANK.__getitem__):
        fname, ftype = _OMNI_FIELDS[key]  # the present keys, in _OMNI_FIELDS order
        if ftype == "s":
            text = values[key][0].strip()
            if len(text) >= 2 and text[0] == text[-1] == '"':
                text = text[1:-1]
            if text:
                acc.fields[fname] = text
        else:
            v = number(key, ftype)
            if v is not None:
                acc.fields[fname] = v
    for key, (metric, scale) in _OMNI_METRICS.items():
        if key in values:
            v = number(key)
            if v is not None:
                acc.metric(metric, v * scale)

    tput_kind = _omni_throughput(lines, acc, values, number)
    is_rr = (tput_kind == "trans" or "TRANSACTION_RATE" in values
             or (acc.test in TEST_KINDS and TEST_KINDS[acc.test][0] == "rr")
             or acc.fields.get("omni_direction") in ("Send|Recv", "Recv|Send"))
    _omni_sd(lines, acc, values, number, is_rr, tput_kind)

    _omni_direction_and_size(acc, is_rr)
    if missing:
        acc.notes.append(f"netperf printed 'not measured' (-1 or empty) for {', '.join(missing)}; read as missing")
    if not acc.measurements:
        where = max((no for _, no in values.values()), default=len(lines.lines) + 1)
        raise ParseError(lines.path, where,
                         "at least one netperf result value (THROUGHPUT, TRANSACTION_RATE, *_LATENCY, "
                         "LOCAL_CPU_UTIL ...)", found="none")


def _omni_throughput(lines: _Lines, acc: _Acc, values: dict[str, tuple[str, int]],
                     number: Callable[..., Any]) -> str | None:
    """Read THROUGHPUT in its THROUGHPUT_UNITS as an SI metric; returns the unit's kind (``bits``, ``bytes``,
    ``trans``), None without a THROUGHPUT column. *number* reads a value, counting 'not measured' ones."""
    if "THROUGHPUT" not in values:
        return None
    if "THROUGHPUT_UNITS" not in values:
        raise ParseError(lines.path, values["THROUGHPUT"][1], "THROUGHPUT_UNITS next to THROUGHPUT (needed to "
                         "convert the throughput to SI)", found="no THROUGHPUT_UNITS")
    tput_kind, factor = _unit_or_raise(values["THROUGHPUT_UNITS"][0].strip(), lines,
                                       values["THROUGHPUT_UNITS"][1])
    stream_test = (acc.test in TEST_KINDS and TEST_KINDS[acc.test][0] != "rr") or (
        _OMNI_DIRECTIONS.get(acc.fields.get("omni_direction", "")) is not None) or (
        acc.test == "OMNI" and "direction" in acc.fields)
    if tput_kind == "trans" and stream_test:
        raise ParseError(lines.path, values["THROUGHPUT_UNITS"][1], "a bits or bytes per second unit for a "
                         "stream test (netperf prints Trans/s for request/response tests only)",
                         found=values["THROUGHPUT_UNITS"][0].strip())
    v = number("THROUGHPUT")
    if v is not None:
        acc.metric("throughput_bps" if tput_kind == "bits" else "transactions_per_s", v * factor)
    return tput_kind


def _omni_direction_and_size(acc: _Acc, is_rr: bool) -> None:
    """Set the run's direction (from the omni direction, else the test's) and message size (a request/response
    test's request size, else the size the sending side wrote)."""
    omni_dir = acc.fields.get("omni_direction")
    if omni_dir in _OMNI_DIRECTIONS and _OMNI_DIRECTIONS[omni_dir]:
        acc.fields["direction"] = _OMNI_DIRECTIONS[omni_dir]
    elif acc.test in TEST_KINDS and TEST_KINDS[acc.test][1]:
        acc.fields["direction"] = TEST_KINDS[acc.test][1]
    f = acc.fields
    if is_rr:
        if "request_size_bytes" in f:
            f["msg_size_bytes"] = f["request_size_bytes"]
        if "response_size_bytes" in f:
            pass  # already named as the runs table wants it
    elif f.get("direction") == "receive":
        size = f.get("remote_send_size_bytes", f.get("local_recv_size_bytes"))
        if size is not None:
            f["msg_size_bytes"] = size
    elif "local_send_size_bytes" in f:
        f["msg_size_bytes"] = f["local_send_size_bytes"]
    if not is_rr:
        f.pop("response_size_bytes", None)


def _omni_sd(lines: _Lines, acc: _Acc, values: dict[str, tuple[str, int]], number: Callable[..., Any],
             is_rr: bool, tput_kind: str | None) -> None:
    if "LOCAL_SD" not in values and "REMOTE_SD" not in values:
        return
    if "SD_UNITS" in values:
        raw, no = values["SD_UNITS"]
        m = _SD_UNITS_RE.fullmatch(raw.strip())
        if not m:
            raise ParseError(lines.path, no, "a service demand unit (usec/KB, usec/Tran)", found=raw.strip())
        per_tr = m["per"].upper() != "KB"
        scale = 1000.0 if m["t"].lower().startswith("m") else 1.0
    else:
        per_tr, scale = is_rr, 1.0
        acc.notes.append("netperf service demand without SD_UNITS: read as usec/" + ("Tran" if is_rr else "KB")
                         + " from the test type")
    suffix = "us_per_tr" if per_tr else "us_per_kb"
    for key, side in (("LOCAL_SD", "local"), ("REMOTE_SD", "remote")):
        if key in values:
            v = number(key)
            if v is not None:
                acc.metric(f"{side}_service_demand_{suffix}", v * scale)


_BODIES: dict[str, Callable[[_Lines, _Acc, str | None], None]] = {
    "classic": _classic,
    "rows": _rows,
    "kv": _kv,
    "csv": _csv,
    "human": _human,
}


def _finish(acc: _Acc) -> ParsedRun:
    fields = dict(acc.fields)
    if acc.test is not None:
        fields["test"] = acc.test
    if acc.banner_flags:
        fields["banner_flags"] = ",".join(acc.banner_flags)
    if acc.confidence_block:
        fields["confidence_met"] = False
        acc.notes.append("netperf: desired confidence was not achieved within the specified iterations")
    elif acc.confidence_requested:
        fields["confidence_met"] = True
    return ParsedRun(
        tool=TOOL,
        parser=acc.parser,
        parser_version=PARSER_VERSION,
        fields=fields,
        measurements=dict(acc.measurements),
        intervals=tuple(acc.intervals),
        notes=tuple(acc.notes),
    )
