"""Validity of the statistics engine by simulation with known truth (marker ``validity``).

Reduced size in ``make test`` (seconds; bounds derived from the binomial SE of the replicate count), full size
with ``make validity`` (``PVFAIR_FULL=1``: 2,000 replicates, B = 9,999) where the targets of issue 3 are
asserted and a table is printed (run with ``-s``):

* coverage of the 95 % CI of the ratio of means, lognormal noise with CV 5 %, n in {5, 10, 30} per model, of
  the default interval (BCa with the small-sample expansion) and of plain BCa (``expand=False``, scipy's).
  Target [93.5, 96.5] %: asserted on the default interval at every n; plain BCa is reported (it undercovers at
  small n: 91.9 % at n = 10 in the full-size run);
* the same for the hierarchical bootstrap, 2 levels (sessions x runs) with session effects;
* family-wise rate of false faster/slower verdicts over 20-cell A/A campaigns with Holm (target <= 5 %);
* power to detect a 5 % difference at CV 3 % with n = 10 (compared with the noncentral-t power);
* ``runs_needed`` achieves its power within +/-5 points, for runs per model (Welch on logs) and for rounds of the
  paired t (``paired=True``, with a round level shared by both runs of a round, which the paired t cancels).

Full-size figures: coverage of the default interval 94.3 / 95.4 / 94.2 % at n = 5 / 10 / 30 (plain BCa 87.6 /
91.8 / 93.6 %); hierarchical 96.7 % (plain 92.8 %, flat 65.1 %); power 92.6 % (Welch 93.0 %, theory 93.0 %);
runs_needed 82.5 % (equivalence, 23 runs) and 80.0 % (half-width, 37 runs); paired, 83.7 % at 9 rounds
(equivalence; the unpaired plan asks 35 runs) and 80.0 % at 14 rounds (half-width; unpaired 96). The family-wise
rate at full size runs 2,000 x 20 permutation tests at B = 9,999 (hours on 2 cores): Welch 2,000 campaigns, the
permutation test on a reduced count, figures in the issue 16 note.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.stats import (
    adjust_pvalues,
    paired_log_t,
    permutation_test_ratio,
    ratio_ci,
    ratio_ci_batch,
    runs_needed,
    tost_ratio,
    welch_log,
)
from tests.conftest import FULL

pytestmark = pytest.mark.validity

REPS = 2000 if FULL else 200
B = 9999 if FULL else 999
B_HIER = 1999 if FULL else 499


def _sigma(cv: float) -> float:
    """Log-SD of a lognormal with coefficient of variation ``cv``."""
    return math.sqrt(math.log1p(cv**2))


def _binomial_band(p: float, reps: int, z: float = 3.5) -> float:
    return z * math.sqrt(p * (1 - p) / reps)


def _table(title: str, header: list[str], rows: list[list], *, reps: int = REPS, b: int = B) -> None:
    widths = [max(len(str(h)), *(len(f"{r[i]}") for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title} (replicates={reps}, B={b}, full={FULL})")
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(f"{v}".rjust(w) for v, w in zip(r, widths, strict=True)))


@pytest.mark.parametrize("n", [5, 10, 30])
def test_coverage_ratio_of_means_bca(n):
    rng = np.random.default_rng(1000 + n)
    s = _sigma(0.05)
    true_ratio = 1.03  # candidate = 1.03 x baseline in distribution: ratio of means exactly 1.03
    cells = [(rng.lognormal(0, s, n), true_ratio * rng.lognormal(0, s, n)) for _ in range(REPS)]
    rows, cover = [], {}
    # the default interval (no `expand` argument: BCa with the small-sample expansion) and plain BCa
    for expand, kwargs in ((True, {}), (False, {"expand": False})):
        res = ratio_ci_batch(cells, n_resamples=B, rng=rng, **kwargs)
        lo = np.array([r.confidence_interval.low for r in res])
        hi = np.array([r.confidence_interval.high for r in res])
        cover[expand] = float(np.mean((lo < true_ratio) & (true_ratio < hi)))
        miss_low = float(np.mean(true_ratio <= lo))
        rows.append([
            n, "BCa, expanded (default)" if expand else "BCa, plain", f"{cover[expand] * 100:.1f}",
            f"{miss_low * 100:.1f}", f"{(1 - cover[expand] - miss_low) * 100:.1f}", f"{np.mean(hi - lo) * 100:.2f}",
        ])
    _table(
        f"Coverage of the 95 % CI, ratio of means, lognormal CV 5 %, n = {n} per model",
        ["n", "method", "coverage %", "miss below %", "miss above %", "mean width %"],
        rows,
    )
    band = _binomial_band(0.95, REPS)
    if FULL:
        assert 0.935 <= cover[True] <= 0.965  # the target, met by the default (expanded) interval for every n
        # plain BCa undercovers at small n (~92 % at n = 10, ~94 % at n = 30): reported, bounded here
        assert cover[False] >= (0.90 if n >= 10 else 0.85)
    else:
        assert 0.95 - band <= cover[True] <= 0.95 + band
        assert cover[False] >= (0.90 if n >= 10 else 0.85) - band


def _hier_sample(rng, sessions, runs, mu, s_session, s_run):
    effect = rng.normal(0, s_session, sessions)
    x = np.exp(mu + np.repeat(effect, runs) + rng.normal(0, s_run, sessions * runs))
    return x, np.repeat(np.arange(sessions), runs)


def test_coverage_hierarchical_bootstrap_with_session_effects():
    rng = np.random.default_rng(7)
    sessions, runs = 8, 5
    s_session, s_run = _sigma(0.03), _sigma(0.02)
    true_ratio = 1.02  # the population means share the same variance terms, so their ratio is exp(mu_c - mu_b)
    reps = REPS // 2 if not FULL else REPS
    hits = {"hierarchical, expanded (default)": 0, "hierarchical, plain": 0, "flat (ignores sessions)": 0}
    for _ in range(reps):
        b, gb = _hier_sample(rng, sessions, runs, 0.0, s_session, s_run)
        c, gc = _hier_sample(rng, sessions, runs, math.log(true_ratio), s_session, s_run)
        e = ratio_ci(b, c, n_resamples=B_HIER, rng=rng, groups=([gb], [gc])).confidence_interval
        p = ratio_ci(b, c, n_resamples=B_HIER, rng=rng, groups=([gb], [gc]), expand=False).confidence_interval
        f = ratio_ci(b, c, n_resamples=B_HIER, rng=rng).confidence_interval
        hits["hierarchical, expanded (default)"] += e.low < true_ratio < e.high
        hits["hierarchical, plain"] += p.low < true_ratio < p.high
        hits["flat (ignores sessions)"] += f.low < true_ratio < f.high
    cover = {k: v / reps for k, v in hits.items()}
    _table(
        f"Coverage of the 95 % BCa CI with {sessions} sessions x {runs} runs per model, session CV 3 %, run CV 2 %",
        ["bootstrap", "coverage %"],
        [[k, f"{v * 100:.1f}"] for k, v in cover.items()],
        reps=reps,
        b=B_HIER,
    )
    # With 8 top-level groups the bootstrap's variance factor (G - 1) / G and the normal (not t) quantiles
    # cost about 3 points (plain: ~92 %); the expansion with the top-level groups as units restores them, and
    # slightly more (96.7 % at full size): resampling runs inside the drawn sessions counts the run-to-run
    # variance twice, so the two-stage bootstrap is conservative (analysis.stats.bootstrap, "Small samples").
    band = _binomial_band(0.95, reps)
    default, plain = cover["hierarchical, expanded (default)"], cover["hierarchical, plain"]
    if FULL:
        assert 0.935 <= default <= 0.97
        assert plain >= 0.90
    else:
        assert 0.95 - band <= default <= 0.95 + band
        assert plain >= 0.90 - band
    assert cover["flat (ignores sessions)"] < plain - 0.15  # why the hierarchy matters


def test_familywise_false_verdicts_aa_campaigns_holm():
    rng = np.random.default_rng(11)
    cells, n, s = 20, 10, _sigma(0.05)
    campaigns = REPS
    any_welch = 0
    any_perm = 0
    n_perm = campaigns if FULL else campaigns // 8  # the permutation test costs ~1,000 Welch tests per campaign
    for k in range(campaigns):
        data = [(rng.lognormal(0, s, n), rng.lognormal(0, s, n)) for _ in range(cells)]
        p_w = np.array([welch_log(b, c).pvalue for b, c in data])
        any_welch += bool(np.any(adjust_pvalues(p_w, method="holm") < 0.05))
        if k < n_perm:
            p_p = np.array([permutation_test_ratio(b, c, n_resamples=B, rng=rng).pvalue for b, c in data])
            any_perm += bool(np.any(adjust_pvalues(p_p, method="holm") < 0.05))
    fwer_w, fwer_p = any_welch / campaigns, any_perm / n_perm
    _table(
        "Family-wise rate of false faster/slower verdicts, 20-cell A/A campaigns, Holm, alpha 5 %",
        ["test", "campaigns", "FWER %"],
        [["welch-log", campaigns, f"{fwer_w * 100:.1f}"], ["permutation", n_perm, f"{fwer_p * 100:.1f}"]],
    )
    assert fwer_w <= 0.05 + (0.01 if FULL else _binomial_band(0.05, campaigns))
    assert fwer_p <= 0.05 + (0.01 if FULL else _binomial_band(0.05, n_perm))


def test_power_5_percent_at_cv_3_percent_n_10():
    rng = np.random.default_rng(13)
    n, s, ratio = 10, _sigma(0.03), 1.05
    cells = [(rng.lognormal(0, s, n), ratio * rng.lognormal(0, s, n)) for _ in range(REPS)]
    res = ratio_ci_batch(cells, n_resamples=B, rng=rng)
    power_ci = float(np.mean([r.confidence_interval.low > 1 for r in res]))
    power_welch = float(np.mean([welch_log(b, c).pvalue < 0.05 for b, c in cells]))
    # noncentral t power of the two-sided Welch test with equal n and variances
    df, se = 2 * n - 2, s * math.sqrt(2 / n)
    tc = stats.t.ppf(0.975, df)
    theory = stats.nct.sf(tc, df, math.log(ratio) / se) + stats.nct.cdf(-tc, df, math.log(ratio) / se)
    _table(
        "Power to detect a 5 % difference at CV 3 %, n = 10 per model",
        ["method", "power %"],
        [["BCa 95 % CI (default) excludes 1", f"{power_ci * 100:.1f}"], ["Welch on logs", f"{power_welch * 100:.1f}"],
         ["theory (noncentral t)", f"{theory * 100:.1f}"]],
    )
    band = _binomial_band(theory, REPS, z=4)
    assert abs(power_welch - theory) <= band
    # the default (expanded) interval is t-calibrated: about the power of the Welch t-test, no less
    assert power_ci >= theory - band


def _pilot(rng_sigma: float, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Pilot runs whose log-SD is exactly ``rng_sigma`` and whose ratio of geometric means is exactly 1."""
    z = stats.norm.ppf((np.arange(n) + 0.5) / n)
    z = (z - z.mean()) / z.std(ddof=1)
    return np.exp(rng_sigma * z), np.exp(rng_sigma * z[::-1])


