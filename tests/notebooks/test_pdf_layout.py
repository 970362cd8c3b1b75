"""The summary PDF, rasterized and read back (poppler-utils: ``make poppler``): nothing in the right margin, every
table cell in the text, no finding cut short, the forest plot at the full text width.

Two campaigns: the bundled demo (its effects table used to lose its last column off page 3) and a simulated one
whose hosts, kernels and model names are long unbroken strings, as real ``uname -r`` and FQDNs are. Only the
summary notebook runs (it computes everything it shows), with few resamples.
"""

from __future__ import annotations

import html.parser
import re
import shutil
import subprocess

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis.plots.compare import MIN_PRINT_PT, PRINT_WIDTH_IN
from analysis.runner import run_report
from analysis.simulate import CampaignSpec, simulate_campaign
from tests.conftest import ROOT

pytestmark = pytest.mark.notebooks

#: the print style's page (A4) and side margins, in mm (analysis.export._PRINT_CSS)
PAGE_MM, MARGIN_MM = 210.0, 12.0
DPI = 40

LONG_HOST = "kvm-host-a.rack42.row7.frankfurt-datacentre-2.example-hypervisors.internal"
LONG_KERNEL = "6.1.0-18-amd64+venet.experimental.2024.03.17.gcc12.build4711.with.debug.symbols"
SPEC = CampaignSpec(
    name="long",
    baseline="virtio-net+vhost-net-multiqueue-4",
    candidate="alacrityvm-venet-experimental-zero-copy",
    tests=("TCP_STREAM", "TCP_RR"),
    stream_msg_sizes_bytes=(64, 16384),
    pinnings=("split", "same-core"),
    trials=4,
    true_ratio={("TCP_STREAM", 64): 1.15},
)


def _tools():
    missing = [t for t in ("pdftoppm", "pdftotext", "pdfimages") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{missing} not found: install poppler-utils (make poppler)")


def _long_campaign(path):
    folder = simulate_campaign(path, SPEC, seed=5)
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    manifest["host"] = LONG_HOST
    manifest["host_kernel"] = LONG_KERNEL
    manifest["guest_kernel"] = LONG_KERNEL.replace("amd64", "guest")
    manifest.to_csv(folder / "manifest.csv", index=False)
    return folder


@pytest.fixture(scope="module", params=["demo", "long strings"])
def summary(request, tmp_path_factory):
    _tools()
    root = tmp_path_factory.mktemp("pdf")
    folder = ROOT / "data" / "raw" / "demo" if request.param == "demo" else _long_campaign(root / "raw" / "long")
    models = {} if request.param == "demo" else {"baseline": SPEC.baseline, "candidate": SPEC.candidate}
    res = run_report(folder, out_dir=root / "reports", notebooks=["06_summary"], **models,
                     parameters={"n_resamples": "999"}, progress=False)
    return res


class _Cells(html.parser.HTMLParser):
    """Text of every ``<th>``/``<td>`` in an HTML fragment."""

    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self._buf: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._buf = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._buf is not None:
            self.cells.append("".join(self._buf))
            self._buf = None

    def handle_data(self, data):
        if self._buf is not None:
            self._buf.append(data)


def _squash(text: str) -> str:
    return re.sub(r"[\s\u00a0\u200b\u00ad]+", "", text)


def _table_cells(notebook) -> list[str]:
    nb = nbformat.read(str(notebook), as_version=4)
    parser = _Cells()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parser.feed(out.get("data", {}).get("text/html", ""))
    return parser.cells


def test_nothing_drawn_in_the_right_margin(summary, tmp_path):
    from PIL import Image

    subprocess.run(["pdftoppm", "-gray", "-r", str(DPI), str(summary.pdf), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.pgm"))
    assert pages
    for page in pages:
        img = np.asarray(Image.open(page))
        px_per_mm = img.shape[1] / PAGE_MM
        edge = int(np.ceil((PAGE_MM - MARGIN_MM + 1.0) * px_per_mm))  # 1 mm of anti-aliasing slack
        ink = np.argwhere(img[:, edge:] < 200)
        assert ink.size == 0, (f"{page.name}: ink in the right margin at x = "
                               f"{(edge + ink[:, 1].max()) / px_per_mm:.1f} mm (text ends at {PAGE_MM - MARGIN_MM} mm)")
        assert (img[:, : edge - 1] < 200).any()  # the page has content at all


def test_every_table_cell_is_in_the_text(summary):
    # -raw: content-stream order, in which WeasyPrint draws a table cell by cell (so a wrapped cell stays whole)
    text = _squash(subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(summary.pdf), "-"], check=True,
                                  capture_output=True, text=True).stdout)
    cells = [c for c in (_squash(c) for c in _table_cells(summary.notebooks[-1])) if c]
    assert len(cells) > 100  # verdict, findings, effects, campaign and not-compared tables
    missing = [c for c in cells if c not in text]
    assert not missing, f"{len(missing)} table cells not in the PDF text, e.g. {missing[:5]}"
    assert "\u2026" not in text  # no finding ellipsized
    if "long" in str(summary.pdf):
        assert _squash(LONG_HOST) in text and _squash(LONG_KERNEL) in text


def test_forest_plot_spans_the_text_width(summary):
    out = subprocess.run(["pdfimages", "-list", str(summary.pdf)], check=True, capture_output=True,
                         text=True).stdout.splitlines()[2:]
    widths_in = [int(f[3]) / float(f[12]) for f in (line.split() for line in out)]  # pixels / x-ppi
    widest = max(widths_in)
    assert widest == pytest.approx(PRINT_WIDTH_IN, rel=0.02)
    # the figure is made PRINT_WIDTH_IN wide, so its smallest font prints at its own size
    assert MIN_PRINT_PT * widest / PRINT_WIDTH_IN >= 8.0
