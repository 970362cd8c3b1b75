"""Sequential looks: the look statistic is compare's t route (paired from 5 rounds, else Welch, moderated across
cells) against scipy and compare's own table, the simulation computes the same numbers, one look gives compare's
verdict, settled metrics are not tested again, design validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.cells import Cell
from analysis.compare import compare
from analysis.ingest import Campaign
from analysis.sequential import (
    SequentialDesign,
    cell_statistics,
    first_look_outlook,
    look_statistics,
    sequential_look,
    settled_cells,
)

pytestmark = pytest.mark.unit


def _campaign(values: dict[tuple[str, int], dict[str, list[float]]], *, paired: bool = True,
              warmup: float | None = None) -> Campaign:
    runs, meas = [], []
    for (test, size), models in values.items():
        for model, vals in models.items():
            for i, v in enumerate(vals):
                rid = f"{test}-{size}-{model}-{i}"
                runs.append({"run_id": rid, "pv_model": model, "tool": "iperf3", "test": test, "msg_size_bytes": size,
                             "pinning": "split", "trial": i + 1 if paired else pd.NA,
                             "block": i + 1 if paired else pd.NA, "warmup": False, "cpu_mhz": 3000.0})
                meas.append({"run_id": rid, "metric": "throughput_bps", "value": v})
            if warmup is not None:
                rid = f"{test}-{size}-{model}-w"
                runs.append({"run_id": rid, "pv_model": model, "tool": "iperf3", "test": test, "msg_size_bytes": size,
                             "pinning": "split", "trial": 0, "block": 0, "warmup": True, "cpu_mhz": 3000.0})
                meas.append({"run_id": rid, "metric": "throughput_bps", "value": warmup})
    return Campaign(name="t", runs=pd.DataFrame(runs), measurements=pd.DataFrame(meas),
                    intervals=pd.DataFrame(), rejects=pd.DataFrame())


B = [10.0, 10.4, 9.7, 10.1]
C = [5.1, 5.0, 5.3, 4.8]


def test_paired_statistic_matches_scipy_ttest_rel_and_warmup_is_left_out():
    b, c = [*B, 10.2], [*C, 5.2]  # 5 rounds: compare's paired route (one cell: no variance prior)
    st = look_statistics(_campaign({("IPERF3_TCP", 1024): {"a": b, "b": c}}, warmup=1.0), "a", "b")
    r = st.iloc[0]
    ref = stats.ttest_rel(np.log(c), np.log(b))
    assert r["route"] == "paired t (log)" and r["n_baseline"] == 5 and r["df"] == 4
    assert r["log_ratio"] / r["se"] == pytest.approx(ref.statistic)
    assert math.exp(r["log_ratio"]) == pytest.approx(stats.gmean(c) / stats.gmean(b))


def test_welch_statistic_matches_scipy_below_five_rounds_and_without_rounds():
    for paired, c in ((True, C), (False, C[:3])):
        st = look_statistics(_campaign({("IPERF3_TCP", 1024): {"a": B, "b": c}}, paired=paired), "a", "b")
        r = st.iloc[0]
        ref = stats.ttest_ind(np.log(c), np.log(B), equal_var=False)
        assert r["route"] == "Welch t (log)" and (r["n_baseline"], r["n_candidate"]) == (4, len(c))
        assert r["log_ratio"] / r["se"] == pytest.approx(ref.statistic)
        assert r["df"] == pytest.approx(ref.df)
    one = look_statistics(_campaign({("IPERF3_TCP", 1024): {"a": B, "b": C[:1]}, ("T", 2): {"a": B, "b": C}}),
                          "a", "b")
    one = one.set_index("msg_size_bytes").loc[1024]
    assert np.isnan(one["se"]) and "not compared" in one["note"] and one["fixed_verdict"] == "inconclusive"


def _six_cells(rng, n, ratio, paired=True):
    return _campaign({("T", s): {"a": list(np.exp(rng.normal(0, 0.05, n))),
                                 "b": list(ratio * np.exp(rng.normal(0, 0.05, n)))} for s in range(1, 7)},
                     paired=paired)


def test_look_statistic_is_compares_moderated_t_and_the_simulation_computes_the_same():
    camp = _six_cells(np.random.default_rng(4), 3, 1.0)
    st = look_statistics(camp, "a", "b")
    table = compare(camp, baseline="a", candidate="b", rng=0).table
    assert (st["route"] == "moderated Welch t (log)").all() and (table["route"] == st["route"]).all()
    for col, mine in (("t_log_effect", "log_ratio"), ("t_standard_error", "se"), ("t_df", "df")):
        assert st[mine].to_numpy() == pytest.approx(table[col].to_numpy(), rel=1e-12)
    # the prior lends df: more than Welch's 2-4 at 3 vs 3; compare's p-value is this t's
    assert (st["df"] > 8).all()
    p = 2 * stats.t.sf(np.abs(st["log_ratio"] / st["se"]), st["df"])
    assert p == pytest.approx(table["pvalue"].to_numpy(), rel=1e-9)
    # analysis.sequential_sim's statistic: cell_statistics on the same runs gives the same numbers
    cells = [Cell(keys=(s,), label=str(s), metric="throughput_bps", direction="higher",
                  b=camp.measurements["value"].to_numpy()[(camp.runs["msg_size_bytes"] == s).to_numpy()
                                                          & (camp.runs["pv_model"] == "a").to_numpy()],
                  c=camp.measurements["value"].to_numpy()[(camp.runs["msg_size_bytes"] == s).to_numpy()
                                                          & (camp.runs["pv_model"] == "b").to_numpy()],
                  b_ghz=None, c_ghz=None, ghz_b=np.full(3, np.nan), ghz_c=np.full(3, np.nan), paired=True,
                  test=None, size=None) for s in range(1, 7)]
    sim = cell_statistics(cells)
    assert [r.method for r in sim] == list(st["route"])
    assert [r.log_effect for r in sim] == pytest.approx(list(st["log_ratio"]), rel=1e-12)
    assert [r.standard_error for r in sim] == pytest.approx(list(st["se"]), rel=1e-12)
    assert [r.df for r in sim] == pytest.approx(list(st["df"]), rel=1e-12)


@pytest.mark.parametrize(("n", "paired"), [(3, True), (5, True), (4, False), (10, False)])
def test_one_look_is_compares_verdict(n, paired):
    """min_trials = max_trials: the look's verdict is compare's, cell by cell (the paired and moderated Welch t
    routes, and from 10 unpaired runs the bootstrap); the boundary is the fixed-sample t test's."""
    rng = np.random.default_rng(n)
    design = SequentialDesign(min_trials=n, max_trials=n, alpha=0.05, margin=0.05)
    seen = set()
    for ratio in (1.0, 1.03, 1.06, 1.2, 0.8):
        camp = _six_cells(rng, n, ratio, paired=paired)
        st = look_statistics(camp, "a", "b", n_resamples=999)
        table = compare(camp, baseline="a", candidate="b", rng=0, n_resamples=999).table
        look = sequential_look(st, design, look=1, round=n, m=len(st))
        assert list(look["verdict"]) == list(table["verdict"])
        seen |= set(look["verdict"])
        assert (look["fraction"] == 1.0).all() and look["z_boundary"].iloc[0] == pytest.approx(stats.norm.isf(0.05 / 12))
        t_route = ~table["route"].eq("bootstrap BCa")
        if t_route.all():  # the t routes: the repeated CI at one look is compare's simultaneous interval
            assert look["rci_low"].to_numpy() == pytest.approx(table["ci_low"].to_numpy(), rel=1e-9)
            assert look["rci_high"].to_numpy() == pytest.approx(table["ci_high"].to_numpy(), rel=1e-9)
    assert {"equivalent", "faster", "slower"} & seen and "inconclusive" in seen


