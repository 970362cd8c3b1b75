"""compare() end to end (simulate -> ingest -> normalize -> audit -> compare) on the campaigns real benchmarkers
run: 3 runs per model per cell, one model at a lower clock, skewed pinning, rounds with drift.

* 14 cells (TCP_STREAM 64 B-16 KiB, TCP_RR, UDP_RR x 2 pinnings), 3 runs per model, true ratio 0.5, CV 10 %:
  at least 95 % of cells slower;
* the same design, ratio 1.0, CV 5 %: family-wise rate of any faster/slower verdict <= 5 % (>= 60 campaigns at
  full size);
* rounds with drift (interleaved, 6 rounds, both models drifting): the paired route's interval is narrower than
  the unpaired one's on the same campaign with its rounds removed, and A/A campaigns get a faster/slower verdict
  (within the margin or not) at no more than the family-wise rate (300 campaigns at full size; drift does not
  raise it: 600 campaigns with and without drift, issue 16 note);
* the 2009-style design (6 runs per model per cell, one model pinned 80 % of the time and the other 30 %, half of
  one model's runs at a lower clock), 50 seeds: compare never raises, and wrong verdicts (faster/slower where the
  truth is 1.0) come up in at most 5 % of campaigns;
* no inconclusive cell asks for runs_needed <= the runs it has.

Reduced size in ``make test`` (a few seeds), full size with ``PVFAIR_FULL=1``. Full-size figures: 100 % of cells
slower (20 campaigns); A/A 14 cells x 3 runs: 0 of 60 campaigns with a call; rounds with drift: paired / unpaired
width 0.70, A/A 20 of 300 campaigns (6.7 %) with a call (the binomial bound at 99.9 % is 27). That is Monte-Carlo
noise, not a pipeline excess (issue 16; scripts/aa_familywise.py): compare's verdicts equal a paired t on the
loaded values with Holm on every campaign, whose exact rate here is 1 - (1 - 0.05/4)^4 = 4.91 %; seeds 300-4099
give 5.29 % (SE 0.36 %), the simulator's values over 8000 seeds 4.80 % with drift and 4.89 % without (SE 0.24 %;
the same seed with and without drift shares its noise draws, so those two rates are not independent);
2009-style: 1 of 50 campaigns with a wrong call.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.compare import compare
from analysis.ingest import Campaign, load_campaign
from analysis.simulate import CampaignSpec, simulate_campaign
from tests.conftest import FULL
from tests.validity.calls import CALLS

pytestmark = pytest.mark.validity

BASE, CAND = "virtio-net+vhost", "venet"
N_RESAMPLES = 999

FOURTEEN = CampaignSpec(name="fourteen", tests=("TCP_STREAM", "TCP_RR", "UDP_RR"),
                        stream_msg_sizes_bytes=(64, 256, 1024, 4096, 16384), pinnings=("split", "same-core"),
                        trials=3)


def _campaign(tmp_path_factory, spec: CampaignSpec, seed: int) -> Campaign:
    return load_campaign(simulate_campaign(tmp_path_factory.mktemp(spec.name) / f"s{seed}", spec, seed=seed))


def _max_errors(n: int, rate: float = 0.05) -> int:
    return int(np.floor(rate * n)) if FULL else int(stats.binom.ppf(0.999, n, rate))


def _honest(t) -> bool:
    inc = t[t["verdict"] == "inconclusive"]
    return bool((inc["runs_needed"] > inc[["n_baseline", "n_candidate"]].min(axis=1)).all())


def test_three_runs_ratio_half_cv_10_percent_calls_the_cells_slower(tmp_path_factory):
    spec = CampaignSpec(**{**FOURTEEN.__dict__, "cv": 0.10, "true_ratio": 0.5})
    seeds = 20 if FULL else 2
    share = []
    for seed in range(seeds):
        t = compare(_campaign(tmp_path_factory, spec, 100 + seed), baseline=BASE, candidate=CAND,
                    n_resamples=N_RESAMPLES, rng=seed).to_frame()
        assert len(t) == 14 and _honest(t)
        share.append(float((t["verdict"] == "slower").mean()))
    print(f"\n14 cells x 3 runs, ratio 0.5, CV 10 %: {100 * np.mean(share):.1f} % of cells slower over {seeds} "
          f"campaigns (min {100 * min(share):.0f} %)")
    assert np.mean(share) >= 0.95


def test_three_runs_aa_cv_5_percent_familywise(tmp_path_factory):
    spec = CampaignSpec(**{**FOURTEEN.__dict__, "cv": 0.05, "name": "aa14"})
    seeds = 60 if FULL else 3
    bad = 0
    for seed in range(seeds):
        t = compare(_campaign(tmp_path_factory, spec, 200 + seed), baseline=BASE, candidate=CAND,
                    n_resamples=N_RESAMPLES, rng=seed).to_frame()
        assert _honest(t)
        bad += bool(t["verdict"].isin(CALLS).any())
    print(f"\nA/A 14 cells x 3 runs, CV 5 %: {bad} of {seeds} campaigns with a faster/slower verdict")
    assert bad <= _max_errors(seeds)


def test_rounds_with_drift_paired_narrower_and_aa_clean(tmp_path_factory):
    spec = CampaignSpec(name="drift", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 1024, 16384),
                        trials=6, cv=0.01, drift_per_run={BASE: 0.002, CAND: 0.002})
    seeds, aa_seeds = (20, 300) if FULL else (2, 2)
    ratio, bad = [], 0
    for seed in range(aa_seeds):
        camp = _campaign(tmp_path_factory, spec, 300 + seed)
        p = compare(camp, baseline=BASE, candidate=CAND, n_resamples=N_RESAMPLES, rng=seed).to_frame()
        assert p["paired"].all()
        bad += bool(p["verdict"].isin(CALLS).any())
        if seed < seeds:  # the same campaign with its rounds removed: the unpaired route
            runs = camp.runs.drop(columns=["trial"])
            unb = Campaign(camp.name, runs, camp.measurements, camp.intervals, camp.rejects, root=camp.root)
            u = compare(unb, baseline=BASE, candidate=CAND, n_resamples=N_RESAMPLES, rng=seed).to_frame()
            assert not u["paired"].any()
            ratio.append(float(np.median(np.log(p["ci_high"] / p["ci_low"]) / np.log(u["ci_high"] / u["ci_low"]))))
    print(f"\nrounds with drift: paired / unpaired interval width, median over cells and {seeds} campaigns "
          f"{np.median(ratio):.2f}; A/A campaigns with a faster/slower verdict (within the margin or not): {bad} of "
          f"{aa_seeds} ({100 * bad / aa_seeds:.1f} %)")
    assert np.median(ratio) < 0.8
    # "no faster/slower verdict" holds as a rate: at most alpha, a count bounded by the binomial at 99.9 % (a
    # procedure exactly at 5 % exceeds it with probability < 0.1 %), in both tiers
    assert bad <= int(stats.binom.ppf(0.999, aa_seeds, 0.05))


SKEWED_2009 = CampaignSpec(
    name="y2009", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 1024, 16384),
    pinnings=("same-core", "split"), trials=6, cv=0.03,
    pinning_mix={BASE: {"same-core": 0.8, "split": 0.2}, CAND: {"same-core": 0.3, "split": 0.7}},
    low_clock=(CAND, 0.5, 1600.0), pinning_effect={"same-core": 0.85},
)


def test_2009_design_never_raises_and_rarely_errs(tmp_path_factory):
    seeds = 50 if FULL else 3
    wrong, compared = 0, 0
    for seed in range(seeds):
        # cells per test and size: pinning is left to the regression (with pinning in the cell key every cell
        # of this design has a model with 1-2 runs, and nothing is compared)
        r = compare(_campaign(tmp_path_factory, SKEWED_2009, 400 + seed), baseline=BASE, candidate=CAND,
                    by=("test", "msg_size_bytes"), n_resamples=N_RESAMPLES, rng=seed)
        t = r.to_frame()
        compared += len(t)
        assert len(t) == 4 and _honest(t)
        assert t["pvalue"].notna().all() and t["pvalue_adjusted"].between(0, 1).all()
        wrong += bool(t["verdict"].isin(CALLS).any())
    print(f"\n2009-style design: {seeds} campaigns, {compared} compared cells, no exception; campaigns with a wrong "
          f"faster/slower verdict (truth 1.0): {wrong}")
    assert wrong <= _max_errors(seeds)
