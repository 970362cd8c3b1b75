"""Parser for iperf2 output (placeholder until the ingest issue's parser lands)."""

from __future__ import annotations

from analysis.parsers.base import ParsedRun, ParseError

TOOL = "iperf2"
PARSER_VERSION = "0"

__all__ = ["TOOL", "PARSER_VERSION", "sniff", "parse"]


def sniff(text: str) -> bool:
    return False


def parse(text: str, path, *, test: str | None = None) -> ParsedRun:
    raise ParseError(path, 0, "a iperf2 parser (not implemented yet)")
