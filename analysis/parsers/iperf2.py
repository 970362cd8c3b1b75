"""Parser for iperf 2 output: the default text report and ``-y C`` CSV.

Units
-----
Verified against iperf 2's ``byte_snprintf`` (``src/stdio.c``) and its report formats (``src/Locale.c``):

* **Transfer** is always printed in byte units, which are **1024-based**: ``Bytes`` = 1, ``KBytes`` = 1024,
  ``MBytes`` = 1024**2, ``GBytes`` = 1024**3, ``TBytes``, ``PBytes`` (``kConversion[] = 1/1024 ...``).
* **Bandwidth** in bit units is **1000-based**: ``bits/sec`` = 1, ``Kbits/sec`` = 1e3, ``Mbits/sec`` = 1e6,
  ``Gbits/sec`` = 1e9, ``Tbits/sec``, ``Pbits/sec`` (``kConversionForBits[] = 1/1000 ...``). With an upper-case
  ``-f K/M/G`` the bandwidth is printed in byte units per second, 1024-based (``KBytes/sec`` = 8 x 1024 bit/s).
* ``-y C`` CSV carries raw integers: bytes and bits/s; the UDP jitter is in ms.

So ``4.01 GBytes  17.1 Gbits/sec`` over ``0.0000-2.0138 sec`` is 4.01 x 2**30 bytes and 17.1e9 bit/s. On every final
row spanning at least one second, bytes x 8 / seconds must agree with the printed bandwidth within 10 % (the
printed numbers carry 3 significant digits); a disagreement means a misprinted or corrupted unit and raises.

Text report
-----------
Per-stream rows ``[  3] 0.0-10.0 sec  1.09 GBytes   939 Mbits/sec``; with ``-P`` the ``[SUM]`` rows; with
``-i`` interval rows before the final row (the final row of a stream is its last row starting at 0). UDP: the
client's own row gives ``send_throughput_bps``; the ``Server Report:`` row that follows gives ``throughput_bps``,
``jitter_s``, ``lost_packets``, ``packets`` (the Total column) and ``loss_pct`` (recomputed as
100 x lost / total; iperf prints it with 2 significant digits). UDP server output gives the same from its rows.
With several UDP streams receiver throughput, lost and total are summed and jitter is their mean (noted).
Enhanced (``-e``) rows are read for the same columns; ``Rtry`` gives ``retransmits``. Interval rows become interval
samples (``stream`` = the iperf ID, None for ``[SUM]``).

CSV (``-y C``)
--------------
``timestamp,src,sport,dst,dport,id,start-end,bytes,bits_per_second`` (TCP, 9 fields) plus
``,jitter_ms,lost,total,lost_pct,out_of_order`` (UDP, 14 fields). The summary is the row whose interval starts at
0 and comes last for its ID; with ``-P`` the ID ``-1`` sum row. For UDP a client prints its own row (9 or 14
fields) then the server's 14-field report for the same ID and interval (receiver metrics); a lone 14-field row is
read as a receiver report (noted). On every row spanning >= 1 s, bytes x 8 / seconds must agree with bits/s
within 10 %. The timestamp is local time without a zone, so it is kept as ``csv_timestamp`` and ``start_time``
stays empty.

iperf 2.1.8 (Debian 12) prints the same two layouts with ``-e -y C``: its enhanced reports exist in text only
(its binary carries no other CSV format). Its UDP client writes only its own rows, the final one with total -1
(``...,0.000,0,-1,-0.000,0``): read as the sender's ``send_throughput_bps`` (receiver metrics come from the
server's file); the client prints no server report in CSV. A server stopped with SIGINT adds "Waiting for server
threads to complete ..." (kept as a note).

Limits
------
A file that ends without a newline in the middle of a row it reads is treated as truncated, and a stream whose
last row is an interval row (not starting at 0) has lost its final row. A ``-i`` file cut right after its very
first interval row cannot be told from a shorter run (ingest compares ``duration_s`` with the manifest).
Enhanced ``-e`` CSV as iperf >= 2.2 writes it (a header line, then rows with more columns) is refused by name, not
read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from analysis.parsers.base import IntervalSample, ParsedRun, ParseError, check_parse_args

TOOL = "iperf2"
PARSER_TEXT = "iperf2-text"
PARSER_CSV = "iperf2-csv"
PARSER_VERSION = "1"

__all__ = ["TOOL", "PARSER_TEXT", "PARSER_CSV", "PARSER_VERSION", "TRANSFER_UNITS", "RATE_UNITS", "sniff",
           "parse", "canonical_test"]

#: Transfer column units -> bytes (1024-based, iperf 2 ``kConversion``)
TRANSFER_UNITS: dict[str, int] = {
    "Bytes": 1, "KBytes": 1024, "MBytes": 1024**2, "GBytes": 1024**3, "TBytes": 1024**4, "PBytes": 1024**5,
}
#: Bandwidth column units -> bits/s (bit units 1000-based ``kConversionForBits``; byte units 1024-based x 8)
RATE_UNITS: dict[str, float] = {
    "bits/sec": 1.0, "Kbits/sec": 1e3, "Mbits/sec": 1e6, "Gbits/sec": 1e9, "Tbits/sec": 1e12, "Pbits/sec": 1e15,
    **{f"{u}/sec": 8.0 * f for u, f in TRANSFER_UNITS.items()},
}
_BUFFER_UNITS = {"Byte": 1, "KByte": 1024, "MByte": 1024**2}
_TESTS = {"TCP": "IPERF2_TCP", "UDP": "IPERF2_UDP"}


def canonical_test(fields: dict[str, Any]) -> str:
    """The canonical test (:data:`analysis.vocabulary.TESTS`) of a run from its own fields: TCP forward
    ``TCP_STREAM``, ``-R``/``--reverse`` ``TCP_MAERTS`` (a ``bidir`` direction ``TCP_BIDIR``); ``-u``
    ``UDP_STREAM``."""
    if fields.get("protocol") == "UDP":
        return "UDP_STREAM"
    return {"receive": "TCP_MAERTS", "bidir": "TCP_BIDIR"}.get(fields.get("direction"), "TCP_STREAM")

_NUM = r"[0-9]+(?:\.[0-9]+)?"
_PCT = r"-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?|-?nan|-?inf"
_ROW = re.compile(
    rf"\[\s*(?P<id>\*?[0-9]+|SUM)\]\s+(?P<t0>{_NUM})\s*-\s*(?P<t1>{_NUM})\s+sec\s+(?P<xfer>{_NUM})\s+(?P<xunit>\S+)"
    rf"\s+(?P<rate>{_NUM})\s+(?P<runit>\S+/sec)(?P<rest>.*)", re.ASCII)
_JITTER = re.compile(rf"\s+(?P<jitter>{_NUM})\s+ms\s+(?P<lost>[0-9]+)/\s*(?P<total>[0-9]+)\s+\((?P<pct>{_PCT})%\)"
                     r"(?P<tail>.*)", re.ASCII)
_LOSS_ONLY = re.compile(rf"\s+(?P<lost>[0-9]+)/\s*(?P<total>[0-9]+)\s+\((?P<pct>{_PCT})%\)(?P<tail>.*)", re.ASCII)
_RTRY = re.compile(r"\s+[0-9]+/[0-9]+\s+(?P<rtry>[0-9]+)(?:\s|$)", re.ASCII)
_ROW_LIKE = re.compile(r"\[[^\]]*\].*\bsec\b")
_OOO = re.compile(rf"\[\s*(\*?[0-9]+|SUM)\]\s+{_NUM}\s*-\s*{_NUM}\s+sec\s+[0-9]+\s+datagrams\s+received\s+out-of-order",
                  re.ASCII)
_CLIENT = re.compile(r"Client connecting to (?P<host>.+), (?P<proto>\S+) port (?P<port>[0-9]+)\b(?P<rest>.*)")
_SERVER = re.compile(r"Server listening on (?P<proto>\S+) port (?P<port>[0-9]+)\b(?P<rest>.*)")
_SERVER_REPORT = re.compile(r"\[\s*(?P<id>\*?[0-9]+|SUM)\]\s+Server Report:\s*")
_SENT = re.compile(r"\[\s*(?P<id>\*?[0-9]+|SUM)\]\s+Sent\s+(?P<n>[0-9]+)\s+datagrams\s*")
_HEADER = re.compile(r"\[ ID\]\s+Interval")
_WRITE_BUF = re.compile(rf"(?:Write|Read) buffer size:\s*(?P<n>{_NUM})\s*(?P<unit>[A-Za-z]+)", re.ASCII)
_DATAGRAMS = re.compile(r"(?:Sending|Receiving) (?P<n>[0-9]+) byte datagrams", re.ASCII)
_CONNECTED = re.compile(r"\[\s*(?P<id>\*?[0-9]+)\]\s+local\s+.*\bconnected with\b(?P<rest>.*)")
_CSV_TS = re.compile(r"[0-9]{14}(?:\.[0-9]+)?", re.ASCII)
_CSV_INTERVAL = re.compile(rf"(?P<t0>{_NUM})-(?P<t1>{_NUM})", re.ASCII)
_INT = re.compile(r"-?[0-9]+", re.ASCII)
_FLOAT = re.compile(rf"-?{_NUM}", re.ASCII)


def _is_csv_row(line: str) -> bool:
    parts = line.strip().split(",")
    return len(parts) in (9, 14) and _CSV_TS.fullmatch(parts[0]) is not None


def sniff(text: str) -> bool:
    """True for iperf 2 text output (banner / ``[ ID] Interval`` header) or a ``-y C`` CSV row."""
    head = text[:20000]
    if "[ ID] Interval" in head and ("Transfer" in head or "Bandwidth" in head):
        return True
    if ("Client connecting to " in head or "Server listening on " in head) and _BANNER_LINE.search(head):
        return True
    # the first non-blank line: what follows the leading whitespace, up to a str.splitlines boundary
    first = _FIRST_LINE.match(head.lstrip()).group()
    return _is_csv_row(first) or _csv_header_then_row(head) is not None


_BANNER_LINE = re.compile(r"^(Client connecting to .*, (TCP|UDP) port|Server listening on (TCP|UDP) port)", re.M)
#: a line up to (not including) any of the boundaries str.splitlines splits at
_FIRST_LINE = re.compile("[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*")


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _truncation_check(text: str, path: str | Path, lines: list[str], reads: Callable[[str], bool]) -> None:
    """A last line without its newline that the parser would read is a truncated file."""
    if text and not text.endswith(("\n", "\r")):
        last = lines[-1]
        if last.strip() and reads(last):
            raise ParseError(path, len(lines), "a complete last line (the file ends without a newline: truncated?)",
                             found=last)


def _finite(x: float, path, line: int, what: str, raw: str) -> float:
    if not math.isfinite(x):
        raise ParseError(path, line, f"a finite number for {what}", found=raw)
    return x


# --------------------------------------------------------------------------------------------------------------
# text


@dataclass
class _Row:
    line: int
    id: str  # "SUM" or the numeric id as printed (without '*')
    t0: float
    t1: float
    xfer_bytes: float
    rate_bps: float
    server_report: bool = False
    jitter_ms: float | None = None
    lost: int | None = None
    total: int | None = None
    retransmits: int | None = None
    raw: str = ""


@dataclass
class _Text:
    path: str | Path
    role: str | None = None
    protocol: str | None = None
    header: str = ""
    rows: list[_Row] = field(default_factory=list)
    pending_report: set[str] = field(default_factory=set)
    msg_size: int | None = None
    reverse: bool = False
    sent_datagrams: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _unit(value: str, unit: str, table: dict, path, line: int, what: str, raw: str) -> float:
    if unit not in table:
        raise ParseError(path, line, f"a {what} unit (one of {', '.join(table)})", found=raw)
    return float(Decimal(value) * Decimal(table[unit]))


def _parse_row(st: _Text, n: int, line: str) -> None:
    m = _ROW.fullmatch(line.strip())
    if m is None:
        if _OOO.fullmatch(line.strip()):
            return
        raise ParseError(st.path, n, "an iperf 2 report row '[ ID] start-end sec  <transfer> <unit>  "
                         "<bandwidth> <unit>/sec'", found=line.strip())
    ident = m["id"].lstrip("*")
    t0, t1 = float(m["t0"]), float(m["t1"])
    if t1 < t0:
        raise ParseError(st.path, n, "an interval end >= its start", found=line.strip())
    xfer = _unit(m["xfer"], m["xunit"], TRANSFER_UNITS, st.path, n, "Transfer", line.strip())
    rate = _unit(m["rate"], m["runit"], RATE_UNITS, st.path, n, "Bandwidth", line.strip())
    row = _Row(n, ident, t0, t1, xfer, rate, raw=line.strip())
    rest = m["rest"]
    enhanced = bool(re.search(r"Write/Err|Reads=|Rtry|PPS|NetPwr|Latency", st.header))
    if rest.strip():
        j = _JITTER.fullmatch(rest)
        lo = _LOSS_ONLY.fullmatch(rest)
        if j is not None and (enhanced or not j["tail"].strip()):
            row.jitter_ms = float(j["jitter"])
            row.lost, row.total = int(j["lost"]), int(j["total"])
        elif lo is not None and ident == "SUM" and (enhanced or not lo["tail"].strip()):
            row.lost, row.total = int(lo["lost"]), int(lo["total"])
        elif enhanced:
            if "Rtry" in st.header:
                r = _RTRY.match(rest)
                if r is None:
                    raise ParseError(st.path, n, "'Write/Err  Rtry' columns under an enhanced (-e) header",
                                     found=line.strip())
                row.retransmits = int(r["rtry"])
        else:
            raise ParseError(st.path, n, "nothing after the bandwidth, or UDP 'jitter ms lost/total (pct%)'",
                             found=line.strip())
        if row.lost is not None and row.total is not None and row.lost > row.total:
            raise ParseError(st.path, n, "lost <= total datagrams", found=line.strip())
    if ident in st.pending_report:
        st.pending_report.discard(ident)
        row.server_report = True
    st.rows.append(row)


def _scan_text(text: str, path) -> _Text:
    lines = _lines(text)
    st = _Text(path)
    _truncation_check(text, path, lines, lambda ln: bool(_ROW_LIKE.search(ln)))
    for n, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            continue
        if (m := _CLIENT.fullmatch(s)) or (m := _SERVER.fullmatch(s)):
            role = "client" if s.startswith("Client") else "server"
            if m["proto"] not in _TESTS:
                raise ParseError(path, n, f"protocol TCP or UDP in the {role} banner", found=s)
            if st.role is not None and (st.role, st.protocol) != (role, m["proto"]):
                raise ParseError(path, n, "one iperf 2 run per file", found=s)
            st.role, st.protocol = role, m["proto"]
            continue
        if _HEADER.match(s):
            st.header = s
            continue
        if (m := _SERVER_REPORT.fullmatch(s)) is not None:
            st.pending_report.add(m["id"].lstrip("*"))
            continue
        if (m := _SENT.fullmatch(s)) is not None:
            st.sent_datagrams[m["id"].lstrip("*")] = int(m["n"])
            continue
        if (m := _WRITE_BUF.match(s)) is not None:
            size = _unit(m["n"], m["unit"], _BUFFER_UNITS, path, n, "buffer size", s)
            if size != int(size):
                raise ParseError(path, n, "a whole number of bytes", found=s)
            st.msg_size = int(size)
            continue
        if (m := _DATAGRAMS.match(s)) is not None:
            st.msg_size = int(m["n"])
            continue
        if (m := _CONNECTED.match(s)) is not None:
            if "(reverse)" in m["rest"]:
                st.reverse = True
            continue
        if s.startswith("[") and _ROW_LIKE.match(s):
            _parse_row(st, n, line)
    return st


def _final_rows(rows: list[_Row], path) -> dict[str, _Row]:
    """Per id, the last row starting at 0; an id whose last row does not start at 0 has no final row."""
    by_id: dict[str, list[_Row]] = {}
    for r in rows:
        by_id.setdefault(r.id, []).append(r)
    finals = {}
    for ident, rs in by_id.items():
        last = rs[-1]
        if last.t0 != 0.0:
            raise ParseError(path, last.line, f"a final summary row (starting at 0) for stream [{ident}] after its "
                             "interval rows (truncated?)", found=last.raw)
        finals[ident] = last
    return finals


def _consistent(row: _Row, path) -> None:
    span = row.t1 - row.t0
    if span < 1.0:
        return
    implied = row.xfer_bytes * 8.0 / span
    if row.rate_bps == 0.0 and implied == 0.0:
        return
    if row.rate_bps == 0.0 or not 0.9 <= implied / row.rate_bps <= 1.1:
        raise ParseError(path, row.line, "Transfer / seconds consistent with Bandwidth (within 10 %)",
                         found=row.raw)


def _aggregate(finals: dict[str, _Row], what: str, notes: list[str]) -> _Row | None:
    """The [SUM] final if there is one, else the single stream's, else a sum over streams (noted)."""
    if not finals:
        return None
    if "SUM" in finals:
        return finals["SUM"]
    if len(finals) == 1:
        return next(iter(finals.values()))
    rows = list(finals.values())
    notes.append(f"iperf2: no [SUM] row; {what} is the sum over {len(rows)} streams")
    return _Row(rows[0].line, "SUM", 0.0, max(r.t1 for r in rows), sum(r.xfer_bytes for r in rows),
                sum(r.rate_bps for r in rows),
                retransmits=(sum(r.retransmits for r in rows) if all(r.retransmits is not None for r in rows)
                             else None))