def test_settled_metrics_are_not_tested_again_and_no_new_runs_is_said():
    design = SequentialDesign(min_trials=3, max_trials=6, spending="pocock")
    clear = {("T", 1): {"a": B[:3], "b": C[:3]}, ("T", 2): {"a": B[:3], "b": [10.2, 9.1, 10.9]}}
    st = look_statistics(_campaign(clear), "a", "b")
    first = sequential_look(st, design, look=1, round=3, m=2)
    assert first.set_index("msg_size_bytes").loc[2, "verdict"] == "inconclusive"
    assert first.set_index("msg_size_bytes").loc[1, "verdict"] == "slower"
    assert settled_cells(first, st) == {("iperf3", "T", "1", "split")}
    second = sequential_look(st, design, look=2, round=4, m=2, previous=first)
    assert set(second["msg_size_bytes"]) == set(first.loc[~first["settled"], "msg_size_bytes"])
    assert second["note"].str.contains("no new runs since the last look").all()
    assert second["fraction"].isna().all()


def test_design_validation_and_look_rounds():
    assert SequentialDesign(min_trials=3, max_trials=12, look_every=3).look_rounds == (3, 6, 9, 12)
    assert SequentialDesign(min_trials=3, max_trials=3).look_rounds == (3,)
    for kwargs, match in [({"min_trials": 1}, "min_trials: expected at least 2"),
                          ({"max_trials": 2}, r"max_trials: expected at least min_trials \(3\)"),
                          ({"look_every": 0}, "look_every: expected a positive whole number"),
                          ({"spending": "x"}, "spending: expected one of"),
                          ({"alpha": 0.7}, r"alpha: expected a level in \(0, 0.5\)"),
                          ({"margin": 0}, "margin: expected a relative margin"),
                          ({"correction": "bh"}, "correction: expected one of")]:
        with pytest.raises(ValueError, match=match):
            SequentialDesign(**kwargs)
    with pytest.raises(ValueError, match=r"baseline: expected one of the campaign's PV models \['a', 'b'\]"):
        look_statistics(_campaign({("T", 1): {"a": B, "b": C}}), "zz", "b")


