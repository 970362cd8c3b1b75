"""Unit tests of analysis.stats.multiplicity against statsmodels.multipletests."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.stats import adjust_pvalues, simultaneous_confidence_level

pytestmark = pytest.mark.unit

SM = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni"}


@pytest.mark.parametrize("method", list(SM))
@pytest.mark.parametrize("seed", range(2))
def test_equals_statsmodels(method, seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=15) ** 3, [0.0, 1.0, 0.05, 0.05]])  # ties and edges
    rng.shuffle(p)
    np.testing.assert_allclose(adjust_pvalues(p, method=method), multipletests(p, method=SM[method])[1], atol=1e-15)


def test_holm_worked_example():
    # Holm (1979): sorted p 0.01, 0.03, 0.04 -> 0.03, 0.06, 0.06
    assert adjust_pvalues([0.04, 0.01, 0.03]).tolist() == pytest.approx([0.06, 0.03, 0.06])


def test_empty_and_single():
    assert adjust_pvalues([]).size == 0
    assert adjust_pvalues([0.2], method="bh").tolist() == [0.2]


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([0.1, 1.2],), {}, r"`pvalues` must lie in \[0, 1\] without NaN; got 1.2 at index 1"),
        (([0.1, np.nan],), {}, r"`pvalues` must lie in \[0, 1\] without NaN; got nan at index 1"),
        (([[0.1]],), {}, r"`pvalues` must be a 1-D array, got shape \(1, 1\)"),
        ((["a"],), {}, r"`pvalues` must be a 1-D array of numbers in \[0, 1\]"),
        (([0.1],), {"method": "fdr"}, r"`method` must be one of 'holm', 'bh', 'bonferroni'; got 'fdr'"),
    ],
)
def test_adjust_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        adjust_pvalues(*args, **kwargs)


def test_simultaneous_level():
    assert simultaneous_confidence_level(0.95, 20) == pytest.approx(0.9975)
    assert simultaneous_confidence_level(0.95, 1) == pytest.approx(0.95)
    assert simultaneous_confidence_level(0.95, 2, method="sidak") == pytest.approx(0.95**0.5)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((1.5, 3), {}, r"`confidence_level` must be a number strictly between 0 and 1"),
        ((0.95, 0), {}, r"`m` \(the number of intervals\) must be an integer >= 1, got 0"),
        ((0.95, 2.5), {}, r"`m` \(the number of intervals\) must be an integer >= 1"),
        ((0.95, 2), {"method": "holm"}, r"`method` must be one of 'bonferroni', 'sidak'"),
    ],
)
def test_simultaneous_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        simultaneous_confidence_level(*args, **kwargs)