def _receiver_totals(rows, rates_bps: list[float]) -> dict[str, float]:
    """The UDP receiver's measurements over its streams' final rows (text or CSV): throughput, lost and total
    summed, jitter their mean."""
    lost = sum(r.lost for r in rows)
    total = sum(r.total for r in rows)
    return {"throughput_bps": sum(rates_bps), "jitter_s": sum(r.jitter_ms for r in rows) / len(rows) / 1000.0,
            "lost_packets": float(lost), "packets": float(total),
            "loss_pct": 100.0 * lost / total if total else 0.0}


def _udp_receiver(rows: list[_Row], meas: dict, notes: list, path) -> bool:
    streams = [r for r in rows if r.id != "SUM"]
    if not streams:
        return False
    for r in streams:
        if r.jitter_ms is None:
            raise ParseError(path, r.line, "a UDP receiver row with 'jitter ms lost/total (pct%)'", found=r.raw)
    meas.update(_receiver_totals(streams, [r.rate_bps for r in streams]))
    if len(streams) > 1:
        notes.append(f"iperf2 UDP: receiver throughput, lost and total summed over {len(streams)} streams; "
                     "jitter is their mean")
    return True


def _parse_text(text: str, path, test: str | None) -> ParsedRun:
    st = _scan_text(text, path)
    if not st.rows:
        raise ParseError(path, len(text.splitlines()), "at least one iperf 2 report row '[ ID] start-end sec ...'",
                         found="end of file")
    own = [r for r in st.rows if not r.server_report]
    reports = [r for r in st.rows if r.server_report]
    if st.pending_report:
        raise ParseError(path, len(_lines(text)), f"the server report row for [{sorted(st.pending_report)[0]}] "
                         "after 'Server Report:' (truncated?)", found="end of file")
    udp_rows = any(r.jitter_ms is not None or r.lost is not None for r in st.rows)
    protocol = st.protocol or ("UDP" if udp_rows or st.sent_datagrams else "TCP")
    if protocol == "TCP" and udp_rows:
        raise ParseError(path, next(r.line for r in st.rows if r.lost is not None), "TCP report rows (the banner "
                         "says TCP)", found="a UDP jitter/loss row")
    role = st.role or ("server" if udp_rows and not reports and not st.sent_datagrams else "client")
    notes = st.notes
    finals = _final_rows(own, path) if own else {}
    report_finals = _final_rows(reports, path) if reports else {}
    for r in list(finals.values()) + list(report_finals.values()):
        _consistent(r, path)
    meas: dict[str, float] = {}
    summary = _aggregate(finals, "throughput", notes)
    if summary is None:
        raise ParseError(path, 0, "the run's own report rows", found="only server reports")
    if protocol == "TCP":
        meas["throughput_bps"] = summary.rate_bps
        if summary.retransmits is not None:
            meas["retransmits"] = float(summary.retransmits)
        own_metric = "throughput_bps"
    elif role == "client":
        meas["send_throughput_bps"] = summary.rate_bps
        own_metric = "send_throughput_bps"
        if not _udp_receiver(list(report_finals.values()), meas, notes, path):
            notes.append("iperf2 UDP client: no server report, so no receiver-side throughput, jitter or loss")
    else:
        own_metric = "throughput_bps"
        _udp_receiver(list(finals.values()), meas, notes, path)
        if "SUM" in finals:
            meas["throughput_bps"] = finals["SUM"].rate_bps
    ids = {r.id for r in own if r.id != "SUM"}
    fields: dict[str, Any] = {
        "test": _TESTS[protocol],
        "protocol": protocol,
        "direction": "receive" if st.reverse else "send",
        "streams": max(1, len(ids)),
        "duration_s": summary.t1 - summary.t0,
        "iperf_role": role,
    }
    if st.msg_size is not None:
        fields["msg_size_bytes"] = st.msg_size
    intervals = []
    for r in own:
        final = finals.get(r.id)
        if final is None or r is final or (r.t0 == final.t0 and r.t1 == final.t1):
            continue
        intervals.append(IntervalSample(own_metric, r.t0, r.t1, r.rate_bps, None if r.id == "SUM" else int(r.id)))
    return ParsedRun(tool=TOOL, parser=PARSER_TEXT, parser_version=PARSER_VERSION, fields=fields, measurements=meas,
                     intervals=tuple(intervals), notes=tuple(notes))


