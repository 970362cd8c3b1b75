"""Export of executed notebooks: standalone HTML, the PDF summary (WeasyPrint), and the reports' index page.

The PDF route is nbconvert HTML (inputs excluded) rendered by WeasyPrint: pure Python plus the system's pango, so it
needs neither a TeX installation (nbconvert's ``PDFExporter``) nor a headless-browser download (``WebPDFExporter``).
Strings from raw files and manifests reach the HTML only through escaping renderers (:mod:`analysis.present`), and
the index escapes every name it links.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.parameters import import_jupyter

__all__ = ["export_html", "format_pdf_html", "export_pdf", "format_index", "write_index"]

def _html_exporter(*, exclude_input: bool, template: str = "lab"):
    import_jupyter()
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name=template)
    exporter.exclude_input = exclude_input
    exporter.exclude_input_prompt = exclude_input
    exporter.exclude_output_prompt = exclude_input
    return exporter


def export_html(notebook: str | Path, html_path: str | Path, *, exclude_input: bool = False) -> Path:
    """Export the executed *notebook* to a standalone HTML file."""
    body, _ = _html_exporter(exclude_input=exclude_input).from_filename(str(notebook))
    out = Path(html_path)
    out.write_text(body, encoding="utf-8")
    return out


#: print style for the PDF: A4, readable tables, figures scaled to the page, no screen-only chrome
_PRINT_CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
        @bottom-center { content: "pvfair summary - page " counter(page) " of " counter(pages);
                         font-family: "DejaVu Sans", sans-serif; font-size: 8pt; color: #666; } }
html, body { background: white !important; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; line-height: 1.35; margin: 0; padding: 0 !important; }
.cell { margin: 0 0 4pt 0; }
.prompt, .anchor-link, .input { display: none !important; }
.output_subarea { max-width: 100%; overflow: visible; }
h1 { font-size: 16pt; margin: 0 0 3pt 0; } h2 { font-size: 12pt; margin: 7pt 0 3pt 0; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 8pt 0 3pt 0; page-break-after: avoid; }
table { border-collapse: collapse; font-size: 7.5pt; margin: 3pt 0 6pt 0; width: 100%; max-width: 100%;
        page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border-bottom: 0.5pt solid #bbb; padding: 1.5pt 3pt !important; text-align: left !important;
         vertical-align: top; overflow-wrap: break-word; hyphens: none; }
thead th { background: #eee; }
img { max-width: 100% !important; max-height: 86mm; width: auto; height: auto; page-break-inside: avoid; }
img.pvfair-figure { width: 100% !important; max-height: none !important; }
ul.pvfair-confounds, ul.pvfair-verdicts { margin: 2pt 0 4pt 0; padding-left: 14pt; font-size: 8.5pt; }
ul.pvfair-confounds ul { margin: 0; padding-left: 12pt; }
li { overflow-wrap: anywhere; }
p.pvfair-verdict { font-size: 9pt; margin: 0 0 2pt 0; }
p.pvfair-header { margin: 0 0 2pt 0; font-size: 8.5pt; overflow-wrap: anywhere; }
pre { white-space: pre-wrap; font-size: 8pt; overflow-wrap: anywhere; }
"""


#: where a long cell may wrap: after ``_ . / = ,`` followed by a letter (``throughput_bps``, host and file names)
#: and between the two bounds of an interval; never inside a number
_BREAK_AFTER = re.compile(r"(?<=[A-Za-z0-9])([_./=,])(?=[A-Za-z])|(,)(?=\u00a0[+\-\u2212]?\d)")


def _breakable(text_html: str) -> str:
    """Add ``<wbr>`` break opportunities to the text (not the tags) of the table cells of escaped HTML.

    A table of long metric, host or kernel names then wraps inside the printed page instead of running off its
    edge; ``<wbr>`` is invisible and adds no character to the PDF's text.
    """
    def text(m: re.Match) -> str:
        return _BREAK_AFTER.sub(lambda b: (b.group(1) or b.group(2)) + "<wbr>", m.group(0))

    def cell(m: re.Match) -> str:
        return m.group(1) + re.sub(r"(?<=>)[^<]+|^[^<]+", text, m.group(2)) + m.group(3)

    return re.sub(r"(<t[dh](?:\s[^>]*)?>)(.*?)(</t[dh]>)", cell, text_html, flags=re.DOTALL)


