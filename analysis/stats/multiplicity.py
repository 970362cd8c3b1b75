"""Multiple comparisons across the cells of one report: Holm (default) or Benjamini-Hochberg p-value
adjustment, and the simultaneous (Bonferroni or Sidak) confidence level for m intervals."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from ._validation import check_choice, check_unit_interval

__all__ = ["adjust_pvalues", "simultaneous_confidence_level", "ADJUSTMENTS", "SIMULTANEOUS"]


def _holm(p_sorted: np.ndarray) -> np.ndarray:
    m = p_sorted.size
    return np.minimum(1.0, np.maximum.accumulate(p_sorted * (m - np.arange(m))))


def _bh(p_sorted: np.ndarray) -> np.ndarray:
    m = p_sorted.size
    raw = p_sorted * m / np.arange(1, m + 1)
    return np.minimum(1.0, np.minimum.accumulate(raw[::-1])[::-1])


def _bonferroni(p_sorted: np.ndarray) -> np.ndarray:
    return np.minimum(1.0, p_sorted * p_sorted.size)


#: method -> step-wise adjustment of ascending p-values (statsmodels names: holm, fdr_bh, bonferroni)
ADJUSTMENTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"holm": _holm, "bh": _bh, "bonferroni": _bonferroni}


def _adjust_pvalues_iv(pvalues, method):
    check_choice(method, "method", ADJUSTMENTS)
    try:
        p = np.asarray(pvalues, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("`pvalues` must be a 1-D array of numbers in [0, 1]") from None
    if p.ndim != 1:
        raise ValueError(f"`pvalues` must be a 1-D array, got shape {p.shape}")
    bad = ~(np.isfinite(p) & (p >= 0) & (p <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"`pvalues` must lie in [0, 1] without NaN; got {float(p[i])!r} at index {i}")
    return p


def adjust_pvalues(pvalues, *, method: str = "holm") -> np.ndarray:
    """Adjusted p-values, in the input order (equal to ``statsmodels.stats.multitest.multipletests``).

    Parameters
    ----------
    pvalues : array_like
        1-D p-values in [0, 1] (may be empty).
    method : {"holm", "bh", "bonferroni"}
        Holm's step-down (family-wise error rate), Benjamini-Hochberg step-up (false discovery rate).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = _adjust_pvalues_iv(pvalues, method)
    if p.size == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    out = np.empty_like(p)
    out[order] = ADJUSTMENTS[method](p[order])
    return out


#: method -> per-interval level for m simultaneous intervals
SIMULTANEOUS: dict[str, Callable[[float, int], float]] = {
    "bonferroni": lambda level, m: 1.0 - (1.0 - level) / m,
    "sidak": lambda level, m: level ** (1.0 / m),
}


def _simultaneous_confidence_level_iv(confidence_level, m, method):
    level = check_unit_interval(confidence_level, "confidence_level")
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"`m` (the number of intervals) must be an integer >= 1, got {m!r}")
    check_choice(method, "method", SIMULTANEOUS)
    return level, int(m)


def simultaneous_confidence_level(confidence_level: float, m: int, *, method: str = "bonferroni") -> float:
    """Per-interval level so that ``m`` intervals hold jointly with ``confidence_level``.

    Bonferroni: ``1 - (1 - confidence_level) / m`` (any dependence); Sidak: ``confidence_level ** (1/m)``
    (independent cells).

    Examples
    --------
    >>> simultaneous_confidence_level(0.95, 10)
    0.995
    """
    level, m = _simultaneous_confidence_level_iv(confidence_level, m, method)
    return float(SIMULTANEOUS[method](level, m))