# --------------------------------------------------------------------------------------------------------------
# CSV


@dataclass
class _CsvRow:
    line: int
    id: int
    t0: float
    t1: float
    nbytes: int
    bps: float
    timestamp: str
    jitter_ms: float | None = None
    lost: int | None = None
    total: int | None = None
    sender: bool = False  # a UDP sender's own row (iperf 2.1 prints total -1: the receiver's count is unknown)


def _csv_int(raw: str, path, n: int, what: str, line: str, *, signed: bool = False) -> int:
    if _INT.fullmatch(raw) is None or (not signed and raw.startswith("-")):
        raise ParseError(path, n, f"a whole number{'' if signed else ' >= 0'} for {what}", found=line)
    return int(raw)


def _csv_row(parts: list[str], n: int, line: str, path) -> _CsvRow:
    ts = parts[0]
    if _CSV_TS.fullmatch(ts) is None:
        raise ParseError(path, n, "a 14-digit timestamp (YYYYMMDDhhmmss) in field 1", found=line)
    for i in (1, 3):
        if not parts[i] or " " in parts[i]:
            raise ParseError(path, n, f"an address in field {i + 1}", found=line)
    _csv_int(parts[2], path, n, "the source port (field 3)", line)
    _csv_int(parts[4], path, n, "the destination port (field 5)", line)
    ident = _csv_int(parts[5], path, n, "the transfer ID (field 6)", line, signed=True)
    m = _CSV_INTERVAL.fullmatch(parts[6])
    if m is None:
        raise ParseError(path, n, "an interval 'start-end' in field 7", found=line)
    t0, t1 = float(m["t0"]), float(m["t1"])
    if t1 < t0:
        raise ParseError(path, n, "an interval end >= its start in field 7", found=line)
    nbytes = _csv_int(parts[7], path, n, "bytes (field 8)", line)
    bps = float(_csv_int(parts[8], path, n, "bits per second (field 9)", line))
    row = _CsvRow(n, ident, t0, t1, nbytes, bps, ts)
    if len(parts) == 14 and _is_udp_sender_row(parts, path, n, line):
        row.sender = True
    elif len(parts) == 14:
        if _FLOAT.fullmatch(parts[9]) is None or parts[9].startswith("-"):
            raise ParseError(path, n, "a jitter in ms >= 0 (field 10)", found=line)
        row.jitter_ms = _finite(float(parts[9]), path, n, "jitter", line)
        row.lost = _csv_int(parts[10], path, n, "lost datagrams (field 11)", line)
        row.total = _csv_int(parts[11], path, n, "total datagrams (field 12)", line)
        if _FLOAT.fullmatch(parts[12]) is None:
            raise ParseError(path, n, "a loss percentage (field 13)", found=line)
        _csv_int(parts[13], path, n, "out-of-order datagrams (field 14)", line, signed=True)
        if row.lost > row.total:
            raise ParseError(path, n, "lost <= total datagrams (fields 11, 12)", found=line)
    if t1 - t0 >= 1.0:
        implied = nbytes * 8.0 / (t1 - t0)
        if not ((bps == 0 and implied == 0) or (bps > 0 and 0.9 <= implied / bps <= 1.1)):
            raise ParseError(path, n, "bytes x 8 / seconds consistent with bits per second (within 10 %)",
                             found=line)
    return row


