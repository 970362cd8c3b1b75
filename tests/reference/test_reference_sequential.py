"""Group-sequential boundaries against published values and against scipy's multivariate normal.

* Jennison & Turnbull (2000), *Group Sequential Methods with Applications to Clinical Trials*, Table 2.1 (Pocock
  constants C_P(K, alpha)) and Table 2.3 (O'Brien-Fleming constants C_B(K, alpha)), two-sided alpha = 0.05,
  K = 2..5 equally spaced looks: our crossing probabilities, solved for the constant, give the tabled values;
* the one-sided Lan-DeMets O'Brien-Fleming boundaries at alpha = 0.05 and t = 0.25, 0.5, 0.75, 1 printed in the
  README of PharmCat/SeqBounds.jl (an independent implementation): 3.74955, 2.53993, 2.01604, 1.72014;
* the first look of a spending design is analytic: ``c_1 = Phi^-1(1 - f(alpha, t_1) / 2)``;
* the crossing probability of our boundaries recomputed by ``scipy.stats.multivariate_normal`` (Genz);
* the small-sample Welch boundaries against fresh simulated null paths (another seed) at SD ratios 1 to 1000.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from analysis.stats.sequential import (
    crossing_probabilities,
    exact_t_boundaries,
    sequential_boundaries,
    spent,
    t_critical,
)

pytestmark = pytest.mark.reference

POCOCK_CP = {2: 2.178, 3: 2.289, 4: 2.361, 5: 2.413}  # J&T Table 2.1, alpha = 0.05
OBF_CB = {2: 1.977, 3: 2.004, 4: 2.024, 5: 2.040}  # J&T Table 2.3, alpha = 0.05


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_classic_pocock_and_obrien_fleming_constants(k):
    t = np.arange(1, k + 1) / k
    cp = optimize.brentq(lambda c: crossing_probabilities(np.full(k, c), t).sum() - 0.05, 1.5, 4)
    cb = optimize.brentq(lambda c: crossing_probabilities(c * np.sqrt(k / np.arange(1, k + 1)), t).sum() - 0.05,
                         1.5, 4)
    assert cp == pytest.approx(POCOCK_CP[k], abs=6e-4)
    assert cb == pytest.approx(OBF_CB[k], abs=6e-4)


def test_one_sided_lan_demets_obf_matches_seqbounds():
    got = sequential_boundaries([0.25, 0.5, 0.75, 1.0], 0.05, sides=1)
    assert got == pytest.approx([3.74955, 2.53993, 2.01604, 1.72014], abs=2e-4)


@pytest.mark.parametrize("spending", ["obrien-fleming", "pocock"])
def test_first_look_is_analytic_and_scipy_mvn_agrees(spending):
    t = np.array([0.3, 0.55, 0.8, 1.0])
    b = sequential_boundaries(t, 0.05, spending=spending)
    assert b[0] == pytest.approx(stats.norm.isf(spent(0.05, t[:1], spending)[0] / 2), abs=1e-7)
    corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mvn = stats.multivariate_normal(np.zeros(4), corr, seed=1)
    inside = mvn.cdf(b, lower_limit=-b)
    assert 1 - inside == pytest.approx(0.05, abs=2e-5)
    assert np.cumsum(crossing_probabilities(b, t)) == pytest.approx(spent(0.05, t, spending), abs=1e-7)
    one = sequential_boundaries(t, 0.05, spending=spending, sides=1)
    inside1 = mvn.cdf(one, lower_limit=np.full(4, -np.inf))
    assert 1 - inside1 == pytest.approx(0.05, abs=2e-5)


def test_one_look_is_the_fixed_sample_test():
    assert sequential_boundaries([1.0], 0.05)[0] == pytest.approx(stats.norm.isf(0.025), abs=1e-9)
    assert sequential_boundaries([1.0], 0.01, spending="pocock", sides=1)[0] == pytest.approx(stats.norm.isf(0.01))
    for df in (2, 3, 7.5, 30):
        assert t_critical(stats.norm.isf(0.025), df) == pytest.approx(stats.t.isf(0.025, df))
        assert exact_t_boundaries([(int(df) + 1, int(df) + 1)], [1.0], 0.05)[0] == pytest.approx(
            stats.t.isf(0.025, int(df)))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="fractions: expected strictly increasing"):
        sequential_boundaries([0.5, 0.4], 0.05)
    with pytest.raises(ValueError, match="spending: expected one of"):
        sequential_boundaries([1.0], 0.05, spending="haybittle")
    with pytest.raises(ValueError, match=r"sides: expected 1 \(one-sided\) or 2"):
        sequential_boundaries([1.0], 0.05, sides=3)
    with pytest.raises(ValueError, match="alpha: expected a level"):
        spent(1.5, [1.0])
    with pytest.raises(ValueError, match="bounds: expected one boundary per fraction"):
        crossing_probabilities([2.0], [0.5, 1.0])
    with pytest.raises(ValueError, match="df: expected positive"):
        t_critical(2.0, 0)
    with pytest.raises(ValueError, match="sizes: expected one"):
        exact_t_boundaries([(1, 1)], [1.0], 0.05)


def _welch_paths(rng, n_max: int, sd_ratio: float, paths: int) -> list[np.ndarray]:
    """|Welch t| at n = 3..n_max runs per model of fresh null paths (not the module's draws)."""
    b = rng.standard_normal((paths, n_max))
    c = sd_ratio * rng.standard_normal((paths, n_max))
    return [np.abs((c[:, :n].mean(1) - b[:, :n].mean(1))
                   / np.sqrt(b[:, :n].var(1, ddof=1) / n + c[:, :n].var(1, ddof=1) / n)) for n in range(3, n_max + 1)]


@pytest.mark.parametrize("spending", ["pocock", "obrien-fleming"])
def test_welch_boundaries_hold_the_level_whatever_the_models_spreads(spending):
    """Welch looks at 3, 4, 5 runs per model (Pocock: about 0.02 spent per look, enough to simulate): the
    probability that fresh null paths cross the sequence's boundaries anywhere is at most alpha for equal SDs
    and for one model 3x, 30x and 1000x the noisier, and reaches alpha in the limit (the binding case)."""
    sizes, fractions = [(3, 3), (4, 4), (5, 5)], [0.6, 0.8, 1.0]
    bounds = exact_t_boundaries(sizes, fractions, 0.05, spending=spending, paired=False)
    rng, paths = np.random.default_rng(7), 400_000
    slack = 3 * np.sqrt(0.05 * 0.95 / paths)
    crossed = {}
    for ratio in (1.0, 3.0, 30.0, 1000.0):
        ts = _welch_paths(rng, 5, ratio, paths)
        crossed[ratio] = float(np.any([t >= c for t, c in zip(ts, bounds, strict=True)], axis=0).mean())
        assert crossed[ratio] <= 0.05 + slack, (ratio, crossed)
    assert crossed[1000.0] == pytest.approx(0.05, abs=slack)
    assert crossed[1.0] < crossed[3.0] < crossed[30.0]
    pooled_df = [a + b - 2 for a, b in sizes]
    equal_sd_first = stats.t.isf(spent(0.05, fractions[:1], spending)[0] / 2, pooled_df[0])
    assert bounds[0] > equal_sd_first  # look 1 at the noisier model's own df, not the pooled df
