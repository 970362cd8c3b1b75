"""Parser for iperf3 ``-J`` (JSON) output.

What is read (keys as iperf3 3.0 ... 3.17 write them):

``start.test_start``
    ``protocol`` (TCP/UDP -> test ``IPERF3_TCP``/``IPERF3_UDP``), ``num_streams`` -> ``streams``, ``blksize`` ->
    ``msg_size_bytes``, ``duration`` -> ``test_duration_s`` (requested), ``omit`` -> ``omit_s``, ``reverse``
    (``-R``) and ``bidir`` (``--bidir``) -> ``direction`` send / receive / bidir (client's point of view).
``start.test_start.target_bitrate`` (``-b``, iperf3 >= 3.7; absent or 0 = unlimited) -> ``target_bandwidth_bps``.
``start.version``, ``start.system_info``, ``start.timestamp.timesecs`` (or ``.time``)
    -> ``tool_version`` (e.g. ``"3.12"``), ``system_info``, ``start_time`` (UTC).
``end``
    TCP: ``sum_received.bits_per_second`` -> ``throughput_bps``; ``sum_sent.bits_per_second`` ->
    ``send_throughput_bps``; ``sum_sent.retransmits`` -> ``retransmits`` (required whenever the per-stream sender
    records carry it). UDP: ``sum_sent``/``sum_received`` as iperf3 >= 3.11 writes them: the sending and the
    receiving side's totals whichever host each ran on (with ``-R`` the server sends: ``sum_sent`` is its count,
    with jitter and loss written as 0, and ``sum_received`` the client's own), so throughput, jitter and loss always
    come from ``sum_received``; else the older ``sum`` (sender rate; the receiver rate is then derived as
    ``rate x (1 - lost/packets)`` and a note says so); ``jitter_ms`` -> ``jitter_s``, ``lost_packets``,
    ``packets``, ``lost_percent`` -> ``loss_pct``. ``--bidir``: the ``*_bidir_reverse`` sums are added to the
    forward ones (throughput of both directions together; a note says so). ``sum_sent.seconds`` (or
    ``sum.seconds``) -> ``duration_s``. ``cpu_utilization_percent.host_total`` / ``remote_total`` ->
    ``local_cpu_util_pct`` / ``remote_cpu_util_pct``.
``intervals``
    every interval not marked ``"omitted": true``: the ``sum`` (stream None) and each stream (stream = its position
    in the list, 0-based) as interval samples of ``send_throughput_bps`` when the client sends, ``throughput_bps``
    when it receives (``-R``; with ``--bidir``, ``sum`` is the sending and ``sum_bidir_reverse`` the receiving
    direction).

``--json-stream`` (iperf3 >= 3.17)
    one JSON object per line, ``{"event": <name>, "data": <value>}`` (``JSONStream_Output`` in iperf3's
    ``src/iperf_api.c``, printed with ``cJSON_PrintUnformatted``): a ``start`` event whose data is the ``-J``
    ``start`` object, one ``interval`` event per reporting interval (an element of ``-J``'s ``intervals``), an
    ``end`` event (the ``-J`` ``end`` object), ``error`` (iperf3's error text) and, with ``--get-server-output``,
    ``server_output_json`` / ``server_output_text``. The events are reassembled into the ``-J`` document, line for
    line, and read as above (``parser="iperf3-json-stream"``), so errors name the line of the event. A stream
    without its ``end`` event is truncated; a full ``-J`` document after it (``--json-stream-full-output``) is
    left unread (noted).

``sender`` flags
    whether the client sent must agree with ``reverse``: TCP's ``end.sum_sent.sender``, UDP's ``end.sum.sender``
    (UDP's ``sum_sent`` is marked ``sender: true`` in every direction: it names the side, not the client).

Repeated keys: iperf3 writes ``start.sock_bufsize``, ``sndbuf_actual`` and ``rcvbuf_actual`` once per stream socket
(``-P N``, ``--bidir``), so these are accepted whatever their values, with a note; any other key repeated with the
same value is read once, with a note; a key repeated with different values is a :class:`ParseError` naming the key,
two of its values and their lines (which value a reader takes would be arbitrary; iperf3 before the
``*_bidir_reverse`` keys wrote ``end.sum_sent`` once per direction of a ``--bidir`` test, for instance).

Failures: JSON that does not decode (truncated, garbled) raises :class:`ParseError` with the line the decoder
stopped at; a key repeated with different values, ``NaN``/``Infinity``, a missing or mistyped value raise it with
the line of the offending key. A JSON with an ``"error"`` key raises :class:`ToolReportedError` carrying iperf3's
error text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from analysis.parsers.base import (
    IntervalSample,
    ParsedRun,
    ParseError,
    ToolReportedError,
    check_parse_args,
    new_interval,
)

TOOL = "iperf3"
PARSER = "iperf3-json"
PARSER_STREAM = "iperf3-json-stream"
PARSER_VERSION = "2"

__all__ = ["TOOL", "PARSER", "PARSER_STREAM", "PARSER_VERSION", "sniff", "parse", "canonical_test"]

_TESTS = {"TCP": "IPERF3_TCP", "UDP": "IPERF3_UDP"}


def canonical_test(fields: dict[str, Any]) -> str:
    """The canonical test (:data:`analysis.vocabulary.TESTS`) of a run from its own fields: TCP forward
    ``TCP_STREAM``, ``-R`` ``TCP_MAERTS``, ``--bidir`` ``TCP_BIDIR``; ``-u`` ``UDP_STREAM`` (either direction: the
    ``direction`` column tells them apart, and the audit names a cell that mixes them)."""
    if fields.get("protocol") == "UDP":
        return "UDP_STREAM"
    return {"receive": "TCP_MAERTS", "bidir": "TCP_BIDIR"}.get(fields.get("direction"), "TCP_STREAM")


_OBJECT_LINE = re.compile(r"^\s*\{", re.M)


def sniff(text: str) -> bool:
    """True when *text* looks like iperf3 ``-J`` output: a JSON object with ``start``/``end``/``intervals``."""
    head = text[:4000]
    if "{" not in head or _OBJECT_LINE.search(head) is None:
        return False
    if _is_json_stream(head):
        return True
    return ('"intervals"' in text and '"start"' in text and '"end"' in text) or '"error"' in text[:200000]


# --------------------------------------------------------------------------------------------------------------
# locating keys in the text (for error messages)


class _BadConstant(Exception):
    pass


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')


def _locate(text: str) -> tuple[dict[tuple, int], dict[tuple, list[int]], int | None]:
    """Map every key path (tuple of keys / list indices) to its 1-based line, in a text that json accepted
    (up to repeated keys). Also return the lines of every occurrence of each key path written more than once, and
    the line of the first bare token that is not a plain JSON number or literal."""
    locs: dict[tuple, int] = {}
    again: dict[tuple, list[int]] = {}
    bad_line = None
    stack: list[list] = []  # frames: [kind, path, expecting_key, index, pending_key]
    line = 1
    last = 0
    path: tuple = ()
    for m in _TOKEN.finditer(text):
        line += text.count("\n", last, m.start())
        last = m.start()
        tok = m.group(0)
        frame = stack[-1] if stack else None
        if frame is not None and frame[0] == "obj" and frame[2]:
            if tok.startswith('"'):
                key = tok[1:-1]
                kpath = frame[1] + (key,)
                if kpath in locs:
                    again.setdefault(kpath, [locs[kpath]]).append(line)
                locs.setdefault(kpath, line)
                frame[4] = key
                frame[2] = False
            elif tok == "}":
                stack.pop()
            continue
        if tok == ":" or tok == ",":
            if tok == "," and frame is not None:
                if frame[0] == "obj":
                    frame[2] = True
                else:
                    frame[3] += 1
            continue
        if tok in "}]":
            if stack:
                stack.pop()
            continue
        # a value
        if frame is None:
            path = ()
        elif frame[0] == "obj":
            path = frame[1] + (frame[4],)
        else:
            path = frame[1] + (frame[3],)
            locs.setdefault(path, line)
        if tok == "{":
            stack.append(["obj", path, True, 0, None])
        elif tok == "[":
            stack.append(["arr", path, False, 0, None])
        elif not tok.startswith('"') and bad_line is None:
            if tok not in ("true", "false", "null") and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?",
                                                                          tok):
                bad_line = line
    return locs, again, bad_line


class _Doc:
    """The decoded document plus what is needed to name the line of any key path."""

    def __init__(self, text: str, path: str | Path, data: dict):
        self.text = text
        self.path = path
        self.data = data
        self._locs: dict[tuple, int] | None = None

    def line(self, keys: tuple) -> int:
        if self._locs is None:
            self._locs = _locate(self.text)[0]
        for n in range(len(keys), 0, -1):
            if keys[:n] in self._locs:
                return self._locs[keys[:n]]
        return 1

    def fail(self, keys: tuple, expected: str, found: str | None = None) -> ParseError:
        shown = ".".join(str(k) for k in keys)
        return ParseError(self.path, self.line(keys), f"{expected} at {shown}", found)

    def raw(self, keys: tuple) -> Any:
        obj: Any = self.data
        for k in keys:  # the decoded JSON holds plain dicts and lists only; keys are str, list indices int >= 0
            if type(k) is int:
                if type(obj) is not list or k >= len(obj):
                    return _MISSING
                obj = obj[k]
            else:
                if type(obj) is not dict:
                    return _MISSING
                obj = obj.get(k, _MISSING)
                if obj is _MISSING:
                    return _MISSING
        return obj

    def get(self, keys: tuple, kind: str, *, required: bool = True) -> Any:
        value = self.raw(keys)
        if value is _MISSING:
            if required:
                raise self.fail(keys, f"a value ({_KIND_TEXT[kind]})", "nothing")
            return None
        ok, out = _CHECKS[kind](value)
        if not ok:
            raise self.fail(keys, _KIND_TEXT[kind], repr(value))
        return out


_MISSING = object()


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_num(v: Any) -> tuple[bool, Any]:
    return (_is_num(v) and math.isfinite(v) and v >= 0), (float(v) if _is_num(v) else None)


def _check_count(v: Any) -> tuple[bool, Any]:
    return (isinstance(v, int) and not isinstance(v, bool) and v >= 0), v


def _check_flag(v: Any) -> tuple[bool, Any]:
    if isinstance(v, bool):
        return True, v
    return (isinstance(v, int) and v in (0, 1)), bool(v) if isinstance(v, int) else None


def _check_str(v: Any) -> tuple[bool, Any]:
    return isinstance(v, str), v


def _check_obj(v: Any) -> tuple[bool, Any]:
    return isinstance(v, dict), v


def _check_list(v: Any) -> tuple[bool, Any]:
    return isinstance(v, list), v


_CHECKS: dict[str, Callable[[Any], tuple[bool, Any]]] = {
    "num": _check_num,
    "count": _check_count,
    "flag": _check_flag,
    "str": _check_str,
    "obj": _check_obj,
    "list": _check_list,
}
_KIND_TEXT = {
    "num": "a finite number >= 0",
    "count": "a whole number >= 0",
    "flag": "0/1 or true/false",
    "str": "a string",
    "obj": "a JSON object",
    "list": "a JSON array",
}


# --------------------------------------------------------------------------------------------------------------
# decoding


def _reject_constant(name: str) -> Any:
    raise _BadConstant(name)


#: keys iperf3 writes into ``start`` once per stream socket, not once per test: ``iperf_tcp_connect`` in esnet/iperf
#: ``src/iperf_tcp.c`` (e.g. commit 85ab335347d9aa8da6e8012223c783d7d94403a3) ends with
#: ``cJSON_AddNumberToObject(test->json_start, "sock_bufsize", ...)`` and the same for ``"sndbuf_actual"`` and
#: ``"rcvbuf_actual"``; cJSON appends a key without replacing one already there, so every ``-P N`` and ``--bidir``
#: run repeats them (iperf3 3.12 on loopback: TCP ``-P 2``, TCP and UDP ``--bidir``), each time with that socket's
#: buffer sizes, which may differ. Later iperf3 adds them only when absent. Not read by this parser.
_PER_SOCKET_KEYS = (("start", "sock_bufsize"), ("start", "sndbuf_actual"), ("start", "rcvbuf_actual"))


class _Pairs:
    """``object_pairs_hook`` that keeps a repeated key's last value (as :mod:`json` does) and records each repeat as
    (the object built, key, every value in order); the objects stay referenced, so their ids stay unique."""

    def __init__(self) -> None:
        self.repeats: list[tuple[dict, str, list[Any]]] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict:
        out = dict(pairs)
        if len(out) != len(pairs):  # rare outside iperf3's per-socket keys
            values: dict[str, list[Any]] = {}
            for k, v in pairs:
                values.setdefault(k, []).append(v)
            self.repeats.extend((out, k, vs) for k, vs in values.items() if len(vs) > 1)
        return out


def _object_paths(data: Any, repeats: list[tuple[dict, str, list[Any]]]) -> dict[int, tuple]:
    """id -> key path of every JSON object in *data*, and in the values a repeated key's last value replaced."""
    replaced: dict[int, list[tuple[str, list[Any]]]] = {}
    for obj, key, values in repeats:
        replaced.setdefault(id(obj), []).append((key, values[:-1]))
    paths: dict[int, tuple] = {}
    stack: list[tuple[Any, tuple]] = [(data, ())]
    while stack:
        node, where = stack.pop()
        if type(node) is dict:
            paths[id(node)] = where
            stack.extend((v, where + (k,)) for k, v in node.items())
            for key, olds in replaced.get(id(node), ()):
                stack.extend((v, where + (key,)) for v in olds)
        elif type(node) is list:
            stack.extend((v, where + (i,)) for i, v in enumerate(node))
    return paths