def _shared_spread_cells(cells: int, runs: int, paired: bool) -> list[Cell]:
    """Cells whose runs all have the same spread (and, paired, the same within-round ratios' spread)."""
    rng = np.random.default_rng(runs)
    b0, c0 = np.exp(rng.normal(0, 0.05, runs)), np.exp(rng.normal(0, 0.05, runs))
    return [Cell(keys=(i,), label=str(i), metric="throughput_bps", direction="higher", b=b0 * (1 + i),
                 c=c0 * 2 * (1 + i), b_ghz=None, c_ghz=None, ghz_b=np.full(runs, np.nan),
                 ghz_c=np.full(runs, np.nan), paired=paired, test=None, size=None) for i in range(cells)]


@pytest.mark.parametrize(("cells", "runs", "paired"), [(1, 3, True), (2, 3, True), (3, 3, True), (4, 3, True),
                                                       (6, 3, False), (2, 4, False), (3, 4, True), (3, 5, True),
                                                       (3, 5, False), (6, 5, True), (5, 5, True)])
def test_first_look_outlook_says_what_compare_does_and_its_boundary_is_scipys(cells, runs, paired):
    """has_prior is exactly whether compare's route at the first look is moderated (cells sharing one spread, so a
    fit reaches its cap wherever a prior is allowed); the boundary is the Lan-DeMets O'Brien-Fleming spend at the
    first information fraction, mapped through Student's t at the cell's own df (scipy)."""
    design = SequentialDesign(min_trials=runs, max_trials=12)
    outlook = first_look_outlook(design, cells, rounds=paired)
    routes = {r.method for r in cell_statistics(_shared_spread_cells(cells, runs, paired))}
    assert routes == {("moderated " if outlook.has_prior else "")
                      + ("paired t (log)" if paired and runs >= 5 else "Welch t (log)")}
    assert outlook.own_df == (runs - 1 if paired and runs >= 5 else 2 * (runs - 1))
    a = 0.05 / cells
    spent = 2 - 2 * stats.norm.cdf(stats.norm.isf(a / 2) / math.sqrt(runs / 12))
    assert outlook.t_boundary == pytest.approx(stats.t.isf(spent / 2, outlook.own_df), rel=1e-6)
    pocock = a * math.log(1 + (math.e - 1) * runs / 12)
    assert outlook.pocock_t_boundary == pytest.approx(stats.t.isf(pocock / 2, outlook.own_df), rel=1e-6)
    assert outlook.ratio_at(0.05) == pytest.approx(
        math.exp(outlook.t_boundary * math.sqrt(math.log1p(0.05 ** 2)) * math.sqrt(2 / runs)))
    assert (outlook.summary() == "") == outlook.has_prior


def test_first_look_outlook_names_the_remedy():
    three = first_look_outlook(SequentialDesign(min_trials=3, max_trials=12), 3)
    assert not three.has_prior and three.prior_from == 4
    text = three.summary()
    assert "3 cells of 3 runs lend each other 4 df, fewer than a variance prior needs (5)" in text
    assert f"|t| = {three.t_boundary:.1f}" in text and "--min-trials 4" in text and "--spending pocock" in text
    single = first_look_outlook(SequentialDesign(min_trials=3, max_trials=12), 1)
    assert single.prior_from is None and "a single cell has no other cells" in single.summary()
    assert "--min-trials" not in single.summary()
    few_paired = first_look_outlook(SequentialDesign(min_trials=5, max_trials=8, spending="pocock"), 3)
    assert "takes a variance prior from 6 cells on, this campaign has 3" in few_paired.summary()
    assert "Sooner" not in few_paired.summary()  # Pocock already, and no later first look has a prior
    assert first_look_outlook(SequentialDesign(min_trials=3, max_trials=3), 1).summary() == ""  # one look
    assert first_look_outlook(SequentialDesign(min_trials=3, max_trials=12), 14).summary() == ""
    with pytest.raises(ValueError, match="cells: expected a positive whole number, got 0"):
        first_look_outlook(SequentialDesign(), 0)


@pytest.mark.parametrize("module", ["analysis.stats.sequential", "analysis.sequential"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
