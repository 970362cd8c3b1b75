"""analysis.bridge: the ratio of ratios against statsmodels OLS, the interaction test, plans, input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.bridge import bridge_plan, bridge_ratio, runs_for_half_width


def _groups(rng, n=3, host=1.2, ratio=1.1, cv=0.03, inter=1.0):
    c = 100 * ratio * np.exp(rng.normal(0, cv, n))
    ra = 100 * np.exp(rng.normal(0, cv, n))
    b = 100 * host * np.exp(rng.normal(0, cv, n))
    rb = 100 * host * inter * np.exp(rng.normal(0, cv, n))
    return c, b, ra, rb


def test_pooled_bridge_matches_statsmodels_ols_contrast(rng):
    c, b, ra, rb = _groups(rng, n=4)
    res = bridge_ratio(c, b, {"ref": (ra, rb)}, confidence_level=0.9, method="pooled")
    d = pd.DataFrame({"y": np.log(np.concatenate([c, b, ra, rb])),
                      "g": np.repeat(["c", "b", "ra", "rb"], 4)})
    fit = smf.ols("y ~ 0 + C(g)", data=d).fit()
    names = list(fit.params.index)
    w = np.zeros(len(names))
    for g, coef in {"c": 1, "b": -1, "ra": -1, "rb": 1}.items():
        w[names.index(f"C(g)[{g}]")] = coef
    tt = fit.t_test(w)
    lo, hi = np.exp(tt.conf_int(alpha=0.1)[0])
    assert res.log_effect == pytest.approx(float(tt.effect[0]), rel=1e-10)
    assert res.standard_error == pytest.approx(float(tt.sd[0, 0]), rel=1e-10)
    assert res.confidence_interval == pytest.approx((lo, hi), rel=1e-10)
    assert res.pvalue == pytest.approx(float(tt.pvalue), rel=1e-8)
    assert res.df == fit.df_resid == 12


def test_bridge_removes_the_host_effect(rng):
    c, b, ra, rb = _groups(rng, n=5, host=0.8, ratio=1.25, cv=0.01)
    res = bridge_ratio(c, b, {"ref": (ra, rb)})
    assert res.host_effect == pytest.approx(1 / 0.8, rel=0.03)
    assert res.confidence_interval[0] < 1.25 < res.confidence_interval[1]
    assert res.method == "welch" and np.isnan(res.interaction_pvalue)
    assert res.se_host > 0 and res.se_model > 0
    raw = np.exp(np.log(c).mean() - np.log(b).mean())
    assert abs(raw - 1.25) > 0.2  # the raw ratio is the host's, the bridge recovers the model's


def test_interaction_is_tested_with_two_references(rng):
    c, b, ra, rb = _groups(rng, n=4, cv=0.01)
    _, _, ra2, rb2 = _groups(rng, n=4, cv=0.01)
    ok = bridge_ratio(c, b, {"r1": (ra, rb), "r2": (ra2, rb2)})
    _, _, ra3, rb3 = _groups(rng, n=4, cv=0.01, inter=1.3)  # this reference gains 30 % more on host b
    bad = bridge_ratio(c, b, {"r1": (ra, rb), "r3": (ra3, rb3)})
    assert ok.interaction_pvalue > 0.01 and bad.interaction_pvalue < 1e-4
    assert "tested with 2 references" in bad.notes[1]


def test_runs_for_half_width_grows_with_noise():
    a = runs_for_half_width(0.02, 0.05, confidence_level=0.95)
    b = runs_for_half_width(0.10, 0.05, confidence_level=0.95)
    assert 3 <= a < b
    assert runs_for_half_width(0.10, 0.05, confidence_level=0.95, groups=4) > b
    assert runs_for_half_width(5.0, 0.001, confidence_level=0.99, max_n=50) == 50


def test_bridge_plan_names_host_and_runs():
    text = bridge_plan(factor="host", candidate="venet", baseline="vhost", candidate_levels=["a"],
                       baseline_levels=["b"], sd_log=0.03, estimate=1.2, margin=0.05, confidence_level=0.95)
    assert "run vhost on host a (where venet ran)" in text and "on host a and on host b" in text
    assert "runs per cell" in text


@pytest.mark.parametrize("kwargs, match", [
    ({"candidate": [1.0]}, "candidate: expected at least 2"),
    ({"baseline": [1.0, -2.0]}, "baseline: expected at least 2 finite positive"),
    ({"references": {}}, "references: expected a mapping"),
    ({"references": {"r": ([1.0, 2.0],)}}, r"references\['r'\]: expected \(runs"),
    ({"confidence_level": 1.5}, "confidence_level: expected a number"),
    ({"method": "bootstrap"}, "method: expected one of"),
])
def test_bridge_errors_name_the_argument(kwargs, match):
    args = {"candidate": [1.0, 1.1], "baseline": [1.0, 1.2], "references": {"r": ([1.0, 1.1], [0.9, 1.0])}}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        bridge_ratio(args.pop("candidate"), args.pop("baseline"), args.pop("references"), **args)
