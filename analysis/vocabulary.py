"""The project's shared vocabularies, each defined once and imported where it is used.

* :data:`VERDICTS`: every verdict a cell can get, in reading order (the order of tables, legends and counts);
* :data:`VERDICT_COLORS`: the colour of each verdict in plots and the PDF;
* :func:`verdict_label`: the words a verdict is printed with (the margin filled in where a verdict names it);
* :data:`CELL_KEY`: the run columns that make a cell, i.e. one measurement, by default;
* :data:`TESTS`: the canonical test names (netperf's lingua franca) every parser maps its tool's modes onto, with
  what each measures; :data:`TOOL_TESTS`: each tool's own mode names (kept in the runs' ``tool_test`` column);
  :func:`is_test_name` / :func:`same_test_name`: a manifest may use either vocabulary;
* :data:`MEASUREMENT_SETTINGS`: run settings outside the cell key that still change the measured quantity (the
  audit names a cell that mixes them).
* :data:`DESIGN_FACTORS`: the run columns whose confounding with the PV model voids a verdict (analysis.confound).
* :data:`CLOCK_TOLERANCE` / :func:`same_clock`: when two CPU clock readings are the same clock.

A verdict, a colour or a cell-key column added here reaches compare, plots, the text renderers and the report
without a second edit.
"""

from __future__ import annotations

import math

__all__ = ["VERDICTS", "VERDICT_COLORS", "verdict_label", "confounded_label", "CELL_KEY", "TOOL_FREE_KEY",
           "DESIGN_FACTORS", "TESTS", "TOOL_TESTS", "MEASUREMENT_SETTINGS", "is_test_name", "same_test_name",
           "CLOCK_TOLERANCE", "same_clock"]

#: every verdict a cell can get, in reading order
VERDICTS: tuple[str, ...] = (
    "faster",
    "slower",
    "equivalent",
    "faster but within margin",
    "slower but within margin",
    "inconclusive",
    "confounded",
)

#: colour of each verdict (forest plot, tables): greens faster, blue equivalent, oranges/red slower, grey unknown
VERDICT_COLORS: dict[str, str] = {
    "faster": "#1e8449",
    "faster but within margin": "#7dcea0",
    "equivalent": "#2e86c1",
    "slower but within margin": "#f0b27a",
    "slower": "#c0392b",
    "inconclusive": "#7f8c8d",
    "confounded": "#8e44ad",
}


def verdict_label(verdict: str, margin: float, confounded_with: str | None = None) -> str:
    """The words a verdict is printed with; "equivalent" names its margin, "confounded" its design factor(s).

    >>> verdict_label("equivalent", 0.05), verdict_label("slower", 0.05)
    ('equivalent within ±5 %', 'slower')
    >>> verdict_label("confounded", 0.05, "host")
    'confounded with host'
    """
    if verdict == "equivalent":
        return f"equivalent within ±{100 * margin:g} %"
    if verdict == "confounded":
        return confounded_label(confounded_with)
    return verdict


def confounded_label(factors: str | None) -> str:
    """ "confounded with FACTOR": the verdict of a cell whose model difference a design factor fully shadows.

    >>> confounded_label("host"), confounded_label(None)
    ('confounded with host', 'confounded with a design factor')
    """
    return f"confounded with {factors}" if factors else "confounded with a design factor"


#: the run columns that make a cell by default: one measurement. ``tool`` (two tools measuring the same test never
#: pool), the canonical ``test`` (so the direction: TCP_STREAM and TCP_MAERTS are two cells), the message size and
#: the pinning stratum.
CELL_KEY: tuple[str, ...] = ("tool", "test", "msg_size_bytes", "pinning")

#: :data:`CELL_KEY` without ``tool``: what two tools' cells share when they measured the same thing
#: (analysis.crosstool pairs such cells)
TOOL_FREE_KEY: tuple[str, ...] = tuple(c for c in CELL_KEY if c != "tool")

#: canonical test -> what it measures (client's point of view). netperf's names, which the field speaks.
TESTS: dict[str, str] = {
    "TCP_STREAM": "TCP bulk transfer, client sends (iperf forward)",
    "TCP_MAERTS": "TCP bulk transfer, client receives (iperf -R / reverse)",
    "TCP_BIDIR": "TCP bulk transfer both ways at once (iperf3 --bidir)",
    "UDP_STREAM": "UDP datagram stream, client sends (iperf -u)",
    "TCP_RR": "TCP request/response on one connection: transaction rate or round-trip latency",
    "UDP_RR": "UDP request/response: transaction rate or round-trip latency (sockperf ping-pong)",
    "TCP_CRR": "TCP connect/request/response/close per transaction",
}

