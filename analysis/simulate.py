"""Simulated benchmark campaigns with a known truth, written in the tools' real output formats.

:func:`simulate_campaign` writes one raw file per run (netperf 2.7 classic output with ``-c -C`` by default; also
netperf omni ``-k`` key=value output, iperf3 ``-J`` JSON, iperf 2 text and sockperf ping-pong text), a
``manifest.csv`` describing every run, and a ``truth.csv`` with the candidate/baseline ratio each metric has at
equal clock and pinning. Everything downstream (ingest, normalize, audit, compare, model, notebooks) is tested on
these campaigns, so the generating model below is the contract the analysis models assume.

Generating model
----------------
For a run of model *m* (baseline or candidate) of test *t* with message size *s*, at pinning *p*, clock *f* MHz,
which is the *j*-th run of *m* in run order and belongs to session *b* of *m*::

    log(rate) = log(base(t, s))                                    # scale, see BASE_* below
              + log(true_ratio(t, s)) * [m is the candidate]
              + elasticity(t, s) * log(f / nominal_mhz)              # clock confound
              + log(pinning_effect[p])                               # pinning stratum
              + drift[m] * (j - mean_j)                              # time drift, centred on the model's mid-run
              + u[m, b]                                              # session (boot) level, u ~ N(0, session_sd^2)
              + e,  e ~ N(0, cv^2)                                   # run-to-run noise
              [+ log(factor) with probability share]                 # contamination: a second, slower mode

*rate* is the throughput in bits/s for stream tests and the transaction rate for request/response (RR) tests.
The drift term is centred on the middle of the model's run sequence, so a cell measured evenly across the
campaign gains spread but no bias, and the truth is the rate at the model's mid-campaign.

Derived quantities:

* RR latency: ``latency_mean_s = 1 / transactions_per_s`` (one transaction in flight), so latency ratios are the
  inverse of rate ratios; percentiles are fixed multiples of the mean (:data:`LATENCY_SHAPE`).
* CPU utilization (local and remote, each): ``cpu_util_pct * exp(N(0, CPU_UTIL_CV^2))``, capped at 100 %; it does
  not depend on the model, clock or pinning (truth ratio 1).
* Service demand exactly as netperf computes it: ``util/100 * n_cpus * 1e6 / (bytes/s / 1024)`` us/KB for stream
  tests, ``util/100 * n_cpus * 1e6 / transactions/s`` us/Tr for RR tests; its truth ratio is ``1 / true_ratio``.
  With a constant utilization, cycles per byte (util x CPUs x Hz / bytes/s) are invariant to the clock exactly when
  the elasticity is 1 (CPU-bound).
* CPU MHz before / after each run (manifest): the run's clock ``f`` plus N(0, MHZ_JITTER^2) each, as
  ``/proc/cpuinfo`` shows it (3 decimals).

Defaults: elasticity 1.0 for RR tests and stream messages <= 1024 bytes (CPU-bound), 0.0 for >= 16384 bytes
(wire-bound), 0.5 between. Base scales are GigE-era (:data:`BASE_STREAM_MBPS`, :data:`BASE_RR_TPS`): stream
throughput rising from about 150 Mb/s at 64-byte messages to the 941 Mb/s TCP goodput ceiling of gigabit Ethernet
(venet was shown at about 940 Mb/s with 16384-byte messages in Sep 2009).

Run plan
--------
Cells are (test, message size); RR tests use 1-byte requests and responses. Without ``pinning_mix`` each model runs
every cell ``trials`` times at every pinning; with ``pinning_mix`` each model runs every cell ``trials`` times and
the pinnings are apportioned by its shares (largest remainder; ``pinning_draw="per-run"`` draws each run's pinning
with those probabilities instead). ``low_clock=(model, fraction, MHz)`` puts
``round(fraction * n)`` of that model's ``n`` runs of each cell at the low clock (chosen at random), the rest at
``nominal_mhz``. ``order="interleaved"`` shuffles all runs of trial 1, then of trial 2, ... (randomized, blocked per
trial); ``order="blocked"`` runs every baseline run (trial-blocked, shuffled within trial) before every candidate
run. Each model's runs are split into ``sessions`` contiguous blocks in run order. With several ``tools``, every
tool measures the cells it supports (:data:`TOOLS`), each as its own runs.

Formats (:data:`TOOLS`)
-----------------------
``netperf``: netperf 2.7 classic ``-c -C`` output (format strings of netperf's ``src/nettest_bsd.c``; a real
file's numbers fed to the writer reproduce it byte for byte, a unit test checks it), every test.
``netperf-omni-kv``: the migrated banner plus ``-k`` KEY=VALUE lines (latencies in microseconds,
``LOCAL_CPU_FREQUENCY`` = the run's clock), every test. ``iperf3``: ``-J`` JSON in cJSON's layout, TCP_STREAM and
TCP_MAERTS (``-R``: ``reverse`` 1, the client's sums marked ``sender: false``; manifest test ``IPERF3_TCP``,
1-second intervals), so one campaign mixes forward and reverse runs of the same size. ``iperf2``: iperf 2.1.8 client text, TCP_STREAM
(``IPERF2_TCP``; 3 significant digits as iperf prints them). ``sockperf``: sockperf 3.7 ping-pong with
``-m 64`` standing in for UDP_RR (``SOCKPERF_PING_PONG``; its latency is half the round trip, ``0.5 / rate``).
The manifest's ``tool`` column is the parser registry key (``netperf`` for both netperf formats). Its ``test``
column is in the tools' own vocabulary (``IPERF3_TCP``) by default, or the canonical one (``TCP_MAERTS``) with
``manifest_vocabulary="canonical"``; ``truth.csv`` names the canonical test (and the tool's own in ``tool_test``).

Non-run files (``non_run_files=True``): a ``README.md``, a console log, a shell script and a PNG beside the runs
(ingest lists them as ignored), and a ``.pvfairignore`` excluding ``scratch/``, which holds a stale copy of a run
(without the ignore list it would be a lost run, ``no_manifest_row``).

Same seed, same bytes: every draw comes from one ``numpy.random.Generator`` seeded with ``seed``, in a fixed order.
"""

from __future__ import annotations

import csv
import io
import math
import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

__all__ = [
    "CampaignSpec",
    "simulate_campaign",
    "true_ratios",
    "plan_runs",
    "DEMO_SPEC",
    "TOOLS",
    "TESTS",
    "BASE_STREAM_MBPS",
    "BASE_RR_TPS",
    "LATENCY_SHAPE",
    "default_elasticity",
    "ArchiveSpec",
    "ARCHIVE_VERSIONS",
    "simulate_archive",
]

# --------------------------------------------------------------------------------------------------------------
# the spec


