"""Collect: run a fair benchmark campaign from a plan, with randomized interleaving and full metadata capture.

``pvfair collect plan.yaml --out data/raw/<campaign> [--resume] [--dry-run]`` turns a YAML plan into a campaign
folder that :func:`analysis.ingest.ingest_campaign` reads unchanged.

The plan (:func:`load_plan`, validated at the boundary: every error names the key and what was expected)::

    name: loopback-collected            # optional, default: the plan file's stem
    duration_s: 2                       # each run's length
    trials: 5                           # measured runs per (model, cell)
    warmup: 1                           # warm-up blocks first (kept, marked warmup=True, trial 0)
    sizes: [1024, 16384, 131072]        # message sizes (bytes); request = response size for RR tests
    ordering: {method: blocked-random, seed: 20091105}
    pause_s: 0.3                        # idle time between runs (optional)
    timeout_s: 30                       # a run is killed after duration_s + timeout_s (optional)
    server_wait_s: 5                    # how long a server may take to listen on its port (optional)
    session: boot1                      # optional; default boot-<first 8 hex of the kernel boot id>
    tools:
      iperf3: {tests: [IPERF3_TCP], options: [], server_options: []}    # binary / server_binary optional
    pinning:                            # name -> CPU lists applied with taskset; {} = not pinned
      split: {client: "1", server: "0"}
    models:
      lo-gso-64k:
        role: baseline                  # optional; written to the manifest's role column
        prefix: ip netns exec pvA       # command prefix (string or list) for servers, clients and probes
        env: {}                         # extra environment variables
        host: 127.0.0.1                 # target address; port: optional (the tool's default)
        interface: lo                   # whose MTU / offloads are recorded (inside the prefix)
        setup: [ip netns add pvA, ...]  # run once before the campaign (without the prefix)
        teardown: [ip netns delete pvA] # run at the end, also after a failure or interrupt
        options: {iperf3: []}           # extra client options for this model

Tools and the command lines the collector builds (:data:`TOOLS`): ``iperf3`` (``IPERF3_TCP``, ``IPERF3_UDP``;
server ``iperf3 -s -1 -B HOST -p PORT``, client ``iperf3 -c HOST -p PORT -J -t DUR -l SIZE``), ``netperf``
(``TCP_STREAM``, ``UDP_STREAM``, ``TCP_RR``, ``UDP_RR``; ``netserver -D -L HOST -p PORT``, ``netperf -H HOST -p
PORT -t TEST -l DUR -c -C -- -m SIZE`` or ``-- -r SIZE,SIZE``) and ``sockperf`` (``SOCKPERF_PING_PONG``,
``SOCKPERF_UNDER_LOAD``; ``sockperf server -i HOST -p PORT``, ``sockperf ping-pong|under-load -i HOST -p PORT -t
DUR -m SIZE``; sizes 14 to 65507 bytes, more with ``--tcp``: :data:`SIZE_LIMITS`). Every command runs as ``PREFIX... [taskset -c CPUS] TOOL ...``. A server is started for each
run (so its pinning is the run's) and counts as ready once a socket listens on the port in its own network
namespace (``/proc/<pid>/net/tcp``, ``udp``); it is stopped after the run. Children get ``PR_SET_PDEATHSIG``, so
no server outlives a killed collector.

**Ordering.** Blocked randomized interleaving (:data:`ORDERINGS`): the *units* are every (model, cell), a cell
being (tool, test, size, pinning); each block holds one run of every unit in an order drawn from
``numpy.random.default_rng(seed)`` (one permutation per block, warm-up blocks first). The schedule is a pure
function of the plan, so ``--resume`` re-derives it.

**A campaign folder.** ``manifest.csv`` (one row per finished run, rewritten atomically: temp file, fsync,
rename); per run the tool's stdout verbatim (``0001_iperf3_<model>_iperf3_tcp_m1024_split_t1.json``) and its
metadata (``metadata_0001_....json``: CPU snapshot before and after, interface MTU/offloads before and after, the
affinity read back from ``/proc/<pid>/status`` for client and server, commands, exit status, stderr, timestamps);
``metadata_plan.yaml`` (the plan, verbatim) and ``metadata_campaign.json`` (seed, ordering, schedule, host, tool
versions, and per invocation the system check). Ingest ignores ``metadata*`` names
(:data:`analysis.manifest.IGNORED_FILES`), so the folder ingests unchanged. Output is first written to hidden
``.*.partial`` files and renamed when the run ends; a run counts as done only once its manifest row is written.
A killed campaign resumes with ``--resume``: runs in the manifest are kept, files of a half-finished run are
removed and the run is redone, nothing is duplicated. A failing run (non-zero exit, timeout, tool error) is
recorded like any other (raw output kept, ``status`` column), ingest lists it as a reject, and the campaign goes
on.

``--until-settled [--min-trials 3] [--max-trials N] [--look-every K]`` runs the plan in rounds and stops each cell
once its sequential verdict is reached (:mod:`analysis.settle`, :mod:`analysis.sequential`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import ctypes
import dataclasses
import hashlib
import html
import io
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from tqdm.auto import tqdm

from analysis import sysinfo
from analysis.manifest import MANIFEST_NAME

__all__ = [
    "Plan",
    "ModelSpec",
    "ToolPlan",
    "PinningSpec",
    "RunSpec",
    "ToolSpec",
    "CollectResult",
    "CollectError",
    "TOOLS",
    "ORDERINGS",
    "MANIFEST_FIELDS",
    "CAMPAIGN_FILE",
    "PLAN_FILE",
    "load_plan",
    "parse_plan",
    "build_schedule",
    "run_commands",
    "format_schedule",
    "collect",
    "cli_arguments",
    "cli_run",
]

CAMPAIGN_FILE = "metadata_campaign.json"
PLAN_FILE = "metadata_plan.yaml"
_PARTIAL = ".partial"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


class CollectError(RuntimeError):
    """The campaign could not go on (a setup command failed, a tool is missing): message names what and why."""


# ---------------------------------------------------------------------------------------------------- tools


@dataclass(frozen=True)
class ToolContext:
    """What a command template needs for one run."""

    binary: str
    server_binary: str
    host: str
    port: int
    test: str
    size: int
    duration_s: float
    options: tuple[str, ...] = ()
    server_options: tuple[str, ...] = ()


def _dur(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _iperf3_server(c: ToolContext) -> list[str]:
    return [c.server_binary, "-s", "-1", "-B", c.host, "-p", str(c.port), *c.server_options]


def _iperf3_client(c: ToolContext) -> list[str]:
    udp = ["-u", "-b", "0"] if c.test == "IPERF3_UDP" else []
    return [c.binary, "-c", c.host, "-p", str(c.port), "-J", "-t", _dur(c.duration_s), "-l", str(c.size), *udp,
            *c.options]


def _netperf_server(c: ToolContext) -> list[str]:
    return [c.server_binary, "-D", "-L", c.host, "-p", str(c.port), *c.server_options]


def _netperf_client(c: ToolContext) -> list[str]:
    specific = ["-r", f"{c.size},{c.size}"] if c.test.endswith("_RR") else ["-m", str(c.size)]
    return [c.binary, "-H", c.host, "-p", str(c.port), "-t", c.test, "-l", _dur(c.duration_s), "-c", "-C",
            *c.options, "--", *specific]


def _sockperf_server(c: ToolContext) -> list[str]:
    return [c.server_binary, "server", "-i", c.host, "-p", str(c.port), *c.server_options]


def _sockperf_client(c: ToolContext) -> list[str]:
    mode = {"SOCKPERF_PING_PONG": "ping-pong", "SOCKPERF_UNDER_LOAD": "under-load"}[c.test]
    return [c.binary, mode, "-i", c.host, "-p", str(c.port), "-t", _dur(c.duration_s), "-m", str(c.size),
            *c.options]


@dataclass(frozen=True)
class ToolSpec:
    """How the collector drives one tool.

    Attributes
    ----------
    name : tool name as ingest knows it
    tests : test names the plan may ask for (as the parser reports them)
    binary, server_binary : default executables
    default_port : used when a model gives no port
    suffix : raw output file suffix
    server, client : command templates (:class:`ToolContext` -> argv, without prefix and taskset)
    reports_start_time : the output carries its own start time (then the manifest leaves ``start_time`` to it)
    version_args : arguments printing the version
    """

    name: str
    tests: tuple[str, ...]
    binary: str
    server_binary: str
    default_port: int
    suffix: str
    server: Callable[[ToolContext], list[str]]
    client: Callable[[ToolContext], list[str]]
    reports_start_time: bool
    version_args: tuple[str, ...]


#: tool name -> how to run it (a registry: add a tool here, not in an if-chain)
TOOLS: dict[str, ToolSpec] = {
    "iperf3": ToolSpec("iperf3", ("IPERF3_TCP", "IPERF3_UDP"), "iperf3", "iperf3", 5201, ".json",
                       _iperf3_server, _iperf3_client, True, ("--version",)),
    "netperf": ToolSpec("netperf", ("TCP_STREAM", "UDP_STREAM", "TCP_RR", "UDP_RR"), "netperf", "netserver", 12865,
                        ".txt", _netperf_server, _netperf_client, False, ("-V",)),
    "sockperf": ToolSpec("sockperf", ("SOCKPERF_PING_PONG", "SOCKPERF_UNDER_LOAD"), "sockperf", "sockperf", 11111,
                         ".txt", _sockperf_server, _sockperf_client, False, ("--version",)),
}


# ---------------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class ModelSpec:
    """One PV model of the plan (see the module docstring for the keys)."""

    name: str
    role: str | None = None
    prefix: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int | None = None
    interface: str | None = None
    setup: tuple[tuple[str, ...], ...] = ()
    teardown: tuple[tuple[str, ...], ...] = ()
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolPlan:
    """A tool the plan runs: its tests, extra client / server options, executables."""

    name: str
    tests: tuple[str, ...]
    options: tuple[str, ...] = ()
    server_options: tuple[str, ...] = ()
    binary: str = ""
    server_binary: str = ""


@dataclass(frozen=True)
class PinningSpec:
    """A pinning setup: client and server CPU lists (None: not pinned)."""

    name: str
    client: str | None = None
    server: str | None = None


@dataclass(frozen=True)
class Plan:
    """A validated collection plan (:func:`parse_plan`)."""

    name: str
    duration_s: float
    trials: int
    warmup: int
    sizes: tuple[int, ...]
    ordering: str
    seed: int
    tools: Mapping[str, ToolPlan]
    pinnings: Mapping[str, PinningSpec]
    models: Mapping[str, ModelSpec]
    pause_s: float = 0.2
    timeout_s: float = 30.0
    server_wait_s: float = 5.0
    session: str | None = None
    source: str = "plan"
    text: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Hash of the plan's content (canonical JSON of the parsed YAML): equal for equal plans."""
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()


