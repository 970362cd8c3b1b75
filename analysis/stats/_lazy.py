"""Deferred import of the numba kernels: ``import analysis.stats`` stays cheap until something resamples."""

from __future__ import annotations

import functools
from types import ModuleType

__all__ = ["kernels"]


@functools.cache
def kernels() -> ModuleType:
    """The :mod:`analysis.stats._kernels` module (imports numba on first use)."""
    from . import _kernels

    return _kernels