@dataclass(frozen=True)
class CampaignSpec:
    """What to simulate: two PV models, the cells, the planted truth and the planted confounds.

    Attributes
    ----------
    name : a label for the campaign (not written into the files; the folder name is the campaign's name)
    baseline, candidate : the two PV model names (``pv_model`` in the manifest)
    tests : netperf test names, from :data:`TESTS`
    stream_msg_sizes_bytes : message sizes of the stream tests; RR tests use 1-byte requests and responses
    pinnings : pinning labels (strata), e.g. ``("split", "same-core")``
    trials : runs per model per cell (per pinning as well when ``pinning_mix`` is None)
    true_ratio : candidate/baseline rate ratio at equal clock and pinning; one value or per (test, msg_size_bytes)
        (cells not named get 1.0)
    cv : run-to-run noise, the standard deviation of log(rate)
    nominal_mhz : the clock the base scales refer to; runs not at the low clock run at it
    clock_elasticity : d log(rate) / d log(clock), one value or per (test, msg_size_bytes); None -> default
        (:func:`default_elasticity`)
    low_clock : (model, fraction of its runs per cell, MHz), as under an ondemand governor; None -> no confound
    pinning_effect : pinning -> multiplier on rates (missing pinnings -> 1.0)
    pinning_mix : model -> {pinning: share of its runs}; None -> every pinning for every model (balanced)
    pinning_draw : with ``pinning_mix``, ``"apportioned"`` (the shares by largest remainder, per cell) or
        ``"per-run"`` (each run's pinning drawn independently with those probabilities, as an operator who pins
        when they remember)
    one_model_cells : (model, test, msg_size_bytes) cells run by that model only
    drift_per_run : model -> change of log(rate) per run of that model, in run order (e.g. {"venet": -0.002})
    order : ``"interleaved"`` or ``"blocked"`` (see the module docstring)
    sessions : sessions (boots) per model; session_sd : sd of their random log level
    tools : output formats to write, keys of :data:`TOOLS`
    broken_inputs : add a truncated netperf file, an iperf3 JSON with "error" and a manifest row whose file is
        missing (manifest rows present for all three)
    cpu_util_pct : mean CPU utilization the tools report; n_cpus : CPUs behind it
    manifest_vocabulary : ``"tool"`` (the manifest's ``test`` as each tool's parser names it, ``IPERF3_TCP``) or
        ``"canonical"`` (``TCP_STREAM`` / ``TCP_MAERTS`` / ``UDP_RR``: :data:`analysis.vocabulary.TESTS`)
    non_run_files : add files that are not runs (README, log, script, image) and a ``.pvfairignore`` with an
        excluded folder (see the module docstring)
    contamination : (share, factor): each run independently, with probability *share*, comes from a second mode
        whose rate is *factor* times the first (e.g. ``(0.1, 0.8)``: 10 % of runs 20 % lower, a run that lost its
        CPU or hit a slow path); None -> one mode. Drawn after the run's other draws, only when set.
    host : the manifest's ``host`` of every run; host_effect : multiplier of every rate on that host (a side's
        machine, for two-lab campaigns: both models' rates, so the truth ratio is unchanged)
    roles : pv_model -> manifest ``role`` (``baseline`` / ``candidate`` / ``reference``); None writes no column
    """

    name: str = "sim"
    baseline: str = "virtio-net+vhost"
    candidate: str = "venet"
    tests: tuple[str, ...] = ("TCP_STREAM", "TCP_RR", "UDP_RR")
    stream_msg_sizes_bytes: tuple[int, ...] = (64, 1024, 16384)
    pinnings: tuple[str, ...] = ("split",)
    trials: int = 5
    true_ratio: float | Mapping[tuple[str, int], float] = 1.0
    cv: float = 0.03
    nominal_mhz: float = 2400.0
    clock_elasticity: float | Mapping[tuple[str, int], float] | None = None
    low_clock: tuple[str, float, float] | None = None
    pinning_effect: Mapping[str, float] = field(default_factory=dict)
    pinning_mix: Mapping[str, Mapping[str, float]] | None = None
    pinning_draw: str = "apportioned"
    one_model_cells: tuple[tuple[str, str, int], ...] = ()
    drift_per_run: Mapping[str, float] = field(default_factory=dict)
    order: str = "interleaved"
    sessions: int = 1
    session_sd: float = 0.0
    tools: tuple[str, ...] = ("netperf",)
    broken_inputs: bool = False
    cpu_util_pct: float = 50.0
    n_cpus: int = 2
    manifest_vocabulary: str = "tool"
    non_run_files: bool = False
    contamination: tuple[float, float] | None = None
    host: str = "kvm-host-a"
    host_effect: float = 1.0
    roles: Mapping[str, str] | None = None

    @property
    def models(self) -> tuple[str, str]:
        return (self.baseline, self.candidate)

    def cells(self) -> list[tuple[str, int]]:
        """(test, msg_size_bytes) cells in spec order."""
        out: list[tuple[str, int]] = []
        for t in self.tests:
            if t in TESTS and TESTS[t].kind == "stream":
                out.extend((t, int(s)) for s in self.stream_msg_sizes_bytes)
            else:
                out.append((t, 1))
        return out

    def ratio(self, test: str, size: int) -> float:
        return _cell_value(self.true_ratio, test, size, 1.0)

    def elasticity(self, test: str, size: int) -> float:
        value = self.clock_elasticity
        if value is None or (isinstance(value, Mapping) and (test, size) not in value):
            return default_elasticity(test, size)
        return _cell_value(value, test, size, None)


def _cell_value(value, test: str, size: int, default):
    if isinstance(value, Mapping):
        return float(value.get((test, size), default))
    return float(value)


# --------------------------------------------------------------------------------------------------------------
# scales


@dataclass(frozen=True)
class _Test:
    kind: str  # "stream" | "rr"
    protocol: str  # "TCP" | "UDP"


#: netperf tests the simulator knows: name -> kind (stream / rr) and protocol
TESTS: dict[str, _Test] = {
    "TCP_STREAM": _Test("stream", "TCP"),
    "TCP_MAERTS": _Test("stream", "TCP"),
    "TCP_RR": _Test("rr", "TCP"),
    "UDP_RR": _Test("rr", "UDP"),
    "TCP_CRR": _Test("rr", "TCP"),
}

#: baseline stream throughput (Mb/s) at the nominal clock by message size; log-log interpolated between, capped at
#: the GigE TCP goodput ceiling of 941 Mb/s
BASE_STREAM_MBPS: dict[int, float] = {64: 150.0, 256: 420.0, 1024: 800.0, 4096: 935.0, 16384: 940.0, 65536: 941.0}

#: baseline transaction rate (1/s) of the RR tests at the nominal clock (1-byte request and response)
BASE_RR_TPS: dict[str, float] = {"TCP_RR": 12500.0, "UDP_RR": 14200.0, "TCP_CRR": 4100.0}

#: latency percentiles as multiples of the mean (omni -k and sockperf output)
LATENCY_SHAPE: dict[str, float] = {"min": 0.55, "p25": 0.8, "p50": 0.9, "p75": 1.02, "p90": 1.25, "p99": 2.6,
                                   "p999": 6.0, "p9999": 14.0, "p99999": 25.0, "max": 30.0, "stddev": 0.45}

CPU_UTIL_CV = 0.05
MHZ_JITTER = 4.0
RUN_SECONDS = 10
GAP_SECONDS = 5
CAMPAIGN_START = datetime(2009, 11, 5, 9, 0, 0, tzinfo=UTC)


def _base_rate(test: str, size: int) -> float:
    """Baseline rate at the nominal clock: bits/s (stream) or transactions/s (RR)."""
    if TESTS[test].kind == "rr":
        return BASE_RR_TPS[test]
    xs = np.log(np.array(sorted(BASE_STREAM_MBPS), dtype=float))
    ys = np.log(np.array([BASE_STREAM_MBPS[k] for k in sorted(BASE_STREAM_MBPS)]))
    lx = math.log(size)
    if lx <= xs[0]:  # below 64 bytes: proportional to the size (per-message cost dominates)
        mbps = BASE_STREAM_MBPS[64] * size / 64.0
    else:
        mbps = float(np.exp(np.interp(lx, xs, ys)))
    return min(mbps, 941.0) * 1e6


def default_elasticity(test: str, size: int) -> float:
    """Default clock elasticity: 1.0 for RR and stream <= 1024 B, 0.0 for stream >= 16384 B, 0.5 between.

    >>> default_elasticity("TCP_STREAM", 4096), default_elasticity("UDP_RR", 1)
    (0.5, 1.0)
    """
    if TESTS[test].kind == "rr" or size <= 1024:
        return 1.0
    if size >= 16384:
        return 0.0
    return 0.5


# --------------------------------------------------------------------------------------------------------------
# run plan


@dataclass(frozen=True)
class _Run:
    model: str
    tool: str
    test: str  # the spec's (netperf) test
    size: int
    pinning: str
    trial: int  # 1-based, per (tool, model, cell[, pinning])
    low_clock: bool


def _apportion(n: int, shares: Mapping[str, float], order: tuple[str, ...]) -> dict[str, int]:
    """Largest-remainder apportionment of n runs to pinnings by share (ties broken by pinning order)."""
    raw = {p: n * float(shares.get(p, 0.0)) for p in order}
    counts = {p: int(math.floor(v)) for p, v in raw.items()}
    left = n - sum(counts.values())
    by_rem = sorted(order, key=lambda p: (-(raw[p] - counts[p]), order.index(p)))
    for p in by_rem[:left]:
        counts[p] += 1
    return counts


