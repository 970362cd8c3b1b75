"""What every parser returns (:class:`ParsedRun`) and raises (:class:`ParseError`, :class:`ToolReportedError`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ParsedRun", "ParseError", "ToolReportedError", "IntervalSample", "check_parse_args", "new_interval"]


class ParseError(ValueError):
    """The file is not complete, valid output of the tool.

    The message names the file, the line (1-based; 0 when the problem is the file as a whole) and what was
    expected, e.g. ``run.txt:7: expected a number for 'Throughput', found 'x12'``.
    """

    reason = "parse_error"

    def __init__(self, path: str | Path, line: int, expected: str, found: str | None = None):
        self.path = str(path)
        self.line = int(line)
        self.expected = expected
        self.found = found
        where = f"{self.path}:{self.line}" if self.line else self.path
        msg = f"{where}: expected {expected}"
        if found is not None:
            shown = found if len(found) <= 80 else found[:77] + "..."
            msg += f", found {shown!r}"
        super().__init__(msg)


class ToolReportedError(ParseError):
    """The tool's own output says the run failed (iperf3 ``"error"`` key, netperf ``send_data: ...`` ...)."""

    reason = "tool_error"

    def __init__(self, path: str | Path, line: int, error_text: str):
        self.error_text = error_text
        super().__init__(path, line, "a successful run", found=f"tool error: {error_text}")


@dataclass(frozen=True)
class IntervalSample:
    """One interval sample: *metric* over [start, end) seconds from the start of the run; stream None = sum."""

    metric: str
    interval_start_s: float
    interval_end_s: float
    value: float
    stream: int | None = None


_FAST_FIELDS = ("metric", "interval_start_s", "interval_end_s", "value", "stream")
assert tuple(IntervalSample.__dataclass_fields__) == _FAST_FIELDS and not hasattr(IntervalSample, "__post_init__")


def new_interval(metric: str, interval_start_s: float, interval_end_s: float, value: float, stream: int | None,
                 _new: Any = object.__new__) -> IntervalSample:
    """``IntervalSample(metric, interval_start_s, interval_end_s, value, stream)``: the same (equal, same repr and
    hash) object, built about three times faster than through the frozen dataclass ``__init__`` (which sets each
    field with ``object.__setattr__``). For parsers that emit thousands of samples."""
    obj = _new(IntervalSample)
    d = obj.__dict__
    d["metric"] = metric
    d["interval_start_s"] = interval_start_s
    d["interval_end_s"] = interval_end_s
    d["value"] = value
    d["stream"] = stream
    return obj


@dataclass(frozen=True)
class ParsedRun:
    """One run as the tool's output tells it, in SI units.

    Attributes
    ----------
    tool : ``"netperf" | "iperf3" | "iperf2" | "sockperf"``
    parser : the parser's name, e.g. ``"netperf-classic"``, ``"netperf-omni-kv"``, ``"iperf3-json"``
    parser_version : bumped whenever the parser's reading of a format changes
    fields : run-level values the output carries, keyed by :data:`analysis.schema.RUN_COLUMNS` names where one fits
        (``test``, ``msg_size_bytes``, ``response_size_bytes``, ``direction``, ``streams``, ``duration_s``,
        ``cpu_mhz``, ``start_time``, ``confidence_met``, ``tool_version`` ...); other keys (e.g.
        ``confidence_interval_width_pct``) are kept as extra run columns.
    measurements : metric name (:data:`analysis.schema.METRICS`) -> value in SI units; never NaN (a value the tool
        did not report is simply absent).
    intervals : interval samples, in file order.
    notes : human-readable remarks (e.g. "netperf: desired confidence was not achieved").
    """

    tool: str
    parser: str
    parser_version: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    measurements: Mapping[str, float] = field(default_factory=dict)
    intervals: tuple[IntervalSample, ...] = ()
    notes: tuple[str, ...] = ()


def check_parse_args(text: object, path: object, test: object) -> None:
    """Validate the arguments every tool module's ``parse(text, path, *, test=None)`` takes.

    The content itself is checked while parsing; this only names a wrongly typed argument.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected the file's content as str, got {type(text).__name__}")
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path: expected str or pathlib.Path, got {type(path).__name__}")
    if test is not None and not isinstance(test, str):
        raise TypeError(f"test: expected None or a test name (str), got {type(test).__name__}")
