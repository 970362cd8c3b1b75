"""Validity of the history's change points with a known truth.

* planted change: the series of per-campaign ratios of an archive whose ratio steps from 0.80 to 1.00 at one
  version (as :func:`analysis.simulate.simulate_archive` plants it) has its change point found at that version
  ±1 in at least 90 % of 50 seeds;
* flat series (true ratio 1 everywhere): a false change point in at most 5 % of 50 seeds.

Each campaign's ratio is the ratio of the two models' mean rates over n runs each with log-normal noise (the
generating model of :mod:`analysis.simulate`, and compare's default "mean" effect), for n = 2, 3 and 5 runs per
model, one campaign per version (40 points) and five per version (200 points, the issue's archive). An end-to-end
run (simulated raw campaigns -> archive -> compare -> history) over several seeds is in the full size only
(``PVFAIR_FULL=1``); ``tests/unit/test_history.py`` runs it on one seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.history import detect_changes
from tests.conftest import FULL

pytestmark = pytest.mark.validity

SEEDS = 50
N_VERSIONS, CHANGE_AT = 40, 25  # 0-based index of the first version with the new ratio


def _ratios(rng, n_versions, per_version, n_runs, cv, before, after):
    rows = []
    for v in range(n_versions):
        r = before if v < CHANGE_AT else after
        for _ in range(per_version):
            base = np.exp(rng.normal(0.0, cv, n_runs))
            cand = np.exp(rng.normal(np.log(r), cv, n_runs))
            rows.append((v, cand.mean() / base.mean()))
    return np.array([v for v, _ in rows]), np.array([x for _, x in rows])


CASES = [(1, 2, 0.05), (1, 3, 0.03), (1, 5, 0.03), (5, 3, 0.03)]


@pytest.mark.parametrize(("per_version", "n_runs", "cv"), CASES)
def test_planted_change_found_at_its_version(per_version, n_runs, cv):
    hits = 0
    for seed in range(SEEDS):
        rng = np.random.default_rng([2026, per_version, n_runs, seed])
        version, x = _ratios(rng, N_VERSIONS, per_version, n_runs, cv, 0.80, 1.00)
        found = [version[c.index] for c in detect_changes(x)]
        hits += any(abs(v - CHANGE_AT) <= 1 for v in found)
    assert hits >= 0.9 * SEEDS, f"planted change found in {hits} of {SEEDS} seeds"


@pytest.mark.parametrize(("per_version", "n_runs", "cv"), CASES)
def test_flat_series_rarely_change(per_version, n_runs, cv):
    false = 0
    for seed in range(SEEDS):
        rng = np.random.default_rng([2027, per_version, n_runs, seed])
        _, x = _ratios(rng, N_VERSIONS, per_version, n_runs, cv, 1.0, 1.0)
        false += len(detect_changes(x)) > 0
    assert false <= 0.05 * SEEDS, f"false change in {false} of {SEEDS} flat series"


@pytest.mark.skipif(not FULL, reason="end to end over simulated archives: PVFAIR_FULL=1")
def test_end_to_end_planted_change(tmp_path):
    from analysis import archive
    from analysis.history import history
    from analysis.simulate import ArchiveSpec, CampaignSpec, simulate_archive

    spec = ArchiveSpec(n_campaigns=40, campaign=CampaignSpec(name="n", tests=("TCP_STREAM",),
                                                            stream_msg_sizes_bytes=(64, 16384), trials=3, cv=0.03))
    seeds, hits, false = 10, 0, 0
    for seed in range(seeds):
        folders = simulate_archive(tmp_path / f"raw{seed}", spec, seed=seed)
        archive.add(folders, tmp_path / f"a{seed}")
        res = history(tmp_path / f"a{seed}", baseline=spec.campaign.baseline, candidate=spec.campaign.candidate,
                      metrics=["throughput_bps"], n_resamples=999, seed=seed)
        small = res.changes[res.changes["cell"].str.contains("msg_size_bytes=64,")]
        versions = [spec.versions.index(v) for v in small["version"]]
        hits += any(abs(v - spec.versions.index(spec.change_at)) <= 1 for v in versions)
        false += len(res.changes) - len(small) > 0
    assert hits >= 0.9 * seeds and false <= 1
