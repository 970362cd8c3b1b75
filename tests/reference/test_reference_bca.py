"""Reference tests: BCa against a published worked example and against scipy.stats.bootstrap.

Published example: Efron & Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 14, the spatial test data
(Table 14.1, p. 180). For the plug-in variance of test A (theta_hat = 171.5) Table 14.2 (p. 183) gives the 90 %
BCa interval [115.8, 259.6] from B = 2,000 replications, and p. 186 gives the acceleration a = 0.061.
Data and values are stored beside this file in efron_tibshirani_1993_spatial.json.

Tolerances: the book's endpoints carry Monte-Carlo error of B = 2,000; we measured the SD of the BCa endpoints
over 60 repetitions (B = 2,000: 2.06 and 3.59; B = 20,000: 0.55 and 1.29) and allow 3 combined SDs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis.stats import bca_interval, ratio_ci

pytestmark = pytest.mark.reference

REF = json.loads((Path(__file__).parent / "efron_tibshirani_1993_spatial.json").read_text())
A = np.array(REF["A"], dtype=float)
B_ = np.array(REF["B"], dtype=float)
B_RESAMPLES = 20000


def _variance_bootstrap(rng):
    return A[rng.integers(0, A.size, size=(B_RESAMPLES, A.size))].var(axis=1)


def _jackknife_variance():
    return np.array([np.delete(A, i).var() for i in range(A.size)])


def test_theta_hat_and_acceleration_match_the_book():
    assert A.var() == pytest.approx(REF["published"]["theta_hat"], abs=0.05)
    res = bca_interval(A.var(), _variance_bootstrap(np.random.default_rng(1)), _jackknife_variance(), confidence_level=0.9)
    assert res.acceleration == pytest.approx(REF["published"]["acceleration"], abs=0.0005)


def test_bca_interval_reproduces_table_14_2():
    res = bca_interval(
        A.var(), _variance_bootstrap(np.random.default_rng(2)), _jackknife_variance(), confidence_level=0.9
    )
    sd_book = REF["monte_carlo_sd_of_bca_endpoints"]["B2000"]
    sd_ours = REF["monte_carlo_sd_of_bca_endpoints"]["B20000"]
    tol = [3 * math.hypot(a, b) for a, b in zip(sd_book, sd_ours, strict=True)]
    lo, hi = REF["published"]["bca_90"]
    assert res.confidence_interval.low == pytest.approx(lo, abs=tol[0])
    assert res.confidence_interval.high == pytest.approx(hi, abs=tol[1])


def test_bca_interval_agrees_with_scipy_on_the_same_data():
    ours = bca_interval(
        A.var(), _variance_bootstrap(np.random.default_rng(3)), _jackknife_variance(), confidence_level=0.9
    )
    ref = stats.bootstrap(
        (A,), np.var, method="BCa", confidence_level=0.9, n_resamples=B_RESAMPLES, rng=4, vectorized=True
    )
    sd = REF["monte_carlo_sd_of_bca_endpoints"]["B20000"]
    assert ours.confidence_interval.low == pytest.approx(ref.confidence_interval.low, abs=4 * math.sqrt(2) * sd[0])
    assert ours.confidence_interval.high == pytest.approx(ref.confidence_interval.high, abs=4 * math.sqrt(2) * sd[1])


@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_ratio_ci_agrees_with_scipy_on_spatial_data(statistic):
    # ratio of test B to test A location, resampling the two columns independently (two-sample BCa);
    # +1 because test A has a score of 0 and a ratio needs positive values
    f = {"mean": np.mean, "median": np.median}[statistic]
    # expand=False: the plain BCa interval (the default adds the small-sample expansion, which scipy lacks)
    ours = ratio_ci(A + 1, B_ + 1, statistic=statistic, n_resamples=B_RESAMPLES, rng=5, expand=False)
    ref = stats.bootstrap(
        (A + 1, B_ + 1),
        lambda x, y, axis=-1: f(y, axis=axis) / f(x, axis=axis),
        method="BCa",
        n_resamples=B_RESAMPLES,
        rng=6,
        vectorized=True,
    )
    tol = (0.12 if statistic == "mean" else 0.35) * ref.standard_error
    assert ours.confidence_interval.low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.confidence_interval.high == pytest.approx(ref.confidence_interval.high, abs=tol)