def _plan(spec: CampaignSpec, rng: np.random.Generator) -> list[_Run]:
    """All runs in execution order (draws: pinning shuffles, low-clock choice, order shuffles)."""
    only = {(t, int(s)): m for m, t, s in spec.one_model_cells}  # cell -> the one model that measures it
    runs: list[_Run] = []
    for tool in spec.tools:
        writer = TOOLS[tool]
        for model in spec.models:
            for test, size in spec.cells():
                if not writer.supports(test) or only.get((test, size), model) != model:
                    continue
                if spec.pinning_mix is None:
                    pins = [p for p in spec.pinnings for _ in range(spec.trials)]
                    trials = [k + 1 for _ in spec.pinnings for k in range(spec.trials)]
                elif spec.pinning_draw == "per-run":
                    shares = np.array([float(spec.pinning_mix[model].get(p, 0.0)) for p in spec.pinnings])
                    pins = [spec.pinnings[i] for i in rng.choice(len(spec.pinnings), size=spec.trials,
                                                                 p=shares / shares.sum())]
                    trials = list(range(1, spec.trials + 1))
                else:
                    counts = _apportion(spec.trials, spec.pinning_mix[model], spec.pinnings)
                    pins = [p for p in spec.pinnings for _ in range(counts[p])]
                    pins = [pins[i] for i in rng.permutation(len(pins))]
                    trials = list(range(1, spec.trials + 1))
                n = len(pins)
                low = np.zeros(n, dtype=bool)
                if spec.low_clock is not None and spec.low_clock[0] == model:
                    k = int(math.floor(spec.low_clock[1] * n + 0.5))
                    low[rng.choice(n, size=k, replace=False)] = True
                runs.extend(_Run(model, tool, test, size, p, tr, bool(lo))
                            for p, tr, lo in zip(pins, trials, low, strict=True))
    return ORDERS[spec.order](runs, spec, rng)


def _shuffle_by_trial(runs: list[_Run], rng: np.random.Generator) -> list[_Run]:
    out: list[_Run] = []
    for k in sorted({r.trial for r in runs}):
        block = [r for r in runs if r.trial == k]
        out.extend(block[i] for i in rng.permutation(len(block)))
    return out


def _order_interleaved(runs, spec, rng):
    return _shuffle_by_trial(runs, rng)


def _order_blocked(runs, spec, rng):
    out: list[_Run] = []
    for model in spec.models:
        out.extend(_shuffle_by_trial([r for r in runs if r.model == model], rng))
    return out


#: run orders: name -> function(runs, spec, rng) -> runs in execution order
ORDERS: dict[str, Callable] = {"interleaved": _order_interleaved, "blocked": _order_blocked}


def plan_runs(spec: CampaignSpec = CampaignSpec(), *, seed: int = 0) -> pd.DataFrame:
    """The manifest :func:`simulate_campaign` would write for *spec* and *seed*, plus the simulated clock and rate.

    Columns: the manifest's, plus ``clock_mhz`` (the run's true clock) and ``true_rate`` (its expected rate before
    run-to-run noise: bits/s or transactions/s).
    """
    spec = _simulate_campaign_iv(None, spec, seed)
    return _simulate(spec, seed)[0]


# --------------------------------------------------------------------------------------------------------------
# formatting helpers


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


# --------------------------------------------------------------------------------------------------------------
# netperf 2.7 classic output (format strings from netperf's src/nettest_bsd.c, 2.7.0)

_NP_STREAM_BANNER = {"TCP_STREAM": "TCP STREAM", "TCP_MAERTS": "TCP MAERTS"}
_NP_RR_BANNER = {"TCP_RR": "TCP REQUEST/RESPONSE", "UDP_RR": "UDP REQUEST/RESPONSE",
                 "TCP_CRR": "TCP Connect/Request/Response"}
_NP_REMOTE = "192.168.122.1"
_NP_SOCKETS = {"TCP": (16384, 87380), "UDP": (124928, 124928)}


def _printf(fmt: str, *args) -> str:
    """C printf semantics (netperf's and cJSON's format strings are kept verbatim)."""
    return fmt % args  # noqa: UP031


def _netperf_banner(test: str, remote: str = _NP_REMOTE) -> str:
    if TESTS[test].kind == "stream":
        title, suffix = _NP_STREAM_BANNER[test], ""
    else:
        title, suffix = _NP_RR_BANNER[test], " : first burst 0"
    return (f"MIGRATED {title} TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to {remote} () port 0 AF_INET"
            f"{suffix}\n")


def _netperf_classic(v: dict) -> str:
    """netperf -c -C output of one run; *v* holds the run's values (see :func:`_values`)."""
    test = v["test"]
    if TESTS[test].kind == "stream":
        send_sock, recv_sock = v.get("sockets", _NP_SOCKETS["TCP"])
        title = (
            "Recv   Send    Send                          Utilization       Service Demand\n"
            "Socket Socket  Message  Elapsed              Send     Recv     Send    Recv\n"
            "Size   Size    Size     Time     Throughput  local    remote   local   remote\n"
            "bytes  bytes   bytes    secs.    %-8.8s/s  %% %c      %% %c      us/KB   us/KB\n\n"
        )
        title = _printf(title, "10^6bits", "S", "S")
        row = "%6d %6d %6d    %-6.2f     %7.2f   %-6.2f   %-6.2f   %-6.3f  %-6.3f %s\n" % (  # noqa: UP031
            recv_sock, send_sock, v["size"], v["elapsed_s"], v["rate"] / 1e6, v["local_util"], v["remote_util"],
            v["local_sd"], v["remote_sd"], "")
        return _netperf_banner(test) + title + row
    send_sock, recv_sock = v.get("sockets", _NP_SOCKETS[TESTS[test].protocol])
    title = (
        "Local /Remote\n"
        "Socket Size   Request Resp.  Elapsed Trans.   CPU    CPU    S.dem   S.dem\n"
        "Send   Recv   Size    Size   Time    Rate     local  remote local   remote\n"
        "bytes  bytes  bytes   bytes  secs.   per sec  %% %c    %% %c    us/Tr   us/Tr\n\n"
    )
    title = _printf(title, "S", "S")
    line1 = "%-6d %-6d %-6d  %-6d %-6.2f  %-6.2f  %-6.2f %-6.2f %-6.3f  %-6.3f %s\n" % (  # noqa: UP031
        send_sock, recv_sock, v["size"], v["size"], v["elapsed_s"], v["rate"], v["local_util"], v["remote_util"],
        v["local_sd"], v["remote_sd"], "")
    line2 = "%-6d %-6d\n" % (send_sock, recv_sock)  # noqa: UP031
    return _netperf_banner(test) + title + line1 + line2


def _netperf_truncated(v: dict) -> str:
    """A netperf run cut off mid-way through its result row (as when the client is killed)."""
    full = _netperf_classic(v)
    lines = full.splitlines(keepends=True)
    head = "".join(lines[:-1]) if TESTS[v["test"]].kind == "stream" else "".join(lines[:-2])
    row = lines[-1] if TESTS[v["test"]].kind == "stream" else lines[-2]
    return head + row[: len(row) // 3]


# --------------------------------------------------------------------------------------------------------------
# iperf3 -J output (cJSON's formatting: tab indentation, "key":<TAB>value)


def _cjson_number(x: float | int) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int) or (float(x).is_integer() and abs(x) < 2**31):
        return str(int(x))
    s = "%1.15g" % x  # noqa: UP031 (cJSON's printf formats)
    if float(s) != float(x):
        s = "%1.17g" % x  # noqa: UP031
    return s


def _cjson(value, depth: int = 0) -> str:
    tabs = "\t" * depth
    if isinstance(value, dict):
        if not value:
            return "{\n" + tabs + "}"
        inner = ",\n".join(f"{tabs}\t{_cjson_str(k)}:\t{_cjson(v, depth + 1)}" for k, v in value.items())
        return "{\n" + inner + "\n" + tabs + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_cjson(v, depth + 1) for v in value) + "]"
    if isinstance(value, str):
        return _cjson_str(value)
    if value is None:
        return "null"
    return _cjson_number(value)


def _cjson_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_IPERF3_VERSION = "iperf 3.7"
_IPERF3_SYSTEM = "Linux guest-{model} 2.6.32-rc5 #1 SMP Thu Nov 5 08:00:00 UTC 2009 x86_64"


