"""The docstring examples of analysis.stats run (make test does not collect doctests by itself)."""

from __future__ import annotations

import doctest
import importlib

import pytest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("module", ["bootstrap", "multiplicity", "small_sample"])
def test_doctests(module):
    mod = importlib.import_module(f"analysis.stats.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_public_api_is_exported():
    import analysis.stats as stats

    for name in stats.__all__:
        assert getattr(stats, name) is not None
