"""Memos keyed by content: pure, expensive results computed once per process and reused while their inputs stay
the same.

The report runs its notebooks one after the other in one kernel (:func:`analysis.runner.run_report`; the user namespace is reset between them, module
state survives), and several notebooks compute the same stages on the same campaign: every notebook loads and
normalizes it, 03 and 04 audit it, 04 and 06 compare it, 05 and 06 fit its models. An interactive user re-running
a notebook in JupyterLab is in the same position.

The rule, the same for every stage the notebooks share (:func:`analysis.ingest.load_campaign`,
:func:`analysis.normalize.normalize`, :func:`analysis.audit.audit`, :func:`analysis.compare.compare` and the
per-test model fits behind :func:`analysis.model.fit_model`):

* the stage memoizes *inside itself*: its public function validates the arguments, keys the call with
  :func:`content_key` over the validated arguments, and computes through a module-level :class:`Memo` of its own
  (marked on the function with :func:`memoizes`, so ``stage.memo`` is that memo);
* callers (notebooks, the CLI, a stage calling another, as compare calls audit) call the plain function and never
  wrap it; :func:`memoized` of a stage is the stage itself;
* a campaign (what load_campaign and normalize return, the notebooks' working data) comes back as an
  :func:`isolated` copy per call, so one caller's changes never reach another; an analysis result (audit, compare,
  model) is the stored object itself: treat it as read-only (frozen dataclasses; do not modify their DataFrames in
  place).

A key is a digest of *everything* the result depends on: the content of the input tables (not their identity), the
parameters, and an integer seed (load_campaign, whose argument is a folder, keys on its files' paths, sizes and
times). A call that is not reproducible (a ``numpy.random.Generator`` or no seed) has no key and is always
computed. :func:`memoized` applies the same keying to any other pure function (a user's own analysis).

Set the environment variable ``PVFAIR_NO_CACHE=1`` (before import) or use :func:`caching` to switch memos off;
:func:`clear_caches` empties them, :func:`cache_info` reports hits and misses.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import inspect
import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

__all__ = ["Memo", "MemoInfo", "content_key", "frame_digest", "memoized", "memoizes", "isolated", "caching",
           "clear_caches", "cache_info"]

F = TypeVar("F", bound=Callable[..., Any])
_ENABLED = [os.environ.get("PVFAIR_NO_CACHE", "").strip().lower() not in {"1", "true", "yes"}]
_REGISTRY: dict[str, Memo] = {}
_WRAPPERS: dict[str, Callable[..., Any]] = {}


class _Unkeyable(Exception):
    """A value whose content cannot be keyed (e.g. a random Generator): the call is not memoized."""


def frame_digest(frame: pd.DataFrame | pd.Series) -> str:
    """A digest of a DataFrame's (or Series') content: column names, dtypes, index and every value.

    Two frames with equal values, labels and dtypes have the same digest, whatever their identity; a changed
    value, label, row order or dtype changes it. Typed columns are hashed row-wise by pandas; a frame with an
    object column or index (mixed types, lists) is hashed through its pickle.

    >>> a = pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]})
    >>> frame_digest(a) == frame_digest(a.copy())
    True
    >>> frame_digest(a) == frame_digest(a.assign(x=[1.0, 2.5]))
    False
    """
    if not isinstance(frame, pd.DataFrame | pd.Series):
        raise TypeError(f"frame: expected a pandas DataFrame or Series, got {type(frame).__name__}")
    h = hashlib.blake2b(digest_size=16)
    if isinstance(frame, pd.DataFrame):
        labels = (type(frame).__name__, tuple(map(repr, frame.columns)), tuple(map(str, frame.dtypes)))
    else:
        labels = (type(frame).__name__, repr(frame.name), str(frame.dtype))
    h.update(repr((labels, frame.shape, str(frame.index.dtype))).encode())
    dtypes = list(frame.dtypes) if isinstance(frame, pd.DataFrame) else [frame.dtype]
    if frame.index.dtype == object or any(pd.api.types.is_object_dtype(d) for d in dtypes):
        # pandas hashes mixed-type object values by their str (1 and "1" alike) and fails on lists: pickle them
        h.update(pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL))
    else:
        rows = pd.util.hash_pandas_object(frame, index=True, categorize=False)
        h.update(rows.to_numpy(dtype=np.uint64).tobytes())
    return h.hexdigest()


def _key_parts(value: Any, out: list[bytes]) -> None:
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        out.append(f"{type(value).__name__}:{value!r}".encode())
    elif isinstance(value, np.generic):
        out.append(f"np.{value.dtype}:{value.item()!r}".encode())
    elif isinstance(value, pd.DataFrame | pd.Series):
        out.append(f"frame:{frame_digest(value)}".encode())
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            raise _Unkeyable("object array")
        out.append(f"array:{value.dtype}:{value.shape}:".encode() + hashlib.blake2b(
            np.ascontiguousarray(value).tobytes(), digest_size=16).digest())
    elif isinstance(value, Path):
        out.append(f"path:{value}".encode())
    elif isinstance(value, Mapping):
        out.append(f"map{len(value)}(".encode())
        for k in sorted(value, key=repr):
            _key_parts(k, out)
            _key_parts(value[k], out)
        out.append(b")")
    elif isinstance(value, list | tuple | frozenset | set):  # a list and a tuple of the same items key alike
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        out.append(f"{'set' if isinstance(value, set | frozenset) else 'seq'}{len(items)}(".encode())
        for item in items:
            _key_parts(item, out)
        out.append(b")")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        out.append(f"dc:{type(value).__module__}.{type(value).__qualname__}(".encode())
        for f in dataclasses.fields(value):
            out.append(f.name.encode())
            _key_parts(getattr(value, f.name), out)
        out.append(b")")
    else:
        raise _Unkeyable(type(value).__name__)


def content_key(*parts: Any) -> str | None:
    """A digest of *parts* by content, or None when one of them cannot be keyed (the call is then not memoized).

    Keyable: None, numbers, strings, numpy scalars and arrays, DataFrames and Series (:func:`frame_digest`),
    paths, mappings, sequences and sets of keyable values, and dataclasses of them (e.g. a
    :class:`analysis.ingest.Campaign`). A ``numpy.random.Generator`` (or any other object) is not: its result
    depends on a state that the key cannot capture.

    >>> content_key("compare", {"alpha": 0.05}, [1, 2]) == content_key("compare", {"alpha": 0.05}, [1, 2])
    True
    >>> content_key("compare", {"alpha": 0.05}) == content_key("compare", {"alpha": 0.01})
    False
    >>> content_key(np.random.default_rng(1)) is None
    True
    """
    out: list[bytes] = []
    try:
        _key_parts(parts, out)
    except _Unkeyable:
        return None
    h = hashlib.blake2b(digest_size=20)
    for chunk in out:
        h.update(len(chunk).to_bytes(8, "little"))
        h.update(chunk)
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class MemoInfo:
    """Hits, misses, uncacheable calls and current size of one memo."""

    name: str
    hits: int
    misses: int
    uncached: int
    size: int
    maxsize: int


class Memo:
    """A small least-recently-used store of results by content key, registered under *name*.

    Parameters
    ----------
    name : str
        Unique name (shown by :func:`cache_info`); a second memo of the same name replaces the first in the
        registry (a reloaded module).
    maxsize : int
        Results kept; the least recently used is dropped beyond it.
    """

    def __init__(self, name: str, *, maxsize: int = 8) -> None:
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 1:
            raise ValueError(f"maxsize: expected a positive integer, got {maxsize!r}")
        self.name = name
        self.maxsize = maxsize
        self._store: OrderedDict[str, Any] = OrderedDict()
        self.hits = self.misses = self.uncached = 0
        _REGISTRY[name] = self

    def get_or_compute(self, key: str | None, compute: Callable[[], Any]) -> Any:
        """The stored result for *key*, else ``compute()`` (stored under *key*; never stored when *key* is None
        or memos are off). An exception in *compute* stores nothing."""
        if key is None or not _ENABLED[0]:
            self.uncached += 1
            return compute()
        if key in self._store:
            self.hits += 1
            self._store.move_to_end(key)
            return self._store[key]
        self.misses += 1
        result = compute()
        self._store[key] = result
        while len(self._store) > self.maxsize:
            self._store.popitem(last=False)
        return result

    def clear(self) -> None:
        self._store.clear()
        self.hits = self.misses = self.uncached = 0

    def info(self) -> MemoInfo:
        return MemoInfo(self.name, self.hits, self.misses, self.uncached, len(self._store), self.maxsize)

    def __repr__(self) -> str:
        i = self.info()
        return f"Memo({i.name!r}: {i.size}/{i.maxsize} kept, {i.hits} hits, {i.misses} misses)"


def memoized(fn: Callable[..., Any], *, maxsize: int = 8) -> Callable[..., Any]:
    """*fn* memoized by the content of its arguments (defaults filled in), for a pure function of keyable ones.

    Every call of ``memoized(f)`` returns the same wrapper, with one store, so separate callers share results. A
    stage that memoizes inside itself (:func:`memoizes`) is returned as it is. A call with an argument
    :func:`content_key` cannot key (a random Generator) is computed.

    >>> calls = []
    >>> def double(x, *, factor=2):
    ...     calls.append(x)
    ...     return x * factor
    >>> fast = memoized(double)
    >>> fast(3), fast(3, factor=2), memoized(double)(3), len(calls)
    (6, 6, 6, 1)
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a function, got {type(fn).__name__}")
    if isinstance(getattr(fn, "memo", None), Memo):
        return fn  # a memoized wrapper or a stage that memoizes inside itself
    name = f"{fn.__module__}.{fn.__qualname__}"
    wrapper = _WRAPPERS.get(name)
    if wrapper is not None and getattr(wrapper, "__wrapped__", None) is fn:
        return wrapper
    memo = Memo(name, maxsize=maxsize)
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return fn(*args, **kwargs)  # let the function report its own argument error
        bound.apply_defaults()
        key = content_key(name, dict(bound.arguments))
        return memo.get_or_compute(key, lambda: fn(*args, **kwargs))

    wrapper.memo = memo  # type: ignore[attr-defined]
    _WRAPPERS[name] = wrapper
    return wrapper