_CSV_HEADER = re.compile(r"[A-Za-z_][A-Za-z0-9_()/%-]*(?:,[A-Za-z_][A-Za-z0-9_()/%-]*){8,}")


def _csv_header_then_row(text: str) -> int | None:
    """The line number of a CSV header line (names only, 9 or more) directly followed by a timestamped row, as
    iperf >= 2.2 writes its enhanced ``-e -y C`` reports; None otherwise."""
    lines = [(n, ln.strip()) for n, ln in enumerate(_lines(text[:20000]), start=1) if ln.strip()]
    for (n, line), (_, nxt) in zip(lines, lines[1:], strict=False):
        if _CSV_HEADER.fullmatch(line) and _CSV_TS.match(nxt) and "," in nxt:
            return n
        if _CSV_TS.match(line):
            return None
    return None


def _refuse_csv_header(text: str, path) -> None:
    """iperf >= 2.2 prints a header line before its enhanced CSV rows, with columns 2.1 does not have; those are
    refused by name rather than misread as 2.1's 9/14-field rows (2.1.8 writes no header, with or without -e)."""
    n = _csv_header_then_row(text)
    if n is not None:
        header = _lines(text)[n - 1].strip()
        raise ParseError(path, n, "iperf 2 -y C rows without a header line (as iperf 2.1.8 writes them, with or "
                         "without -e); a header line is iperf >= 2.2's enhanced CSV, which is not read yet",
                         found=header[:80])


