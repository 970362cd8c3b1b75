"""HTML building blocks for the notebooks and the PDF: tables, notes, paragraphs and figures, every string escaped.

Strings from raw files and manifests (hostnames, kernel versions, notes) reach HTML only through these or through
pandas' escaping ``to_html`` / ``_repr_html_``, which escape with :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

__all__ = ["format_html_table", "format_notes_html", "format_paragraph_html", "format_figure_html"]


def format_html_table(frame: pd.DataFrame, *, float_format: str = "{:.4g}", classes: str = "pvfair") -> str:
    """*frame* as an HTML table with every cell escaped (strings from raw files included)."""
    return frame.to_html(
        index=False,
        escape=True,
        na_rep="-",
        classes=classes,
        border=0,
        float_format=(lambda x: float_format.format(x)),
    )


def format_notes_html(notes: Sequence[str], *, title: str | None = None) -> str:
    """Numbered notes as an escaped HTML ordered list (with an optional escaped heading)."""
    head = f"<p><strong>{html.escape(title)}</strong></p>" if title else ""
    if not notes:
        return head + "<p>None.</p>"
    items = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
    return f"{head}<ol>{items}</ol>"


def format_paragraph_html(text: str) -> str:
    """A plain-text paragraph as escaped HTML."""
    return f'<p class="pvfair-verdict">{html.escape(str(text))}</p>'


def format_figure_html(fig, *, dpi: int = 200, css_class: str = "pvfair-figure") -> str:
    """*fig* as an inline PNG ``<img>`` that the PDF's print style sets at the full text width (figures made
    :data:`analysis.plots.compare.PRINT_WIDTH_IN` wide keep their font sizes at print size)."""
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="{html.escape(css_class, quote=True)}" alt="figure" src="data:image/png;base64,{data}"/>'