def format_pdf_html(notebook: str | Path) -> str:
    """The HTML that becomes ``summary.pdf``: the executed *notebook* without code, prompts or stderr output.

    Warnings on stderr are for the notebook's author (the HTML export keeps them), not for readers of the PDF.

    nbconvert's ``basic`` template (cells only, no JupyterLab theme: WeasyPrint lays it out several times faster)
    inside a minimal document; :data:`_PRINT_CSS` styles it. Table cells get break opportunities in long words
    (:func:`_breakable`).
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
    body, _ = _html_exporter(exclude_input=True, template="basic").from_notebook_node(nb)
    body = _breakable(body)
    title = html.escape(Path(notebook).stem)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )


def export_pdf(notebook: str | Path, pdf_path: str | Path) -> Path:
    """Render the executed *notebook*, code hidden, to a PDF with WeasyPrint (no TeX, no browser)."""
    import logging
    import warnings

    with warnings.catch_warnings():  # "HarfBuzz-Subset will be required by future versions": fonts embed fine
        warnings.simplefilter("ignore", DeprecationWarning)
        import weasyprint

    # WeasyPrint warns about every CSS property of the JupyterLab theme it does not support; those are cosmetic
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    body = format_pdf_html(notebook)
    out = Path(pdf_path)
    doc = weasyprint.HTML(string=body, base_url=str(Path(notebook).resolve().parent))
    doc.write_pdf(out, stylesheets=[weasyprint.CSS(string=_PRINT_CSS)])
    return out


def format_index(entries: Sequence[Mapping[str, Any]], *, title: str = "pvfair reports") -> str:
    """``reports/index.html``: one row per campaign with links to its summary PDF and notebooks (all escaped).

    Each entry has ``campaign`` (folder name, also the link target), ``status``, ``created_utc``, ``pdf`` (file name
    or None) and ``html`` (list of file names).
    """
    rows = []
    for e in sorted(entries, key=lambda e: str(e["campaign"])):
        name = str(e["campaign"])
        href = html.escape(name, quote=True)
        pdf = e.get("pdf")
        pdf_link = f'<a href="{href}/{html.escape(pdf, quote=True)}">summary.pdf</a>' if pdf else "-"
        nbs = " ".join(
            f'<a href="{href}/{html.escape(h, quote=True)}">{html.escape(Path(h).stem)}</a>'
            for h in e.get("html", [])
        )
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(e.get('status', '')))}</td>"
            f"<td>{html.escape(str(e.get('created_utc', '')))}</td><td>{pdf_link}</td><td>{nbs}</td></tr>"
        )
    body = "\n".join(rows) if rows else '<tr><td colspan="5">no reports yet</td></tr>'
    t = html.escape(title)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{t}</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head>\n"
        f"<body><h1>{t}</h1>\n<table><thead><tr><th>campaign</th><th>status</th><th>created (UTC)</th>"
        f"<th>summary</th><th>notebooks</th></tr></thead>\n<tbody>\n{body}\n</tbody></table></body></html>\n"
    )


def write_index(out_dir: str | Path) -> Path:
    """Write ``<out_dir>/index.html`` linking every report folder under *out_dir* that has a provenance.json."""
    out = Path(out_dir)
    entries = []
    for prov in sorted(out.glob("*/provenance.json")):
        try:
            rec = json.loads(prov.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            rec = {"status": "unreadable provenance.json"}
        folder = prov.parent
        entries.append(
            {
                "campaign": folder.name,
                "status": rec.get("status", "unknown"),
                "created_utc": rec.get("created_utc", ""),
                "pdf": "summary.pdf" if (folder / "summary.pdf").is_file() else None,
                "html": sorted(p.name for p in folder.glob("[0-9][0-9]_*.html")),
            }
        )
    path = out / "index.html"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(format_index(entries), encoding="utf-8")
    return path