#: lines iperf 2 prints among its CSV rows that carry no data (kept as notes)
_CSV_CHATTER = frozenset({"Waiting for server threads to complete. Interrupt again to force quit."})


def _is_udp_sender_row(parts: list[str], path, n: int, line: str) -> bool:
    """True for a UDP sender's own 14-field row: iperf 2.1 (``-y C``, with or without ``-e``) ends a client's UDP
    run with ``...,jitter 0.000,lost 0,total -1,pct -0.000,ooo 0``: the receiver's counts are unknown to it."""
    if parts[11] != "-1":
        return False
    if parts[10] != "0" or _FLOAT.fullmatch(parts[12].lstrip("-")) is None or float(parts[12]) != 0.0:
        raise ParseError(path, n, "a UDP sender row (total -1) with lost 0 and loss -0.000", found=line)
    return True


def _mark_udp_senders(rows: list[_CsvRow]) -> None:
    """Every row of a transfer whose final row is a sender row is the sender's: its jitter and loss columns (0)
    are not receiver measurements."""
    senders = {r.id for r in rows if r.sender}
    for r in rows:
        if r.id in senders:
            r.sender, r.jitter_ms, r.lost, r.total = True, None, None, None


def _csv_rows(lines: list[str], path) -> tuple[list[_CsvRow], list[str]]:
    """The rows of an iperf 2 ``-y C`` report, and notes for the warning and chatter lines among them."""
    rows: list[_CsvRow] = []
    notes: list[str] = []
    for n, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("WARNING") or s in _CSV_CHATTER:
            notes.append(f"iperf2: {s}")
            continue
        parts = s.split(",")
        if len(parts) not in (9, 14):
            raise ParseError(path, n, "an iperf 2 -y C row of 9 (TCP) or 14 (UDP) fields",
                             found=f"{len(parts)} fields: {s}")
        rows.append(_csv_row(parts, n, s, path))
    if not rows:
        raise ParseError(path, 0, "at least one iperf 2 -y C row", found="none")
    return rows, notes


