"""Result types of :mod:`analysis.stats`: frozen dataclasses with ``to_frame()``, ``summary()`` and ``_repr_html_``."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = ["ConfidenceInterval", "BCaResult", "RatioResult", "TestResult", "TOSTResult", "RunsNeededResult"]


class ConfidenceInterval(NamedTuple):
    """A confidence interval ``(low, high)``."""

    low: float
    high: float


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.{digits}g}"


def _pct(ratio: float) -> str:
    return f"{(float(ratio) - 1.0) * 100:+.2f} %"


def _render(title: str, rows: list[tuple[str, str]], notes: tuple[str, ...]) -> str:
    width = max(len(k) for k, _ in rows)
    lines = [title, "=" * len(title)]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    if notes:
        lines.append("Notes:")
        lines += [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines)


def _render_html(title: str, rows: list[tuple[str, str]], notes: tuple[str, ...]) -> str:
    esc = html.escape
    body = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    out = f"<table><caption>{esc(title)}</caption>{body}</table>"
    if notes:
        out += "<ol>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ol>"
    return out


class _Renderable:
    """Mixin: ``summary()`` as text, ``_repr_html_`` for notebooks, from ``_title()`` and ``_rows()``."""

    notes: tuple[str, ...]

    def _title(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _rows(self) -> list[tuple[str, str]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def summary(self) -> str:
        """Plain-text summary with numbered notes."""
        return _render(self._title(), self._rows(), self.notes)

    def _repr_html_(self) -> str:
        return _render_html(self._title(), self._rows(), self.notes)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, repr=False)
class RatioResult(_Renderable):
    """Bootstrap confidence interval of the ratio candidate / baseline of a location statistic.

    Attributes
    ----------
    estimate : float
        ``statistic(candidate) / statistic(baseline)`` on the observed samples.
    confidence_interval : ConfidenceInterval
        ``(low, high)`` at ``confidence_level``.
    standard_error : float
        Standard deviation of the bootstrap distribution.
    bootstrap_distribution : numpy.ndarray
        The resampled ratios (length ``n_resamples``).
    method, statistic : str
        CI method (``"bca"``, ``"percentile"``, ``"basic"``) and location statistic.
    confidence_level : float
    n_baseline, n_candidate : int
        Observations per sample.
    notes : tuple of str
        Warnings and documented special cases (zero variance, BCa fallbacks, hierarchical design).
    bias_correction, acceleration : float or None
        BCa's ``z0`` and ``a`` (None for other methods).
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    bootstrap_distribution: np.ndarray
    method: str
    statistic: str
    confidence_level: float
    n_baseline: int
    n_candidate: int
    notes: tuple[str, ...] = ()
    bias_correction: float | None = None
    acceleration: float | None = None

    def __repr__(self) -> str:
        lo, hi = self.confidence_interval
        return (
            f"RatioResult(estimate={self.estimate:.6g}, confidence_interval=({lo:.6g}, {hi:.6g}), "
            f"method={self.method!r}, statistic={self.statistic!r}, notes={len(self.notes)})"
        )

    def to_frame(self):
        """One tidy row: the ratio, its CI, the % change and the design."""
        import pandas as pd

        lo, hi = self.confidence_interval
        return pd.DataFrame(
            [
                {
                    "term": "ratio",
                    "statistic": self.statistic,
                    "method": self.method,
                    "estimate": self.estimate,
                    "ci_low": lo,
                    "ci_high": hi,
                    "standard_error": self.standard_error,
                    "confidence_level": self.confidence_level,
                    "pct_change": (self.estimate - 1) * 100,
                    "pct_low": (lo - 1) * 100,
                    "pct_high": (hi - 1) * 100,
                    "n_baseline": self.n_baseline,
                    "n_candidate": self.n_candidate,
                    "n_resamples": int(self.bootstrap_distribution.size),
                    "notes": " | ".join(self.notes),
                }
            ]
        )

    def _title(self) -> str:
        return f"Ratio of {self.statistic}s, candidate / baseline ({self.method} bootstrap)"

    def _rows(self) -> list[tuple[str, str]]:
        lo, hi = self.confidence_interval
        return [
            ("estimate", f"{_fmt(self.estimate, 6)}  ({_pct(self.estimate)})"),
            (
                f"{self.confidence_level * 100:g} % CI",
                f"[{_fmt(lo, 6)}, {_fmt(hi, 6)}]  ([{_pct(lo)}, {_pct(hi)}])",
            ),
            ("standard error", _fmt(self.standard_error)),
            ("n baseline / candidate", f"{self.n_baseline} / {self.n_candidate}"),
            ("resamples", str(self.bootstrap_distribution.size)),
        ]


