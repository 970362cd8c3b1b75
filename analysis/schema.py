"""The tidy data model every stage shares: column names, dtypes, metrics and their directions.

One place defines what a *run*, a *measurement*, an *interval sample* and a *reject* are (see
``../shared/DESIGN.md``, "Data model"). SI units inside: bits/s, seconds, transactions/s, percent; the unit is in
the column or metric name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = [
    "RUN_COLUMNS",
    "MEASUREMENT_COLUMNS",
    "INTERVAL_COLUMNS",
    "REJECT_COLUMNS",
    "REJECT_REASONS",
    "IGNORED_COLUMNS",
    "METRICS",
    "Metric",
    "metric_direction",
    "empty_frame",
    "coerce_frame",
]

#: runs table: one row per benchmark run. Extra manifest columns are appended after these (kept, never dropped).
RUN_COLUMNS: dict[str, str] = {
    "campaign": "string",
    "run_id": "string",  # the source file's path relative to the campaign folder (posix); unique and stable
    "pv_model": "string",
    "tool": "string",  # netperf | iperf3 | iperf2 | sockperf
    "test": "string",  # canonical (analysis.vocabulary.TESTS): TCP_STREAM, TCP_MAERTS, TCP_BIDIR, UDP_RR ...
    "tool_test": "string",  # the tool's own mode: IPERF3_TCP, SOCKPERF_PING_PONG, OMNI, TCP_STREAM ...
    "msg_size_bytes": "Int64",  # send size (stream) or request size (RR)
    "response_size_bytes": "Int64",  # RR only
    "direction": "string",  # send | receive | bidir (from the client's point of view)
    "streams": "Int64",
    "target_bandwidth_bps": "float64",  # UDP target rate (iperf -b); <NA> when unlimited or not recorded
    "pinning": "string",
    "cpu_mhz": "float64",  # effective clock of the run: mean of before/after where both are known
    "cpu_mhz_before": "float64",
    "cpu_mhz_after": "float64",
    "cpu_mhz_source": "string",  # manifest-before-after | manifest | tool | <NA>
    "n_cpus": "Int64",  # CPUs behind the local CPU utilization (for cycles per byte)
    "governor": "string",
    "host": "string",
    "host_kernel": "string",
    "guest_kernel": "string",
    "mtu_bytes": "Int64",
    "session": "string",  # boot/session/host grouping for hierarchical resampling and mixed models
    "trial": "Int64",
    "order_index": "Int64",
    "warmup": "boolean",
    "start_time": "datetime64[ns, UTC]",
    "duration_s": "float64",
    "confidence_met": "boolean",  # netperf -i/-I: was the desired confidence reached (<NA> when not asked)
    "tool_version": "string",
    "source_file": "string",
    "source_sha256": "string",
    "parser": "string",
    "parser_version": "string",
}

MEASUREMENT_COLUMNS: dict[str, str] = {
    "run_id": "string",
    "metric": "string",
    "value": "float64",
}

#: per-interval samples where a tool reports them (iperf3 intervals, netperf demo-mode interim results)
INTERVAL_COLUMNS: dict[str, str] = {
    "run_id": "string",
    "metric": "string",
    "stream": "Int64",  # <NA> for the sum over streams
    "interval_start_s": "float64",
    "interval_end_s": "float64",
    "value": "float64",
}

REJECT_COLUMNS: dict[str, str] = {
    "source_file": "string",
    "reason": "string",
    "detail": "string",
}

#: ignored files: files in a campaign folder that are not runs (README, logs, .pvfairignore matches), with why
IGNORED_COLUMNS: dict[str, str] = {
    "path": "string",  # campaign-relative posix path
    "reason": "string",
}

#: every reason a raw file or manifest row can be rejected for
REJECT_REASONS: dict[str, str] = {
    "parse_error": "the file is not valid output of any supported tool (file, line and expectation in detail)",
    "tool_error": "the tool itself reported the run as failed",
    "unknown_tool": "no parser recognises the file's content",
    "manifest_mismatch": "the manifest and the file's own output disagree on a value",
    "missing_file": "a manifest row names a file that does not exist",
    "no_manifest_row": "a file a parser recognizes as a run but no manifest row names (a lost run)",
    "unsafe_path": "a manifest path that leaves the campaign folder (.., absolute, symlink out)",
    "invalid_manifest_row": "a manifest row with a missing or invalid required value",
    "duplicate_manifest_row": "two manifest rows name the same file",
    "marked_failed": "the manifest marks the run failed (status=failed), whatever its file says",
    "excluded_in_manifest": "the manifest marks the run exclude=true",
}


@dataclass(frozen=True)
class Metric:
    """A metric's meaning: which way is better, its SI unit, a one-line description."""

    name: str
    higher_is_better: bool
    unit: str
    description: str

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"


