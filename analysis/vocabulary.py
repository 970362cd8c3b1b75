"""The project's shared vocabularies, each defined once and imported where it is used.

* :data:`VERDICTS`: every verdict a cell can get, in reading order (the order of tables, legends and counts);
* :data:`VERDICT_COLORS`: the colour of each verdict in plots and the PDF;
* :func:`verdict_label`: the words a verdict is printed with (the margin filled in where a verdict names it);
* :data:`CELL_KEY`: the run columns that make a cell, i.e. one measurement, by default;
* :data:`DESIGN_FACTORS`: the run columns whose confounding with the PV model voids a verdict (analysis.confound).

A verdict, a colour or a cell-key column added here reaches compare, plots, the text renderers and the report
without a second edit.
"""

from __future__ import annotations

__all__ = ["VERDICTS", "VERDICT_COLORS", "verdict_label", "confounded_label", "CELL_KEY", "DESIGN_FACTORS"]

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


#: the run columns that make a cell by default: one measurement (test, message size, pinning)
CELL_KEY: tuple[str, ...] = ("test", "msg_size_bytes", "pinning")


#: design factors (run / manifest columns) that must not be confounded with the PV model inside a cell: the
#: hardware and software a run stood on and who ran it (analysis.confound reads them, with their aliases)
DESIGN_FACTORS: tuple[str, ...] = ("host", "host_kernel", "guest_kernel", "qemu_version", "governor",
                                   "nic_firmware", "side")
