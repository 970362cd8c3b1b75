"""Unit tests of analysis.stats.power (the simulation check of the recommended n is in tests/validity)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.stats import RunsNeededResult, runs_needed
from analysis.stats.power import half_width_assurance, tost_power

pytestmark = pytest.mark.unit


@pytest.fixture
def pair():
    rng = np.random.default_rng(1)
    return rng.lognormal(0, 0.03, 10), rng.lognormal(0.01, 0.03, 10)


def test_tost_power_at_zero_effect_matches_normal_limit():
    # large n: t -> z, power = 2 Phi(margin / se - z_{1-alpha}) - 1 at ratio 1
    sd, m, n = 0.03, 0.02, 400
    se = sd * math.sqrt(2 / n)
    z = stats.norm.ppf(0.95)
    expected = 2 * stats.norm.cdf(math.log1p(m) / se - z) - 1
    assert tost_power(n, log_ratio=0.0, sd_log=sd, margin=m) == pytest.approx(expected, abs=2e-3)


def test_tost_power_increases_with_n_and_decreases_with_effect():
    p = tost_power(np.arange(2, 60), log_ratio=0.0, sd_log=0.05, margin=0.05)
    assert np.all(np.diff(p) >= -1e-12)
    assert tost_power(20, log_ratio=0.03, sd_log=0.05, margin=0.05) < tost_power(
        20, log_ratio=0.0, sd_log=0.05, margin=0.05
    )


def test_half_width_assurance_is_chi2_probability():
    n, sd, h = 12, 0.04, 0.03
    df = 2 * n - 2
    s_max = math.log1p(h) / (stats.t.ppf(0.975, df) * math.sqrt(2 / n))
    assert half_width_assurance(n, sd_log=sd, half_width=h) == pytest.approx(
        stats.chi2.cdf(df * (s_max / sd) ** 2, df)
    )


def test_runs_needed_equivalence_is_minimal(pair):
    b, c = pair
    res = runs_needed(b, c, margin=0.05, power=0.8)
    assert isinstance(res, RunsNeededResult)
    lb, lc = np.log(b), np.log(c)
    sd = math.sqrt((lb.var(ddof=1) + lc.var(ddof=1)) / 2)
    assert res.cv == pytest.approx(math.sqrt(math.expm1(sd**2)))
    assert res.assumed_ratio == pytest.approx(math.exp(lc.mean() - lb.mean()))
    lr = math.log(res.assumed_ratio)
    assert tost_power(res.n_per_model, log_ratio=lr, sd_log=sd, margin=0.05) >= 0.8
    assert tost_power(res.n_per_model - 1, log_ratio=lr, sd_log=sd, margin=0.05) < 0.8
    assert res.achieved_power >= 0.8
    assert "runs per model" in res.summary()
    assert res.to_frame().loc[0, "n_per_model"] == res.n_per_model


def test_runs_needed_beyond_the_scan_uses_bisection(pair):
    b, c = pair
    res = runs_needed(b, c, margin=0.002, power=0.8, assumed_ratio=1.0)
    lb, lc = np.log(b), np.log(c)
    sd = math.sqrt((lb.var(ddof=1) + lc.var(ddof=1)) / 2)
    assert res.n_per_model > 512
    assert tost_power(res.n_per_model, log_ratio=0.0, sd_log=sd, margin=0.002) >= 0.8
    assert tost_power(res.n_per_model - 1, log_ratio=0.0, sd_log=sd, margin=0.002) < 0.8


def test_runs_needed_half_width(pair):
    b, c = pair
    res = runs_needed(b, c, goal="ci_half_width", half_width=0.01, power=0.9)
    assert res.achieved_power >= 0.9
    assert res.expected_half_width < 0.01
    assert res.margin is None


def test_unreachable_equivalence_is_noted(pair):
    b, c = pair
    res = runs_needed(b, c, assumed_ratio=1.08, margin=0.05, max_n=500)
    assert res.n_per_model == 500 and res.achieved_power < 0.8
    assert "outside the equivalence bounds" in res.notes[0]


def test_zero_variance_documented():
    res = runs_needed([1.0, 1.0], [1.01, 1.01])
    assert res.n_per_model == 2 and "zero variance" in res.notes[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"goal": "power"}, r"`goal` must be one of 'equivalence', 'ci_half_width'"),
        ({"margin": -0.1}, r"`margin` must be a relative margin in \(0, 10\)"),
        ({"power": 1.0}, r"`power` must be a number strictly between 0 and 1"),
        ({"alpha": 0.6}, r"`alpha` must be a number strictly between 0 and 0.5"),
        ({"goal": "ci_half_width"}, r"`half_width` is required for goal='ci_half_width'"),
        ({"goal": "ci_half_width", "half_width": 0}, r"`half_width` must be a positive relative width"),
        ({"assumed_ratio": 0}, r"`assumed_ratio` must be a positive number or None"),
        ({"max_n": 1}, r"`max_n` must be an integer >= 2"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        runs_needed([1.0, 1.1, 1.2], [1.0, 1.05, 1.1], **kwargs)
