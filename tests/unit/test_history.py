"""analysis.history: version order, change points (Apache Otava), the verdict over time, one-model series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from packaging.version import Version

from analysis import archive
from analysis.history import (
    HistoryResult,
    detect_changes,
    history,
    model_history,
    order_campaigns,
    version_key,
)
from analysis.simulate import ArchiveSpec, CampaignSpec, simulate_archive

pytestmark = pytest.mark.unit

VERSIONS = tuple(f"6.1.{i}" for i in range(1, 13))
SPEC = ArchiveSpec(n_campaigns=12, versions=VERSIONS, change_at="6.1.8",
                   campaign=CampaignSpec(name="nightly", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 16384),
                                         trials=5, cv=0.02))
BASE, CAND = SPEC.campaign.baseline, SPEC.campaign.candidate


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    base = tmp_path_factory.mktemp("hist")
    folders = simulate_archive(base / "raw", SPEC, seed=5)
    archive.add(folders[::-1], base / "archive")  # added out of order: the history orders them itself
    return base / "archive"


@pytest.fixture(scope="module")
def result(store) -> HistoryResult:
    return history(store, baseline=BASE, candidate=CAND, metrics=["throughput_bps"], n_resamples=999, seed=1)


def test_versions_sort_as_versions_like_packaging():
    versions = ["6.1.10", "6.1.9", "6.10.1", "6.2", "5.19.17", "6.1.100"]
    assert sorted(versions, key=version_key) == sorted(versions, key=Version)
    kernels = ["6.1.0-13-amd64", "6.1.0-9-amd64", "6.1.0-10-amd64", "6.1.0-9-cloud-amd64"]
    assert sorted(kernels, key=version_key) == ["6.1.0-9-amd64", "6.1.0-9-cloud-amd64", "6.1.0-10-amd64",
                                                "6.1.0-13-amd64"]


def test_order_campaigns_and_its_errors():
    frame = pd.DataFrame({"campaign": ["a", "b", "c"], "guest_kernel": ["6.1.10", "6.1.9", "6.1.9"],
                          "first_start_utc": pd.to_datetime(["2026-01-03", "2026-01-01", "2026-01-02"], utc=True)})
    assert order_campaigns(frame, "guest_kernel")["campaign"].tolist() == ["b", "c", "a"]
    assert order_campaigns(frame, "date")["campaign"].tolist() == ["b", "c", "a"]
    with pytest.raises(ValueError, match=r"order_by: 'qemu_version' is not a campaign-level column"):
        order_campaigns(frame, "qemu_version")
    frame.loc[1, "guest_kernel"] = None
    with pytest.raises(ValueError, match=r"campaign\(s\) \['b'\] have no single value of 'guest_kernel'"):
        order_campaigns(frame, "guest_kernel")


def test_detect_changes_finds_a_step_and_is_deterministic():
    rng = np.random.default_rng(3)
    x = np.r_[0.8 + rng.normal(0, 0.02, 15), 1.0 + rng.normal(0, 0.02, 15)]
    found = detect_changes(x)
    assert [c.index for c in found] == [15]
    assert found[0].mean_before == pytest.approx(x[:15].mean()) and found[0].mean_after == pytest.approx(x[15:].mean())
    assert detect_changes(x) == found
    assert detect_changes(rng.normal(1.0, 0.02, 30)) == ()
    assert detect_changes([1.0, 0.8, 1.0]) == ()
    with pytest.raises(ValueError, match=r"max_pvalue: expected a probability"):
        detect_changes(x, max_pvalue=0)
    with pytest.raises(ValueError, match=r"values: expected a one-dimensional series"):
        detect_changes(np.ones((3, 3)))


def test_history_finds_the_planted_change_and_says_so(result):
    by = result.by
    assert set(by) <= set(result.effects.columns)  # the cell keys compare reported, whatever they are
    assert result.effects["campaign"].nunique() == 12 and result.effects["order_value"].iloc[0] == "6.1.1"
    small = result.effects[result.effects["msg_size_bytes"] == 64]
    assert small["cell"].nunique() == 1
    cell = small["cell"].iloc[0]
    ch = result.changes[result.changes["cell"] == cell]
    assert len(ch) == 1 and abs(VERSIONS.index(ch["version"].item()) - VERSIONS.index("6.1.8")) <= 1
    assert ch["ratio_before"].item() == pytest.approx(0.80, abs=0.03)
    assert ch["ratio_after"].item() == pytest.approx(1.00, abs=0.03)
    statement = result.statements.set_index("cell").loc[cell, "statement"]
    v = ch["version"].item()
    assert statement.startswith(f"slower until {v}; equivalent within ±5 % from version {v} on")
    flat = result.statements[result.statements["cell"] != cell]["statement"].item()
    assert flat == "equivalent within ±5 % in every version from 6.1.1 to 6.1.12 (no change point)"
    assert result.changes["cell"].tolist() == [cell]
    seg = result.segments[result.segments["cell"] == cell]
    assert seg["verdict"].tolist() == ["slower", "equivalent"] and seg["n_campaigns"].sum() == 12


def test_history_effects_are_compare_results(store, result):
    from analysis.compare import compare

    one = compare(archive.load_campaign(store, "nightly-6.1.3-r1"), baseline=BASE, candidate=CAND,
                  metrics=["throughput_bps"], n_resamples=999, rng=1).to_frame()
    got = result.effects[result.effects["campaign"] == "nightly-6.1.3-r1"].reset_index(drop=True)
    for col in ["estimate", "ci_low", "ci_high", "verdict", "cell"]:
        assert got[col].tolist() == one[col].tolist()


def _subset(store, dst, names):
    """A smaller archive: a partition is a self-contained folder, copied as it is."""
    import shutil

    for n in names:
        shutil.copytree(store / f"campaign={n}", dst / f"campaign={n}")
    return dst


def test_a_campaign_without_the_models_is_a_note(store, tmp_path):
    from analysis.simulate import simulate_campaign

    other = _subset(store, tmp_path / "archive", ["nightly-6.1.1-r1", "nightly-6.1.2-r1"])

    raw = simulate_campaign(tmp_path / "other", CampaignSpec(baseline="a", candidate="b", trials=2,
                                                             tests=("TCP_STREAM",)), seed=1)
    c = archive.add(raw, other)
    assert c.entries[0].action == "added"
    with pytest.raises(ValueError, match=r"order_by: campaign\(s\) \['other'\] have no single value"):
        history(other, baseline=BASE, candidate=CAND, n_resamples=999)
    res = history(other, baseline=BASE, candidate=CAND, order_by="date", metrics=["throughput_bps"],
                  n_resamples=999)
    assert res.notes == ("campaign other: no runs of ['virtio-net+vhost', 'venet']; it has ['a', 'b']",)


def test_model_history_follows_one_model(store):
    cand = model_history(store, model=CAND, metric="throughput_bps")
    assert set(cand.changes["cell"]) == {"netperf TCP_STREAM 64 split"}
    assert cand.changes["version"].tolist() in (["6.1.7"], ["6.1.8"], ["6.1.9"])
    ratio = cand.changes["ratio_after"].item() / cand.changes["ratio_before"].item()
    assert ratio == pytest.approx(1.25, rel=0.05)
    base = model_history(store, model=BASE, metric="throughput_bps")
    assert base.changes.empty and set(base.effects["n"]) == {5}
    with pytest.raises(ValueError, match=r"no campaign .* has 'throughput_bps' runs of 'nope'"):
        model_history(store, model="nope", metric="throughput_bps")


def test_history_plots(result):
    from analysis.plots import history_plot, verdict_heatmap

    fig = history_plot(result)
    assert len([a for a in fig.axes if a.get_visible()]) == 2
    labels = [t.get_text() for a in fig.axes for t in a.texts]
    assert labels == [f"change at {result.changes['version'].item()}"]
    heat = verdict_heatmap(result)
    img = heat.axes[0].images[0].get_array()
    assert img.shape == (2, 12)
    with pytest.raises(TypeError, match="expected an analysis.history.HistoryResult"):
        history_plot("x")


def test_history_fans_out_on_a_dask_client(store, result, tmp_path):
    from distributed import Client, LocalCluster

    names = [f"nightly-6.1.{i}-r1" for i in (6, 7, 8, 9)]
    small = _subset(store, tmp_path / "archive", names)
    # in-process workers: the fan-out is under test (worker processes are, in test_report_dask), not imports
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        got = history(small, baseline=BASE, candidate=CAND, metrics=["throughput_bps"], n_resamples=999, seed=1,
                      client=client)
    want = result.effects[result.effects["campaign"].isin(names)].reset_index(drop=True)
    cols = ["campaign", "order_value", "cell", "estimate", "ci_low", "ci_high", "verdict"]
    pd.testing.assert_frame_equal(got.effects[cols], want[cols])
