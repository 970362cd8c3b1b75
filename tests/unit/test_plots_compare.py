"""analysis.plots.compare: figures from a CompareResult / ModelResult, checked on their artists."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis.compare import compare  # noqa: E402
from analysis.ingest import load_campaign  # noqa: E402
from analysis.plots import (  # noqa: E402
    VERDICT_COLORS,
    estimation_plot,
    forest_plot,
    metric_vs_size_plot,
    model_diagnostics_plot,
)
from tests.conftest import ROOT  # noqa: E402

pytestmark = pytest.mark.unit

CELL64 = "tool=netperf, test=TCP_STREAM, msg_size_bytes=64, pinning=split"


@pytest.fixture(scope="module")
def result():
    camp = load_campaign(ROOT / "data" / "raw" / "demo")
    return compare(camp, baseline="virtio-net+vhost", candidate="venet", n_resamples=499, rng=3)


def test_forest_plot_one_panel_per_test_with_band_and_cis(result):
    fig = forest_plot(result)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert [a.get_title(loc="left").split(":")[0] for a in axes] == ["TCP_RR", "TCP_STREAM", "UDP_RR"]
    stream = axes[1]
    t = result.table[result.table["test"] == "TCP_STREAM"].reset_index(drop=True)
    # one CI segment per cell, spanning exactly the table's CI
    segments = [ln for ln in stream.lines if len(ln.get_xdata()) == 2 and ln.get_linestyle() == "-"]
    spans = sorted((round(float(min(s.get_xdata())), 6), round(float(max(s.get_xdata())), 6)) for s in segments)
    assert spans == sorted(zip(t["ci_low"].round(6), t["ci_high"].round(6), strict=True))
    # the equivalence band
    band = [p for p in stream.patches if p.get_label().startswith("equivalence")]
    assert len(band) == 1
    x0, x1 = band[0].get_x(), band[0].get_x() + band[0].get_width()
    assert x0 == pytest.approx(1 / 1.05) and x1 == pytest.approx(1.05)
    labels = [tl.get_text() for tl in stream.get_yticklabels()]
    assert "netperf 64 B split (throughput_bps)" in labels
    texts = {tx.get_text() for tx in stream.texts}
    assert texts <= set(VERDICT_COLORS) and texts
    only = forest_plot(result, test="UDP_RR", show_raw=False)
    assert len(only.axes) == 1


def test_metric_vs_size_plot_raw_and_per_ghz_bands(result):
    fig = metric_vs_size_plot(result, test="TCP_STREAM")
    raw_ax, ghz_ax = fig.axes
    assert raw_ax.get_title(loc="left") == "throughput_bps" and "per GHz" in ghz_ax.get_title(loc="left")
    v = result.values.query("test == 'TCP_STREAM' and pv_model == 'venet'")
    line = next(ln for ln in raw_ax.lines if ln.get_label() == "venet")
    means = v.groupby("msg_size_bytes")["value"].mean()
    np.testing.assert_allclose(line.get_xdata(), means.index.to_numpy(float))
    np.testing.assert_allclose(line.get_ydata(), means.to_numpy())
    assert len(raw_ax.collections) == 2 and len(ghz_ax.collections) == 2  # one CI band per model


def test_estimation_plot_shows_runs_and_ratios(result):
    fig = estimation_plot(result, CELL64)
    ax_data, ax_eff = fig.axes
    row = result.table.set_index("cell").loc[CELL64]
    offsets = [c.get_offsets() for c in ax_data.collections if isinstance(c, PathCollection)]
    assert [len(o) for o in offsets] == [row["n_baseline"], row["n_candidate"]]
    assert row["verdict"] in ax_eff.get_title(loc="left")
    ys = [float(np.asarray(c.get_ydata())[0]) for c in ax_eff.lines if len(c.get_xdata()) == 1]
    assert any(y == pytest.approx(row["estimate"]) for y in ys)
    assert any(y == pytest.approx(row["raw_estimate"]) for y in ys)
    by_index = estimation_plot(result, int(result.table.index[result.table["cell"] == CELL64][0]))
    assert isinstance(by_index, Figure)


def test_model_diagnostics_plot(result):
    model = result.models["throughput_bps"]
    fig = model_diagnostics_plot(model, test="TCP_STREAM")
    ax_rf, ax_qq, ax_ck = fig.axes
    res = model.residuals[model.residuals["test"] == "TCP_STREAM"]
    assert sum(len(c.get_offsets()) for c in ax_rf.collections) == len(res)
    assert len(ax_qq.collections[0].get_offsets()) == len(res)
    assert f"({int(res['influential'].sum())} influential)" in ax_ck.get_title(loc="left")


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda r: forest_plot(pd.DataFrame()), TypeError, r"result: expected an analysis.compare.CompareResult"),
        (lambda r: forest_plot(r, test="TCP_CRR"), ValueError, r"test: \['TCP_CRR'\] not in the result"),
        (lambda r: metric_vs_size_plot(r, metric="latency_mean_s"), ValueError, r"metric: \['latency_mean_s'\]"),
        (lambda r: metric_vs_size_plot(r, confidence_level=2), ValueError, r"confidence_level: expected a number"),
        (lambda r: estimation_plot(r, "test=TCP_STREAM, msg_size_bytes=65536, pinning=split"), ValueError,
         r"cell: 'test=TCP_STREAM, msg_size_bytes=65536, pinning=split' \(metric None\) not in the result"),
        (lambda r: estimation_plot(r, 99), ValueError, r"cell: row index 99 out of range"),
        (lambda r: model_diagnostics_plot(r), TypeError, r"model: expected an analysis.model.ModelResult"),
        (lambda r: model_diagnostics_plot(r.models["throughput_bps"], test="UDP_RR"), ValueError,
         r"test: \['UDP_RR'\] not in the result"),
    ],
)
def test_bad_arguments(result, call, exc, match):
    with pytest.raises(exc, match=match):
        call(result)


def test_bad_result_layouts(result):
    from analysis.compare import CompareResult

    pooled = CompareResult(**{**result.__dict__, "values": result.values.drop(columns=["msg_size_bytes"])})
    with pytest.raises(ValueError, match=r"result: the comparison's cells must include 'test' and 'msg_size_bytes'"):
        metric_vs_size_plot(pooled)
    t = result.table
    two = pd.concat([t, t[t["cell"] == CELL64].assign(metric="packets_per_s")], ignore_index=True)
    twice = CompareResult(**{**result.__dict__, "table": two})
    with pytest.raises(ValueError, match=r"metric: cell '.*' has several metrics \['throughput_bps', 'packets_per_s'\]"):
        estimation_plot(twice, CELL64)