@dataclass(frozen=True)
class TestResult(_Renderable):
    """A two-sample hypothesis test.

    Attributes
    ----------
    statistic : float
        Test statistic (sign: positive when the candidate is larger).
    pvalue : float
    alternative : str
        ``"two-sided"``, ``"greater"`` (candidate larger) or ``"less"``.
    method : str
    df : float or None
        Degrees of freedom where the test has them.
    null_distribution : numpy.ndarray or None
        Permutation null distribution where there is one.
    notes : tuple of str
    """

    __test__ = False  # not a pytest class

    statistic: float
    pvalue: float
    alternative: str
    method: str
    df: float | None = None
    null_distribution: np.ndarray | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def to_frame(self):
        """One tidy row."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "term": "test",
                    "method": self.method,
                    "alternative": self.alternative,
                    "statistic": self.statistic,
                    "df": np.nan if self.df is None else self.df,
                    "pvalue": self.pvalue,
                    "notes": " | ".join(self.notes),
                }
            ]
        )

    def _title(self) -> str:
        return f"{self.method} ({self.alternative})"

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("statistic", _fmt(self.statistic, 6)), ("p-value", _fmt(self.pvalue, 4))]
        if self.df is not None:
            rows.insert(1, ("df", _fmt(self.df, 5)))
        return rows


@dataclass(frozen=True)
class TOSTResult(_Renderable):
    """Two one-sided tests (TOST) of equivalence of the ratio candidate / baseline within ``bounds``.

    Attributes
    ----------
    pvalue : float
        ``max`` of the two one-sided p-values.
    equivalent : bool
        The (1 - 2 alpha) CI lies strictly inside ``bounds`` (same as ``pvalue < alpha``).
    bounds : tuple of float
        ``(1 / (1 + margin), 1 + margin)``.
    confidence_interval : ConfidenceInterval
        The (1 - 2 alpha) CI of the ratio.
    estimate : float
    method : str
        ``"welch-log"`` (ratio of geometric means) or ``"bootstrap"``.
    margin, alpha : float
    pvalue_lower, pvalue_upper : float
        The one-sided p-values against the lower and upper bound.
    notes : tuple of str
    """

    pvalue: float
    equivalent: bool
    bounds: tuple[float, float]
    confidence_interval: ConfidenceInterval
    estimate: float
    method: str
    margin: float
    alpha: float
    pvalue_lower: float = np.nan
    pvalue_upper: float = np.nan
    notes: tuple[str, ...] = ()

    def to_frame(self):
        """One tidy row."""
        import pandas as pd

        lo, hi = self.confidence_interval
        return pd.DataFrame(
            [
                {
                    "term": "equivalence",
                    "method": self.method,
                    "estimate": self.estimate,
                    "ci_low": lo,
                    "ci_high": hi,
                    "confidence_level": 1 - 2 * self.alpha,
                    "bound_low": self.bounds[0],
                    "bound_high": self.bounds[1],
                    "margin": self.margin,
                    "alpha": self.alpha,
                    "pvalue": self.pvalue,
                    "pvalue_lower": self.pvalue_lower,
                    "pvalue_upper": self.pvalue_upper,
                    "equivalent": bool(self.equivalent),
                    "notes": " | ".join(self.notes),
                }
            ]
        )

    def _title(self) -> str:
        return f"Equivalence (TOST, {self.method}) within +/-{self.margin * 100:g} %"

    def _rows(self) -> list[tuple[str, str]]:
        lo, hi = self.confidence_interval
        return [
            ("estimate", f"{_fmt(self.estimate, 6)}  ({_pct(self.estimate)})"),
            (f"{(1 - 2 * self.alpha) * 100:g} % CI", f"[{_fmt(lo, 6)}, {_fmt(hi, 6)}]"),
            ("bounds", f"[{_fmt(self.bounds[0], 6)}, {_fmt(self.bounds[1], 6)}]"),
            ("p-value", _fmt(self.pvalue)),
            ("equivalent", "yes" if self.equivalent else "no"),
        ]


@dataclass(frozen=True)
class RunsNeededResult(_Renderable):
    """Runs per model that would settle a cell, from the observed spread.

    Attributes
    ----------
    n_per_model : int
        Recommended runs per model (a large sentinel is never used: an unreachable goal raises or is noted).
    goal : str
        ``"equivalence"`` or ``"ci_half_width"``.
    assumed_ratio : float
        True ratio assumed (default: the observed ratio of geometric means).
    cv : float
        Assumed coefficient of variation per run (from the pooled SD of the logs).
    target_power : float or None
    achieved_power : float or None
        Power (equivalence) at ``n_per_model``, from the noncentral-t approximation.
    expected_half_width : float or None
        Expected relative half-width (ci_half_width goal) at ``n_per_model``.
    notes : tuple of str
    """

    n_per_model: int
    goal: str
    assumed_ratio: float
    cv: float
    target_power: float | None = None
    achieved_power: float | None = None
    expected_half_width: float | None = None
    margin: float | None = None
    alpha: float = 0.05
    notes: tuple[str, ...] = ()

    def to_frame(self):
        """One tidy row."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "term": "runs_needed",
                    "goal": self.goal,
                    "n_per_model": self.n_per_model,
                    "assumed_ratio": self.assumed_ratio,
                    "cv": self.cv,
                    "target_power": np.nan if self.target_power is None else self.target_power,
                    "achieved_power": np.nan if self.achieved_power is None else self.achieved_power,
                    "expected_half_width": (
                        np.nan if self.expected_half_width is None else self.expected_half_width
                    ),
                    "margin": np.nan if self.margin is None else self.margin,
                    "alpha": self.alpha,
                    "notes": " | ".join(self.notes),
                }
            ]
        )

    def _title(self) -> str:
        return f"Runs needed per model ({self.goal})"

    def _rows(self) -> list[tuple[str, str]]:
        rows = [
            ("runs per model", str(self.n_per_model)),
            ("assumed ratio", _fmt(self.assumed_ratio, 6)),
            ("assumed CV", f"{self.cv * 100:.3g} %"),
        ]
        if self.achieved_power is not None:
            rows.append(("power", f"{self.achieved_power:.3f} (target {self.target_power})"))
        if self.expected_half_width is not None:
            rows.append(("expected half-width", f"{self.expected_half_width * 100:.3g} %"))
        return rows


