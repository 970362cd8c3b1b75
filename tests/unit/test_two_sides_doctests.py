"""The docstring examples of the two-sides modules run (make test does not collect doctests by itself)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["analysis.vocabulary", "analysis.bridge", "analysis.sides", "analysis.published"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
