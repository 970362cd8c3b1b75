"""looks_plot / looks_table on the looks of a small sequence: one panel per cell x metric, settled markers in
their verdict's colour, the table's settled round; bad input names the argument."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest

from analysis.plots import looks_plot, looks_table
from analysis.sequential import SequentialDesign, look_statistics, sequential_look
from analysis.vocabulary import VERDICT_COLORS
from tests.unit.test_sequential import _campaign

pytestmark = pytest.mark.unit


def _looks() -> pd.DataFrame:
    design = SequentialDesign(min_trials=3, max_trials=4, spending="pocock")
    rng = np.random.default_rng(1)
    vals = {("T", 1): {"a": list(10 * np.exp(rng.normal(0, 0.01, 4))), "b": list(5 * np.exp(rng.normal(0, 0.01, 4)))},
            ("T", 2): {"a": list(10 * np.exp(rng.normal(0, 0.2, 4))), "b": list(10 * np.exp(rng.normal(0, 0.2, 4)))}}
    full = _campaign(vals)
    first = full.runs["trial"] <= 3
    part = type(full)(name="t", runs=full.runs[first], measurements=full.measurements, intervals=full.intervals,
                      rejects=full.rejects)
    st3 = look_statistics(part, "a", "b")
    l1 = sequential_look(st3, design, look=1, round=3, m=2)
    l2 = sequential_look(look_statistics(full, "a", "b"), design, look=2, round=4, m=2, previous=l1)
    looks = pd.concat([l1, l2], ignore_index=True)
    looks.insert(0, "cell", [f"T m{s}" for s in looks["msg_size_bytes"]])
    return looks


def test_looks_table_and_plot():
    looks = _looks()
    table = looks_table(looks).set_index("cell")
    assert table.loc["T m1", "settled after round"] == 3 and table.loc["T m1", "verdict"] == "slower"
    assert table.loc["T m2", "looks"] == 2 and pd.isna(table.loc["T m2", "settled after round"])
    fig = looks_plot(looks)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2 and visible[0].get_yscale() == "log"
    face = visible[0].collections[-1].get_facecolors()[0]
    assert mcolors.to_hex(face) == VERDICT_COLORS["slower"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "slower" in labels and "not settled" in labels


def test_looks_input_errors():
    with pytest.raises(TypeError, match="looks: expected the DataFrame"):
        looks_plot([1, 2])
    with pytest.raises(ValueError, match=r"looks: missing columns \['cell'"):
        looks_table(pd.DataFrame({"x": [1]}))
