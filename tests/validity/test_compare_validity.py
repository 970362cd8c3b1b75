"""Validity of compare() and fit_model() on simulated campaigns with a known truth (analysis.simulate).

* coverage: planted ratios with a clock confound (half the candidate's runs at 1600 MHz): the headline CI of every
  cell and the model's 95 % effect per message size cover the true ratio in >= 90 % of seeds;
* A/A: no true difference: the share of campaigns with any faster/slower verdict (within the margin or not,
  :data:`tests.validity.calls.CALLS`) stays at the family-wise rate;
* wire-bound cells with a low-clock model: no false verdict there, although per-GHz division suggests one.

Reduced size in ``make test`` (a few seeds; bounds from the binomial distribution so that a procedure with the
nominal rate fails with probability < 0.1 %); full size (200 seeds) with ``PVFAIR_FULL=1`` (``make validity``).
Full-size figures: coverage of the simultaneous CI 97.5-99.5 % per cell, of the model's 95 % interval 94.5-97.5 %
(the confounded raw ratio is biased to 0.82 on the CPU-bound cells, the headline to 1.000-1.002); A/A 15 of 200
campaigns (7.5 %) with a faster/slower call of either kind, 9 (4.5 %) beyond the margin (Monte-Carlo noise, issue
16, scripts/aa_familywise.py: on every one of these campaigns compare's verdicts equal a paired t on the loaded
values with Holm, exact rate 1 - (1 - 0.05/5)^5 = 4.90 %; the simulator's values over 6000 seeds give 4.78 %,
SE 0.28 %); wire-bound cells: a false verdict in 6 of 200 campaigns (3.0 %), while the per-GHz ratio shows a
"gain" above 1.15 in all 200.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.compare import compare
from analysis.ingest import load_campaign
from analysis.simulate import CampaignSpec, simulate_campaign, true_ratios
from tests.conftest import FULL
from tests.validity.calls import CALLS

pytestmark = pytest.mark.validity

BASE, CAND = "virtio-net+vhost", "venet"
SEEDS = 200 if FULL else 6
ALPHA = 0.05
N_RESAMPLES = 1999 if FULL else 999

COVERAGE_SPEC = CampaignSpec(
    name="cov",
    tests=("TCP_STREAM", "TCP_RR"),
    stream_msg_sizes_bytes=(64, 1024, 16384),
    trials=6,
    true_ratio={("TCP_STREAM", 64): 1.20, ("TCP_STREAM", 1024): 1.10, ("TCP_STREAM", 16384): 1.0, ("TCP_RR", 1): 0.9},
    low_clock=(CAND, 0.5, 1600.0),
)
AA_SPEC = CampaignSpec(name="aa", tests=("TCP_STREAM", "TCP_RR", "UDP_RR"), stream_msg_sizes_bytes=(64, 1024, 16384),
                       trials=5)
WIRE_SPEC = CampaignSpec(
    name="wire",
    tests=("TCP_STREAM",),
    stream_msg_sizes_bytes=(64, 16384, 65536),
    trials=6,
    true_ratio={("TCP_STREAM", 64): 1.15},
    low_clock=(CAND, 0.5, 1600.0),
)


def _run(spec: CampaignSpec, tmp_path_factory, seeds: int) -> list:
    out = []
    root = tmp_path_factory.mktemp(spec.name)
    for seed in range(seeds):
        camp = load_campaign(simulate_campaign(root / f"s{seed}", spec, seed=1000 + seed))
        out.append(compare(camp, baseline=BASE, candidate=CAND, n_resamples=N_RESAMPLES, rng=seed))
    return out


def _min_covered(n: int, coverage: float = 0.90) -> int:
    """Fewest covering CIs out of n a procedure with *coverage* shows with probability >= 99.9 %."""
    return 0 if n == 0 else int(stats.binom.ppf(0.001, n, coverage))


def _max_errors(n: int, rate: float = ALPHA) -> int:
    """Most campaigns with a false verdict out of n a procedure with error *rate* shows with prob. >= 99.9 %."""
    return int(stats.binom.ppf(0.999, n, rate))


@pytest.fixture(scope="module")
def coverage_runs(tmp_path_factory):
    return _run(COVERAGE_SPEC, tmp_path_factory, SEEDS)


def test_compare_and_model_cover_planted_ratios(coverage_runs):
    truth = true_ratios(COVERAGE_SPEC)
    truth = truth[truth["metric"].isin(["throughput_bps", "transactions_per_s"])]
    rows = []
    for res in coverage_runs:
        t = res.to_frame().merge(truth, on=["test", "msg_size_bytes", "pinning", "metric"])
        assert len(t) == 4
        for _, r in t.iterrows():
            model = res.models[r["metric"]]
            # the model at 95 %: refit-free, from its log effect and standard error
            e = model.effect(r["test"], int(r["msg_size_bytes"]))
            q = stats.t.ppf(0.975, e["df"]) if np.isfinite(e["df"]) else stats.norm.ppf(0.975)
            m_lo, m_hi = np.exp(e["log_effect"] - q * e["standard_error"]), np.exp(e["log_effect"] + q * e["standard_error"])
            rows.append({
                "cell": f"{r['test']} {r['msg_size_bytes']}",
                "headline": r["headline"],
                "compare": r["ci_low"] <= r["true_ratio"] <= r["ci_high"],
                "model": m_lo <= r["true_ratio"] <= m_hi,
                "raw": r["raw_ci_low"] <= r["true_ratio"] <= r["raw_ci_high"],
                "raw_bias": r["raw_estimate"] / r["true_ratio"],
                "bias": r["estimate"] / r["true_ratio"],
            })
    df = pd.DataFrame(rows)
    table = df.groupby("cell")[["compare", "model", "raw", "bias", "raw_bias"]].mean()
    print(f"\ncoverage over {SEEDS} seeds (compare: simultaneous CI; model: 95 %; raw: confounded) and mean "
          f"estimate / truth\n{table}")
    assert (df["headline"] == "model-adjusted").mean() > 0.9
    for cell, g in df.groupby("cell"):
        need = _min_covered(len(g)) if not FULL else int(np.ceil(0.90 * len(g)))
        assert g["compare"].sum() >= need, (cell, g["compare"].mean())
        assert g["model"].sum() >= need, (cell, g["model"].mean())
    # the confound is real: the raw ratio of a CPU-bound cell is biased low by about a sixth (half the runs at
    # 2/3 of the clock), the headline is not
    assert table.loc["TCP_STREAM 64", "raw_bias"] < 0.9
    assert table.loc["TCP_STREAM 64", "bias"] == pytest.approx(1.0, abs=0.03)


def test_aa_campaigns_stay_within_the_familywise_rate(tmp_path_factory):
    runs = _run(AA_SPEC, tmp_path_factory, SEEDS)
    any_false = [bool(r.to_frame()["verdict"].isin(CALLS).any()) for r in runs]
    strict = sum(bool(r.to_frame()["verdict"].isin(["faster", "slower"]).any()) for r in runs)
    n_cells = len(runs[0].to_frame())
    print(f"\nA/A: {sum(any_false)} of {len(runs)} campaigns ({n_cells} cells each) with a faster/slower verdict "
          f"(within margin or not; {strict} with faster/slower beyond the margin)")
    assert sum(any_false) <= _max_errors(len(runs))


def test_wire_bound_cells_with_a_low_clock_model_get_no_false_verdict(tmp_path_factory):
    runs = _run(WIRE_SPEC, tmp_path_factory, SEEDS)
    false_verdict, per_ghz_trap = [], []
    for r in runs:
        t = r.to_frame()
        wire = t[t["msg_size_bytes"].isin([16384, 65536])]
        assert len(wire) == 2
        false_verdict.append(bool(wire["verdict"].isin(CALLS).any()))
        per_ghz_trap.append(bool((wire["per_ghz_estimate"] > 1.15).all()))
    print(f"\nwire-bound: false verdicts in {sum(false_verdict)} of {len(runs)} campaigns; per-GHz ratios above "
          f"1.15 (a 'gain' made by the division alone; expected 1.25) in {sum(per_ghz_trap)}")
    assert sum(false_verdict) <= _max_errors(len(runs))
    assert sum(per_ghz_trap) >= 0.9 * len(runs)  # the trap the headline choice avoids
