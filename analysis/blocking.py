"""Rounds: which runs of a cell were made back to back, one of each model, so that their ratio cancels drift.

A campaign is *blocked* where its runs carry a round: the manifest's ``block`` column, else the ``trial`` that
``pvfair collect`` writes (each block of its randomized plan holds one run of every model x cell). A cell's rounds
are *complete* when every round holds exactly one run of each model, there are at least 2 rounds, and, where the
run order is known, the rounds follow each other in time (every run of round r before every run of round r + 1).
The last condition keeps a per-model trial counter from passing for rounds: with every baseline run made before
every candidate run, "trial 1" of the two models is a campaign apart.

The audit states whether the design is blocked (check ``blocked``); compare pairs runs within complete rounds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ROUND_COLUMNS", "PAIRED_MIN_ROUNDS", "round_column", "complete_rounds"]

#: run columns that name a round, in order of preference (an explicit block first)
ROUND_COLUMNS: tuple[str, ...] = ("block", "trial")
#: rounds from which compare's paired t decides a blocked cell. Below it the paired t's n - 1 df cost more than
#: pairing gains unless drift is large (at 3 rounds its two-sided 0.05/18 quantile is 19, against 6.6 for a
#: 3-vs-3 t on 4 df)
PAIRED_MIN_ROUNDS = 5


def round_column(runs: pd.DataFrame) -> str | None:
    """The first of :data:`ROUND_COLUMNS` the runs table has with a value in some run, else None."""
    for col in ROUND_COLUMNS:
        if col in runs.columns and runs[col].notna().any():
            return col
    return None


def complete_rounds(cell: pd.DataFrame, *, baseline: str, candidate: str, column: str | None,
                    order: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Row positions (baseline, candidate) of *cell* paired by round, rounds sorted; None when not complete.

    Parameters
    ----------
    cell : DataFrame
        The runs of one cell, with ``pv_model``, the round *column* and (optionally) the *order* column.
    column : str or None
        The round column (:func:`round_column`); None: no rounds.
    order : str or None
        A numeric run-order column; None or all missing: time order unknown (only an explicit ``block``
        column is then trusted).
    """
    if column is None or column not in cell.columns:
        return None
    r = cell[column]
    if r.isna().any():
        return None
    known_order = order is not None and order in cell.columns and cell[order].notna().all()
    if not known_order and column != "block":
        return None
    is_b = (cell["pv_model"] == baseline).to_numpy()
    is_c = (cell["pv_model"] == candidate).to_numpy()
    keys = r.astype(str).to_numpy()
    rounds = pd.unique(keys)
    if len(rounds) < 2:
        return None
    pos_b, pos_c, spans = [], [], []
    for k in rounds:
        sel = keys == k
        ib, ic = np.flatnonzero(sel & is_b), np.flatnonzero(sel & is_c)
        if len(ib) != 1 or len(ic) != 1 or sel.sum() != 2:
            return None
        pos_b.append(int(ib[0]))
        pos_c.append(int(ic[0]))
        if known_order:
            o = pd.to_numeric(cell[order], errors="coerce").to_numpy(float)[sel]
            spans.append((float(o.min()), float(o.max())))
    if known_order:
        idx = np.argsort([s[0] for s in spans], kind="stable")
        spans = [spans[i] for i in idx]
        if any(spans[i][1] >= spans[i + 1][0] for i in range(len(spans) - 1)):
            return None
        pos_b, pos_c = [pos_b[i] for i in idx], [pos_c[i] for i in idx]
    return np.asarray(pos_b), np.asarray(pos_c)