def _m(name: str, higher: bool, unit: str, description: str) -> tuple[str, Metric]:
    return name, Metric(name, higher, unit, description)


METRICS: dict[str, Metric] = dict(
    [
        _m("throughput_bps", True, "bit/s", "goodput seen by the receiver"),
        _m("send_throughput_bps", True, "bit/s", "rate the sender pushed (UDP: may exceed what arrived)"),
        _m("transactions_per_s", True, "1/s", "request/response transactions per second"),
        _m("latency_mean_s", False, "s", "mean round-trip latency"),
        _m("latency_stddev_s", False, "s", "standard deviation of round-trip latency"),
        _m("latency_min_s", False, "s", "minimum round-trip latency"),
        _m("latency_max_s", False, "s", "maximum round-trip latency"),
        _m("latency_p25_s", False, "s", "25th percentile latency"),
        _m("latency_p50_s", False, "s", "median latency"),
        _m("latency_p75_s", False, "s", "75th percentile latency"),
        _m("latency_p90_s", False, "s", "90th percentile latency"),
        _m("latency_p99_s", False, "s", "99th percentile latency"),
        _m("latency_p999_s", False, "s", "99.9th percentile latency"),
        _m("latency_p9999_s", False, "s", "99.99th percentile latency"),
        _m("latency_p99999_s", False, "s", "99.999th percentile latency"),
        _m("local_cpu_util_pct", False, "%", "local (client) CPU utilization, percent of all CPUs"),
        _m("remote_cpu_util_pct", False, "%", "remote (server) CPU utilization, percent of all CPUs"),
        _m("local_service_demand_us_per_kb", False, "us/KB", "local CPU time per KB (or per transaction for RR)"),
        _m("remote_service_demand_us_per_kb", False, "us/KB", "remote CPU time per KB (or per transaction for RR)"),
        _m("local_service_demand_us_per_tr", False, "us/Tr", "local CPU time per transaction (netperf RR)"),
        _m("remote_service_demand_us_per_tr", False, "us/Tr", "remote CPU time per transaction (netperf RR)"),
        _m("jitter_s", False, "s", "packet delay variation (iperf UDP)"),
        _m("loss_pct", False, "%", "datagrams lost, percent of sent"),
        _m("lost_packets", False, "count", "datagrams lost"),
        _m("packets", True, "count", "datagrams sent"),
        _m("retransmits", False, "count", "TCP retransmissions during the run"),
        _m("dropped_messages", False, "count", "sockperf dropped messages"),
        _m("duplicated_messages", False, "count", "sockperf duplicated messages"),
        _m("out_of_order_messages", False, "count", "sockperf out-of-order messages"),
        # normalized metrics (analysis.normalize)
        _m("throughput_bps_per_ghz", True, "bit/s/GHz", "throughput divided by the run's effective GHz"),
        _m("transactions_per_s_per_ghz", True, "1/s/GHz", "transaction rate divided by the run's effective GHz"),
        _m("packets_per_s", True, "1/s", "throughput_bps / (8 x message size)"),
        _m("local_cycles_per_byte", False, "cycle/B", "local CPU util x CPUs x Hz / bytes per second"),
        _m("remote_cycles_per_byte", False, "cycle/B", "remote CPU util x CPUs x Hz / bytes per second"),
        _m("local_cycles_per_transaction", False, "cycle", "local CPU util x CPUs x Hz / transactions per second"),
        _m("remote_cycles_per_transaction", False, "cycle", "remote CPU util x CPUs x Hz / transactions per second"),
    ]
)


def metric_direction(metric: str) -> str:
    """``"higher"`` or ``"lower"``: which way is better for *metric*.

    >>> metric_direction("latency_p99_s")
    'lower'
    """
    try:
        return METRICS[metric].direction
    except KeyError:
        raise ValueError(f"metric: unknown metric {metric!r}; expected one of {sorted(METRICS)}") from None


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty DataFrame with the given columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def coerce_frame(df: pd.DataFrame, columns: dict[str, str], *, name: str) -> pd.DataFrame:
    """Return *df* with every column of *columns* present (missing ones as <NA>) and cast to its dtype.

    Columns not in *columns* are kept after them, unchanged. A value that cannot be cast raises ``ValueError``
    naming the table (*name*) and the column.
    """
    out = df.copy()
    for col, dtype in columns.items():
        if col not in out.columns:
            missing = float("nan") if dtype == "float64" else pd.NA  # numpy float64 has no <NA>
            out[col] = pd.Series(missing, index=out.index, dtype=dtype)
            continue
        try:
            if dtype.startswith("datetime64"):
                out[col] = pd.to_datetime(out[col], utc=True).astype(dtype)
            else:
                out[col] = out[col].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: column {col!r} cannot be read as {dtype}: {exc}") from exc
    extra = [c for c in out.columns if c not in columns]
    return out[list(columns) + extra]