def _csv_finals(by_id: dict[int, list[_CsvRow]], udp: bool, path, lines: list[str]) -> dict[int, list[_CsvRow]]:
    """Per transfer ID, its final rows (interval starting at 0): one, or for a UDP client its own row and then
    the server's report for the same ID and interval."""
    finals: dict[int, list[_CsvRow]] = {}
    for ident, rs in by_id.items():
        if rs[-1].t0 != 0.0:
            raise ParseError(path, rs[-1].line, f"a final row (interval starting at 0) for transfer ID {ident} "
                             "after its interval rows (truncated?)", found=lines[rs[-1].line - 1].strip())
        tail = [rs[-1]]
        if udp and len(rs) >= 2 and rs[-2].t0 == 0.0 and rs[-2].t1 == rs[-1].t1 and rs[-1].jitter_ms is not None:
            tail.insert(0, rs[-2])
        finals[ident] = tail
    return finals


def _csv_udp_measurements(sel: list[list[_CsvRow]]) -> tuple[dict[str, float], list[str]]:
    """The UDP measurements of the selected transfers' final rows (sender throughput; receiver throughput,
    jitter and loss where the server's report is there), with notes on what is missing."""
    meas: dict[str, float] = {}
    notes: list[str] = []
    recv = [t[-1] if t[-1].jitter_ms is not None else None for t in sel]
    send = [t[0] if (len(t) == 2 or t[0].jitter_ms is None) else None for t in sel]
    if all(r is not None for r in send):
        meas["send_throughput_bps"] = sum(r.bps for r in send)
    if all(r is not None for r in recv):
        meas.update(_receiver_totals(recv, [r.bps for r in recv]))
        if not any(len(t) == 2 for t in sel):
            notes.append("iperf2 UDP CSV: one row per transfer, read as the receiver's report")
    else:
        notes.append("iperf2 UDP CSV: no server report, so no receiver-side throughput, jitter or loss")
    return meas, notes