#: tool -> its own mode names as the runs' ``tool_test`` column holds them -> what they are (mapping to
#: :data:`TESTS` is each parser's ``canonical_test``; netperf's own names are mostly the canonical ones)
TOOL_TESTS: dict[str, dict[str, str]] = {
    "iperf3": {"IPERF3_TCP": "TCP: TCP_STREAM, -R TCP_MAERTS, --bidir TCP_BIDIR",
               "IPERF3_UDP": "-u: UDP_STREAM (-R: the server sends; still UDP_STREAM, direction receive)"},
    "iperf2": {"IPERF2_TCP": "TCP: TCP_STREAM, -R/--reverse TCP_MAERTS",
               "IPERF2_UDP": "-u: UDP_STREAM"},
    "sockperf": {"SOCKPERF_PING_PONG": "ping-pong: UDP_RR (--tcp: TCP_RR)",
                 "SOCKPERF_UNDER_LOAD": "under-load: UDP_RR (--tcp: TCP_RR); latency under a message rate"},
    "netperf": {"TCP_STREAM": "TCP_STREAM", "TCP_SENDFILE": "TCP_STREAM (sendfile)", "TCP_MAERTS": "TCP_MAERTS",
                "UDP_STREAM": "UDP_STREAM", "TCP_RR": "TCP_RR", "UDP_RR": "UDP_RR", "TCP_CRR": "TCP_CRR",
                "OMNI": "by omni's direction and protocol: send TCP_STREAM, receive TCP_MAERTS, "
                        "send|recv TCP_RR (UDP: UDP_STREAM / UDP_RR)",
                "TCP_CC": "TCP_CC (no canonical name: kept)", "TCP_TRR": "TCP_TRR (kept)",
                "SCTP_STREAM": "SCTP_STREAM (kept)", "SCTP_RR": "SCTP_RR (kept)"},
}

#: run columns outside :data:`CELL_KEY` that change what is measured when they differ inside a cell: the tool's
#: own mode (sockperf ping-pong vs under-load, netperf OMNI vs classic), parallel streams (iperf ``-P``), the UDP
#: target bandwidth (iperf ``-b``). The audit's ``settings`` check names any cell that mixes them.
MEASUREMENT_SETTINGS: tuple[str, ...] = ("tool_test", "streams", "target_bandwidth_bps")


def is_test_name(name: str) -> bool:
    """True when *name* is a canonical test or some tool's own mode name (case-insensitive).

    >>> is_test_name("tcp_maerts"), is_test_name("IPERF3_TCP"), is_test_name("UDP_PP")
    (True, True, False)
    """
    up = str(name).strip().upper()
    return up in TESTS or any(up in names for names in TOOL_TESTS.values())


def same_test_name(given: str, test: str, tool_test: str | None) -> bool:
    """Whether a manifest's test name *given* names the run whose canonical test is *test* and whose tool's own
    mode is *tool_test*: either vocabulary, case-insensitive.

    >>> same_test_name("TCP_STREAM", "TCP_STREAM", "IPERF3_TCP"), same_test_name("iperf3_tcp", "TCP_MAERTS",
    ...     "IPERF3_TCP"), same_test_name("TCP_MAERTS", "TCP_STREAM", "IPERF3_TCP")
    (True, True, False)
    """
    g = str(given).strip().casefold()
    return g == str(test).casefold() or (tool_test is not None and g == str(tool_test).casefold())


#: design factors (run / manifest columns) that must not be confounded with the PV model inside a cell: the
#: hardware and software a run stood on and who ran it (analysis.confound reads them, with their aliases)
DESIGN_FACTORS: tuple[str, ...] = ("host", "host_kernel", "guest_kernel", "qemu_version", "governor",
                                   "nic_firmware", "side")


#: "the same clock": two CPU clock readings (MHz or GHz) whose relative difference is at most this are one clock.
#: ``/proc/cpuinfo`` of a fixed clock wobbles by a few MHz, so a 2398 vs 2401 MHz reading is jitter, while a
#: governor or P-state step (100 MHz and more) is a different clock. The audit's balance check, compare's
#: raw-or-adjusted headline, the model's clock status and the rerun plan all read "same clock" through this one
#: number.
CLOCK_TOLERANCE: float = 0.01


def same_clock(baseline: float, candidate: float) -> bool:
    """True when *candidate*'s clock is within :data:`CLOCK_TOLERANCE` of *baseline*'s (relative); False when
    either is unknown (NaN).

    >>> same_clock(2400.0, 2410.0), same_clock(2400.0, 1600.0), same_clock(2400.0, float("nan"))
    (True, False, False)
    """
    if not (math.isfinite(baseline) and math.isfinite(candidate)):
        return False
    return abs(candidate / baseline - 1) <= CLOCK_TOLERANCE