@pytest.mark.parametrize(("goal", "cv", "ratio"), [("equivalence", 0.05, 1.01), ("ci_half_width", 0.04, 1.0)])
def test_runs_needed_achieves_its_power(goal, cv, ratio):
    s = _sigma(cv)
    b0, c0 = _pilot(s)
    plan = runs_needed(
        b0, c0, goal=goal, margin=0.05, power=0.8, alpha=0.05, half_width=0.02, assumed_ratio=ratio
    )
    n = plan.n_per_model
    rng = np.random.default_rng(17)
    sims = REPS if FULL else 600
    ok = 0
    for _ in range(sims):
        b, c = rng.lognormal(0, s, n), ratio * rng.lognormal(0, s, n)
        if goal == "equivalence":
            ok += tost_ratio(b, c, margin=0.05, alpha=0.05).equivalent
        else:
            lb, lc = np.log(b), np.log(c)
            se = math.sqrt(lb.var(ddof=1) / n + lc.var(ddof=1) / n)
            df = (lb.var(ddof=1) / n + lc.var(ddof=1) / n) ** 2 / (
                (lb.var(ddof=1) / n) ** 2 / (n - 1) + (lc.var(ddof=1) / n) ** 2 / (n - 1)
            )
            ok += math.expm1(stats.t.ppf(0.975, df) * se) <= 0.02
    achieved = ok / sims
    _table(
        f"runs_needed ({goal}, CV {cv * 100:g} %, ratio {ratio}): simulated power at the recommended n",
        ["n per model", "planned power %", "simulated power %"],
        [[n, f"{plan.achieved_power * 100:.1f}", f"{achieved * 100:.1f}"]],
    )
    assert abs(achieved - 0.8) <= 0.05


