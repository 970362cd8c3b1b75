"""Deferred import of the numba kernels: ``import analysis.stats`` stays cheap until something resamples a lot.

:func:`run` picks the route per call:

* below :data:`NUMPY_MAX_WORK` resampled elements, the kernel's numpy twin (:mod:`analysis.stats._twins`, the same
  numbers): a report of small cells then compiles nothing, so a fresh clone's first report is not a minute of
  silent compilation;
* above it the compiled kernel, whose first compile is announced once per process on stderr (numba caches the
  machine code beside the module, so later processes load it);
* the thread count: waking the worker threads of a parallel region costs more than a small call's work, and far
  more on a busy machine, so calls with little work run on the calling thread only; results do not depend on the
  thread count (see :mod:`analysis.stats._kernels`).
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType

from . import _twins

__all__ = ["kernels", "run", "PARALLEL_MIN_WORK", "NUMPY_MAX_WORK", "COMPILE_NOTICE"]

#: resampled elements below which a kernel runs single-threaded
PARALLEL_MIN_WORK = 4_000_000

#: resampled elements up to which a call takes the numpy twin of its kernel: up to this size the twin's extra time
#: over the compiled kernel stays below what the kernel's first compile costs
NUMPY_MAX_WORK = 50_000_000

#: what the first compile in a process says on stderr
COMPILE_NOTICE = "pvfair: compiling resampling kernels, first run only (numba caches them; later runs load them)"

_announced: list[bool] = []


@functools.cache
def kernels() -> ModuleType:
    """The :mod:`analysis.stats._kernels` module (imports numba on first use)."""
    from . import _kernels

    return _kernels


def _announce(kernel) -> None:
    """Say once per process that a kernel is about to be compiled (not when it is loaded from numba's cache)."""
    if _announced or kernel.signatures:
        return
    try:  # numba's cache index beside the module: present when an earlier process compiled the kernel
        index = kernel._cache._cache_file._index_path
        import os

        if os.path.exists(index):
            return
    except AttributeError:
        pass
    _announced.append(True)
    print(COMPILE_NOTICE, file=sys.stderr, flush=True)


def run(name: str, work: float, *args):
    """Call kernel ``name`` with ``args``: its numpy twin when ``work`` (elements touched) is small and the
    route has one, else the kernel, single-threaded when ``work`` is below :data:`PARALLEL_MIN_WORK`."""
    twin = _twins.TWINS.get(name)
    if twin is not None and work <= NUMPY_MAX_WORK:
        try:
            return twin(*args)
        except NotImplementedError:  # a route the twin does not have (large-n streaming): the kernel
            pass
    kernel = getattr(kernels(), name)
    _announce(kernel)
    if work >= PARALLEL_MIN_WORK:
        return kernel(*args)
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(previous)