def _short(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _judge_repeats(data: Any, repeats: list[tuple[dict, str, list[Any]]], path: str | Path,
                   lines_of: Callable[[tuple], list[int]], root: tuple = ()) -> list[str]:
    """The notes for the repeated keys of a decoded document, or :class:`ParseError` for one that hides a value.

    A repeated key is accepted when every value is the same JSON (one note), or when it is one of iperf3's
    per-socket ``start`` keys (:data:`_PER_SOCKET_KEYS`; one note listing their values). Any other repeat with
    different values could be hiding the value that matters (which one would a reader take?): an error naming the
    key path, two different values and their lines. *root* is the key path of *data* in the ``-J`` document (a
    ``--json-stream`` event's data); *lines_of* gives the lines of the occurrences of a key path."""
    notes: list[str] = []
    per_socket: list[str] = []
    known: dict[int, tuple] = {id(data): ()}
    if type(data) is dict and type(data.get("start")) is dict:
        known[id(data["start"])] = ("start",)
    paths: dict[int, tuple] | None = None
    for obj, key, values in repeats:
        where = known.get(id(obj))
        if where is None:
            paths = _object_paths(data, repeats) if paths is None else paths
            where = paths.get(id(obj))
        texts = [json.dumps(v, sort_keys=True) for v in values]
        if where is None:  # outside *data*: the envelope of a --json-stream event
            if len(set(texts)) > 1:
                raise ParseError(path, (lines_of((key,)) or [1])[0], "each key once in an event object",
                                 found=f"{key} = {_short(texts[0])} and {_short(texts[1])}")
            notes.append(f"iperf3 --json-stream: event key {key!r} written {len(values)} times with the same value")
            continue
        keys = root + where + (key,)
        shown = ".".join(str(k) for k in keys)
        if keys in _PER_SOCKET_KEYS:
            per_socket.append(f"{shown} {', '.join(_short(t) for t in texts)}")
        elif len(set(texts)) == 1:
            notes.append(f"iperf3 JSON: {shown} written {len(values)} times with the same value {_short(texts[0])}; "
                         "read once")
        else:
            lines = lines_of(keys) or [1]
            i = next(j for j in range(1, len(texts)) if texts[j] != texts[0])
            first, other = lines[0], lines[min(i, len(lines) - 1)]
            raise ParseError(path, other, f"one value for the repeated key {shown}",
                             found=f"{_short(texts[0])} (line {first}) and {_short(texts[i])} (line {other})")
    if per_socket:
        notes.insert(0, "iperf3 JSON: per-socket keys, written once per stream socket, not read: "
                     + "; ".join(per_socket))
    return notes


def _decode(text: str, path: str | Path) -> tuple[dict, list[str]]:
    """The decoded ``-J`` document and the notes its repeated keys get (see :func:`_judge_repeats`)."""
    if not text.strip():
        raise ParseError(path, 0, "iperf3 -J output (a JSON object)", found="empty file")
    pairs = _Pairs()
    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        lines = text.splitlines()
        bad = lines[exc.lineno - 1] if exc.lineno - 1 < len(lines) else ""
        line = min(exc.lineno, max(1, len(lines)))  # the decoder may stop just past the last line
        raise ParseError(path, line, f"complete iperf3 JSON ({exc.msg}, column {exc.colno})",
                         found=bad.strip() or "end of file") from None
    except _BadConstant as exc:
        line = _locate(text)[2] or 1
        raise ParseError(path, line, "a finite JSON number", found=str(exc.args[0])) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer literal too long to convert
        line = _locate(text)[2] or 1
        raise ParseError(path, line, "a JSON number Python can read", found=str(exc)[:60]) from None
    if not isinstance(data, dict):
        raise ParseError(path, 1, "a JSON object at the top level", found=type(data).__name__)
    notes: list[str] = []
    if pairs.repeats:
        again: dict[tuple, list[int]] | None = None

        def lines_of(keys: tuple) -> list[int]:
            nonlocal again
            again = _locate(text)[1] if again is None else again
            return again.get(keys, [])

        notes = _judge_repeats(data, pairs.repeats, path, lines_of)
    return data, notes


# --------------------------------------------------------------------------------------------------------------
# reading


def _start_time(doc: _Doc) -> datetime | None:
    secs = doc.get(("start", "timestamp", "timesecs"), "count", required=False)
    if secs is not None:
        if secs <= 0:
            raise doc.fail(("start", "timestamp", "timesecs"), "seconds since the epoch > 0", str(secs))
        try:
            return datetime.fromtimestamp(secs, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise doc.fail(("start", "timestamp", "timesecs"), "a representable time", str(secs)) from None
    stamp = doc.get(("start", "timestamp", "time"), "str", required=False)
    if stamp is None:
        return None
    try:
        parsed = parsedate_to_datetime(stamp)
    except (TypeError, ValueError, IndexError):
        raise doc.fail(("start", "timestamp", "time"), "an RFC 2822 date", stamp) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _version(doc: _Doc) -> str | None:
    raw = doc.get(("start", "version"), "str", required=False)
    if raw is None:
        return None
    m = re.fullmatch(r"\s*(?:iperf\s+)?(\S+)\s*", raw)
    if not m:
        raise doc.fail(("start", "version"), "'iperf <version>'", raw)
    return m.group(1)


def _direction(doc: _Doc, protocol: str) -> str:
    reverse = doc.get(("start", "test_start", "reverse"), "flag", required=False) or False
    bidir = doc.get(("start", "test_start", "bidir"), "flag", required=False) or False
    has_bidir_sums = any(doc.raw(("end", k)) is not _MISSING
                         for k in ("sum_sent_bidir_reverse", "sum_received_bidir_reverse"))
    if bidir or has_bidir_sums:
        if reverse:
            raise doc.fail(("start", "test_start", "reverse"), "reverse 0 in a --bidir test", "1")
        return "bidir"
    # iperf3 >= 3.2 marks whether the client sent: it must agree with the reverse flag
    role = _ROLE_FLAG[protocol]
    sender = doc.get(role, "flag", required=False)
    if sender is not None and sender == bool(reverse):
        raise doc.fail(role, f"sender {'false' if reverse else 'true'} for reverse={int(reverse)}",
                       str(sender).lower())
    return "receive" if reverse else "send"


#: the summary whose ``sender`` flag says whether the client was the sending side (``stream_must_be_sender`` in
#: ``iperf_print_results``, esnet/iperf ``src/iperf_api.c``). TCP: ``end.sum_sent`` (and ``sum_received``) carry
#: it. UDP: ``end.sum`` does; its ``sum_sent`` / ``sum_received`` (iperf3 >= 3.11) are the sending and the receiving
#: side's totals, whichever host each ran on, and are marked ``sender`` true / false in every direction (iperf3
#: 3.12, loopback: ``-u``, ``-u -R`` and ``-u --bidir`` alike), so they say nothing about the client's role.
_ROLE_FLAG: dict[str, tuple[str, str]] = {"TCP": ("end", "sum_sent", "sender"), "UDP": ("end", "sum", "sender")}


def _tcp(doc: _Doc, direction: str, meas: dict, notes: list) -> float:
    fwd_sent = doc.get(("end", "sum_sent"), "obj")
    doc.get(("end", "sum_received"), "obj")
    sent = doc.get(("end", "sum_sent", "bits_per_second"), "num")
    recv = doc.get(("end", "sum_received", "bits_per_second"), "num")
    duration = doc.get(("end", "sum_sent", "seconds"), "num")
    unavailable = fwd_sent.get("retransmits", 0) == -1  # some builds write -1 for "not available"
    if unavailable:
        retrans = None
        notes.append("iperf3: retransmits not available (-1)")
    else:
        retrans = doc.get(("end", "sum_sent", "retransmits"), "count", required=False)
    streams = doc.get(("end", "streams"), "list", required=False) or []
    if "retransmits" not in fwd_sent:
        for s in streams:
            if isinstance(s, dict) and isinstance(s.get("sender"), dict) and "retransmits" in s["sender"]:
                raise doc.fail(("end", "sum_sent"), "retransmits (the per-stream sender records carry them)",
                               "no retransmits")
    if direction == "bidir":
        sent += doc.get(("end", "sum_sent_bidir_reverse", "bits_per_second"), "num")
        recv += doc.get(("end", "sum_received_bidir_reverse", "bits_per_second"), "num")
        back = doc.get(("end", "sum_sent_bidir_reverse", "retransmits"), "count", required=False) \
            if doc.raw(("end", "sum_sent_bidir_reverse", "retransmits")) != -1 else None
        if (back is None) != (retrans is None):
            raise doc.fail(("end", "sum_sent_bidir_reverse"), "retransmits in both directions or in neither")
        if back is not None:
            retrans += back
        notes.append("iperf3 --bidir: throughput is the sum of both directions")
    meas["throughput_bps"] = recv
    meas["send_throughput_bps"] = sent
    if retrans is not None:
        meas["retransmits"] = float(retrans)
    return duration


_UDP_KEYS = (("jitter_ms", "num"), ("lost_packets", "count"), ("packets", "count"), ("lost_percent", "num"))


def _udp_stats(doc: _Doc, key: str) -> dict[str, float]:
    out = {}
    for name, kind in _UDP_KEYS:
        out[name] = float(doc.get(("end", key, name), kind))
    if out["lost_packets"] > out["packets"]:
        raise doc.fail(("end", key, "lost_packets"), "lost_packets <= packets",
                       f"{out['lost_packets']:.0f} > {out['packets']:.0f}")
    if out["lost_percent"] > 100:
        raise doc.fail(("end", key, "lost_percent"), "a percentage <= 100", str(out["lost_percent"]))
    return out


def _udp(doc: _Doc, direction: str, meas: dict, notes: list) -> float:
    if doc.raw(("end", "sum_received")) is not _MISSING:
        doc.get(("end", "sum_sent"), "obj")
        sent = doc.get(("end", "sum_sent", "bits_per_second"), "num")
        recv = doc.get(("end", "sum_received", "bits_per_second"), "num")
        duration = doc.get(("end", "sum_sent", "seconds"), "num")
        stats = _udp_stats(doc, "sum_received")
        if direction == "bidir":
            sent += doc.get(("end", "sum_sent_bidir_reverse", "bits_per_second"), "num")
            recv += doc.get(("end", "sum_received_bidir_reverse", "bits_per_second"), "num")
            back = _udp_stats(doc, "sum_received_bidir_reverse")
            packets = stats["packets"] + back["packets"]
            lost = stats["lost_packets"] + back["lost_packets"]
            stats = {"jitter_ms": max(stats["jitter_ms"], back["jitter_ms"]), "lost_packets": lost,
                     "packets": packets, "lost_percent": 100.0 * lost / packets if packets else 0.0}
            notes.append("iperf3 --bidir: throughput, packets and loss are summed over both directions; "
                         "jitter is the larger of the two")
    else:
        doc.get(("end", "sum"), "obj")
        sent = doc.get(("end", "sum", "bits_per_second"), "num")
        duration = doc.get(("end", "sum", "seconds"), "num")
        stats = _udp_stats(doc, "sum")
        if direction == "bidir":
            raise doc.fail(("end", "sum_received"), "sum_sent/sum_received sums in a --bidir UDP test")
        frac = stats["lost_packets"] / stats["packets"] if stats["packets"] else 0.0
        recv = sent * (1.0 - frac)
        notes.append("iperf3 UDP (end.sum only): throughput_bps derived as the sent rate x (1 - lost/packets)")
    meas["throughput_bps"] = recv
    meas["send_throughput_bps"] = sent
    meas["jitter_s"] = stats["jitter_ms"] / 1000.0
    meas["lost_packets"] = stats["lost_packets"]
    meas["packets"] = stats["packets"]
    meas["loss_pct"] = stats["lost_percent"]
    return duration


_PROTOCOL_READERS: dict[str, Callable[[_Doc, str, dict, list], float]] = {"TCP": _tcp, "UDP": _udp}


def _cpu(doc: _Doc, meas: dict) -> None:
    if doc.raw(("end", "cpu_utilization_percent")) is _MISSING:
        return
    doc.get(("end", "cpu_utilization_percent"), "obj")
    meas["local_cpu_util_pct"] = doc.get(("end", "cpu_utilization_percent", "host_total"), "num")
    meas["remote_cpu_util_pct"] = doc.get(("end", "cpu_utilization_percent", "remote_total"), "num")


class _Recheck(Exception):
    """Raised by a fast path when anything is unusual: the checked path then runs and names the problem."""


def _fast_flag(v: Any) -> bool | None:
    """A ``"flag"`` value (True/False, 0/1), None when absent (:data:`_MISSING`); :class:`_Recheck` otherwise
    (JSON ``null`` included, as the checked path rejects it)."""
    if v is True or v is False:
        return v
    if v is _MISSING:
        return None
    if type(v) is int and (v == 0 or v == 1):
        return bool(v)
    raise _Recheck


def _intervals_fast(data: dict, direction: str) -> tuple[IntervalSample, ...]:
    """:func:`_intervals_checked` on the decoded objects directly, without key paths; :class:`_Recheck` on the
    first thing the checked path might reject (it then runs and raises the named error)."""
    items = data.get("intervals")
    if type(items) is not list:
        raise _Recheck
    sum_metric = "throughput_bps" if direction == "receive" else "send_throughput_bps"
    bidir = direction == "bidir"
    inf = math.inf
    out: list[IntervalSample] = []
    append = out.append
    for item in items:
        if type(item) is not dict:
            raise _Recheck
        total = item.get("sum")
        streams = item.get("streams")
        if type(total) is not dict or type(streams) is not list:
            raise _Recheck
        rows: list[tuple[dict, int | None, str]] = [(total, None, sum_metric)]
        if bidir:
            back = item.get("sum_bidir_reverse")
            if type(back) is not dict:
                raise _Recheck
            rows.append((back, None, "throughput_bps"))
        for j, stream in enumerate(streams):
            if type(stream) is not dict:
                raise _Recheck
            sender = _fast_flag(stream.get("sender", _MISSING))
            if bidir:
                if sender is None:
                    raise _Recheck
                metric = "send_throughput_bps" if sender else "throughput_bps"
            else:
                metric = sum_metric
            rows.append((stream, j, metric))
        n_omitted = 0
        for obj, _, _ in rows:
            if _fast_flag(obj.get("omitted", _MISSING)):
                n_omitted += 1
        if n_omitted:
            if n_omitted != len(rows):
                raise _Recheck
            continue
        for obj, stream_no, metric in rows:
            start, end, bps = obj.get("start"), obj.get("end"), obj.get("bits_per_second")
            # finite numbers >= 0, not bools (as the checked "num"), end >= start
            if not ((type(start) is float or type(start) is int) and (type(end) is float or type(end) is int)
                    and (type(bps) is float or type(bps) is int) and 0 <= start <= end < inf and 0 <= bps < inf):
                raise _Recheck
            append(new_interval(metric, float(start), float(end), float(bps), stream_no))
    return tuple(out)


def _intervals(doc: _Doc, direction: str) -> tuple[IntervalSample, ...]:
    """Interval samples (see the module docstring): the fast path, or the checked one when anything is off."""
    try:
        return _intervals_fast(doc.data, direction)
    except (_Recheck, TypeError, ValueError, OverflowError):
        return _intervals_checked(doc, direction)


def _intervals_checked(doc: _Doc, direction: str) -> tuple[IntervalSample, ...]:
    items = doc.get(("intervals",), "list")
    sums = {"sum": "throughput_bps" if direction == "receive" else "send_throughput_bps"}
    if direction == "bidir":
        sums["sum_bidir_reverse"] = "throughput_bps"
    out: list[IntervalSample] = []
    for i in range(len(items)):
        doc.get(("intervals", i), "obj")
        rows: list[tuple[tuple, int | None, str]] = []
        for key, metric in sums.items():
            doc.get(("intervals", i, key), "obj")
            rows.append((("intervals", i, key), None, metric))
        streams = doc.get(("intervals", i, "streams"), "list")
        for j in range(len(streams)):
            doc.get(("intervals", i, "streams", j), "obj")
            sender = doc.get(("intervals", i, "streams", j, "sender"), "flag", required=False)
            if direction == "bidir" and sender is None:
                raise doc.fail(("intervals", i, "streams", j), "a 'sender' flag on each stream of a --bidir test")
            metric = sums["sum"] if direction != "bidir" else ("send_throughput_bps" if sender else "throughput_bps")
            rows.append((("intervals", i, "streams", j), j, metric))
        omitted = [doc.get(base + ("omitted",), "flag", required=False) or False for base, _, _ in rows]
        if any(omitted) and not all(omitted):
            raise doc.fail(("intervals", i), "'omitted' the same on the sum and every stream")
        if omitted and omitted[0]:
            continue
        for base, stream, metric in rows:
            start = doc.get(base + ("start",), "num")
            end = doc.get(base + ("end",), "num")
            if end < start:
                raise doc.fail(base + ("end",), f"an interval end >= its start {start}", str(end))
            bps = doc.get(base + ("bits_per_second",), "num")
            out.append(IntervalSample(metric, start, end, bps, stream))
    return tuple(out)


def _strip_preamble(text: str, notes: list[str]) -> str:
    """Blank out warning lines some iperf3 builds print before the JSON (line numbers are kept)."""
    if text.lstrip().startswith("{"):
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith("{"):
            kept = [ln.strip() for ln in lines[:i] if ln.strip()]
            notes.extend(f"iperf3 printed before the JSON: {ln}" for ln in kept)
            return "\n" * i + "\n".join(lines[i:])
    return text



def parse(text: str, path: str | Path, *, test: str | None = None) -> ParsedRun:
    """Parse one iperf3 ``-J`` output.

    Parameters
    ----------
    text : the file's content (``\\r\\n`` tolerated)
    path : the file, named in errors
    test : the manifest's test name; unused (the output names its protocol; ingest compares the two)

    Returns
    -------
    ParsedRun
        ``parser="iperf3-json"``, measurements in bits/s, seconds, %, counts.

    Raises
    ------
    ToolReportedError
        the JSON carries iperf3's ``"error"`` key.
    ParseError
        truncated or garbled JSON, or a required value missing or of the wrong type (file and line named).
    """
    check_parse_args(text, path, test)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _is_json_stream(text[:20000]):
        return _parse_json_stream(text, path, test)
    notes: list[str] = []
    text = _strip_preamble(text, notes)
    data, repeat_notes = _decode(text, path)
    notes.extend(repeat_notes)
    doc = _Doc(text, path, data)
    if "error" in data:
        err = data["error"]
        raise ToolReportedError(path, doc.line(("error",)), err if isinstance(err, str) else repr(err))
    doc.get(("start",), "obj")
    doc.get(("start", "test_start"), "obj")
    doc.get(("end",), "obj")
    protocol = doc.get(("start", "test_start", "protocol"), "str")
    if protocol not in _PROTOCOL_READERS:
        raise doc.fail(("start", "test_start", "protocol"), f"one of {sorted(_PROTOCOL_READERS)}", protocol)
    test_name = _TESTS[protocol]
    direction = _direction(doc, protocol)
    fields: dict[str, Any] = {
        "test": test_name,
        "protocol": protocol,
        "streams": doc.get(("start", "test_start", "num_streams"), "count"),
        "msg_size_bytes": doc.get(("start", "test_start", "blksize"), "count"),
        "direction": direction,
    }
    if fields["streams"] < 1:
        raise doc.fail(("start", "test_start", "num_streams"), "at least 1 stream", "0")
    requested = doc.get(("start", "test_start", "duration"), "count", required=False)
    if requested is not None:
        fields["test_duration_s"] = float(requested)
    target = doc.get(("start", "test_start", "target_bitrate"), "count", required=False)
    if target:  # iperf3 >= 3.7 writes it (0 = unlimited, as for TCP by default)
        fields["target_bandwidth_bps"] = float(target)
    omit = doc.get(("start", "test_start", "omit"), "count", required=False)
    if omit is not None:
        fields["omit_s"] = float(omit)
    version = _version(doc)
    if version is not None:
        fields["tool_version"] = version
    system_info = doc.get(("start", "system_info"), "str", required=False)
    if system_info is not None:
        fields["system_info"] = system_info
    start_time = _start_time(doc)
    if start_time is not None:
        fields["start_time"] = start_time
    meas: dict[str, float] = {}
    fields["duration_s"] = _PROTOCOL_READERS[protocol](doc, direction, meas, notes)
    _cpu(doc, meas)
    intervals = _intervals(doc, direction)
    return ParsedRun(tool=TOOL, parser=PARSER, parser_version=PARSER_VERSION, fields=fields, measurements=meas,
                     intervals=intervals, notes=tuple(notes))


# --------------------------------------------------------------------------------------------------------------
# --json-stream (iperf3 >= 3.17): one event per line, reassembled into the -J document


_STREAM_EVENT = re.compile(r'\{\s*"event"\s*:')


def _is_json_stream(text: str) -> bool:
    """True when the first line starting with ``{`` is a ``--json-stream`` event (``{"event": ...``)."""
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("{"):
            return _STREAM_EVENT.match(s) is not None
    return False


def _stream_event(line: str, n: int, path: str | Path, notes: list[str]) -> tuple[str, Any]:
    """The (event name, data) of one ``--json-stream`` line, or :class:`ParseError` naming the line."""
    pairs = _Pairs()
    try:
        obj = json.loads(line, object_pairs_hook=pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ParseError(path, n, f"one complete JSON event per line ({exc.msg}, column {exc.colno})",
                         found=line[:80]) from None
    except _BadConstant as exc:
        raise ParseError(path, n, "a finite JSON number", found=str(exc.args[0])) from None
    except (ValueError, RecursionError) as exc:
        raise ParseError(path, n, "a JSON number Python can read", found=str(exc)[:60]) from None
    if type(obj) is not dict or type(obj.get("event")) is not str or "data" not in obj:
        raise ParseError(path, n, 'an event object {"event": <name>, "data": <value>}', found=line[:80])
    if pairs.repeats:
        notes.extend(_judge_repeats(obj["data"], pairs.repeats, path, lambda keys: [n, n], root=(obj["event"],)))
    return obj["event"], obj["data"]


def _stream_events(lines: list[str], path: str | Path, notes: list[str]) -> list[tuple[int, str, Any]]:
    """Every event with its line; warnings before the first event become notes, a full -J document after the
    ``end`` event (``--json-stream-full-output``) is left unread with a note."""
    events: list[tuple[int, str, Any]] = []
    for n, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            continue
        if events and events[-1][1] == "end" and not _STREAM_EVENT.match(s):
            notes.append(f"iperf3 --json-stream: the text after the end event (line {n} on) is not read "
                         "(--json-stream-full-output prints the -J document there)")
            break
        if not s.startswith("{") and not events:
            notes.append(f"iperf3 printed before the JSON: {s}")
            continue
        name, data = _stream_event(s, n, path, notes)
        events.append((n, name, data))
    return events


def _stream_layout(events: list[tuple[int, str, Any]], path: str | Path, n_lines: int, notes: list[str]
                   ) -> list[str]:
    """The -J document with each event's data on the event's own line (so errors name the file's lines)."""
    by_name: dict[str, list[tuple[int, Any]]] = {}
    for n, name, data in events:
        by_name.setdefault(name, []).append((n, data))
    for name in ("start", "end"):
        found = by_name.get(name, [])
        if len(found) != 1:
            line = found[1][0] if len(found) > 1 else (events[-1][0] if events else 0)
            what = "the file ends before it: truncated?" if name == "end" and not found else f"{len(found)} found"
            raise ParseError(path, line, f"exactly one '{name}' event ({what})",
                             found=f"last event {events[-1][1]!r}" if events else "no event")
    (start_line, start), (end_line, end) = by_name["start"][0], by_name["end"][0]
    intervals = by_name.get("interval", [])
    for n, name, _ in events:
        if (name == "interval" and not start_line < n < end_line) or (name != "start" and n < start_line):
            raise ParseError(path, n, "events in iperf3's order: start, interval ..., end", found=f"{name!r} here")
    for name in sorted(set(by_name) - {"start", "interval", "end"}):
        notes.append(f"iperf3 --json-stream: {len(by_name[name])} {name!r} event(s) not read")
    out = [""] * n_lines
    dump = json.dumps
    out[start_line - 1] = '{"start": ' + dump(start) + ', "intervals": ['
    for k, (n, data) in enumerate(intervals):
        out[n - 1] = dump(data) + ("," if k < len(intervals) - 1 else "")
    out[end_line - 1] = '], "end": ' + dump(end) + "}"
    return out


def _parse_json_stream(text: str, path: str | Path, test: str | None) -> ParsedRun:
    """Parse ``--json-stream`` output into the :class:`ParsedRun` its ``-J`` document gives."""
    from dataclasses import replace

    lines = text.split("\n")
    notes: list[str] = []
    events = _stream_events(lines, path, notes)
    for n, name, data in events:
        if name == "error":
            raise ToolReportedError(path, n, data if isinstance(data, str) else repr(data))
    run = parse("\n".join(_stream_layout(events, path, len(lines), notes)), path, test=test)
    return replace(run, parser=PARSER_STREAM, notes=tuple(notes) + run.notes)
