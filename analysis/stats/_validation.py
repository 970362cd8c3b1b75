"""Input validation shared by the ``_*_iv`` helpers of :mod:`analysis.stats`."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

__all__ = ["as_sample", "as_rng", "check_choice", "check_unit_interval", "check_n_resamples"]


def as_sample(x, name: str, *, positive: bool = True, min_size: int = 2) -> np.ndarray:
    """Return ``x`` as a 1-D float64 array, or raise a ``ValueError`` naming ``name``."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a 1-D array of numbers; it could not be converted ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D array of numbers, got an array of shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"`{name}` needs at least {min_size} observations, got {arr.size}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`{name}` contains NaN or infinite values ({int(bad.sum())} of {arr.size}; first at index {i})"
        )
    if positive:
        nonpos = arr <= 0
        if nonpos.any():
            i = int(np.flatnonzero(nonpos)[0])
            raise ValueError(
                f"`{name}` must be strictly positive for a ratio or a log scale; "
                f"found {float(arr[i])!r} at index {i} ({int(nonpos.sum())} non-positive values)"
            )
    return arr


def as_rng(rng) -> np.random.Generator:
    """``None``, an int seed, a ``SeedSequence`` or a ``Generator`` -> ``Generator``."""
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, numbers.Integral) and rng < 0:
            raise ValueError(f"`rng` seed must be a non-negative integer, got {rng}")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise ValueError(
        f"`rng` must be None, an int seed, a numpy SeedSequence or a numpy.random.Generator, "
        f"got {type(rng).__name__}"
    )


def check_choice(value, name: str, options: Mapping | tuple) -> str:
    """``value`` must be one of ``options`` (the keys of a registry)."""
    choices = tuple(options)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_unit_interval(value, name: str, *, high: float = 1.0) -> float:
    """A float strictly between 0 and ``high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < float(value) < high):
        raise ValueError(f"`{name}` must be a number strictly between 0 and {high:g}, got {value!r}")
    return float(value)


def check_n_resamples(value, name: str = "n_resamples", *, minimum: int = 1) -> int:
    """A positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)
