"""Validity of two-lab comparisons: confounded cells never decide, bridged intervals cover, A/A stays quiet.

Each simulated dispute has two labs, each on its own host with a host effect drawn in 0.8-1.2x: lab A runs the
candidate (venet) and lab B the baseline (virtio-net + vhost). *With a bridge* both labs also run the plain
virtio-net reference; *without* they run differently named references, so nothing is shared.

* through the pipeline (simulate -> load the sides folder -> compare): without a bridge every cell is
  "confounded" (never faster / slower / equivalent); with a bridge and no true difference (A/A across labs) no
  cell is faster or slower, and every bridged interval covers the truth at the simultaneous level;
* on the estimator itself (:func:`analysis.bridge.bridge_ratio` on lognormal draws from the same generating model,
  2-5 runs per group, CV 3 %): the 95 % bridged CI covers the true ratio 93.5-96.5 % of the time at full size
  (4,000 draws per n); the A/A family-wise rate of any faster/slower over 4 cells at Bonferroni level is <= alpha.

Reduced size in ``make test`` (binomial bounds a correct procedure fails with probability < 0.1 %), full with
``PVFAIR_FULL=1`` (``make validity``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.bridge import bridge_ratio
from analysis.compare import compare
from analysis.ingest import load_campaign
from analysis.simulate import CampaignSpec, simulate_campaign
from tests.conftest import FULL
from tests.validity.calls import CALLS

pytestmark = pytest.mark.validity

ALPHA = 0.05
DRAWS = 4000 if FULL else 300
CAMPAIGNS = 20 if FULL else 2
CELLS = 4
VENET, VHOST = "venet", "virtio-net+vhost"
RATIOS_A = {("TCP_STREAM", 64): 1.3, ("TCP_STREAM", 16384): 1.0, ("TCP_RR", 1): 1.2}


def _dispute(root, seed: int, *, bridge: bool, aa: bool, trials: int = 4):
    rng = np.random.default_rng(seed)
    h_a, h_b = rng.uniform(0.8, 1.2, 2)
    ref_a, ref_b = ("virtio-net", "virtio-net") if bridge else ("virtio-net-a", "virtio-net-b")
    ratios_b = RATIOS_A if aa else {k: 1.0 for k in RATIOS_A}
    common = dict(tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 16384), trials=trials, cv=0.03)
    simulate_campaign(root / "lab-a", CampaignSpec(baseline=ref_a, candidate=VENET, true_ratio=RATIOS_A,
                                                   host="host-a", host_effect=float(h_a),
                                                   roles={VENET: "candidate"}, **common), seed=seed)
    simulate_campaign(root / "lab-b", CampaignSpec(baseline=ref_b, candidate=VHOST, true_ratio=ratios_b,
                                                   host="host-b", host_effect=float(h_b),
                                                   roles={VHOST: "baseline"}, **common), seed=seed + 1)
    truth = {k: RATIOS_A[k] / ratios_b[k] for k in RATIOS_A}
    res = compare(load_campaign(root, cache=False), baseline=VHOST, candidate=VENET, n_resamples=199, rng=seed)
    return res, truth


def test_confounded_cells_never_decide_without_a_bridge(tmp_path):
    for s in range(CAMPAIGNS):
        res, _ = _dispute(tmp_path / f"nb{s}", 100 + 2 * s, bridge=False, aa=False)
        t = res.table
        assert (t["verdict"] == "confounded").all(), t[["cell", "verdict"]]
        assert t["verdict_label"].str.startswith("confounded with host").all()
        assert t["bridge_plan"].str.len().gt(0).all()
    print(f"two-lab pipeline without a bridge: {CAMPAIGNS} campaigns, every cell 'confounded with host'")


def test_bridged_pipeline_covers_truth_and_aa_stays_quiet(tmp_path):
    covered = total = false_calls = 0
    for s in range(CAMPAIGNS):
        for aa in (False, True):
            res, truth = _dispute(tmp_path / f"b{s}{aa}", 300 + 2 * s, bridge=True, aa=aa)
            t = res.table
            assert (t["headline"] == "bridged").all()
            for r in t.itertuples():
                true = truth[(r.test, int(r.msg_size_bytes))]
                covered += r.ci_low <= true <= r.ci_high
                total += 1
            if aa:
                false_calls += bool(t["verdict"].isin(CALLS).any())
    print(f"two-lab pipeline, host effects 0.8-1.2x: bridged CIs cover the truth in {covered} of {total} cells; "
          f"A/A campaigns with any faster/slower: {false_calls} of {CAMPAIGNS}")
    # a simultaneous interval misses in at most alpha of campaigns; per interval far less
    assert covered >= total - max(1, int(stats.binom.ppf(0.999, total, ALPHA / 3)))
    assert false_calls <= stats.binom.ppf(0.999, CAMPAIGNS, ALPHA)


def _draws(rng, n: int, ratio: np.ndarray, host: np.ndarray, cv: float = 0.03):
    size = (len(ratio), n)
    c = np.log(ratio)[:, None] + rng.normal(0, cv, size)        # candidate on host A (host A = 1)
    ra = rng.normal(0, cv, size)                                  # reference on host A
    b = np.log(host)[:, None] + rng.normal(0, cv, size)          # baseline on host B
    rb = np.log(host)[:, None] + rng.normal(0, cv, size)         # reference on host B
    return np.exp(c), np.exp(b), np.exp(ra), np.exp(rb)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_bridged_ci_coverage(n):
    rng = np.random.default_rng(1500 + n)
    ratio, host = rng.uniform(0.8, 1.25, DRAWS), rng.uniform(0.8, 1.2, DRAWS)
    c, b, ra, rb = _draws(rng, n, ratio, host)
    hits = 0
    for i in range(DRAWS):
        lo, hi = bridge_ratio(c[i], b[i], {"ref": (ra[i], rb[i])}, confidence_level=0.95).confidence_interval
        hits += lo <= ratio[i] <= hi
    cov = hits / DRAWS
    print(f"bridged 95 % CI coverage, n = {n} per group, host 0.8-1.2x: {100 * cov:.1f} % ({DRAWS} draws)")
    if FULL:
        assert 0.935 <= cov <= 0.965
    else:
        lo_b, hi_b = stats.binom.ppf([0.0005, 0.9995], DRAWS, 0.95) / DRAWS
        assert lo_b - 0.015 <= cov <= hi_b + 0.015


@pytest.mark.parametrize("n", [2, 3, 5])
def test_aa_across_labs_through_a_bridge(n):
    """No true difference in any of 4 cells: any faster/slower at the Bonferroni level in <= alpha of disputes."""
    rng = np.random.default_rng(2500 + n)
    level = 1 - ALPHA / CELLS
    disputes = DRAWS // 2
    any_call = 0
    for _ in range(disputes):
        host = rng.uniform(0.8, 1.2, CELLS)
        c, b, ra, rb = _draws(rng, n, np.ones(CELLS), host)
        calls = [not (lo <= 1 <= hi) for lo, hi in
                 (bridge_ratio(c[k], b[k], {"ref": (ra[k], rb[k])}, confidence_level=level).confidence_interval
                  for k in range(CELLS))]
        any_call += any(calls)
    rate = any_call / disputes
    print(f"A/A across labs through a bridge, n = {n}: family-wise faster/slower rate {100 * rate:.1f} %")
    assert any_call <= stats.binom.ppf(0.999, disputes, ALPHA)