def _parse_csv(text: str, path, test: str | None) -> ParsedRun:
    lines = _lines(text)
    _truncation_check(text, path, lines, lambda ln: True)
    rows, notes = _csv_rows(lines, path)
    _mark_udp_senders(rows)
    udp = any(r.jitter_ms is not None or r.sender for r in rows)
    by_id: dict[int, list[_CsvRow]] = {}
    for r in rows:
        by_id.setdefault(r.id, []).append(r)
    finals = _csv_finals(by_id, udp, path, lines)
    stream_ids = sorted(i for i in finals if i >= 0)
    if -1 in finals:
        key = [-1]
    else:
        key = stream_ids
        if len(stream_ids) > 1:
            notes.append(f"iperf2: no ID -1 sum row; values are summed over {len(stream_ids)} streams")
    sel = [finals[k] for k in key]
    duration = max(t[-1].t1 - t[-1].t0 for t in sel)
    if not udp:
        meas: dict[str, float] = {"throughput_bps": sum(t[-1].bps for t in sel)}
    else:
        meas, udp_notes = _csv_udp_measurements(sel)
        notes += udp_notes
    metric = "send_throughput_bps" if udp and "send_throughput_bps" in meas else "throughput_bps"
    intervals = []
    for ident, rs in by_id.items():
        for r in rs:
            if r in finals[ident] or (r.t0 == 0.0 and r.t1 == finals[ident][-1].t1):
                continue
            intervals.append(IntervalSample(metric, r.t0, r.t1, r.bps, None if ident < 0 else ident))
    fields: dict[str, Any] = {
        "test": _TESTS["UDP" if udp else "TCP"],
        "protocol": "UDP" if udp else "TCP",
        "direction": "send",
        "streams": max(1, len(stream_ids)),
        "duration_s": duration,
        "csv_timestamp": sel[0][-1].timestamp,
    }
    return ParsedRun(tool=TOOL, parser=PARSER_CSV, parser_version=PARSER_VERSION, fields=fields, measurements=meas,
                     intervals=tuple(sorted(intervals, key=lambda s: (s.interval_start_s, s.stream or -1))),
                     notes=tuple(notes))



def parse(text: str, path: str | Path, *, test: str | None = None) -> ParsedRun:
    """Parse iperf 2 output (text report or ``-y C`` CSV: a first non-empty line of 9 or 14 comma-separated fields).

    Parameters
    ----------
    text : the file's content (``\\r\\n`` tolerated)
    path : the file, named in errors
    test : the manifest's test name; unused (TCP/UDP come from the output; ingest compares)

    Raises
    ------
    ParseError
        naming the file, the line and what was expected.
    """
    check_parse_args(text, path, test)
    first = next((ln for ln in _lines(text) if ln.strip()), "")
    if not first:
        raise ParseError(path, 0, "iperf 2 output", found="empty file")
    _refuse_csv_header(text, path)
    if first.count(",") in (8, 13) or (_CSV_TS.match(first.strip()) and "," in first):
        return _parse_csv(text, path, test)
    return _parse_text(text, path, test)
