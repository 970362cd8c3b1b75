"""analysis.normalize: per-GHz rates, packets/s, cycles per byte / transaction, provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.ingest import Campaign
from analysis.normalize import NORMALIZED_METRICS, PER_GHZ, normalization_table, normalize
from analysis.schema import (
    MEASUREMENT_COLUMNS,
    METRICS,
    REJECT_COLUMNS,
    RUN_COLUMNS,
    coerce_frame,
    empty_frame,
)

pytestmark = pytest.mark.unit


def _campaign(runs: list[dict], measurements: list[tuple[str, str, float]]) -> Campaign:
    r = pd.DataFrame(runs)
    for col, dtype in RUN_COLUMNS.items():  # coerce_frame cannot fill a missing float64 column with <NA>
        if col not in r.columns and dtype == "float64":
            r[col] = np.nan
    r = coerce_frame(r, RUN_COLUMNS, name="runs")
    m = coerce_frame(pd.DataFrame(measurements, columns=["run_id", "metric", "value"]), MEASUREMENT_COLUMNS,
                     name="measurements")
    return Campaign("t", r, m, empty_frame({}), empty_frame(REJECT_COLUMNS))


def _value(c: Campaign, run_id: str, metric: str) -> float:
    m = c.measurements
    hit = m[(m["run_id"] == run_id) & (m["metric"] == metric)]
    assert len(hit) == 1, f"{run_id}/{metric}: {len(hit)} rows"
    return float(hit["value"].iloc[0])


@pytest.fixture
def netperf_stream() -> Campaign:
    # tests/data/samples/netperf/np_tcp_stream_A_split_m4096_t1.txt: 2-vCPU VM at 2596 MHz (samples README):
    # 16829.34 10^6 bit/s, util 71.23 % local and remote, service demand 0.693 us/KB both sides, -m 4096
    runs = [
        {"run_id": "s1", "pv_model": "A", "test": "TCP_STREAM", "msg_size_bytes": 4096, "cpu_mhz": 2596.0,
         "cpu_mhz_source": "manifest", "n_cpus": 2},
    ]
    ms = [
        ("s1", "throughput_bps", 16829.34e6),
        ("s1", "local_cpu_util_pct", 71.23),
        ("s1", "remote_cpu_util_pct", 71.23),
        ("s1", "local_service_demand_us_per_kb", 0.693),
        ("s1", "remote_service_demand_us_per_kb", 0.693),
    ]
    return _campaign(runs, ms)


def test_cycles_per_byte_agrees_with_netperf_service_demand(netperf_stream):
    # Independent reference: netperf's own service demand (us of CPU per KB, KB = 1024 B) converts to cycles per
    # byte as SD * 1e-6 s/us * Hz / 1024 B/KB; our formula starts from utilization and throughput instead.
    c = normalize(netperf_stream)
    from_sd = 0.693e-6 * 2596e6 / 1024
    assert _value(c, "s1", "local_cycles_per_byte") == pytest.approx(from_sd, rel=1e-3)
    assert _value(c, "s1", "remote_cycles_per_byte") == pytest.approx(from_sd, rel=1e-3)
    # and exactly the documented formula
    assert _value(c, "s1", "local_cycles_per_byte") == pytest.approx(0.7123 * 2 * 2.596e9 / (16829.34e6 / 8))


def test_per_ghz_packets_and_raw_kept(netperf_stream):
    c = normalize(netperf_stream)
    assert _value(c, "s1", "throughput_bps_per_ghz") == pytest.approx(16829.34e6 / 2.596)
    assert _value(c, "s1", "packets_per_s") == pytest.approx(16829.34e6 / (8 * 4096))
    assert _value(c, "s1", "throughput_bps") == 16829.34e6  # raw stays beside the normalized value
    assert c.runs["cpu_ghz"].tolist() == [pytest.approx(2.596)]
    assert c.runs["cpu_mhz_source"].tolist() == ["manifest"]
    # RR-only metrics are not invented for a stream run
    assert not c.measurements["metric"].isin(["transactions_per_s_per_ghz", "local_cycles_per_transaction"]).any()
    # input untouched
    assert "cpu_ghz" not in netperf_stream.runs.columns
    assert len(netperf_stream.measurements) == 5


def test_every_normalized_metric_is_a_known_metric():
    assert set(NORMALIZED_METRICS) <= set(METRICS)
    assert PER_GHZ == {"throughput_bps": "throughput_bps_per_ghz", "transactions_per_s": "transactions_per_s_per_ghz"}


def test_rr_cycles_per_transaction_and_reference_clock():
    runs = [{"run_id": "r1", "pv_model": "B", "test": "TCP_RR", "msg_size_bytes": 1, "cpu_mhz": 1600.0, "n_cpus": 4}]
    ms = [("r1", "transactions_per_s", 20000.0), ("r1", "local_cpu_util_pct", 25.0)]
    c = normalize(_campaign(runs, ms), reference_ghz=2.4)
    # 25 % of 4 CPUs = 1 CPU busy at 1.6e9 Hz for 20,000 transactions/s -> 80,000 cycles per transaction
    assert _value(c, "r1", "local_cycles_per_transaction") == pytest.approx(80_000.0)
    # "at 2.4 GHz": 20,000 / 1.6 * 2.4 = 30,000 transactions/s
    assert _value(c, "r1", "transactions_per_s_per_ghz") == pytest.approx(30_000.0)
    assert c.runs["per_ghz_reference_ghz"].tolist() == [2.4]
    table = normalization_table(c)
    assert "transactions_per_s_per_ghz=transactions_per_s/cpu_ghz*2.4 (at 2.4 GHz)" in table.loc[0, "formulas"]
    assert c.summary["normalize"]["reference_ghz"] == 2.4


def test_missing_clock_gives_nan_rows_not_silence():
    runs = [
        {"run_id": "a", "pv_model": "A", "msg_size_bytes": 1000, "cpu_mhz": 2000.0, "cpu_mhz_source": "manifest",
         "n_cpus": 2},
        {"run_id": "b", "pv_model": "B", "msg_size_bytes": 1000, "cpu_mhz": None, "n_cpus": None},
    ]
    ms = [("a", "throughput_bps", 8e9), ("b", "throughput_bps", 8e9), ("b", "local_cpu_util_pct", 50.0),
          ("a", "local_cpu_util_pct", 50.0)]
    c = normalize(_campaign(runs, ms))
    assert _value(c, "a", "throughput_bps_per_ghz") == pytest.approx(4e9)
    assert np.isnan(_value(c, "b", "throughput_bps_per_ghz"))
    assert np.isnan(_value(c, "b", "local_cycles_per_byte"))
    assert _value(c, "b", "packets_per_s") == pytest.approx(1e6)  # does not need the clock
    assert pd.isna(c.runs.loc[1, "cpu_ghz"]) and pd.isna(c.runs.loc[1, "cpu_mhz_source"])
    table = normalization_table(c).set_index("run_id")
    assert "throughput_bps_per_ghz: no CPU frequency" in table.loc["b", "missing"]
    assert "local_cycles_per_byte: no CPU frequency, n_cpus unknown" in table.loc["b", "missing"]
    assert table.loc["a", "missing"] == ""
    assert "local_cycles_per_byte=local_cpu_util_pct/100*n_cpus*cpu_ghz*1e9/(throughput_bps/8)" in table.loc["a", "formulas"]


def test_clock_from_before_after_when_cpu_mhz_missing_and_idempotent():
    runs = [{"run_id": "a", "cpu_mhz_before": 2000.0, "cpu_mhz_after": 2200.0, "msg_size_bytes": 100}]
    ms = [("a", "throughput_bps", 2.1e9)]
    once = normalize(_campaign(runs, ms))
    assert once.runs.loc[0, "cpu_ghz"] == pytest.approx(2.1)
    assert once.runs.loc[0, "cpu_mhz_source"] == "manifest-before-after"
    assert _value(once, "a", "throughput_bps_per_ghz") == pytest.approx(1e9)
    twice = normalize(once)
    pd.testing.assert_frame_equal(once.measurements, twice.measurements)


def test_normalization_table_on_raw_campaign(netperf_stream):
    table = normalization_table(netperf_stream)
    assert list(table.columns) == ["run_id", "pv_model", "cpu_mhz", "cpu_ghz", "cpu_mhz_source", "n_cpus",
                                   "per_ghz_reference_ghz", "formulas", "missing"]
    assert table.loc[0, "cpu_ghz"] == pytest.approx(2.596)
    assert table.loc[0, "formulas"].count("=") == 4  # per GHz, packets, local and remote cycles per byte


@pytest.mark.parametrize(
    ("ref", "exc", "match"),
    [
        ("fast", TypeError, "reference_ghz: expected a positive number of GHz"),
        (-1.0, ValueError, "reference_ghz: expected a positive, finite number"),
        (2400, ValueError, "reference_ghz: expected GHz .* did you pass MHz"),
    ],
)
def test_reference_ghz_validation(netperf_stream, ref, exc, match):
    with pytest.raises(exc, match=match):
        normalize(netperf_stream, reference_ghz=ref)


def test_campaign_validation(netperf_stream):
    with pytest.raises(TypeError, match="campaign: expected an analysis.ingest.Campaign"):
        normalize(netperf_stream.runs)
    import dataclasses

    bad = dataclasses.replace(netperf_stream, runs=netperf_stream.runs.drop(columns="cpu_mhz"))
    with pytest.raises(ValueError, match="campaign.runs: missing column 'cpu_mhz'"):
        normalize(bad)
    dup = dataclasses.replace(netperf_stream, runs=pd.concat([netperf_stream.runs] * 2))
    with pytest.raises(ValueError, match="campaign.runs: run_id must be unique, 's1'"):
        normalize(dup)
    bad_m = dataclasses.replace(netperf_stream, measurements=netperf_stream.measurements.drop(columns="value"))
    with pytest.raises(ValueError, match="campaign.measurements: missing column 'value'"):
        normalize(bad_m)
