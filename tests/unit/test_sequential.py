"""Sequential looks: the t statistic on the log metric (paired when rounds pair the models, else Welch) against
scipy, one look = the fixed-sample t test and TOST, settled metrics are not tested again, design validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.ingest import Campaign
from analysis.sequential import SequentialDesign, look_statistics, sequential_look, settled_cells

pytestmark = pytest.mark.unit


def _campaign(values: dict[tuple[str, int], dict[str, list[float]]], *, paired: bool = True,
              warmup: float | None = None) -> Campaign:
    runs, meas = [], []
    for (test, size), models in values.items():
        for model, vals in models.items():
            for i, v in enumerate(vals):
                rid = f"{test}-{size}-{model}-{i}"
                runs.append({"run_id": rid, "pv_model": model, "tool": "iperf3", "test": test, "msg_size_bytes": size,
                             "pinning": "split", "trial": i + 1 if paired else pd.NA, "warmup": False})
                meas.append({"run_id": rid, "metric": "throughput_bps", "value": v})
            if warmup is not None:
                rid = f"{test}-{size}-{model}-w"
                runs.append({"run_id": rid, "pv_model": model, "tool": "iperf3", "test": test, "msg_size_bytes": size,
                             "pinning": "split", "trial": 0, "warmup": True})
                meas.append({"run_id": rid, "metric": "throughput_bps", "value": warmup})
    return Campaign(name="t", runs=pd.DataFrame(runs), measurements=pd.DataFrame(meas),
                    intervals=pd.DataFrame(), rejects=pd.DataFrame())


B = [10.0, 10.4, 9.7, 10.1]
C = [5.1, 5.0, 5.3, 4.8]


def test_paired_statistic_matches_scipy_ttest_rel_and_warmup_is_left_out():
    st = look_statistics(_campaign({("IPERF3_TCP", 1024): {"a": B, "b": C}}, warmup=1.0), "a", "b")
    r = st.iloc[0]
    ref = stats.ttest_rel(np.log(C), np.log(B))
    assert r["route"] == "paired-log-t" and r["n_pairs"] == 4 and r["df"] == 3
    assert r["log_ratio"] / r["se"] == pytest.approx(ref.statistic)
    assert math.exp(r["log_ratio"]) == pytest.approx(stats.gmean(C) / stats.gmean(B))


def test_welch_statistic_matches_scipy_when_rounds_do_not_pair():
    st = look_statistics(_campaign({("IPERF3_TCP", 1024): {"a": B, "b": C[:3]}}), "a", "b")
    r = st.iloc[0]
    ref = stats.ttest_ind(np.log(C[:3]), np.log(B), equal_var=False)
    assert r["route"] == "welch-log-t" and (r["n_baseline"], r["n_candidate"]) == (4, 3)
    assert r["log_ratio"] / r["se"] == pytest.approx(ref.statistic)
    assert r["df"] == pytest.approx(ref.df)
    one = look_statistics(_campaign({("IPERF3_TCP", 1024): {"a": B, "b": C[:1]}}), "a", "b").iloc[0]
    assert np.isnan(one["se"]) and "fewer than 2 runs" in one["note"]


@pytest.mark.parametrize("paired", [True, False])
def test_one_look_is_the_fixed_sample_verdict(paired):
    rng = np.random.default_rng(3)
    design = SequentialDesign(min_trials=4, max_trials=4, alpha=0.05, margin=0.05)
    m = 3
    for ratio in (1.0, 1.03, 1.2, 0.8):
        vals = {("T", s): {"a": list(np.exp(rng.normal(0, 0.04, 4))),
                           "b": list(ratio * np.exp(rng.normal(0, 0.04, 4)))} for s in (1, 2, 3)}
        st = look_statistics(_campaign(vals, paired=paired), "a", "b")
        look = sequential_look(st, design, look=1, round=4, m=m)
        for (_, r), (_, s) in zip(look.iterrows(), st.iterrows(), strict=True):
            a, b = np.log(vals[("T", r["msg_size_bytes"])]["a"]), np.log(vals[("T", r["msg_size_bytes"])]["b"])
            res = stats.ttest_rel(b, a) if paired else stats.ttest_ind(b, a, equal_var=False)
            df = len(a) - 1 if paired else res.df
            significant = res.pvalue < 0.05 / m
            lm = math.log1p(0.05)
            p_tost = max(stats.t.sf((s["log_ratio"] + lm) / s["se"], df), stats.t.sf((lm - s["log_ratio"]) / s["se"], df))
            equivalent = p_tost < 0.05
            expect = {(True, True): "but within margin", (True, False): "er", (False, True): "equivalent",
                      (False, False): "inconclusive"}[(significant, equivalent)]
            assert expect in r["verdict"], (ratio, r["verdict"], res.pvalue, p_tost)
            assert r["fraction"] == 1.0 and r["z_boundary"] == pytest.approx(stats.norm.isf(0.05 / m / 2))
            # the repeated CI at one look is the simultaneous (Bonferroni) t interval
            half = stats.t.isf(0.05 / m / 2, df) * s["se"]
            assert r["rci_low"] == pytest.approx(math.exp(s["log_ratio"] - half))


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
    with pytest.raises(ValueError, match="baseline/candidate: model 'zz' not in the campaign"):
        look_statistics(_campaign({("T", 1): {"a": B, "b": C}}), "zz", "b")


@pytest.mark.parametrize("module", ["analysis.stats.sequential", "analysis.sequential"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
