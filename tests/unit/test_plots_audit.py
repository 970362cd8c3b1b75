"""analysis.plots.audit: each plot returns a Figure with the expected artists."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from analysis.audit import audit
from analysis.ingest import Campaign
from analysis.plots import coverage_matrix_plot, cpu_mhz_plot, drift_plot, love_plot
from analysis.schema import MEASUREMENT_COLUMNS, REJECT_COLUMNS, RUN_COLUMNS, coerce_frame, empty_frame

matplotlib.use("Agg")
pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    """2 models x 2 cells x 6 runs, interleaved; model B runs 4 of its TCP_RR runs at 1600 MHz; one cell B-only."""
    rng = np.random.default_rng(5)
    runs, ms = [], []
    plan = [(t, m) for _ in range(6) for t in ("TCP_RR", "UDP_RR") for m in ("A", "B")] + [("TCP_CRR", "A")] * 3
    for i, (test, model) in enumerate(plan):
        low = model == "B" and test == "TCP_RR" and sum(1 for r in runs if r["pv_model"] == "B"
                                                          and r["test"] == "TCP_RR") < 4
        mhz = 1600.0 if low else 2400.0
        runs.append({"run_id": f"r{i:02d}", "pv_model": model, "tool": "netperf", "test": test, "msg_size_bytes": 1,
                     "pinning": "split", "cpu_mhz": mhz + rng.normal(0, 2), "order_index": i, "streams": 1,
                     "governor": "performance", "duration_s": 10.0})
        ms.append((f"r{i:02d}", "transactions_per_s", 1e4 * mhz / 2400 * np.exp(0.02 * rng.standard_normal())))
    r = pd.DataFrame(runs)
    for col, dtype in RUN_COLUMNS.items():  # coerce_frame cannot fill a missing float64 column with <NA>
        if col not in r.columns and dtype == "float64":
            r[col] = np.nan
    r.loc[r["run_id"] == "r00", "cpu_mhz"] = np.nan  # one run without a clock
    return Campaign("p", coerce_frame(r, RUN_COLUMNS, name="runs"),
                    coerce_frame(pd.DataFrame(ms, columns=["run_id", "metric", "value"]), MEASUREMENT_COLUMNS,
                                 name="measurements"), empty_frame({}), empty_frame(REJECT_COLUMNS))


def _points(ax) -> int:
    return sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets"))


def test_love_plot(campaign):
    result = audit(campaign, baseline="A", candidate="B")
    fig = love_plot(result)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    bal = result.balance[result.balance["smd"].notna()]
    assert _points(ax) == len(bal)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        f"{c} (mix)" if k == "category" else c for c, k in zip(bal["covariate"], bal["kind"], strict=True)]
    thresholds = [ln.get_xdata()[0] for ln in ax.get_lines()]
    assert thresholds == [0.1]
    # cpu_mhz is flagged (red), streams is balanced
    red = [c for c in ax.collections if c.get_label() == "flagged"]
    assert red and len(red[0].get_offsets()) >= 1


def test_love_plot_marks_infinite_difference(campaign):
    r = campaign.runs.copy()
    r.loc[r["pv_model"] == "B", "streams"] = 4  # constant within each model, different between them: inf
    result = audit(dataclasses.replace(campaign, runs=r), baseline="A", candidate="B")
    ax = love_plot(result).axes[0]
    assert [t.get_text() for t in ax.texts] == ["inf"]
    assert any(c.get_paths() and c.get_offsets()[0][0] == pytest.approx(ax.get_xlim()[1] / 1.08)
               for c in ax.collections)


def test_drift_plot(campaign):
    fig = drift_plot(campaign, "transactions_per_s")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [_points(ax) for ax in fig.axes] == [15, 12]  # A: 12 + 3 TCP_CRR, B: 12
    assert [ax.get_title() for ax in fig.axes] == ["transactions_per_s: A", "transactions_per_s: B"]
    assert all(len(ax.get_lines()) == 2 for ax in fig.axes)  # the trend line per model and the zero line
    # values are % from their cell x model x clock-band mean: they average to 0 in each panel
    for ax in fig.axes:
        y = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
        assert abs(y.mean()) < 1e-9
    one = drift_plot(campaign, "transactions_per_s", by_model=False)
    assert len(one.axes) == 1 and _points(one.axes[0]) == 27
    assert [t.get_text() for t in one.axes[0].get_legend().get_texts()] == ["A", "B"]


def test_cpu_mhz_plot(campaign):
    fig = cpu_mhz_plot(campaign)
    ax = fig.axes[0]
    assert _points(ax) == 26  # 27 runs, one without a clock
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A\n(n=15, 1 unknown)", "B\n(n=12, 0 unknown)"]
    ys = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
    assert (ys < 1700).sum() == 4


def test_coverage_matrix_plot(campaign):
    fig = coverage_matrix_plot(campaign)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["netperf / TCP_CRR / 1 / split",
                                                            "netperf / TCP_RR / 1 / split",
                                                            "netperf / UDP_RR / 1 / split"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B"]
    assert [t.get_text() for t in ax.texts] == ["3", "0", "6", "6", "6", "6"]
    assert len(ax.patches) == 1  # the one empty (cell, model)
    assert ax.get_ylabel() == "tool / test / msg_size_bytes / pinning"


def test_plot_argument_errors(campaign):
    with pytest.raises(TypeError, match="audit_result: expected an analysis.audit.AuditResult"):
        love_plot(campaign)
    result = audit(campaign, baseline="A", candidate="B")
    with pytest.raises(ValueError, match="threshold: expected a positive number"):
        love_plot(result, threshold=0)
    with pytest.raises(ValueError, match=r"metric: 'latency_p99_s' is not measured in the campaign"):
        drift_plot(campaign, "latency_p99_s")
    with pytest.raises(TypeError, match="by_model: expected True or False"):
        drift_plot(campaign, "transactions_per_s", by_model="yes")
    with pytest.raises(ValueError, match=r"models: 'C' is not a pv_model of the campaign"):
        cpu_mhz_plot(campaign, models=["A", "C"])
    with pytest.raises(TypeError, match="campaign: expected an analysis.ingest.Campaign"):
        coverage_matrix_plot(campaign.runs)
    with pytest.raises(ValueError, match="campaign.runs: missing column 'colour'"):
        coverage_matrix_plot(campaign, by=("test", "colour"))
    no_order = dataclasses.replace(campaign, runs=campaign.runs.assign(order_index=pd.NA, start_time=pd.NaT))
    with pytest.raises(ValueError, match=r"campaign.runs: no run order \(order_index or start_time\)"):
        drift_plot(no_order, "transactions_per_s")
