"""analysis.published: published figures as one side; what they can and cannot show."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.ingest import load_campaign
from analysis.published import (
    PUBLISHED_KIND,
    assess_published,
    expected_range,
    find_published,
    read_published,
)
from tests.conftest import ROOT

TWO_LABS = ROOT / "data" / "raw" / "two-labs"
BASE, CAND = "virtio-net+vhost", "venet"


@pytest.fixture(scope="module")
def two_labs():
    return load_campaign(TWO_LABS)


def test_expected_range_matches_the_d2_table():
    # d2 constants of the range of n normal draws (ASTM / Montgomery's control-chart table)
    for n, d2 in {2: 1.128, 3: 1.693, 5: 2.326, 10: 3.078}.items():
        assert expected_range(n) == pytest.approx(d2, abs=5e-4)


def test_the_thread_figure_cannot_be_compared(two_labs):
    pub = read_published(find_published(TWO_LABS)[0])
    res = assess_published(pub, two_labs, baseline=BASE, candidate=CAND)
    row = res.table.iloc[0]
    assert row["value"] == 940.77e6 and row["kind"] == PUBLISHED_KIND
    assert row["status"] == "cannot be compared" and np.isnan(row["ci_low"])
    assert "without a spread" in row["reason"] and "no shared reference" in row["reason"]
    assert "the host" in row["cannot_rule_out"] and "pinning" in row["cannot_rule_out"]
    assert row["runs_needed"] >= 3 and "assumed CV of 3 %" in row["reason"]
    assert res.summary().startswith(f"[{PUBLISHED_KIND}]")


def test_spread_and_n_give_a_welch_interval_on_logs(two_labs):
    raw = two_labs.measurements.merge(two_labs.runs[["run_id", "pv_model", "test", "msg_size_bytes"]])
    raw = raw[(raw.pv_model == BASE) & (raw.test == "TCP_STREAM") & (raw.msg_size_bytes == 16384)
              & (raw.metric == "throughput_bps")]["value"].to_numpy(float)
    pub = pd.DataFrame([{"pv_model": CAND, "test": "TCP_STREAM", "msg_size_bytes": 16384, "metric": "throughput_bps",
                         "value": 940.77e6, "sd": 9.0e6, "min": np.nan, "max": np.nan, "n": 5, "host": "",
                         "source": "test"}])
    pub["n"] = pub["n"].astype("Int64")
    row = assess_published(pub, two_labs, baseline=BASE, candidate=CAND, confidence_level=0.95).table.iloc[0]
    assert row["status"] == "interval, confounded with host" and "lognormal" in row["reason"]
    # reference: scipy's Welch test from summary statistics of the logs
    s_pub = math.sqrt(math.log1p((9.0 / 940.77) ** 2))
    m_pub = math.log(940.77e6) - s_pub ** 2 / 2
    logs = np.log(raw)
    t, p = stats.ttest_ind_from_stats(m_pub, s_pub, 5, logs.mean(), logs.std(ddof=1), logs.size, equal_var=False)
    d = math.log(row["estimate"])
    assert d == pytest.approx(m_pub - logs.mean(), rel=1e-12)
    se = d / t
    half = (math.log(row["ci_high"]) - math.log(row["ci_low"])) / 2
    df = (s_pub**2 / 5 + logs.var(ddof=1) / logs.size) ** 2 / (
        (s_pub**2 / 5) ** 2 / 4 + (logs.var(ddof=1) / logs.size) ** 2 / (logs.size - 1))
    assert half == pytest.approx(stats.t(df).ppf(0.975) * se, rel=1e-9)
    assert 2 * stats.t(df).sf(abs(t)) == pytest.approx(p, rel=1e-9)


def test_read_published_errors_name_file_line_and_column(tmp_path):
    p = tmp_path / "published.csv"
    p.write_text("pv_model,test,msg_size_bytes,metric,value\nvenet,TCP_STREAM,16384,throughput_bps,1\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['source'\]"):
        read_published(p)
    p.write_text("pv_model,test,msg_size_bytes,metric,value,source\nvenet,TCP_STREAM,16384,throughput_bps,fast,x\n")
    with pytest.raises(ValueError, match=r"published.csv:2: column 'value' has 'fast'; expected a positive number"):
        read_published(p)
    p.write_text("pv_model,test,msg_size_bytes,metric,value,source\nvenet,TCP_STREAM,16384,goodput,1,x\n")
    with pytest.raises(ValueError, match=r"published.csv:2: metric 'goodput' is not a pvfair metric"):
        read_published(p)
    p.write_text("pv_model,test,msg_size_bytes,metric,value,min,source\nvenet,TCP_STREAM,16384,throughput_bps,1,1,x\n")
    with pytest.raises(ValueError, match="give both 'min' and 'max'"):
        read_published(p)
