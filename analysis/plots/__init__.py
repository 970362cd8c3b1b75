"""Plots. Every function returns a matplotlib ``Figure`` and never saves it (only the CLI and the report do)."""

from analysis.plots.audit import *  # noqa: F401,F403
from analysis.plots.audit import __all__ as _audit_all
from analysis.plots.compare import *  # noqa: F401,F403
from analysis.plots.compare import __all__ as _compare_all
from analysis.plots.history import *  # noqa: F401,F403
from analysis.plots.history import __all__ as _history_all
from analysis.plots.sequential import *  # noqa: F401,F403
from analysis.plots.sequential import __all__ as _sequential_all

__all__ = [*_audit_all, *_compare_all, *_history_all, *_sequential_all]
