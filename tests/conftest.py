"""Shared fixtures. Tests are tiered by marker: unit, reference, notebooks, validity (see pyproject.toml)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SAMPLES = TESTS / "data" / "samples"
ROOT = TESTS.parent

#: full-size validity simulations when PVFAIR_FULL=1 (``make validity``); reduced size in ``make test``
FULL = os.environ.get("PVFAIR_FULL") == "1"


@pytest.fixture
def samples() -> Path:
    """The real tool output copied from ../shared/samples (see its README for the commands)."""
    return SAMPLES


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(20091105)