def _iperf3_start(v: dict, *, connected: bool) -> dict:
    ts: datetime = v["start_time"]
    start = {
        "connected": [{"socket": 5, "local_host": "192.168.122.2", "local_port": 40000 + v["order_index"],
                       "remote_host": _NP_REMOTE, "remote_port": 5201}] if connected else [],
        "version": _IPERF3_VERSION,
        "system_info": _IPERF3_SYSTEM.format(model=_slug(v["model"])),
        "timestamp": {"time": ts.strftime("%a, %d %b %Y %H:%M:%S GMT"), "timesecs": int(ts.timestamp())},
        "connecting_to": {"host": _NP_REMOTE, "port": 5201},
    }
    if connected:
        start.update({
            "cookie": f"pvfairsim{v['order_index']:027d}",
            "tcp_mss_default": 1448,
            "sock_bufsize": 0,
            "sndbuf_actual": 16384,
            "rcvbuf_actual": 131072,
            "test_start": {"protocol": "TCP", "num_streams": 1, "blksize": v["size"], "omit": 0,
                           "duration": RUN_SECONDS, "bytes": 0, "blocks": 0,
                           "reverse": int(v.get("test") == "TCP_MAERTS"), "tos": 0},
        })
    return start


def _iperf3_json(v: dict) -> str:
    """iperf3 -c ... -J -t RUN_SECONDS -l SIZE output of a TCP run (``-R`` for TCP_MAERTS: the client receives,
    so its records say ``sender: false`` as iperf3 3.12 writes them)."""
    sender = v.get("test") != "TCP_MAERTS"
    secs = v["interval_s"]
    bps = v["interval_bps"]
    intervals, t0 = [], 0.0
    total_bytes = 0
    for dt, rate in zip(secs, bps, strict=True):
        nbytes = int(round(rate * dt / 8 / v["size"])) * v["size"]
        total_bytes += nbytes
        entry = {"socket": 5, "start": round(t0, 6), "end": round(t0 + dt, 6), "seconds": dt, "bytes": nbytes,
                 "bits_per_second": nbytes * 8 / dt, "retransmits": 0, "snd_cwnd": 314640, "rtt": 250,
                 "rttvar": 40, "pmtu": 1500, "omitted": False, "sender": sender}
        s = {k: entry[k] for k in ("start", "end", "seconds", "bytes", "bits_per_second", "retransmits",
                                    "omitted", "sender")}
        intervals.append({"streams": [entry], "sum": s})
        t0 += dt
    end_t = round(t0, 6)
    recv_bytes = total_bytes - v["size"] * 3
    recv_end = round(end_t + 0.000041, 6)
    sent = {"socket": 5, "start": 0, "end": end_t, "seconds": end_t, "bytes": total_bytes,
            "bits_per_second": total_bytes * 8 / end_t, "retransmits": 0, "max_snd_cwnd": 314640,
            "max_rtt": 410, "min_rtt": 180, "mean_rtt": 250, "sender": sender}
    received = {"socket": 5, "start": 0, "end": recv_end, "seconds": end_t, "bytes": recv_bytes,
                "bits_per_second": recv_bytes * 8 / recv_end, "sender": sender}
    doc = {
        "start": _iperf3_start(v, connected=True),
        "intervals": intervals,
        "end": {
            "streams": [{"sender": sent, "receiver": received}],
            "sum_sent": {k: sent[k] for k in ("start", "end", "seconds", "bytes", "bits_per_second",
                                               "retransmits", "sender")},
            "sum_received": {k: received[k] for k in ("start", "end", "seconds", "bytes", "bits_per_second",
                                                       "sender")},
            "cpu_utilization_percent": {
                "host_total": v["local_util"], "host_user": v["local_util"] * 0.05,
                "host_system": v["local_util"] * 0.95, "remote_total": v["remote_util"],
                "remote_user": v["remote_util"] * 0.03, "remote_system": v["remote_util"] * 0.97},
            "sender_tcp_congestion": "cubic",
            "receiver_tcp_congestion": "cubic",
        },
    }
    return _cjson(doc) + "\n"


def _iperf3_error(v: dict) -> str:
    """iperf3 -J output of a run that could not connect (an ``"error"`` key, empty intervals and end)."""
    doc = {"start": _iperf3_start(v, connected=False), "intervals": [], "end": {},
           "error": "error - unable to connect to server: Connection refused"}
    return _cjson(doc) + "\n"



# --------------------------------------------------------------------------------------------------------------
# netperf omni -k KEY=VALUE output (migrated test banner, then one KEY=VALUE per selected output)


