"""Group-sequential boundaries: alpha spending (Lan & DeMets 1983), O'Brien-Fleming type by default, Pocock type.

A sequence of looks at information fractions ``0 < t_1 < ... < t_K = 1`` has standardized statistics ``Z_k``
that are jointly normal with ``corr(Z_i, Z_j) = sqrt(t_i / t_j)`` (i <= j): the score ``S_k = Z_k sqrt(I_k)``
has independent increments. A spending function ``f(alpha, t)`` says how much of the error rate may have been
spent by fraction ``t``; the boundary ``c_k`` of look ``k`` is the value for which the probability of crossing
for the first time at look ``k`` equals ``f(alpha, t_k) - f(alpha, t_{k-1})``. Because each ``c_k`` depends only
on the fractions up to ``k``, looks need not be equally spaced nor their number fixed in advance.

:data:`SPENDING` holds the two Lan-DeMets functions:

* ``"obrien-fleming"``: ``2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))``: spends almost nothing early, so the final look
  keeps nearly the fixed-sample critical value (the default: a benchmark that is clear at the first look is
  *very* clear; a borderline one loses almost no power);
* ``"pocock"``: ``alpha ln(1 + (e - 1) t)``: near-constant boundaries, more early stopping, a higher final one.

``sides=2`` gives symmetric boundaries for ``|Z|`` (faster *or* slower at two-sided level alpha); ``sides=1``
one-sided boundaries for ``Z`` at level alpha (each of the two one-sided tests of TOST).

**Why our own code.** PyPI's group-sequential packages are young (``gsdesign`` describes itself as experimental,
0.1.x; ``gsmethods`` 0.0.x) and none is a dependency a statistics suite should pin its error rate on. The
crossing probabilities are computed here by the recursive numerical integration of Armitage, McPherson & Rowe
(1969) as in Jennison & Turnbull (2000, ch. 19), on a fixed grid: deterministic and accurate to ~1e-7, where
``scipy.stats.multivariate_normal.cdf`` (Genz quasi-Monte Carlo) is random at the 1e-5 level and so unfit for root
finding. The tests check both against each other and against the published O'Brien-Fleming and Pocock constants.

**Small samples.** With 3-5 runs per model the looks' statistics are t, not z. :func:`t_critical` maps each
nominal z boundary through its one-sided tail probability to the t quantile at that look's degrees of freedom
(the "nominal p-value" rule of Jennison & Turnbull, section 3.8). That holds each look's marginal level but, at
2-11 df, lets the sequence cross 10-30 % more often than spent; :func:`exact_t_boundaries` gives instead the
boundaries whose first-crossing probabilities for the sequence of plain paired / Welch t statistics are the spent
increments (simulated null paths, fixed seed; for the Welch t at the least favourable ratio of the two models'
spreads, as its null law depends on that ratio). A moderated t (variance prior across cells, tens of df) is close
enough to z for the mapping. tests/validity checks the error rates by simulation at n = 3..12.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize, special
from scipy import stats as sps

__all__ = ["SPENDING", "spent", "sequential_boundaries", "crossing_probabilities", "t_critical", "exact_t_boundaries"]


def _obrien_fleming(alpha: float, t: np.ndarray) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(t > 0, 2 - 2 * sps.norm.cdf(sps.norm.isf(alpha / 2) / np.sqrt(np.maximum(t, 1e-300))), 0.0)


def _pocock(alpha: float, t: np.ndarray) -> np.ndarray:
    return alpha * np.log1p((math.e - 1) * np.asarray(t, dtype=float))


#: spending function name -> f(alpha, information fractions) -> alpha spent by then
SPENDING: dict[str, Callable[[float, np.ndarray], np.ndarray]] = {
    "obrien-fleming": _obrien_fleming,
    "pocock": _pocock,
}

_GRID = 801  # points per look of the recursive integration (odd: Simpson weights)
_NEVER = 12.0  # a z boundary no statistic reaches
_SPAN = 8.0  # the continuation region of a one-sided look is cut at -_SPAN standard deviations


def _fractions_iv(fractions: Sequence[float]) -> np.ndarray:
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise ValueError(f"fractions: expected a non-empty sequence of information fractions, got {fractions!r}")
    if np.any(t <= 0) or np.any(t > 1 + 1e-12) or np.any(np.diff(t) <= 0):
        raise ValueError(f"fractions: expected strictly increasing values in (0, 1], got {list(t)}")
    return np.minimum(t, 1.0)


def _sides_iv(sides: int) -> int:
    if sides not in (1, 2):
        raise ValueError(f"sides: expected 1 (one-sided) or 2 (two-sided |Z|), got {sides!r}")
    return sides


def spent(alpha: float, fractions: Sequence[float], spending: str = "obrien-fleming") -> np.ndarray:
    """Cumulative alpha spent at each information fraction.

    >>> [round(float(a), 5) for a in spent(0.05, [0.5, 1.0])]
    [0.00557, 0.05]
    """
    if spending not in SPENDING:
        raise ValueError(f"spending: expected one of {sorted(SPENDING)}, got {spending!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a level in (0, 1), got {alpha!r}")
    return SPENDING[spending](alpha, _fractions_iv(fractions))


def _simpson(n: int) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return w / 3


class _Recursion:
    """Sub-density of the score S_k on the continuation region, carried look by look."""

    def __init__(self, sides: int):
        self.sides = sides
        self.grid = None  # points of S_{k-1} in its continuation region
        self.weight = None  # density x quadrature weight at those points
        self.info = 0.0

    def exit_probability(self, c: float, info: float) -> float:
        """P(continue to look k-1, then cross c at look k) for a boundary c on the Z scale."""
        b = c * math.sqrt(info)
        if self.grid is None:
            upper = sps.norm.sf(c)
            return float(2 * upper if self.sides == 2 else upper)
        sd = math.sqrt(info - self.info)
        upper = sps.norm.sf((b - self.grid) / sd)
        if self.sides == 2:
            upper = upper + sps.norm.cdf((-b - self.grid) / sd)
        return float(np.dot(self.weight, upper))

    def advance(self, c: float, info: float) -> None:
        b = c * math.sqrt(info)
        lo = -b if self.sides == 2 else -_SPAN * math.sqrt(info)
        grid = np.linspace(lo, b, _GRID)
        h = grid[1] - grid[0]
        if self.grid is None:
            dens = sps.norm.pdf(grid / math.sqrt(info)) / math.sqrt(info)
        else:
            sd = math.sqrt(info - self.info)
            u = (grid[:, None] - self.grid[None, :]) / sd
            dens = (np.exp(-0.5 * u * u) @ self.weight) / (sd * math.sqrt(2 * math.pi))
        self.grid, self.weight, self.info = grid, dens * _simpson(_GRID) * h, info


def crossing_probabilities(bounds: Sequence[float], fractions: Sequence[float], *, sides: int = 2) -> np.ndarray:
    """Probability under the null of crossing *first* at each look, for boundaries on the Z scale.

    ``sides=2``: crossing means ``|Z_k| >= c_k``; ``sides=1``: ``Z_k >= c_k``. Their sum is the design's error
    rate (a constant boundary of 1.96 at one look gives 0.05).

    >>> round(float(crossing_probabilities([1.959964], [1.0]).sum()), 6)
    0.05
    """
    t, sides = _fractions_iv(fractions), _sides_iv(sides)
    c = np.asarray(bounds, dtype=float)
    if c.shape != t.shape:
        raise ValueError(f"bounds: expected one boundary per fraction ({t.size}), got {c.size}")
    rec, out = _Recursion(sides), np.empty(t.size)
    for k in range(t.size):
        out[k] = rec.exit_probability(c[k], t[k])
        rec.advance(c[k], t[k])
    return out


def sequential_boundaries(fractions: Sequence[float], alpha: float, *, spending: str = "obrien-fleming",
                          sides: int = 2) -> np.ndarray:
    """Z-scale boundaries of a Lan-DeMets alpha-spending design at the given information fractions.

    With one look at fraction 1 the boundary is the fixed-sample critical value, ``z_{1 - alpha/2}`` two-sided
    or ``z_{1 - alpha}`` one-sided, so one look gives exactly the fixed-sample test.

    Parameters
    ----------
    fractions : information fractions of the looks so far, strictly increasing in (0, 1]
    alpha : the level to spend by fraction 1
    spending : a key of :data:`SPENDING`
    sides : 2 for symmetric ``|Z|`` boundaries, 1 for an upper boundary

    >>> [round(float(c), 3) for c in sequential_boundaries([0.25, 0.5, 0.75, 1.0], 0.05)]
    [3.92, 2.774, 2.298, 2.043]
    """
    t, sides = _fractions_iv(fractions), _sides_iv(sides)
    if spending not in SPENDING:
        raise ValueError(f"spending: expected one of {sorted(SPENDING)}, got {spending!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a level in (0, 1), got {alpha!r}")
    return np.array(_boundaries_cached(tuple(t), float(alpha), spending, sides))


@functools.lru_cache(maxsize=1024)
def _boundaries_cached(t: tuple[float, ...], alpha: float, spending: str, sides: int) -> tuple[float, ...]:
    cum = spent(alpha, t, spending)
    rec, out = _Recursion(sides), np.empty(len(t))
    for k in range(len(t)):
        target = cum[k] - (cum[k - 1] if k else 0.0)
        if target <= 1e-15:
            out[k] = _NEVER  # nothing to spend: a boundary no statistic reaches
        else:
            f = lambda c, k=k, target=target: rec.exit_probability(c, t[k]) - target  # noqa: E731
            out[k] = optimize.brentq(f, 0.0, _NEVER, xtol=1e-9) if f(0.0) > 0 > f(_NEVER) else 0.0
        rec.advance(out[k], t[k])
    return tuple(float(c) for c in out)


def t_critical(z_bounds: Sequence[float] | float, df: Sequence[float] | float) -> np.ndarray:
    """t-scale critical values with the same one-sided tail probabilities as the z boundaries, at each df.

    >>> round(float(t_critical(1.959964, 4)), 3)  # = scipy.stats.t.ppf(0.975, 4)
    2.776
    """
    z, d = np.asarray(z_bounds, dtype=float), np.asarray(df, dtype=float)
    if np.any(~(d > 0)):
        raise ValueError(f"df: expected positive degrees of freedom, got {df!r}")
    return -special.stdtrit(d, special.ndtr(-z))  # t.isf(norm.sf(z), d), by symmetry without 1 - tiny


_N_PATHS = 200_000  # simulated null paths per exact small-sample boundary
_MIN_EVENTS = 50  # below this many crossings an increment is too small to simulate: the z mapping is used


_SEED = 20091105  # of the simulated null paths: the same design always gets the same boundaries


@functools.lru_cache(maxsize=32)
def _draws(model: int, i: int) -> np.ndarray:
    """Run *i* of *model* in every null path, from its own stream ``default_rng([seed, model, i])``."""
    return np.random.default_rng([_SEED, model, i]).standard_normal(_N_PATHS)


#: the candidate/baseline ratio of run-to-run SDs in the Welch paths: equal, and each model far the noisier (the
#: limit where the Welch t is the one-sample t of that model's runs). The Welch t's first-crossing boundaries grow
#: with the ratio, so the largest of the three sequences holds the spent level whatever the models' spreads
WELCH_SD_RATIOS = (1.0, 1e3, 1e-3)


@functools.lru_cache(maxsize=96)
def _null_t(nb: int, nc: int, paired: bool, sd_ratio: float = 1.0) -> np.ndarray:
    """One look's t statistic in every null path: the paired t of the first ``nb`` differences candidate -
    baseline, or the Welch t of the first ``nb`` and ``nc`` runs, the candidate's SD *sd_ratio* times the
    baseline's (the same draws, as a campaign's rounds feed both)."""
    b = np.stack([_draws(0, i) for i in range(nb)], 1)
    c = sd_ratio * np.stack([_draws(1, i) for i in range(nb if paired else nc)], 1)
    if paired:
        x = c - b
        return x.mean(1) / (x.std(1, ddof=1) / math.sqrt(nb))
    return (c.mean(1) - b.mean(1)) / np.sqrt(b.var(1, ddof=1) / nb + c.var(1, ddof=1) / nc)


def exact_t_boundaries(sizes: Sequence[tuple[int, int]], fractions: Sequence[float], alpha: float, *,
                       spending: str = "obrien-fleming", sides: int = 2,
                       paired: bool | Sequence[bool] = True) -> np.ndarray:
    """t-scale boundaries whose *first-crossing* probabilities under the null equal the spent increments.

    The z boundaries mapped through the t distribution (:func:`t_critical`) hold each look's marginal level but
    not the joint one: with 3-12 runs and no variance prior the t statistics of successive looks are less
    correlated than the z statistics (each look re-estimates the variance), and the sequence then crosses about
    10-30 % more often than spent (measured in tests/validity). Here the boundaries are the quantiles of simulated
    null paths of the looks' own statistics (*paired*, one flag per look or one for all: the paired t at
    ``sizes[k][0]`` pairs, else the Welch t at ``sizes[k]`` runs per model), drawn from a fixed seed (the same
    design always gets the same boundaries); a paired look 1 is the t quantile (exact, so one look is the
    fixed-sample t test); an increment too small to simulate (fewer than 50 expected crossings) keeps the mapped
    z boundary. The Welch t's null law depends on the ratio of the models' SDs (between ``t(n_b + n_c - 2)`` at
    equal SDs and the noisier model's one-sample ``t(n - 1)``), and so do its first-crossing boundaries, which
    grow with the ratio: equal-SD boundaries let compare's looks 3..12 at one cell cross 6.4 % of the time at an
    SD ratio of 3 and 8.0 % at 10 (alpha 0.05, 3000 A/A cells, tests/validity). Welch looks therefore get the
    largest boundaries of :data:`WELCH_SD_RATIOS` (equal SDs and either model far the noisier), which hold the
    level at every ratio.
    """
    t, sides = _fractions_iv(fractions), _sides_iv(sides)
    sz = tuple((int(a), int(b)) for a, b in sizes)
    if len(sz) != t.size or any(a < 2 or b < 2 for a, b in sz):
        raise ValueError(f"sizes: expected one (n_baseline, n_candidate) pair of at least 2 runs per look, got {sizes}")
    flags = (bool(paired),) * len(sz) if isinstance(paired, bool | np.bool_) else tuple(bool(p) for p in paired)
    if len(flags) != len(sz):
        raise ValueError(f"paired: expected one flag per look ({len(sz)}), got {len(flags)}")
    return np.array(_exact_cached(sz, tuple(t), float(alpha), spending, sides, flags))


@functools.lru_cache(maxsize=512)
def _exact_cached(sizes, fractions, alpha, spending, sides, paired) -> tuple[float, ...]:
    if all(paired):  # the paired t is free of the models' spreads
        return _exact_at(sizes, fractions, alpha, spending, sides, paired, 1.0)
    ratios = WELCH_SD_RATIOS if any(a != b for a, b in sizes) else WELCH_SD_RATIOS[:2]
    return tuple(np.max([_exact_at(sizes, fractions, alpha, spending, sides, paired, r) for r in ratios], axis=0))


def _exact_at(sizes, fractions, alpha, spending, sides, paired, sd_ratio) -> tuple[float, ...]:
    """The first-crossing boundaries of the null paths whose candidate SD is *sd_ratio* times the baseline's.

    An increment too small to simulate takes the t quantile of its one-sided tail at the look's df: the paired
    or equal-SD df, else the noisier model's one-sample df (the limit these paths stand for).
    """
    z = sequential_boundaries(fractions, alpha, spending=spending, sides=sides)
    inc = np.diff(np.r_[0.0, spent(alpha, fractions, spending)])
    free = [p or sd_ratio == 1.0 for p in paired]  # the look's df is the t route's own

    def stat(k: int) -> np.ndarray:  # paths of a sequence's first looks do not depend on the looks that follow
        x = _null_t(*sizes[k], paired[k], sd_ratio)
        return np.abs(x) if sides == 2 else x

    def df(k: int) -> float:
        return _df(sizes[k], paired[k]) if free[k] else min(sizes[k]) - 1.0

    out: list[float] = []
    alive = np.ones(_N_PATHS, bool)
    for k in range(len(sizes)):
        events = inc[k] * _N_PATHS
        if k == 0 and (free[0] or events < _MIN_EVENTS):  # exact where free: one look is the fixed-sample test
            out.append(float(sps.t.isf(inc[0] / sides, df(0))))
        elif events < _MIN_EVENTS:
            out.append(float(t_critical(z[k], df(k))))
        else:
            out.append(float(np.sort(stat(k)[alive])[::-1][int(round(events)) - 1]))
        if k + 1 < len(sizes):
            alive &= stat(k) < out[k]
    return tuple(out)


def _df(size: tuple[int, int], paired: bool) -> float:
    return size[0] - 1.0 if paired else size[0] + size[1] - 2.0