@pytest.mark.parametrize(("goal", "sd_pair", "ratio"), [("equivalence", 0.04, 1.01), ("ci_half_width", 0.03, 1.0)])
def test_paired_runs_needed_achieves_its_power(goal, sd_pair, ratio):
    """Rounds planned for the paired t (compare's paired route) reach the goal at the planned power, although
    the runs' own spread (round level 8 %) is several times that of their within-round ratios."""
    z = stats.norm.ppf((np.arange(40) + 0.5) / 40)
    z = (z - z.mean()) / z.std(ddof=1)
    level = np.exp(0.08 * z[::-1])
    b0, c0 = level, level * np.exp(sd_pair * z)  # within-round log ratios: SD exactly sd_pair, mean exactly 0
    kw = {"goal": goal, "margin": 0.05, "power": 0.8, "alpha": 0.05, "half_width": 0.02, "assumed_ratio": ratio}
    plan = runs_needed(b0, c0, paired=True, **kw)
    unpaired = runs_needed(b0, c0, **kw).n_per_model
    n = plan.n_per_model
    rng = np.random.default_rng(19)
    sims = REPS if FULL else 600
    ok = 0
    for _ in range(sims):
        lv = np.exp(rng.normal(0, 0.08, n))
        e_b, e_c = rng.normal(0, sd_pair / math.sqrt(2), (2, n))
        res = paired_log_t(lv * np.exp(e_b), ratio * lv * np.exp(e_c))
        if goal == "equivalence":
            ok += res.tost_pvalue(0.05) < 0.05
        else:
            lo, hi = res.confidence_interval(0.95)
            ok += hi / res.estimate - 1 <= 0.02
    achieved = ok / sims
    _table(
        f"runs_needed (paired, {goal}, SD of the within-round log ratio {sd_pair}, round level 8 %, ratio {ratio}): "
        "simulated power at the recommended rounds",
        ["rounds", "unpaired plan (runs)", "planned power %", "simulated power %"],
        [[n, unpaired, f"{plan.achieved_power * 100:.1f}", f"{achieved * 100:.1f}"]],
    )
    assert abs(achieved - 0.8) <= 0.05
    assert n < unpaired  # the runs' spread holds the round level, the paired plan does not
