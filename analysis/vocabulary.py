"""The project's shared vocabularies, each defined once and imported where it is used.

* :data:`VERDICTS`: every verdict a cell can get, in reading order (the order of tables, legends and counts);
* :data:`VERDICT_COLORS`: the colour of each verdict in plots and the PDF;
* :func:`verdict_label`: the words a verdict is printed with (the margin filled in where a verdict names it);
* :data:`CELL_KEY`: the run columns that make a cell, i.e. one measurement, by default.

A verdict, a colour or a cell-key column added here reaches compare, plots, the text renderers and the report
without a second edit.
"""

from __future__ import annotations

__all__ = ["VERDICTS", "VERDICT_COLORS", "verdict_label", "CELL_KEY"]

#: every verdict a cell can get, in reading order
VERDICTS: tuple[str, ...] = (
    "faster",
    "slower",
    "equivalent",
    "faster but within margin",
    "slower but within margin",
    "inconclusive",
)

#: colour of each verdict (forest plot, tables): greens faster, blue equivalent, oranges/red slower, grey unknown
VERDICT_COLORS: dict[str, str] = {
    "faster": "#1e8449",
    "faster but within margin": "#7dcea0",
    "equivalent": "#2e86c1",
    "slower but within margin": "#f0b27a",
    "slower": "#c0392b",
    "inconclusive": "#7f8c8d",
}


def verdict_label(verdict: str, margin: float) -> str:
    """The words a verdict is printed with; "equivalent" names its margin.

    >>> verdict_label("equivalent", 0.05), verdict_label("slower", 0.05)
    ('equivalent within ±5 %', 'slower')
    """
    if verdict == "equivalent":
        return f"equivalent within ±{100 * margin:g} %"
    return verdict


#: the run columns that make a cell by default: one measurement (test, message size, pinning)
CELL_KEY: tuple[str, ...] = ("test", "msg_size_bytes", "pinning")