@dataclass(frozen=True)
class BCaResult(_Renderable):
    """A BCa interval for any statistic (see :func:`analysis.stats.bootstrap.bca_interval`).

    Attributes
    ----------
    confidence_interval : ConfidenceInterval
    bias_correction : float
        ``z0 = Phi^-1(#{theta* < theta_hat} / B)``.
    acceleration : float
        ``a`` from the jackknife values.
    confidence_level : float
    notes : tuple of str
    """

    confidence_interval: ConfidenceInterval
    bias_correction: float
    acceleration: float
    confidence_level: float
    notes: tuple[str, ...] = ()

    def to_frame(self):
        """One tidy row."""
        import pandas as pd

        lo, hi = self.confidence_interval
        return pd.DataFrame(
            [
                {
                    "term": "bca",
                    "ci_low": lo,
                    "ci_high": hi,
                    "confidence_level": self.confidence_level,
                    "bias_correction": self.bias_correction,
                    "acceleration": self.acceleration,
                    "notes": " | ".join(self.notes),
                }
            ]
        )

    def _title(self) -> str:
        return "BCa confidence interval"

    def _rows(self) -> list[tuple[str, str]]:
        lo, hi = self.confidence_interval
        return [
            (f"{self.confidence_level * 100:g} % CI", f"[{_fmt(lo, 6)}, {_fmt(hi, 6)}]"),
            ("bias correction z0", _fmt(self.bias_correction)),
            ("acceleration a", _fmt(self.acceleration)),
        ]
