"""Parsers for raw benchmark output, one module per tool, chosen through a registry.

``parse_file(path, tool=None)`` detects the tool from the content (or takes the one named), and returns a
:class:`ParsedRun` in SI units or raises :class:`ParseError` naming the file, the line and what was expected.

Each tool module exposes ``TOOL`` (registry key), ``PARSER_VERSION``, ``sniff(text) -> bool`` (cheap content
detection), ``parse(text, path, *, test=None) -> ParsedRun`` (``test`` is a hint from the manifest, needed for
netperf ``-P 0`` output that carries no banner) and ``canonical_test(fields) -> str``.

**Test names.** A tool module's ``parse`` names the run's test in the tool's own words (``IPERF3_TCP``,
``SOCKPERF_PING_PONG``, netperf's ``OMNI`` ...). :func:`parse_text` keeps that name in the ``tool_test`` field and
sets ``test`` to the canonical name (:data:`analysis.vocabulary.TESTS`) the module's ``canonical_test`` maps it to
from the run's fields (protocol, direction): one vocabulary across tools, each tool's mapping in one function.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import ModuleType

from analysis.parsers import iperf2, iperf3, netperf, sockperf
from analysis.parsers.base import IntervalSample, ParsedRun, ParseError, ToolReportedError

__all__ = ["parse_file", "parse_text", "detect_tool", "with_canonical_test", "PARSERS", "ParsedRun", "ParseError",
           "ToolReportedError", "IntervalSample"]

#: tool name -> parser module. Detection tries them in this order (most specific first).
PARSERS: dict[str, ModuleType] = {
    m.TOOL: m for m in (iperf3, sockperf, netperf, iperf2)
}


def read_text(path: str | Path) -> str:
    """Read a raw file as text: UTF-8 (BOM tolerated), ``\\r\\n`` and ``\\r`` folded to ``\\n``."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParseError(path, line, "UTF-8 text", found=f"byte 0x{raw[exc.start]:02x}") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect_tool(text: str, path: str | Path = "<text>") -> str:
    """The registry key of the tool whose output *text* is; :class:`ParseError` if none recognises it."""
    for name, module in PARSERS.items():
        if module.sniff(text):
            return name
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    raise ParseError(path, 1 if first else 0, f"output of one of {sorted(PARSERS)}", found=first or "empty file")


def parse_text(text: str, path: str | Path = "<text>", tool: str | None = None, *, test: str | None = None
               ) -> ParsedRun:
    """Parse already-read *text* (see :func:`parse_file`)."""
    if tool is None:
        tool = detect_tool(text, path)
    elif tool not in PARSERS:
        raise ValueError(f"tool: expected one of {sorted(PARSERS)}, got {tool!r}")
    module = PARSERS[tool]
    return with_canonical_test(module.parse(text, path, test=test), module)


def with_canonical_test(run: ParsedRun, module: ModuleType | None = None) -> ParsedRun:
    """*run* with ``tool_test`` = the tool's own test name and ``test`` = the canonical one (``canonical_test``
    of the run's tool module; a module without one names canonical tests itself). A run without a test name, or
    already mapped, is returned unchanged."""
    fields = dict(run.fields)
    if fields.get("test") is None or "tool_test" in fields:
        return run
    module = module or PARSERS[run.tool]
    mapping = getattr(module, "canonical_test", None)
    fields["tool_test"] = fields["test"]
    if mapping is not None:
        fields["test"] = mapping(fields)
    return dataclasses.replace(run, fields=fields)


def parse_file(path: str | Path, tool: str | None = None, *, test: str | None = None) -> ParsedRun:
    """Parse one raw output file.

    Parameters
    ----------
    path : the file
    tool : registry key (``"netperf"``, ``"iperf3"``, ``"iperf2"``, ``"sockperf"``); detected from the content
        when None
    test : the test name from the manifest, used where the output does not name it (netperf ``-P 0``)

    Raises
    ------
    ParseError
        naming the file, the line and what was expected (:class:`ToolReportedError` when the tool itself
        reported a failed run).
    """
    return parse_text(read_text(path), path, tool, test=test)
