"""A result for reading, in the spirit of statsmodels' ``Summary``: one set of tables, four renderings.

A :class:`Summary` holds a title, header facts, titled sections (each a DataFrame of display columns beside the
raw, typed values scripts want), a legend and numbered notes. :meth:`Summary.as_text` lays it out for a terminal
or a plain-text e-mail within a width (long cells wrapped, never cut), :meth:`Summary.as_markdown` for GitHub and
GitLab issues, :meth:`Summary.as_html` for a notebook (escaped), :meth:`Summary.as_csv` and
:meth:`Summary.as_json` for scripts. Because all of them read the same tables, they cannot disagree.

The layout is written here rather than taken from ``tabulate``: what the terminal needs is a width budget
(wrap the columns marked wrappable, in the order given, before anything else), which ``tabulate`` does not do (its
``maxcolwidths`` takes fixed widths and it pads headers beyond them); a pipe table and a padded grid are a few
lines each. Text wrapping is the standard library's ``textwrap``.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Section", "Summary", "fit_widths", "ansi_color", "strip_ansi"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Section:
    """One titled table.

    Attributes
    ----------
    title : str
        The group heading (e.g. the test).
    display : DataFrame
        The columns a person reads, all text.
    data : DataFrame
        The same rows with typed values, for CSV and JSON.
    wrap : tuple of str or (str, int)
        Display columns that may wrap onto several lines when the table is too wide, in the order they give way
        (see :func:`fit_widths`).
    layout : "table" or "list"
        ``list`` prints each row as a numbered item: the *head* columns on its first line, every other column as
        an indented paragraph below (for long prose such as audit details); Markdown shows a table either way.
    head : tuple of str
        The columns on an item's first line (``list`` layout).
    """

    title: str
    display: pd.DataFrame
    data: pd.DataFrame
    wrap: tuple[str | tuple[str, int], ...] = ()
    layout: str = "table"
    head: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """A result as text, Markdown, CSV or JSON, all from the same tables (see the module docstring).

    Attributes
    ----------
    title : str
    facts : tuple of (name, value)
        Header facts (baseline, candidate, margin, ...), shown under the title.
    sections : tuple of Section
    legend : tuple of str
        What the columns and words mean.
    notes : tuple of str
        Numbered notes (audit errors and warnings, the result's own notes).
    empty : str
        What to say when there is no section.
    """

    title: str
    facts: tuple[tuple[str, str], ...] = ()
    sections: tuple[Section, ...] = ()
    legend: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    notes_title: str = "Notes"
    empty: str = "Nothing to show."
    colors: Mapping[str, str] = field(default_factory=dict)
    color_column: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """Every section's typed rows in one table (the CSV)."""
        frames = [s.data for s in self.sections]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def as_csv(self) -> str:
        """The typed rows as CSV (no legend, no notes: a table for scripts)."""
        buf = io.StringIO()
        self.to_frame().to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue()

    def as_json(self) -> str:
        """Title, facts, typed rows (records; missing values as null), legend and notes as one JSON object."""
        doc = {
            "title": self.title,
            "facts": dict(self.facts),
            "rows": [{k: _json_value(v) for k, v in r.items()} for r in self.to_frame().to_dict("records")],
            "legend": list(self.legend),
            "notes": list(self.notes),
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    def as_html(self) -> str:
        """HTML for a notebook or a report page: every string escaped (hosts, kernels and file names come from
        the campaign), one ``<table class="pvfair">`` per section."""
        esc = html.escape
        out = [f'<div class="pvfair-summary"><h3>{esc(self.title)}</h3>']
        if self.facts:
            out.append("<ul>" + "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in self.facts) + "</ul>")
        for s in self.sections:
            head = "".join(f"<th>{esc(str(c))}</th>" for c in s.display.columns)
            rows = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in r) + "</tr>"
                           for r in s.display.itertuples(index=False))
            out.append(f'<h4>{esc(s.title)}</h4><table class="pvfair"><thead><tr>{head}</tr></thead>'
                       f"<tbody>{rows}</tbody></table>")
        if not self.sections:
            out.append(f"<p>{esc(self.empty)}</p>")
        if self.legend:
            out.append("<p><b>Legend</b></p><ul>" + "".join(f"<li>{esc(x)}</li>" for x in self.legend) + "</ul>")
        if self.notes:
            out.append(f"<p><b>{esc(self.notes_title)}</b></p><ol>"
                       + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ol>")
        return "".join(out) + "</div>"

    def _repr_html_(self) -> str:
        return self.as_html()

    def as_markdown(self) -> str:
        """GitHub/GitLab-flavoured Markdown: a heading per section, pipe tables, the legend and notes as lists."""
        out = [f"## {_md_escape(self.title)}", ""]
        out += [f"- **{_md_escape(k)}**: {_md_escape(v)}" for k, v in self.facts]
        for s in self.sections:
            out += ["", f"### {_md_escape(s.title)}", "", *_pipe_table(s.display)]
        if not self.sections:
            out += ["", _md_escape(self.empty)]
        if self.legend:
            out += ["", "**Legend**", ""] + [f"- {_md_escape(line)}" for line in self.legend]
        if self.notes:
            out += ["", f"**{_md_escape(self.notes_title)}**", ""]
            out += [f"{i}. {_md_escape(n)}" for i, n in enumerate(self.notes, 1)]
        return "\n".join(out) + "\n"

    def as_text(self, width: int = 80, *, color: bool = False) -> str:
        """Plain text within *width* columns: long cells wrap, nothing is cut.

        ``color`` paints the words of :attr:`color_column` with :attr:`colors` (24-bit ANSI, for a terminal).
        """
        out = [*_wrap(self.title, width), "=" * width]
        out += [line for k, v in self.facts for line in _wrap(f"{k}: {v}", width, indent=4)]
        for s in self.sections:
            out += ["", *_wrap(s.title, width), "-" * min(width, max(len(s.title), 1))]
            out += _list(s, width) if s.layout == "list" else _grid(s, width, self.colors if color else {},
                                                                     self.color_column)
        if not self.sections:
            out += ["", *_wrap(self.empty, width)]
        if self.legend:
            out += ["", "Legend"]
            out += [line for item in self.legend for line in _wrap(item, width, indent=4, first="  ")]
        if self.notes:
            out += ["", self.notes_title]
            digits = len(str(len(self.notes)))
            for i, n in enumerate(self.notes, 1):
                lead = f"{i:>{digits}}. "
                out += _wrap(n, width, indent=len(lead), first=lead)
        return "\n".join(out) + "\n"

    def __str__(self) -> str:
        return self.as_text()


#: characters between two columns of a text table
_SEP = 2
#: a wrappable column narrower than this breaks a word only when nothing else helps
_MIN_WRAP = 10


def fit_widths(frame: pd.DataFrame, width: int, *, wrap: Sequence[str | tuple[str, int]] = (),
               sep: int = _SEP) -> list[int]:
    """Column widths that make *frame* fit *width* characters.

    Each column starts at its natural width (its longest value or header). While the table is too wide, the
    columns in *wrap* give way in the order listed, each down to its longest word; if that is not enough, a second
    round breaks words longer than :data:`_MIN_WRAP` characters. An entry ``(name, n)`` stops that column at *n*
    characters, so a column can give some room early and the rest later. Columns not in *wrap* keep their width.

    >>> t = pd.DataFrame({"cell": ["16384 B, same-core"], "verdict": ["faster but within margin"]})
    >>> fit_widths(t, 30, wrap=["cell", "verdict"])
    [9, 19]
    >>> fit_widths(t, 30, wrap=[("cell", 12), "verdict", "cell"])
    [12, 16]
    """
    cols = [str(c) for c in frame.columns]
    text = frame.astype(str)
    widths = [max([len(c)] + [len(v) for v in text.iloc[:, i]]) for i, c in enumerate(cols)]
    excess = sum(widths) + sep * (len(widths) - 1) - width
    for pass_floor in (None, _MIN_WRAP):  # first whole words only, then words broken if nothing else helps
        for entry in wrap:
            name, stop = (entry, 0) if isinstance(entry, str) else entry
            if excess <= 0:
                break
            if name not in cols:
                continue
            i = cols.index(name)
            longest = max([_longest_word(name)] + [_longest_word(v) for v in text.iloc[:, i]])
            floor = max(longest if pass_floor is None else min(longest, pass_floor), stop)
            give = min(excess, max(widths[i] - floor, 0))
            widths[i] -= give
            excess -= give
    return widths


def _grid(s: Section, width: int, colors: Mapping[str, str], color_column: str | None) -> list[str]:
    """A padded text table: header, dashes, rows; cells wrapped within :func:`fit_widths`."""
    widths = fit_widths(s.display, width, wrap=s.wrap)
    cols = list(s.display.columns)

    def block(values: Sequence[Any]) -> list[str]:
        cells = [_wrap_cell(v, w) for v, w in zip(values, widths, strict=True)]
        height = max(len(c) for c in cells)
        lines = []
        for k in range(height):
            parts = []
            for j, (c, w) in enumerate(zip(cells, widths, strict=True)):
                word = c[k] if k < len(c) else ""
                pad = word.ljust(w)
                if colors and cols[j] == color_column and word in colors:
                    pad = ansi_color(word, colors[word]) + " " * (w - len(word))
                parts.append(pad)
            lines.append((" " * _SEP).join(parts).rstrip())
        return lines

    out = block(cols)
    out.append((" " * _SEP).join("-" * w for w in widths))
    for row in s.display.astype(str).itertuples(index=False):
        out += block(list(row))
    return out


def _list(s: Section, width: int) -> list[str]:
    """Numbered items: the head columns on the first line, the other columns as indented paragraphs."""
    rows = s.display.astype(str)
    digits = len(str(len(rows)))
    out: list[str] = []
    for i, row in enumerate(rows.to_dict("records"), 1):
        lead = f"{i:>{digits}}. "
        head = "  ".join(v for c, v in row.items() if c in s.head and v)
        out += _wrap(head, width, indent=len(lead), first=lead)
        for c, v in row.items():
            if c not in s.head and v:
                out += _wrap(v, width, indent=len(lead), first=" " * len(lead))
    return out


def _pipe_table(frame: pd.DataFrame) -> list[str]:
    cols = [_md_escape(c) for c in frame.columns]
    rows = [[_md_escape(v) for v in r] for r in frame.astype(str).itertuples(index=False)]
    return ["| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def ansi_color(text: str, hex_color: str) -> str:
    """*text* in the 24-bit terminal colour *hex_color* (``#rrggbb``)."""
    r, g, b = (int(hex_color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return f"\x1b[38;2;{r};{g};{b}m{text}\x1b[0m"


def _longest_word(text: str) -> int:
    return max((len(w) for w in str(text).split()), default=0)


def _wrap_cell(value: Any, w: int) -> list[str]:
    text = str(value)
    if len(text) <= w:
        return [text]
    return textwrap.wrap(text, w, break_on_hyphens=False) or [text]


def _wrap(text: str, width: int, *, indent: int = 0, first: str = "") -> list[str]:
    return textwrap.wrap(str(text), width, initial_indent=first, subsequent_indent=" " * indent,
                         break_on_hyphens=False) or [first.rstrip()]


def _md_escape(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _json_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def strip_ansi(text: str) -> str:
    """*text* without ANSI colour codes (for measuring what a terminal shows)."""
    return _ANSI.sub("", text)