class _Where:
    """Names a plan key in error messages: ``plan.yaml: models.a.port: expected ...``."""

    def __init__(self, source: str, path: str = ""):
        self.source, self.path = source, path

    def __truediv__(self, key: Any) -> _Where:
        return _Where(self.source, f"{self.path}.{key}" if self.path else str(key))

    def error(self, expected: str, found: Any = ..., *, exc: type[Exception] = ValueError) -> Exception:
        msg = f"{self.source}: {self.path or '(top level)'}: expected {expected}"
        if found is not ...:
            msg += f", found {found!r}"
        return exc(msg)


def _mapping(value: Any, where: _Where, allowed: Sequence[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise where.error("a mapping (key: value)", value)
    if allowed is not None:
        unknown = [k for k in value if k not in allowed]
        if unknown:
            raise (where / unknown[0]).error(f"one of the keys {list(allowed)} (unknown key)")
    return {str(k): v for k, v in value.items()}


def _int(value: Any, where: _Where, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        span = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise where.error(f"a whole number {span}", value)
    return int(value)


def _float(value: Any, where: _Where, lo: float, *, strict: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or (value <= lo if strict else value < lo):
        raise where.error(f"a number {'>' if strict else '>='} {lo:g}", value)
    return float(value)


def _str(value: Any, where: _Where, pattern: re.Pattern | None = None, what: str = "text") -> str:
    if not isinstance(value, str) or not value.strip() or (pattern is not None and not pattern.match(value)):
        raise where.error(what, value)
    return value.strip()


def _cmd(value: Any, where: _Where) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            parts = shlex.split(value)
        except ValueError as exc:
            raise where.error(f"a shell-quoted command ({exc})", value) from None
        return tuple(parts)
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) and not isinstance(v, bool)
                                                 for v in value):
        return tuple(str(v) for v in value)
    raise where.error("a command: a string (split like a shell) or a list of arguments", value)


def _cmds(value: Any, where: _Where) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise where.error("a list of commands", value)
    cmds = tuple(_cmd(v, where / i) for i, v in enumerate(value))
    for i, c in enumerate(cmds):
        if not c:
            raise (where / i).error("a non-empty command", value[i])
    return cmds


_NAME_WHAT = "a name of letters, digits, '.', '_', '+', '-' (it becomes part of file names), up to 64 characters"
_TOP_KEYS = ("name", "duration_s", "trials", "warmup", "sizes", "ordering", "pause_s", "timeout_s",
             "server_wait_s", "session", "tools", "pinning", "models")
_MODEL_KEYS = ("role", "prefix", "env", "host", "port", "interface", "setup", "teardown", "options")
_ROLES = ("baseline", "candidate")


def _parse_tools(value: Any, where: _Where) -> dict[str, ToolPlan]:
    tools = _mapping(value, where)
    if not tools:
        raise where.error(f"at least one tool of {sorted(TOOLS)}")
    out: dict[str, ToolPlan] = {}
    for name, spec in tools.items():
        w = where / name
        if name not in TOOLS:
            raise w.error(f"a tool of {sorted(TOOLS)}", name)
        s = _mapping(spec, w, ("tests", "options", "server_options", "binary", "server_binary"))
        tests_raw = s.get("tests")
        if not isinstance(tests_raw, list) or not tests_raw:
            raise (w / "tests").error(f"a non-empty list of tests from {list(TOOLS[name].tests)}", tests_raw)
        tests = []
        for i, t in enumerate(tests_raw):
            if not isinstance(t, str) or t.strip().upper() not in TOOLS[name].tests:
                raise (w / "tests" / i).error(f"a {name} test from {list(TOOLS[name].tests)}", t)
            if t.strip().upper() in tests:
                raise (w / "tests" / i).error("each test once", t)
            tests.append(t.strip().upper())
        out[name] = ToolPlan(
            name=name, tests=tuple(tests),
            options=_cmd(s.get("options", []), w / "options"),
            server_options=_cmd(s.get("server_options", []), w / "server_options"),
            binary=_str(s.get("binary", TOOLS[name].binary), w / "binary", what="an executable name or path"),
            server_binary=_str(s.get("server_binary", TOOLS[name].server_binary), w / "server_binary",
                               what="an executable name or path"),
        )
    return out


def _parse_pinning(value: Any, where: _Where) -> dict[str, PinningSpec]:
    if value is None:
        return {"none": PinningSpec("none")}
    pins = _mapping(value, where)
    if not pins:
        raise where.error("at least one pinning setup, e.g. {split: {client: '1', server: '0'}}")
    out = {}
    for name, spec in pins.items():
        w = where / name
        _str(name, w, _NAME, _NAME_WHAT)
        s = _mapping(spec if spec is not None else {}, w, ("client", "server"))
        lists: dict[str, str | None] = {}
        for side in ("client", "server"):
            v = s.get(side)
            if v is None:
                lists[side] = None
                continue
            cpus = sysinfo.parse_cpu_list(str(v), name=f"{w.source}: {(w / side).path}")
            lists[side] = sysinfo.format_cpu_list(cpus)
        out[name] = PinningSpec(name, lists["client"], lists["server"])
    return out


def _parse_model(name: str, spec: Any, where: _Where, tools: Mapping[str, ToolPlan]) -> ModelSpec:
    _str(name, where, _NAME, _NAME_WHAT)
    s = _mapping(spec if spec is not None else {}, where, _MODEL_KEYS)
    role = s.get("role")
    if role is not None and role not in _ROLES:
        raise (where / "role").error(f"one of {list(_ROLES)}", role)
    env_raw = _mapping(s.get("env") or {}, where / "env")
    env = {}
    for k, v in env_raw.items():
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise (where / "env" / k).error("a text or number value", v)
        env[k] = str(v)
    port = s.get("port")
    if port is not None:
        port = _int(port, where / "port", 1, 65535)
    interface = s.get("interface")
    if interface is not None:
        interface = _str(interface, where / "interface", what="an interface name such as 'lo' or 'eth0'")
    options_raw = _mapping(s.get("options") or {}, where / "options")
    options = {}
    for tool, opts in options_raw.items():
        if tool not in tools:
            raise (where / "options" / tool).error(f"a tool the plan runs ({sorted(tools)})", tool)
        options[tool] = _cmd(opts, where / "options" / tool)
    return ModelSpec(
        name=name, role=role, prefix=_cmd(s.get("prefix", []), where / "prefix"), env=env,
        host=_str(s.get("host", "127.0.0.1"), where / "host", what="a host name or address"), port=port,
        interface=interface, setup=_cmds(s.get("setup"), where / "setup"),
        teardown=_cmds(s.get("teardown"), where / "teardown"), options=options,
    )


def _parse_plan_iv(data: Any, source: str) -> tuple[dict[str, Any], _Where]:
    if not isinstance(source, str) or not source:
        raise TypeError(f"source: expected the plan's name for messages (text), got {source!r}")
    where = _Where(source)
    return _mapping(data, where, _TOP_KEYS), where


#: tool -> (smallest, largest) message size it accepts, and the option that lifts the largest (TCP), where the tool
#: itself does not fail on a size out of range: sockperf 3.7 prints its usage and exits 0 for ``-m 1`` ("Invalid
#: message size: 1 (min: 14)") or ``-m 65508`` over UDP ("max: 65507"), which would be recorded as a good run
SIZE_LIMITS: dict[str, tuple[int, int, str]] = {"sockperf": (14, 65507, "--tcp")}


def _check_sizes(sizes: Sequence[int], tools: Mapping[str, Any], models: Mapping[str, Any], where: _Where) -> None:
    for tool, (low, high, lifts) in SIZE_LIMITS.items():
        if tool not in tools:
            continue
        lifted = lifts in tools[tool].options or any(lifts in m.options.get(tool, ()) for m in models.values())
        bad = [v for v in sizes if v < low or (v > high and not lifted)]
        if bad:
            raise where.error(f"message sizes {tool} accepts: {low} to {high} bytes"
                              + (f" (more with {lifts})" if not lifted else ""), bad)


def parse_plan(data: Mapping[str, Any], *, source: str = "plan", text: str = "") -> Plan:
    """Validate a plan given as a mapping (the parsed YAML); see the module docstring for the keys.

    Parameters
    ----------
    data : the plan
    source : names the plan in error messages (e.g. the file name)
    text : the plan's text as written (kept, and copied into the campaign folder)

    Raises
    ------
    ValueError
        ``<source>: <key path>: expected ..., found ...`` for the first key that is missing or wrong.
    """
    d, where = _parse_plan_iv(data, source)
    for key in ("duration_s", "trials", "sizes", "ordering", "tools", "models"):
        if key not in d:
            raise (where / key).error("this key (required)")
    tools = _parse_tools(d["tools"], where / "tools")
    sizes_raw = d["sizes"]
    if not isinstance(sizes_raw, list) or not sizes_raw:
        raise (where / "sizes").error("a non-empty list of message sizes in bytes", sizes_raw)
    sizes = tuple(_int(v, where / "sizes" / i, 1) for i, v in enumerate(sizes_raw))
    if len(set(sizes)) != len(sizes):
        raise (where / "sizes").error("each size once", sizes_raw)
    ordering = _mapping(d["ordering"], where / "ordering", ("method", "seed"))
    method = ordering.get("method", "blocked-random")
    if method not in ORDERINGS:
        raise (where / "ordering" / "method").error(f"one of {sorted(ORDERINGS)}", method)
    if "seed" not in ordering:
        raise (where / "ordering" / "seed").error("this key (required: the seed makes the order reproducible)")
    seed = _int(ordering["seed"], where / "ordering" / "seed", 0)
    models_raw = _mapping(d["models"], where / "models")
    if len(models_raw) < 2:
        raise (where / "models").error("at least two models (a baseline and a candidate)", sorted(models_raw))
    models = {str(n): _parse_model(str(n), s, where / "models" / n, tools) for n, s in models_raw.items()}
    _check_sizes(sizes, tools, models, where / "sizes")
    baselines = [m.name for m in models.values() if m.role == "baseline"]
    if len(baselines) > 1:
        raise (where / "models").error("at most one model with role: baseline", baselines)
    session = d.get("session")
    if session is not None:
        session = _str(str(session), where / "session", what="a session name")
    name = d.get("name", Path(source).stem or "campaign")
    return Plan(
        name=_str(name, where / "name", _NAME, _NAME_WHAT),
        duration_s=_float(d["duration_s"], where / "duration_s", 0.0, strict=True),
        trials=_int(d["trials"], where / "trials", 1),
        warmup=_int(d.get("warmup", 1), where / "warmup", 0),
        sizes=sizes, ordering=method, seed=seed, tools=tools,
        pinnings=_parse_pinning(d.get("pinning"), where / "pinning"), models=models,
        pause_s=_float(d.get("pause_s", 0.2), where / "pause_s", 0.0, strict=False),
        timeout_s=_float(d.get("timeout_s", 30.0), where / "timeout_s", 0.0, strict=True),
        server_wait_s=_float(d.get("server_wait_s", 5.0), where / "server_wait_s", 0.0, strict=True),
        session=session, source=source, text=text, raw=dict(data),
    )


def load_plan(path: str | Path) -> Plan:
    """Read and validate a YAML plan file (:func:`parse_plan`).

    Raises
    ------
    FileNotFoundError
        when *path* is not a file.
    ValueError
        naming the file (and line, for YAML syntax) or the key and what was expected.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"plan: {str(p)!r} is not a file; expected a YAML plan (see examples/loopback.yaml)")
    text = p.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{p.name}:{line}: expected valid YAML, {problem}") from None
    return parse_plan(data, source=p.name, text=text)


# ---------------------------------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class RunSpec:
    """One scheduled run; ``order_index`` is its position in the schedule (0-based) and its identity."""

    order_index: int
    block: int
    warmup: bool
    trial: int
    model: str
    tool: str
    test: str
    msg_size_bytes: int
    pinning: str
    file: str

    @property
    def metadata_file(self) -> str:
        return f"metadata_{Path(self.file).stem}.json"


def _blocked_random(units: Sequence[tuple], n_blocks: int, seed: int) -> list[tuple[int, tuple]]:
    """(block, unit) pairs: each block one permutation of all units, drawn from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    out = []
    for b in range(n_blocks):
        out.extend((b, units[i]) for i in rng.permutation(len(units)))
    return out


#: ordering method -> (units, number of blocks, seed) -> [(block, unit)]
ORDERINGS: dict[str, Callable[[Sequence[tuple], int, int], list[tuple[int, tuple]]]] = {
    "blocked-random": _blocked_random,
}


def build_schedule(plan: Plan) -> tuple[RunSpec, ...]:
    """The campaign's runs in execution order (a pure function of the plan).

    Units are every (model, tool, test, size, pinning); ``plan.warmup`` warm-up blocks (``warmup=True``, trial 0)
    then ``plan.trials`` measured blocks (trial 1, 2, ...), each holding one run of every unit in the order
    :data:`ORDERINGS` ``[plan.ordering]`` draws with ``plan.seed``.
    """
    if not isinstance(plan, Plan):
        raise TypeError(f"plan: expected an analysis.collect.Plan (load_plan / parse_plan), got "
                        f"{type(plan).__name__}")
    cells = [(tool, test, size, pin) for tool, tp in plan.tools.items() for test in tp.tests
             for size in plan.sizes for pin in plan.pinnings]
    units = [(model, *cell) for model in plan.models for cell in cells]
    n_blocks = plan.warmup + plan.trials
    runs = []
    for idx, (block, (model, tool, test, size, pin)) in enumerate(ORDERINGS[plan.ordering](units, n_blocks,
                                                                                            plan.seed)):
        warm = block < plan.warmup
        trial = 0 if warm else block - plan.warmup + 1
        tag = f"w{block + 1}" if warm else f"t{trial}"
        file = f"{idx + 1:04d}_{tool}_{model}_{test.lower()}_m{size}_{pin}_{tag}{TOOLS[tool].suffix}"
        runs.append(RunSpec(idx, block, warm, trial, model, tool, test, size, pin, file))
    return tuple(runs)


def _context(plan: Plan, run: RunSpec) -> ToolContext:
    model, tp, spec = plan.models[run.model], plan.tools[run.tool], TOOLS[run.tool]
    return ToolContext(
        binary=tp.binary, server_binary=tp.server_binary, host=model.host, port=model.port or spec.default_port,
        test=run.test, size=run.msg_size_bytes, duration_s=plan.duration_s,
        options=tp.options + model.options.get(run.tool, ()), server_options=tp.server_options,
    )


def _pinned(cpus: str | None, argv: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if cpus else argv


def run_commands(plan: Plan, run: RunSpec) -> tuple[list[str], list[str]]:
    """(server argv, client argv) of *run*: model prefix, taskset with the pinning's CPUs, the tool's template."""
    model, pin, spec = plan.models[run.model], plan.pinnings[run.pinning], TOOLS[run.tool]
    ctx = _context(plan, run)
    server = [*model.prefix, *_pinned(pin.server, spec.server(ctx))]
    client = [*model.prefix, *_pinned(pin.client, spec.client(ctx))]
    return server, client


def format_schedule(plan: Plan, schedule: Sequence[RunSpec] | None = None) -> str:
    """The schedule as text (``--dry-run``): a header with the ordering and seed, then one line per run."""
    schedule = build_schedule(plan) if schedule is None else schedule
    n_units = len(schedule) // max(1, plan.warmup + plan.trials)
    est = len(schedule) * (plan.duration_s + plan.pause_s + 0.5)
    lines = [f"plan {plan.name} ({plan.source}): {len(schedule)} runs = {plan.warmup + plan.trials} blocks "
             f"({plan.warmup} warm-up, {plan.trials} trials) x {n_units} (model, cell) units; ordering "
             f"{plan.ordering}, seed {plan.seed}; about {est / 60:.1f} min",
             f"{'#':>5}  {'block':>5}  {'model':<16} {'tool':<8} {'test':<20} {'size':>7}  {'pinning':<10} "
             f"{'trial':<6} client command"]
    for r in schedule:
        _, client = run_commands(plan, r)
        trial = f"w{r.block + 1}" if r.warmup else str(r.trial)
        lines.append(f"{r.order_index:>5}  {r.block:>5}  {r.model:<16} {r.tool:<8} {r.test:<20} "
                     f"{r.msg_size_bytes:>7}  {r.pinning:<10} {trial:<6} {shlex.join(client)}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- files


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write *data* to a hidden temp file beside *path*, fsync it, rename it over *path*, fsync the folder."""
    tmp = path.with_name(f".{path.name}{_PARTIAL}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode("utf-8")


#: manifest columns the collector writes, in order (ingest keeps the extra ones as text)
MANIFEST_FIELDS: tuple[str, ...] = (
    "file", "pv_model", "role", "tool", "test", "msg_size_bytes", "response_size_bytes", "pinning", "client_cpus",
    "server_cpus", "client_affinity", "server_affinity", "cpu_mhz_before", "cpu_mhz_after", "n_cpus", "governor",
    "host", "host_kernel", "mtu_bytes", "offloads", "session", "block", "trial", "order_index", "warmup",
    "start_time", "collect_start_time", "status", "exit_status", "elapsed_s", "command", "metadata",
)


def _read_rows(out: Path) -> list[dict[str, str]]:
    path = out / MANIFEST_NAME
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write_rows(out: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(MANIFEST_FIELDS), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: int(r["order_index"])):
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in MANIFEST_FIELDS})
    _atomic_write(out / MANIFEST_NAME, buf.getvalue().encode("utf-8"))


# ---------------------------------------------------------------------------------------------------- processes


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Children (servers, clients) get SIGKILL when the collector dies, even by SIGKILL (Linux prctl)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _env(model: ModelSpec) -> dict[str, str]:
    return {**os.environ, **model.env}


def _stop(proc: subprocess.Popen | None, grace: float = 2.0) -> int | None:
    if proc is None:
        return None
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
    return proc.returncode


def _comm(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _applied_affinity(proc: subprocess.Popen, binary: str, wait_s: float = 1.0) -> str | None:
    """The affinity of the tool itself once the prefix and taskset have exec'd into it (/proc/<pid>/status)."""
    want = os.path.basename(binary)[:15]
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and proc.poll() is None:
        if _comm(proc.pid) == want:
            break
        time.sleep(0.005)
    return sysinfo.read_affinity(proc.pid)


def _listening(pid: int, port: int) -> bool:
    """True when the network namespace of process *pid* has a TCP socket listening on *port* or a UDP socket bound
    to it (``/proc/<pid>/net/{tcp,tcp6,udp,udp6}``: the namespace the server runs in, e.g. after ``ip netns exec``).
    """
    want = f":{port:04X}"
    for table, state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 3 and cols[1].endswith(want) and cols[3] == state:
                return True
    return False


class _Server:
    """A tool server started for one run: output to a hidden file, ready once its port listens."""

    def __init__(self, argv: list[str], env: Mapping[str, str], port: int, wait_s: float, binary: str,
                 log_path: Path):
        self.argv, self.log_path = argv, log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=dict(env), preexec_fn=_die_with_parent)
        want = os.path.basename(binary)[:15]
        deadline = time.monotonic() + wait_s
        self.ready = False
        while time.monotonic() < deadline and self.proc.poll() is None:
            if _comm(self.proc.pid) == want and _listening(self.proc.pid, port):
                self.ready = True
                break
            time.sleep(0.01)
        self.affinity = sysinfo.read_affinity(self.proc.pid) if self.proc.poll() is None else None

    def stop(self) -> tuple[int | None, str]:
        code = _stop(self.proc)
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        self.log_path.unlink(missing_ok=True)
        return code, text


def _run_shell_list(cmds: Sequence[Sequence[str]], what: str, *, check: bool) -> list[dict[str, Any]]:
    log = []
    for cmd in cmds:
        try:
            res = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
            rec = {"command": shlex.join(cmd), "exit_status": res.returncode, "output": (res.stdout + res.stderr)[-2000:]}
        except (OSError, subprocess.TimeoutExpired) as exc:
            rec = {"command": shlex.join(cmd), "exit_status": None, "output": str(exc)}
        log.append(rec)
        if check and rec["exit_status"] != 0:
            raise CollectError(f"{what}: command {rec['command']!r} failed (exit {rec['exit_status']}): "
                               f"{rec['output'].strip()[:300]}; expected it to succeed")
    return log


# ---------------------------------------------------------------------------------------------------- one run


def _governor(snap: Mapping[str, Any], cpus: Sequence[int] | None) -> str | None:
    table = snap.get("cpus", {})
    keys = [str(c) for c in cpus] if cpus else list(table)
    govs = sorted({table[k]["governor"] for k in keys if k in table and table[k].get("governor")})
    return ",".join(govs) or None


def _run_client(argv: list[str], env: Mapping[str, str], out_fh: Any, err_fh: Any, binary: str, limit_s: float
                ) -> tuple[str, int | None, str | None]:
    """Run the client to completion (killed after *limit_s*): (status ok | failed | timeout | error, exit status,
    affinity read back)."""
    try:
        client = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out_fh, stderr=err_fh, env=dict(env),
                                  preexec_fn=_die_with_parent)
    except OSError as exc:
        err_fh.write(f"pvfair collect: could not start {argv[0]!r}: {exc}\n".encode())
        return "error", None, None
    try:
        affinity = _applied_affinity(client, binary)
        try:
            code = client.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            err_fh.write(f"pvfair collect: killed after {limit_s:g} s\n".encode())
            return "timeout", _stop(client), affinity
        return ("ok" if code == 0 else "failed"), code, affinity
    finally:
        _stop(client)


def _execute(plan: Plan, run: RunSpec, out: Path, session: str, host: Mapping[str, str]) -> dict[str, Any]:
    """Run one scheduled run; write its raw output and metadata (atomically); return its manifest row."""
    model, pin, spec, tp = plan.models[run.model], plan.pinnings[run.pinning], TOOLS[run.tool], plan.tools[run.tool]
    server_argv, client_argv = run_commands(plan, run)
    ctx = _context(plan, run)
    env = _env(model)
    client_cpus = sysinfo.parse_cpu_list(pin.client) if pin.client else None
    iface_before = (sysinfo.interface_snapshot(model.interface, prefix=model.prefix, env=env)
                    if model.interface else None)
    raw_tmp = out / f".{run.file}{_PARTIAL}"
    err_tmp = out / f".{run.file}.stderr{_PARTIAL}"
    server: _Server | None = None
    status, code, client_affinity = "error", None, None
    t0 = time.monotonic()
    try:
        with open(raw_tmp, "wb") as out_fh, open(err_tmp, "wb") as err_fh:
            try:
                server = _Server(server_argv, env, ctx.port, plan.server_wait_s, tp.server_binary,
                                 out / f".{run.file}.server{_PARTIAL}")
            except OSError as exc:
                err_fh.write(f"pvfair collect: could not start the server {server_argv[0]!r}: {exc}\n".encode())
            before = sysinfo.cpu_snapshot()
            started = datetime.now(UTC)
            if server is not None:
                status, code, client_affinity = _run_client(client_argv, env, out_fh, err_fh, tp.binary,
                                                            plan.duration_s + plan.timeout_s)
            out_fh.flush()
            os.fsync(out_fh.fileno())
        after = sysinfo.cpu_snapshot()
        finished = datetime.now(UTC)
    finally:
        server_code, server_output = server.stop() if server is not None else (None, "")
    stderr = err_tmp.read_text(encoding="utf-8", errors="replace")
    err_tmp.unlink(missing_ok=True)
    iface_after = (sysinfo.interface_snapshot(model.interface, prefix=model.prefix, env=env)
                   if model.interface else None)
    elapsed = round(time.monotonic() - t0, 3)
    metadata = {
        "run": {"order_index": run.order_index, "block": run.block, "warmup": run.warmup, "trial": run.trial,
                "pv_model": run.model, "tool": run.tool, "test": run.test, "msg_size_bytes": run.msg_size_bytes,
                "pinning": run.pinning, "file": run.file, "session": session},
        "commands": {"server": shlex.join(server_argv), "client": shlex.join(client_argv)},
        "status": status, "exit_status": code, "stderr": stderr[-20000:],
        "server": {"ready": server.ready if server else False, "exit_status": server_code,
                   "output": server_output[-20000:], "requested_cpus": pin.server,
                   "applied_affinity": server.affinity if server else None},
        "client": {"requested_cpus": pin.client, "applied_affinity": client_affinity},
        "start_time": started.isoformat(), "end_time": finished.isoformat(), "elapsed_s": elapsed,
        "before": {"cpu": before, "interface": iface_before},
        "after": {"cpu": after, "interface": iface_after},
    }
    _atomic_write(out / run.metadata_file, _json_bytes(metadata))
    os.replace(raw_tmp, out / run.file)
    _fsync_dir(out)
    rr = run.test.endswith("_RR")
    return {
        "file": run.file, "pv_model": run.model, "role": model.role, "tool": run.tool, "test": run.test,
        "msg_size_bytes": run.msg_size_bytes, "response_size_bytes": run.msg_size_bytes if rr else None,
        "pinning": run.pinning, "client_cpus": pin.client, "server_cpus": pin.server,
        "client_affinity": client_affinity, "server_affinity": server.affinity if server else None,
        "cpu_mhz_before": sysinfo.mean_mhz(before, client_cpus), "cpu_mhz_after": sysinfo.mean_mhz(after, client_cpus),
        "n_cpus": len(before["cpus"]) or os.cpu_count(), "governor": _governor(before, client_cpus),
        "host": host["host"], "host_kernel": host["kernel"],
        "mtu_bytes": (iface_before or {}).get("mtu_bytes"),
        "offloads": sysinfo.format_offloads((iface_before or {}).get("offloads", {})) or None,
        "session": session, "block": run.block, "trial": run.trial, "order_index": run.order_index,
        "warmup": run.warmup, "start_time": None if spec.reports_start_time else started.isoformat(),
        "collect_start_time": started.isoformat(), "status": status, "exit_status": code, "elapsed_s": elapsed,
        "command": shlex.join(client_argv), "metadata": run.metadata_file,
    }


# ---------------------------------------------------------------------------------------------------- campaign


@dataclass(frozen=True)
class CollectResult:
    """What one ``collect`` invocation did.

    Attributes
    ----------
    out : the campaign folder
    plan : the plan (as recorded in the folder)
    planned : runs in the schedule
    already_done : runs found finished in the manifest at start (``--resume``)
    executed : one record per run executed now: ``order_index, file, pv_model, status, exit_status, elapsed_s``
    system_check : the pre-campaign system check
    """

    out: Path
    plan: Plan
    planned: int
    already_done: int
    executed: tuple[dict[str, Any], ...]
    system_check: sysinfo.SystemCheckResult

    @property
    def failed(self) -> tuple[dict[str, Any], ...]:
        return tuple(r for r in self.executed if r["status"] != "ok")

    @property
    def complete(self) -> bool:
        return self.already_done + len(self.executed) == self.planned

    def to_frame(self) -> pd.DataFrame:
        """One row per run executed in this invocation."""
        cols = ["order_index", "file", "pv_model", "status", "exit_status", "elapsed_s"]
        return pd.DataFrame(list(self.executed), columns=cols)

    def summary(self) -> str:
        lines = [f"collect {self.plan.name} -> {self.out}: {self.already_done + len(self.executed)}/{self.planned} "
                 f"runs done ({self.already_done} before this invocation, {len(self.executed)} now, "
                 f"{len(self.failed)} failed)"]
        for i, r in enumerate(self.failed, start=1):
            lines.append(f"  note {i}: run {r['file']} {r['status']} (exit {r['exit_status']}); raw output kept, "
                         "ingest lists it as a reject")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _boot_session() -> str:
    boot = Path("/proc/sys/kernel/random/boot_id")
    try:
        return "boot-" + boot.read_text().strip().replace("-", "")[:8]
    except OSError:
        return "boot-unknown"


def _tool_versions(plan: Plan) -> dict[str, str]:
    versions = {}
    for name, tp in plan.tools.items():
        try:
            res = subprocess.run([tp.binary, *TOOLS[name].version_args], capture_output=True, text=True, timeout=10)
            text = (res.stdout or res.stderr).strip().splitlines()
            versions[name] = text[0] if text else ""
        except (OSError, subprocess.TimeoutExpired) as exc:
            versions[name] = f"unknown ({exc})"
    return versions


def _check_environment(plan: Plan) -> None:
    need = {}
    for name, tp in plan.tools.items():
        need[tp.binary] = f"tools.{name}.binary"
        need[tp.server_binary] = f"tools.{name}.server_binary"
    if any(p.client or p.server for p in plan.pinnings.values()):
        need["taskset"] = "pinning (taskset, util-linux)"
    missing = [f"{exe!r} ({key})" for exe, key in need.items() if shutil.which(exe) is None]
    if missing:
        raise CollectError(f"{plan.source}: {', '.join(missing)} not found on PATH; expected the tools installed "
                           "(Debian: apt-get install iperf3 sockperf; netperf from source)")
    n = os.cpu_count() or 1
    for pin in plan.pinnings.values():
        for side in ("client", "server"):
            cpus = getattr(pin, side)
            if cpus and max(sysinfo.parse_cpu_list(cpus)) >= n:
                raise CollectError(f"{plan.source}: pinning.{pin.name}.{side}: CPU list {cpus!r} names a CPU this "
                                   f"machine does not have; expected CPUs in 0..{n - 1}")


def _collect_iv(plan: Plan | str | Path, out: str | Path, resume: bool, progress: bool
                ) -> tuple[Plan, Path, list[dict[str, str]], dict[str, Any] | None]:
    if not isinstance(resume, bool):
        raise TypeError(f"resume: expected True or False, got {resume!r}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress: expected True or False, got {progress!r}")
    if isinstance(plan, str | Path):
        plan = load_plan(plan)
    if not isinstance(plan, Plan):
        raise TypeError(f"plan: expected a Plan or the path of a YAML plan, got {type(plan).__name__}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out: {str(out)!r} exists and is not a folder; expected a campaign folder")
    meta_path = out / CAMPAIGN_FILE
    has_content = out.is_dir() and any(out.iterdir())
    if not resume:
        if has_content:
            raise ValueError(f"out: {str(out)!r} is not empty; expected a new or empty folder (or --resume to "
                             "continue the campaign in it)")
        return plan, out, [], None
    if not meta_path.is_file():
        if has_content:
            raise ValueError(f"out: {str(out)!r} has content but no {CAMPAIGN_FILE}; expected a folder made by "
                             "pvfair collect to --resume")
        return plan, out, [], None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    recorded_text = (out / PLAN_FILE).read_text(encoding="utf-8")
    recorded = parse_plan(yaml.safe_load(recorded_text), source=plan.source, text=recorded_text)
    if recorded.sha256 != plan.sha256:
        raise ValueError(f"plan: {plan.source} differs from the plan this campaign was started with "
                         f"({out / PLAN_FILE}); expected the same plan for --resume (or a new --out)")
    return recorded, out, _read_rows(out), meta


def _cleanup_unfinished(out: Path, schedule: Sequence[RunSpec], done: set[int]) -> list[str]:
    """Remove hidden partial files and the files of scheduled runs that have no manifest row (redone)."""
    removed = []
    for p in out.glob(f".*{_PARTIAL}"):
        p.unlink(missing_ok=True)
        removed.append(p.name)
    for run in schedule:
        if run.order_index in done:
            continue
        for name in (run.file, run.metadata_file):
            if (out / name).exists():
                (out / name).unlink()
                removed.append(name)
    return removed


def collect(plan: Plan | str | Path, out: str | Path, *, resume: bool = False, progress: bool = True,
            check_interval_s: float = 0.25, log: Callable[[str], None] | None = None) -> CollectResult:
    """Run (or continue) a campaign: system check, model setup, the scheduled runs, teardown.

    Parameters
    ----------
    plan : a :class:`Plan` or the path of a YAML plan
    out : the campaign folder (``data/raw/<campaign>``); must be new or empty unless *resume*
    resume : continue the campaign in *out*: runs in its manifest are kept, half-finished ones redone; the plan
        must equal the one recorded in *out* (the schedule is re-derived from it)
    progress : tqdm progress bar with ETA
    check_interval_s : seconds between the two CPU samples of the system check
    log : where lines of the system check and setup go (default: print to stderr)

    Returns
    -------
    CollectResult

    Raises
    ------
    ValueError
        *out* not empty without *resume*, a plan that differs from the recorded one, an invalid plan.
    CollectError
        a tool missing on PATH, a CPU list naming a CPU this machine lacks, a setup command that failed.
    """
    plan, out, rows, meta = _collect_iv(plan, out, resume, progress)
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    schedule = build_schedule(plan)
    _check_environment(plan)
    out.mkdir(parents=True, exist_ok=True)
    by_index = {r.order_index: r for r in schedule}
    rows = [r for r in rows if r.get("order_index", "").isdigit() and int(r["order_index"]) in by_index
            and by_index[int(r["order_index"])].file == r.get("file")]
    done = {int(r["order_index"]) for r in rows}
    removed = _cleanup_unfinished(out, schedule, done)
    check = sysinfo.system_check(interval_s=check_interval_s)
    say(check.summary())
    uname = platform.uname()
    host = {"host": uname.node, "kernel": uname.release}
    session = plan.session or _boot_session()
    invocation = {"started": datetime.now(UTC).isoformat(), "resume": meta is not None,
                  "runs_done_before": len(done), "removed_unfinished": removed, "session": session,
                  "system_check": check.to_dict(), "cpu_snapshot": check.snapshot}
    if meta is None:
        _atomic_write(out / PLAN_FILE, plan.text.encode("utf-8") if plan.text else
                      yaml.safe_dump(dict(plan.raw), sort_keys=False).encode("utf-8"))
        meta = {
            "collector": "pvfair collect", "format": 1, "name": plan.name, "plan_file": PLAN_FILE,
            "plan_sha256": plan.sha256, "ordering": {
                "method": plan.ordering, "seed": plan.seed, "blocks": plan.warmup + plan.trials,
                "warmup_blocks": plan.warmup,
                "description": "blocked randomized interleaving: each block holds one run of every (model, cell) "
                               "in an order drawn by numpy.random.default_rng(seed).permutation, one per block"},
            "runs_planned": len(schedule), "schedule": [r.file for r in schedule],
            "host": {"node": uname.node, "system": uname.system, "release": uname.release,
                     "version": uname.version, "machine": uname.machine,
                     "cpu_model": check.snapshot.get("cpu_model"), "n_cpus": len(check.snapshot.get("cpus", {}))},
            "tool_versions": _tool_versions(plan), "invocations": [],
        }
    meta["invocations"].append(invocation)
    _atomic_write(out / CAMPAIGN_FILE, _json_bytes(meta))
    executed: list[dict[str, Any]] = []
    todo = [r for r in schedule if r.order_index not in done]
    models_up: list[ModelSpec] = []
    try:
        if todo:
            for model in plan.models.values():
                if resume and model.teardown:  # a killed run may have left the model's set-up behind
                    _run_shell_list(model.teardown, f"models.{model.name}.teardown", check=False)
                models_up.append(model)
                setup_log = _run_shell_list(model.setup, f"{plan.source}: models.{model.name}.setup", check=True)
                invocation.setdefault("setup", {})[model.name] = setup_log
        bar = tqdm(total=len(schedule), initial=len(done), desc=f"collect {plan.name}", unit="run",
                   disable=not progress)
        with bar:
            for i, run in enumerate(todo):
                if _TERMINATE.is_set():  # a SIGTERM whose KeyboardInterrupt was swallowed (e.g. in a fork hook)
                    raise KeyboardInterrupt("signal 15")
                bar.set_postfix_str(f"{run.model} {run.test} m{run.msg_size_bytes}", refresh=False)
                row = _execute(plan, run, out, session, host)
                rows.append(row)
                _write_rows(out, rows)
                executed.append({k: row[k] for k in ("order_index", "file", "pv_model", "status", "exit_status",
                                                     "elapsed_s")})
                bar.update(1)
                if plan.pause_s and i + 1 < len(todo):
                    time.sleep(plan.pause_s)
        if not (out / MANIFEST_NAME).exists():
            _write_rows(out, rows)
    finally:
        for model in reversed(models_up):
            invocation.setdefault("teardown", {})[model.name] = _run_shell_list(
                model.teardown, f"models.{model.name}.teardown", check=False)
        invocation["finished"] = datetime.now(UTC).isoformat()
        invocation["runs_executed"] = len(executed)
        _atomic_write(out / CAMPAIGN_FILE, _json_bytes(meta))
    return CollectResult(out=out, plan=plan, planned=len(schedule), already_done=len(done),
                         executed=tuple(executed), system_check=check)


# ---------------------------------------------------------------------------------------------------- CLI


def cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair collect``."""
    parser.add_argument("plan", help="YAML plan (see examples/loopback.yaml)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="campaign folder to write, data/raw/<campaign> (required unless --dry-run)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the campaign in --out: finished runs kept, a half-written run redone")
    parser.add_argument("--dry-run", action="store_true", help="print the schedule and exit; nothing is run")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: when stderr is a terminal)")
    _until_settled_arguments(parser)


def _until_settled_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair collect --until-settled`` (:mod:`analysis.settle`)."""
    g = parser.add_argument_group("until settled", "run in rounds; stop each cell once its sequential verdict "
                                  "(alpha spending, analysis.sequential) is reached")
    g.add_argument("--until-settled", action="store_true",
                   help="look after --min-trials rounds and every --look-every rounds; settled cells stop")
    g.add_argument("--min-trials", type=int, default=3, metavar="N", help="rounds before the first look (3)")
    g.add_argument("--max-trials", type=int, default=None, metavar="N",
                   help="rounds at most (default: the plan's trials)")
    g.add_argument("--look-every", type=int, default=1, metavar="K", help="rounds between looks (1)")
    g.add_argument("--spending", choices=("obrien-fleming", "pocock"), default="obrien-fleming",
                   help="alpha-spending function (Lan-DeMets O'Brien-Fleming type by default)")
    g.add_argument("--alpha", type=float, default=0.05, help="family-wise error rate of faster/slower (0.05)")
    g.add_argument("--margin", type=float, default=0.05, help="equivalence margin (0.05 = within +/-5 %%)")


#: set by the SIGTERM handler; the run loop checks it too, because Python swallows an exception raised by a
#: signal handler while it runs an at-fork hook (subprocess start), which would let the campaign carry on
_TERMINATE = threading.Event()


def _sigterm(signum: int, frame: Any) -> None:  # pragma: no cover - exercised by the kill test's SIGTERM path
    _TERMINATE.set()
    raise KeyboardInterrupt(f"signal {signum}")


def _design(args: argparse.Namespace, plan: Plan) -> Any:
    from analysis.sequential import SequentialDesign

    return SequentialDesign(min_trials=args.min_trials, max_trials=args.max_trials or plan.trials,
                            look_every=args.look_every, alpha=args.alpha, margin=args.margin, spending=args.spending)


def _until_settled(args: argparse.Namespace, plan: Plan, progress: bool) -> Any:
    from analysis.settle import collect_until_settled

    return collect_until_settled(plan, args.out, design=_design(args, plan), resume=args.resume, progress=progress)


def cli_run(args: argparse.Namespace) -> int:
    """``pvfair collect``: exit 0 when every run finished (failed runs are recorded, not fatal), 1 on a
    CollectError or interruption, 2 on invalid input (via :func:`analysis.cli.main`)."""
    plan = load_plan(args.plan)
    if args.dry_run:
        if args.until_settled:  # the schedule up to the maximum; settled cells leave it as the looks decide
            from analysis.settle import first_look_note

            design = _design(args, plan)
            longest = dataclasses.replace(plan, trials=design.max_trials)
            print(f"until settled: looks after rounds {design.look_rounds}; the most runs this can take:")
            print(format_schedule(longest))
            if note := first_look_note(build_schedule(longest), design):
                print(note)
        else:
            print(format_schedule(plan))
        return 0
    if not args.out:
        raise ValueError("--out: expected the campaign folder to write (data/raw/<campaign>), or --dry-run")
    progress = sys.stderr.isatty() if args.progress is None else bool(args.progress)
    _TERMINATE.clear()
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        result = _until_settled(args, plan, progress) if args.until_settled else \
            collect(plan, args.out, resume=args.resume, progress=progress)
    except CollectError as exc:
        print(f"pvfair collect: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        again = f"{args.plan} --out {args.out}"
        if args.until_settled:
            again += (f" --until-settled --min-trials {args.min_trials} --max-trials {args.max_trials or plan.trials}"
                      f" --look-every {args.look_every} --spending {args.spending} --alpha {args.alpha:g}"
                      f" --margin {args.margin:g}")
        print(f"pvfair collect: interrupted; continue with: pvfair collect {again} --resume", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(result.summary())
    return 0
