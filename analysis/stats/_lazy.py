"""Deferred import of the numba kernels: ``import analysis.stats`` stays cheap until something resamples.

:func:`run` also picks the thread count per call: waking the worker threads of a parallel region costs from
0.1 ms to >10 ms on a busy 2-core machine (measured: 0.2 ms per small call on one thread vs 0.5-11 ms on two),
so calls with little work (a report cell of n = 10) run on the calling thread only; results do not depend on
the thread count (see :mod:`analysis.stats._kernels`).
"""

from __future__ import annotations

import functools
from types import ModuleType

__all__ = ["kernels", "run", "PARALLEL_MIN_WORK"]

#: resampled elements below which a kernel runs single-threaded
PARALLEL_MIN_WORK = 4_000_000


@functools.cache
def kernels() -> ModuleType:
    """The :mod:`analysis.stats._kernels` module (imports numba on first use)."""
    from . import _kernels

    return _kernels


def run(name: str, work: float, *args):
    """Call kernel ``name`` with ``args``, single-threaded when ``work`` (elements touched) is small."""
    kernel = getattr(kernels(), name)
    if work >= PARALLEL_MIN_WORK:
        return kernel(*args)
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(previous)