def _netperf_omni_kv(v: dict) -> str:
    """``netperf -t TEST -c -C -- ... -k KEYS`` output; latency keys in microseconds as netperf prints them."""
    test = v["test"]
    lines = [_netperf_banner(test).rstrip("\n")]
    if TESTS[test].kind == "stream":
        lines += [f"THROUGHPUT={v['rate'] / 1e6:.2f}", "THROUGHPUT_UNITS=10^6bits/s",
                  f"LOCAL_SEND_SIZE={v['size']}"]
    else:
        mean_us = 1e6 / v["rate"]
        lines += [f"TRANSACTION_RATE={v['rate']:.3f}", f"MEAN_LATENCY={mean_us:.2f}",
                  f"P50_LATENCY={mean_us * LATENCY_SHAPE['p50']:.0f}",
                  f"P90_LATENCY={mean_us * LATENCY_SHAPE['p90']:.0f}",
                  f"P99_LATENCY={mean_us * LATENCY_SHAPE['p99']:.0f}",
                  f"STDDEV_LATENCY={mean_us * LATENCY_SHAPE['stddev']:.2f}",
                  f"REQUEST_SIZE={v['size']}", f"RESPONSE_SIZE={v['size']}"]
    lines += [f"ELAPSED_TIME={v['elapsed_s']:.2f}", f"LOCAL_CPU_UTIL={v['local_util']:.2f}",
              f"REMOTE_CPU_UTIL={v['remote_util']:.2f}", f"LOCAL_CPU_FREQUENCY={round(v['clock'])}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------
# sockperf 3.7 ping-pong output (ANSI colour codes as it writes them to a terminal)

_ESC_ON, _ESC_OFF = "\x1b[2;35m", "\x1b[0m"
_SOCKPERF_WARMUP_S = 0.4


def _sockperf_ping_pong(v: dict) -> str:
    """``sockperf ping-pong -i HOST -p 11111 -t RUN_SECONDS -m 64`` output; latency = half the round trip."""
    rate = v["rate"]  # round trips per second
    mean_us = 0.5e6 / rate
    total_s = RUN_SECONDS + 0.001
    valid_s = round(RUN_SECONDS - _SOCKPERF_WARMUP_S - 0.05 - 0.002 * (v["order_index"] % 7), 3)
    sent_total = int(round(rate * total_s))
    valid = int(round(rate * valid_s))
    pct = [("99.999", "p99999"), ("99.990", "p9999"), ("99.900", "p999"), ("99.000", "p99"), ("90.000", "p90"),
           ("75.000", "p75"), ("50.000", "p50"), ("25.000", "p25")]
    out = [
        f"sockperf: {_ESC_ON}== version #3.7-no.git == {_ESC_OFF}",
        "sockperf[CLIENT] send on:sockperf: using recvfrom() to block on socket(s)",
        "",
        f"[ 0] IP = {_NP_REMOTE:<15s} PORT = 11111 # UDP",
        "sockperf: Warmup stage (sending a few dummy messages)...",
        "sockperf: Starting test...",
        "sockperf: Test end (interrupted by timer)",
        "sockperf: Test ended",
        f"sockperf: [Total Run] RunTime={total_s:.3f} sec; Warm up time={_SOCKPERF_WARMUP_S * 1000:.0f} msec; "
        f"SentMessages={sent_total}; ReceivedMessages={sent_total - 1}",
        "sockperf: ========= Printing statistics for Server No: 0",
        f"sockperf: [Valid Duration] RunTime={valid_s:.3f} sec; SentMessages={valid}; ReceivedMessages={valid}",
        f"sockperf: {_ESC_ON}====> avg-latency={mean_us:.3f} (std-dev={mean_us * LATENCY_SHAPE['stddev']:.3f})"
        f"{_ESC_OFF}",
        "sockperf: # dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0",
        f"sockperf: Summary: Latency is {mean_us:.3f} usec",
        f"sockperf: {_ESC_ON}Total {valid} observations{_ESC_OFF}; each percentile contains {valid / 100:.2f} "
        "observations",
        f"sockperf: ---> <MAX> observation = {mean_us * LATENCY_SHAPE['max']:8.3f}",
    ]
    out += [f"sockperf: ---> percentile {label} = {mean_us * LATENCY_SHAPE[key]:8.3f}" for label, key in pct]
    out.append(f"sockperf: ---> <MIN> observation = {mean_us * LATENCY_SHAPE['min']:8.3f}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------------------
# iperf 2.1.8 client text output (Transfer in 1024-based units, Bandwidth in 1000-based units, adaptive)


def _iperf2_adaptive(x: float, base: float, units: tuple[str, ...]) -> str:
    k = 0
    while x >= base and k < len(units) - 1:
        x /= base
        k += 1
    fmt = "%4.2f %s" if x < 9.995 else "%4.1f %s" if x < 99.95 else "%4.0f %s"
    return _printf(fmt, x, units[k])


def _iperf2_text(v: dict) -> str:
    """``iperf -c HOST -t RUN_SECONDS -l SIZE`` output of a TCP run."""
    elapsed = v["elapsed_s"]
    nbytes = v["rate"] * elapsed / 8
    transfer = _iperf2_adaptive(nbytes, 1024.0, ("Byte", "KByte", "MByte", "GByte"))
    bandwidth = _iperf2_adaptive(v["rate"], 1000.0, ("bits", "Kbits", "Mbits", "Gbits"))
    port = 40000 + v["order_index"]
    return (
        "------------------------------------------------------------\n"
        "Client connecting to 192.168.122.1, TCP port 5001\n"
        "TCP window size: 16.0 KByte (default)\n"
        "------------------------------------------------------------\n"
        f"[  1] local 192.168.122.2 port {port} connected with 192.168.122.1 port 5001 "
        "(icwnd/mss/irtt=14/1448/250)\n"
        "[ ID] Interval       Transfer     Bandwidth\n"
        f"[  1] 0.0000-{elapsed:.4f} sec  {transfer}s  {bandwidth}/sec\n"
    )


# --------------------------------------------------------------------------------------------------------------
# tool registry


@dataclass(frozen=True)
class _Tool:
    """One output format: which spec tests it measures, how its parser names them, what it writes."""

    parser_tool: str  # the manifest's `tool` column: the parser registry key
    ext: str
    tests: tuple[str, ...]  # spec tests it measures
    test_name: Callable[[str], str]  # spec test -> the test name its parser reports
    write: Callable[[dict], str]
    metrics: Callable[[str], dict[str, int]]  # spec test -> {metric: power of true_ratio in its truth}
    msg_size: Callable[[int], int] = lambda size: size  # spec message size -> the size this tool was run with

    def supports(self, test: str) -> bool:
        return test in self.tests


def _netperf_metrics(test: str) -> dict[str, int]:
    if TESTS[test].kind == "stream":
        return {"throughput_bps": 1, "local_cpu_util_pct": 0, "remote_cpu_util_pct": 0,
                "local_service_demand_us_per_kb": -1, "remote_service_demand_us_per_kb": -1}
    return {"transactions_per_s": 1, "local_cpu_util_pct": 0, "remote_cpu_util_pct": 0,
            "local_service_demand_us_per_tr": -1, "remote_service_demand_us_per_tr": -1}


def _omni_kv_metrics(test: str) -> dict[str, int]:
    if TESTS[test].kind == "stream":
        return {"throughput_bps": 1, "local_cpu_util_pct": 0, "remote_cpu_util_pct": 0}
    return {"transactions_per_s": 1, "latency_mean_s": -1, "latency_p50_s": -1, "latency_p99_s": -1,
            "local_cpu_util_pct": 0, "remote_cpu_util_pct": 0}


def _iperf3_metrics(test: str) -> dict[str, int]:
    return {"throughput_bps": 1, "send_throughput_bps": 1, "local_cpu_util_pct": 0, "remote_cpu_util_pct": 0}


def _sockperf_metrics(test: str) -> dict[str, int]:
    return {"latency_mean_s": -1, "latency_p50_s": -1, "latency_p99_s": -1}


def _iperf2_metrics(test: str) -> dict[str, int]:
    return {"throughput_bps": 1}


#: output formats (``CampaignSpec.tools``): name -> writer. ``netperf``: classic ``-c -C`` output of every test;
#: ``netperf-omni-kv``: ``-k`` KEY=VALUE output of every test; ``iperf3``: ``-J`` JSON of TCP_STREAM and
#: TCP_MAERTS (``-R``);
#: ``iperf2``: client text of TCP_STREAM; ``sockperf``: ping-pong (UDP, ``-m 64``) standing in for UDP_RR.
TOOLS: dict[str, _Tool] = {
    "netperf": _Tool("netperf", "txt", tuple(TESTS), lambda t: t, _netperf_classic, _netperf_metrics),
    "netperf-omni-kv": _Tool("netperf", "txt", tuple(TESTS), lambda t: t, _netperf_omni_kv, _omni_kv_metrics),
    "iperf3": _Tool("iperf3", "json", ("TCP_STREAM", "TCP_MAERTS"), lambda t: "IPERF3_TCP", _iperf3_json,
                    _iperf3_metrics),
    "iperf2": _Tool("iperf2", "txt", ("TCP_STREAM",), lambda t: "IPERF2_TCP", _iperf2_text, _iperf2_metrics),
    "sockperf": _Tool("sockperf", "txt", ("UDP_RR",), lambda t: "SOCKPERF_PING_PONG", _sockperf_ping_pong,
                      _sockperf_metrics, lambda size: 64),
}


# --------------------------------------------------------------------------------------------------------------
# validation


def _simulate_campaign_iv(out_dir, spec, seed) -> CampaignSpec:
    """Validate the arguments of :func:`simulate_campaign`, :func:`plan_runs` and :func:`true_ratios` (*out_dir*
    None: no folder), raising on the first problem; returns *spec*."""
    if not isinstance(spec, CampaignSpec):
        raise TypeError(f"spec: expected a CampaignSpec, got {type(spec).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    if out_dir is not None:
        p = pathlib.Path(out_dir)
        if p.exists() and (not p.is_dir() or any(p.iterdir())):
            raise ValueError(f"out_dir: expected a new or empty folder, {str(p)!r} already has content")
    _check_design(spec)
    _check_conditions(spec)
    _check_environment(spec)
    return spec


def _check_design(spec: CampaignSpec) -> None:
    """The models, tests, message sizes, pinnings, trials and the per-cell true ratios and elasticities."""
    if not spec.baseline or not spec.candidate or spec.baseline == spec.candidate:
        raise ValueError(f"spec.baseline / spec.candidate: expected two different non-empty names, "
                         f"got {spec.baseline!r} and {spec.candidate!r}")
    if not spec.tests:
        raise ValueError("spec.tests: expected at least one test")
    for t in spec.tests:
        if t not in TESTS:
            raise ValueError(f"spec.tests: unknown test {t!r}; expected one of {sorted(TESTS)}")
    if any(TESTS[t].kind == "stream" for t in spec.tests):
        if not spec.stream_msg_sizes_bytes or any(
                isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
                for s in spec.stream_msg_sizes_bytes):
            raise ValueError(f"spec.stream_msg_sizes_bytes: expected positive integers, "
                             f"got {spec.stream_msg_sizes_bytes!r}")
    if not spec.pinnings or len(set(spec.pinnings)) != len(spec.pinnings):
        raise ValueError(f"spec.pinnings: expected distinct pinning labels, got {spec.pinnings!r}")
    if isinstance(spec.trials, bool) or not isinstance(spec.trials, (int, np.integer)) or spec.trials < 1:
        raise ValueError(f"spec.trials: expected an integer >= 1, got {spec.trials!r}")
    cells = set(spec.cells())
    for fname in ("true_ratio", "clock_elasticity"):
        value = getattr(spec, fname)
        if value is None:
            continue
        items = value.items() if isinstance(value, Mapping) else [(None, value)]
        for key, x in items:
            if key is not None and tuple(key) not in cells:
                raise ValueError(f"spec.{fname}: key {key!r} is not a (test, msg_size_bytes) cell of the spec; "
                                 f"expected one of {sorted(cells)}")
            ok = math.isfinite(float(x)) and (float(x) > 0 if fname == "true_ratio" else True)
            if not ok:
                raise ValueError(f"spec.{fname}: expected {'a positive' if fname == 'true_ratio' else 'a finite'}"
                                 f" number, got {x!r}")


def _check_conditions(spec: CampaignSpec) -> None:
    """The noise, clocks, pinning effects and mix, and the cells measured by one model only."""
    models = spec.models
    cells = set(spec.cells())
    if not (math.isfinite(spec.cv) and spec.cv >= 0):
        raise ValueError(f"spec.cv: expected a finite number >= 0, got {spec.cv!r}")
    if not (math.isfinite(spec.nominal_mhz) and spec.nominal_mhz > 0):
        raise ValueError(f"spec.nominal_mhz: expected a positive number, got {spec.nominal_mhz!r}")
    if spec.low_clock is not None:
        if len(spec.low_clock) != 3:
            raise ValueError(f"spec.low_clock: expected (model, fraction, MHz), got {spec.low_clock!r}")
        m, frac, mhz = spec.low_clock
        if m not in models:
            raise ValueError(f"spec.low_clock: model {m!r} is neither baseline nor candidate {models}")
        if not 0.0 <= frac <= 1.0:
            raise ValueError(f"spec.low_clock: fraction must be in [0, 1], got {frac!r}")
        if not (math.isfinite(mhz) and mhz > 0):
            raise ValueError(f"spec.low_clock: MHz must be a positive number, got {mhz!r}")
    for p, x in spec.pinning_effect.items():
        if p not in spec.pinnings:
            raise ValueError(f"spec.pinning_effect: unknown pinning {p!r}; expected one of {spec.pinnings}")
        if not (math.isfinite(x) and x > 0):
            raise ValueError(f"spec.pinning_effect: multiplier for {p!r} must be positive, got {x!r}")
    if spec.pinning_mix is not None:
        if set(spec.pinning_mix) != set(models):
            raise ValueError(f"spec.pinning_mix: expected shares for both models {models}, "
                             f"got {sorted(spec.pinning_mix)}")
        for m, shares in spec.pinning_mix.items():
            bad = [p for p in shares if p not in spec.pinnings]
            if bad:
                raise ValueError(f"spec.pinning_mix[{m!r}]: unknown pinning {bad[0]!r}; "
                                 f"expected one of {spec.pinnings}")
            if any(s < 0 for s in shares.values()) or abs(sum(shares.values()) - 1.0) > 1e-9:
                raise ValueError(f"spec.pinning_mix[{m!r}]: shares must be >= 0 and sum to 1, got {dict(shares)}")
    if spec.pinning_draw not in ("apportioned", "per-run"):
        raise ValueError(f"spec.pinning_draw: expected 'apportioned' or 'per-run', got {spec.pinning_draw!r}")
    for entry in spec.one_model_cells:
        if len(entry) != 3 or entry[0] not in models or (entry[1], int(entry[2])) not in cells:
            raise ValueError(f"spec.one_model_cells: expected (model, test, msg_size_bytes) with a spec model and "
                             f"cell, got {entry!r}")
    if len({(t, int(s)) for _, t, s in spec.one_model_cells}) != len(spec.one_model_cells):
        raise ValueError("spec.one_model_cells: a cell is listed twice (it would be measured by no model)")


def _check_environment(spec: CampaignSpec) -> None:
    """Host, roles, drift, order, sessions, tools and the written files' options."""
    models = spec.models
    if not isinstance(spec.host, str) or not spec.host.strip():
        raise ValueError(f"spec.host: expected a non-empty host name, got {spec.host!r}")
    if not (isinstance(spec.host_effect, float | int) and math.isfinite(spec.host_effect) and spec.host_effect > 0):
        raise ValueError(f"spec.host_effect: expected a positive multiplier, got {spec.host_effect!r}")
    if spec.roles is not None and (not isinstance(spec.roles, Mapping) or set(spec.roles) - set(models)):
        raise ValueError(f"spec.roles: expected a mapping of the spec's models {models} to roles, got {spec.roles!r}")
    for m, d in spec.drift_per_run.items():
        if m not in models:
            raise ValueError(f"spec.drift_per_run: model {m!r} is neither baseline nor candidate {models}")
        if not math.isfinite(d):
            raise ValueError(f"spec.drift_per_run: drift of {m!r} must be finite, got {d!r}")
    if spec.order not in ORDERS:
        raise ValueError(f"spec.order: expected one of {sorted(ORDERS)}, got {spec.order!r}")
    if isinstance(spec.sessions, bool) or not isinstance(spec.sessions, (int, np.integer)) or spec.sessions < 1:
        raise ValueError(f"spec.sessions: expected an integer >= 1, got {spec.sessions!r}")
    if not (math.isfinite(spec.session_sd) and spec.session_sd >= 0):
        raise ValueError(f"spec.session_sd: expected a finite number >= 0, got {spec.session_sd!r}")
    if not spec.tools or any(t not in TOOLS for t in spec.tools) or len(set(spec.tools)) != len(spec.tools):
        raise ValueError(f"spec.tools: expected distinct names from {sorted(TOOLS)}, got {spec.tools!r}")
    if not any(TOOLS[tool].supports(t) for tool in spec.tools for t in spec.tests):
        raise ValueError(f"spec.tools: none of {spec.tools} measures any of the tests {spec.tests}")
    if spec.manifest_vocabulary not in ("tool", "canonical"):
        raise ValueError(f"spec.manifest_vocabulary: expected 'tool' or 'canonical', got {spec.manifest_vocabulary!r}")
    if not isinstance(spec.non_run_files, bool):
        raise TypeError(f"spec.non_run_files: expected True or False, got {spec.non_run_files!r}")
    if spec.contamination is not None:
        ok = len(spec.contamination) == 2 and 0 <= spec.contamination[0] <= 1 and spec.contamination[1] > 0
        if not ok:
            raise ValueError(f"spec.contamination: expected (share in [0, 1], positive factor), "
                             f"got {spec.contamination!r}")
    if not (0 < spec.cpu_util_pct <= 100):
        raise ValueError(f"spec.cpu_util_pct: expected a percentage in (0, 100], got {spec.cpu_util_pct!r}")
    if isinstance(spec.n_cpus, bool) or not isinstance(spec.n_cpus, (int, np.integer)) or spec.n_cpus < 1:
        raise ValueError(f"spec.n_cpus: expected an integer >= 1, got {spec.n_cpus!r}")


# --------------------------------------------------------------------------------------------------------------
# simulation


def _simulate(spec: CampaignSpec, seed: int) -> tuple[pd.DataFrame, list[dict]]:
    """The manifest frame and each run's values, drawn in a fixed order from one generator."""
    rng = np.random.default_rng(seed)
    runs = _plan(spec, rng)
    session_u = {m: rng.normal(0.0, spec.session_sd, size=spec.sessions) for m in spec.models}
    per_model_total = {m: sum(r.model == m for r in runs) for m in spec.models}
    seen = dict.fromkeys(spec.models, 0)
    rows, values = [], []
    for idx, r in enumerate(runs):
        j = seen[r.model]
        seen[r.model] += 1
        n_m = per_model_total[r.model]
        session = min(j * spec.sessions // n_m, spec.sessions - 1)
        clock = spec.low_clock[2] if r.low_clock else spec.nominal_mhz
        is_cand = r.model == spec.candidate
        log_rate = (math.log(_base_rate(r.test, r.size))
                    + math.log(spec.ratio(r.test, r.size)) * is_cand
                    + spec.elasticity(r.test, r.size) * math.log(clock / spec.nominal_mhz)
                    + math.log(spec.pinning_effect.get(r.pinning, 1.0))
                    + spec.drift_per_run.get(r.model, 0.0) * (j - (n_m - 1) / 2.0)
                    + float(session_u[r.model][session])
                    + math.log(spec.host_effect))
        # fixed number of draws per run, whatever the tool: noise, 2 utils, 2 MHz, elapsed, 10 intervals
        noise, u_loc, u_rem, mhz_b, mhz_a, elapsed = rng.standard_normal(6)
        iv = rng.standard_normal(RUN_SECONDS)
        rate = math.exp(log_rate + spec.cv * noise)
        if spec.contamination is not None and rng.random() < spec.contamination[0]:
            rate *= spec.contamination[1]
        local_util = min(100.0, spec.cpu_util_pct * math.exp(CPU_UTIL_CV * u_loc))
        remote_util = min(100.0, spec.cpu_util_pct * math.exp(CPU_UTIL_CV * u_rem))
        kind = TESTS[r.test].kind
        per_unit = rate / 8 / 1024 if kind == "stream" else rate  # KB/s or transactions/s
        start = CAMPAIGN_START + timedelta(seconds=idx * (RUN_SECONDS + GAP_SECONDS))
        tool = TOOLS[r.tool]
        size = tool.msg_size(r.size)
        fname = (f"{idx + 1:04d}_{r.tool}_{_slug(r.model)}_{r.test.lower()}_m{size}_{_slug(r.pinning)}"
                 f"_t{r.trial}.{tool.ext}")
        v = {
            "model": r.model, "test": r.test, "size": size, "rate": rate, "order_index": idx, "clock": clock,
            "elapsed_s": RUN_SECONDS + 0.004 * abs(elapsed), "local_util": local_util, "remote_util": remote_util,
            "local_sd": local_util / 100 * spec.n_cpus * 1e6 / per_unit,
            "remote_sd": remote_util / 100 * spec.n_cpus * 1e6 / per_unit,
            "start_time": start, "file": fname, "tool": r.tool,
        }
        if kind == "stream":
            w = np.exp(0.02 * iv)
            v["interval_s"] = [1.0] * RUN_SECONDS
            v["interval_bps"] = list(rate * w / w.mean())
        values.append(v)
        rows.append({
            "file": fname, "pv_model": r.model, "tool": tool.parser_tool, "test": _manifest_test(spec, tool, r.test),
            "msg_size_bytes": size, "pinning": r.pinning,
            "cpu_mhz_before": round(clock + MHZ_JITTER * mhz_b, 3), "cpu_mhz_after": round(clock + MHZ_JITTER * mhz_a, 3),
            "n_cpus": spec.n_cpus,
            "governor": "ondemand" if spec.low_clock is not None and spec.low_clock[0] == r.model else "performance",
            "host": spec.host, "session": f"{_slug(r.model)}-boot{session + 1}", "trial": r.trial,
            "order_index": idx, "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "clock_mhz": clock, "true_rate": math.exp(log_rate),
        })
    manifest = pd.DataFrame(rows)
    return manifest, values


def _manifest_test(spec: CampaignSpec, tool: _Tool, test: str) -> str:
    """The manifest's test name of a run of spec test *test*: the tool's own or the canonical one."""
    return test if spec.manifest_vocabulary == "canonical" else tool.test_name(test)


#: non-run files (``non_run_files``): path -> content; the stale run copy under scratch/ is added by
#: :func:`_write_non_run_files`
NON_RUN_FILES: dict[str, bytes] = {
    "README.md": b"# Campaign capture\n\nTwo PV NIC models, same backend; see manifest.csv.\n",
    "logs/console.log": b"[09:00:01] starting campaign\n[09:00:02] guest up, running benchmarks\n[10:12:40] done\n",
    "scripts/run_campaign.sh": b"#!/bin/sh\nset -e\nfor t in 1 2 3; do ./one_run.sh \"$t\"; done\n",
    "plots/setup.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00",
    ".pvfairignore": b"# stale copies, kept for reference\nscratch/\n",
}


def _write_non_run_files(out: pathlib.Path, values: list[dict]) -> None:
    for rel, content in NON_RUN_FILES.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(content)
    (out / "scratch").mkdir(exist_ok=True)
    first = values[0]
    (out / "scratch" / f"old_{first['file']}").write_bytes(TOOLS[first["tool"]].write(first).encode("utf-8"))


_MANIFEST_COLUMNS = ["file", "pv_model", "tool", "test", "msg_size_bytes", "pinning", "cpu_mhz_before",
                     "cpu_mhz_after", "n_cpus", "governor", "host", "session", "trial", "order_index", "start_time"]


def _broken(spec: CampaignSpec, manifest: pd.DataFrame, values: list[dict], rng: np.random.Generator
            ) -> tuple[list[dict], dict[str, str]]:
    """Three broken inputs: extra manifest rows and the files' contents (None for the missing one)."""
    n = len(values)
    base = {"n_cpus": spec.n_cpus, "governor": "performance", "host": spec.host, "trial": spec.trials + 1}
    stream_test = next((t for t in spec.tests if TESTS[t].kind == "stream"), spec.tests[0])
    size = spec.cells()[[c[0] for c in spec.cells()].index(stream_test)][1]
    extra_rows, contents = [], {}
    kinds = [("netperf", "truncated", spec.baseline), ("iperf3", "error", spec.candidate),
             ("netperf", "missing", spec.candidate)]
    for k, (tool, what, model) in enumerate(kinds):
        idx = n + k
        start = CAMPAIGN_START + timedelta(seconds=idx * (RUN_SECONDS + GAP_SECONDS))
        mhz = spec.nominal_mhz + MHZ_JITTER * rng.standard_normal(2)
        ext = TOOLS[tool].ext
        fname = f"{idx + 1:04d}_{tool}_{_slug(model)}_{stream_test.lower()}_m{size}_{_slug(spec.pinnings[0])}_{what}.{ext}"
        v = {"model": model, "test": stream_test, "size": size, "order_index": idx, "start_time": start,
             "rate": _base_rate(stream_test, size), "elapsed_s": float(RUN_SECONDS) / 3,
             "local_util": spec.cpu_util_pct, "remote_util": spec.cpu_util_pct, "local_sd": 1.0, "remote_sd": 1.0}
        if what == "truncated":
            contents[fname] = _netperf_truncated(v)
        elif what == "error":
            contents[fname] = _iperf3_error(v)
        extra_rows.append({**base, "file": fname, "pv_model": model, "tool": TOOLS[tool].parser_tool,
                           "test": _manifest_test(spec, TOOLS[tool], stream_test), "msg_size_bytes": size,
                           "pinning": spec.pinnings[0], "cpu_mhz_before": round(float(mhz[0]), 3),
                           "cpu_mhz_after": round(float(mhz[1]), 3),
                           "session": f"{_slug(model)}-boot{spec.sessions}", "order_index": idx,
                           "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return extra_rows, contents


def _csv_text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def simulate_campaign(out_dir, spec: CampaignSpec = CampaignSpec(), *, seed: int = 0) -> pathlib.Path:
    """Write a simulated campaign: one raw file per run, ``manifest.csv`` and ``truth.csv``.

    Parameters
    ----------
    out_dir : str or Path
        The campaign folder to create (must be new or empty).
    spec : CampaignSpec
        What to simulate (see :class:`CampaignSpec` and the module docstring for the generating model).
    seed : int
        Seeds the one ``numpy.random.Generator`` all draws come from: same seed, same bytes.

    Returns
    -------
    pathlib.Path
        *out_dir*.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> d = simulate_campaign(tempfile.mkdtemp() + "/c", CampaignSpec(trials=2), seed=1)
    >>> pd.read_csv(d / "manifest.csv").shape[0]   # 3 stream sizes + 2 RR tests, 2 models, 2 trials
    20
    """
    spec = _simulate_campaign_iv(out_dir, spec, seed)
    out = pathlib.Path(out_dir)
    manifest, values = _simulate(spec, seed)
    out.mkdir(parents=True, exist_ok=True)
    for v in values:
        (out / v["file"]).write_bytes(TOOLS[v["tool"]].write(v).encode("utf-8"))
    man = manifest[_MANIFEST_COLUMNS]
    if spec.roles is not None:
        man = man.assign(role=man["pv_model"].map(spec.roles))
    if spec.broken_inputs:
        extra, contents = _broken(spec, manifest, values, np.random.default_rng([seed, 1]))
        for fname, text in contents.items():
            (out / fname).write_bytes(text.encode("utf-8"))
        extra = pd.DataFrame(extra)[_MANIFEST_COLUMNS]
        if spec.roles is not None:
            extra = extra.assign(role=extra["pv_model"].map(spec.roles))
        man = pd.concat([man, extra], ignore_index=True)
    if spec.non_run_files:
        _write_non_run_files(out, values)
    (out / "manifest.csv").write_bytes(_csv_text(man).encode("utf-8"))
    (out / "truth.csv").write_bytes(_csv_text(true_ratios(spec)).encode("utf-8"))
    return out


def true_ratios(spec: CampaignSpec = CampaignSpec()) -> pd.DataFrame:
    """The truth table: candidate/baseline ratio of each written metric at equal clock and pinning.

    One row per (tool, test, msg_size_bytes, pinning, metric); ``test`` is the canonical name (what ingest puts in
    the runs' ``test``), ``tool_test`` the tool's own. Columns: ``test, msg_size_bytes, pinning, metric,
    true_ratio, tool, both_models, tool_test`` (``tool`` the output format, a key of :data:`TOOLS`;
    ``both_models`` False for a cell measured by one model only: its ratio is the truth but no data can estimate
    it).

    >>> t = true_ratios(CampaignSpec(true_ratio={("TCP_RR", 1): 1.2}))
    >>> float(t.query("test == 'TCP_RR' and metric == 'transactions_per_s'").true_ratio.iloc[0])
    1.2
    """
    spec = _simulate_campaign_iv(None, spec, 0)
    one = {(t, int(s)) for _, t, s in spec.one_model_cells}
    rows = []
    for tool_name in spec.tools:
        tool = TOOLS[tool_name]
        for test, size in spec.cells():
            if not tool.supports(test):
                continue
            r = spec.ratio(test, size)
            for pin in spec.pinnings:
                for metric, power in tool.metrics(test).items():
                    rows.append({"test": test, "msg_size_bytes": tool.msg_size(size), "pinning": pin,
                                 "metric": metric, "true_ratio": r ** power, "tool": tool_name,
                                 "both_models": (test, size) not in one, "tool_test": tool.test_name(test)})
    return pd.DataFrame(rows, columns=["test", "msg_size_bytes", "pinning", "metric", "true_ratio", "tool",
                                       "both_models", "tool_test"])


# --------------------------------------------------------------------------------------------------------------
# the bundled demo campaign (data/raw/demo, regenerated by scripts/make_demo.py)

#: The demo: venet (AlacrityVM) vs virtio-net + vhost-net, autumn 2009, GigE scale; see data/raw/demo/README.md.
DEMO_SPEC = CampaignSpec(
    name="demo",
    baseline="virtio-net+vhost",
    candidate="venet",
    tests=("TCP_STREAM", "TCP_RR", "UDP_RR"),
    stream_msg_sizes_bytes=(64, 256, 1024, 4096, 16384, 65536),
    pinnings=("split", "same-core"),
    trials=10,
    true_ratio={("TCP_STREAM", 64): 1.25, ("TCP_STREAM", 256): 1.20, ("TCP_STREAM", 1024): 1.10,
                ("TCP_STREAM", 4096): 1.0, ("TCP_STREAM", 16384): 1.0, ("TCP_STREAM", 65536): 1.0,
                ("TCP_RR", 1): 1.15, ("UDP_RR", 1): 0.90},
    cv=0.03,
    nominal_mhz=2400.0,
    low_clock=("venet", 0.5, 1600.0),
    pinning_effect={"split": 1.0, "same-core": 0.85},
    pinning_mix={"virtio-net+vhost": {"split": 0.8, "same-core": 0.2}, "venet": {"split": 0.5, "same-core": 0.5}},
    one_model_cells=(("virtio-net+vhost", "TCP_STREAM", 65536),),
    drift_per_run={"venet": -0.001},
    order="interleaved",
    tools=("netperf",),
    broken_inputs=True,
)


# --------------------------------------------------------------------------------------------------------------
# a simulated archive: many campaigns over kernel versions, with a planted change at one version

#: the kernel versions of the default simulated archive, 6.1.1 ... 6.1.40 (they sort as versions, not as text)
ARCHIVE_VERSIONS: tuple[str, ...] = tuple(f"6.1.{i}" for i in range(1, 41))


@dataclass(frozen=True)
class ArchiveSpec:
    """A lab's archive to simulate: *n_campaigns* campaigns spread evenly over *versions* (in that order).

    Every campaign is :attr:`campaign` (the same cells, models and noise) with its own seed and its version in
    the manifest column :attr:`order_key`. On the small-message cells (stream tests with messages of at most
    :attr:`small_max_bytes`) the candidate/baseline ratio is :attr:`ratio_before` in the versions before
    :attr:`change_at` and :attr:`ratio_after` from it on; every other cell is flat at 1.0.
    """

    n_campaigns: int = 200
    versions: tuple[str, ...] = ARCHIVE_VERSIONS
    change_at: str = "6.1.25"
    ratio_before: float = 0.80
    ratio_after: float = 1.00
    small_max_bytes: int = 1024
    order_key: str = "guest_kernel"
    campaign: CampaignSpec = CampaignSpec(name="nightly", tests=("TCP_STREAM", "TCP_RR"),
                                          stream_msg_sizes_bytes=(64, 1024, 16384), trials=5, cv=0.02)

    def ratio_at(self, version: str, test: str, size: int) -> float:
        """The true ratio of cell (test, size) in *version*."""
        small = TESTS[test].kind == "stream" and size <= self.small_max_bytes
        if not small:
            return 1.0
        return self.ratio_before if self.versions.index(version) < self.versions.index(self.change_at) else \
            self.ratio_after

    def version_of(self, i: int) -> str:
        """The version of the *i*-th campaign (0-based): the campaigns are spread evenly, in version order."""
        return self.versions[i * len(self.versions) // self.n_campaigns]


def _simulate_archive_iv(out_dir, spec, seed) -> ArchiveSpec:
    if not isinstance(spec, ArchiveSpec):
        raise TypeError(f"spec: expected an ArchiveSpec, got {type(spec).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    if isinstance(spec.n_campaigns, bool) or not isinstance(spec.n_campaigns, int) or spec.n_campaigns < 1:
        raise ValueError(f"spec.n_campaigns: expected a positive integer, got {spec.n_campaigns!r}")
    if not spec.versions or len(set(spec.versions)) != len(spec.versions):
        raise ValueError(f"spec.versions: expected distinct version strings, got {spec.versions!r}")
    if spec.change_at not in spec.versions:
        raise ValueError(f"spec.change_at: {spec.change_at!r} is not one of spec.versions")
    if spec.n_campaigns < len(spec.versions):
        raise ValueError(f"spec.n_campaigns: expected at least one campaign per version ({len(spec.versions)}), "
                         f"got {spec.n_campaigns}")
    for name in ("ratio_before", "ratio_after"):
        x = getattr(spec, name)
        if not (math.isfinite(x) and x > 0):
            raise ValueError(f"spec.{name}: expected a positive number, got {x!r}")
    p = pathlib.Path(out_dir)
    if p.exists() and (not p.is_dir() or any(p.iterdir())):
        raise ValueError(f"out_dir: expected a new or empty folder, {str(p)!r} already has content")
    return spec


def simulate_archive(out_dir, spec: ArchiveSpec = ArchiveSpec(), *, seed: int = 0) -> list[pathlib.Path]:
    """Write the raw campaign folders of a simulated archive under *out_dir*; return them in version order.

    Campaign *i* is ``<out_dir>/<campaign.name>-<version>-r<k>`` (*k* counts the campaigns of a version), written
    by :func:`simulate_campaign` with seed ``seed * 1_000_003 + i`` and the version in the manifest column
    ``spec.order_key``. ``<out_dir>/archive_truth.csv`` lists every campaign's version and true ratio per cell.
    """
    spec = _simulate_archive_iv(out_dir, spec, seed)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cells = spec.campaign.cells()
    folders, truth, per_version = [], [], {}
    for i in range(spec.n_campaigns):
        version = spec.version_of(i)
        k = per_version[version] = per_version.get(version, 0) + 1
        name = f"{_slug(spec.campaign.name)}-{version}-r{k}"
        ratios = {(t, s): spec.ratio_at(version, t, s) for t, s in cells}
        folder = simulate_campaign(out / name, replace(spec.campaign, name=name, true_ratio=ratios),
                                   seed=seed * 1_000_003 + i)
        manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
        manifest.insert(len(manifest.columns), spec.order_key, version)
        (folder / "manifest.csv").write_bytes(_csv_text(manifest).encode("utf-8"))
        folders.append(folder)
        truth += [{"campaign": name, spec.order_key: version, "test": t, "msg_size_bytes": s,
                   "true_ratio": r} for (t, s), r in ratios.items()]
    (out / "archive_truth.csv").write_bytes(_csv_text(pd.DataFrame(truth)).encode("utf-8"))
    return folders