def memoizes(memo: Memo) -> Callable[[F], F]:
    """Mark a stage function that memoizes inside itself through *memo*: it is then ``fn.memo``, shown by
    :func:`cache_info`, and :func:`memoized` returns the function as it is.

    >>> m = Memo("doctest stage")
    >>> @memoizes(m)
    ... def stage(x):
    ...     return stage.memo.get_or_compute(content_key("stage", x), lambda: x + 1)
    >>> stage(1), stage(1), m.hits, memoized(stage) is stage
    (2, 2, 1, True)
    """
    if not isinstance(memo, Memo):
        raise TypeError(f"memo: expected a Memo, got {type(memo).__name__}")

    def mark(fn: F) -> F:
        fn.memo = memo  # type: ignore[attr-defined]
        return fn

    return mark


def isolated(result: Any) -> Any:
    """A copy of the dataclass *result* whose DataFrame fields and dict fields are its own: shallow DataFrame copies
    under pandas copy-on-write (a write copies), deep ones without it; dicts deep-copied; other fields shared.

    What a memoized stage returns when its callers may change the result (a campaign a notebook adds columns to).
    """
    deep = not (int(pd.__version__.split(".")[0]) >= 3 or pd.options.mode.copy_on_write is True)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, pd.DataFrame):
            changes[f.name] = value.copy(deep=deep)
        elif isinstance(value, dict):
            changes[f.name] = copy.deepcopy(value)
    return dataclasses.replace(result, **changes)


@contextmanager
def caching(enabled: bool) -> Iterator[None]:
    """Switch every memo on or off inside a ``with`` block (e.g. ``with caching(False):`` to time a computation)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled: expected True or False, got {enabled!r}")
    previous = _ENABLED[0]
    _ENABLED[0] = enabled
    try:
        yield
    finally:
        _ENABLED[0] = previous


def clear_caches() -> None:
    """Empty every memo and reset its counters."""
    for memo in _REGISTRY.values():
        memo.clear()


def cache_info() -> pd.DataFrame:
    """One row per memo: name, hits, misses, uncached calls, size, maxsize."""
    rows = [dataclasses.asdict(m.info()) for m in _REGISTRY.values()]
    return pd.DataFrame(rows, columns=[f.name for f in dataclasses.fields(MemoInfo)])
