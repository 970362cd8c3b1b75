"""Machine metadata for fair collection: CPU clock, governor, turbo, load, affinity, interface MTU and offloads.

Everything is read from ``/proc`` and ``/sys`` (under a configurable *root*, so tests can build a fake tree) or
from ``ip -j link`` / ``ethtool -k`` run inside a model's command prefix (e.g. ``ip netns exec pvA``). Nothing here
writes a file: :mod:`analysis.collect` saves the snapshots as JSON beside each run.

The system check (:func:`system_check`) follows ``pyperf system show``: it lists what makes timings unstable
(a CPU frequency governor other than ``performance``, turbo / boost on, a high load average, a clock that varies
between CPUs or over a short interval, no isolated CPUs). Its findings are advice, never fatal.
"""

from __future__ import annotations

import html
import json
import os
import platform
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "SystemCheckResult",
    "parse_cpu_list",
    "format_cpu_list",
    "cpu_snapshot",
    "interface_snapshot",
    "read_affinity",
    "mean_mhz",
    "format_offloads",
    "system_check",
    "KEY_OFFLOADS",
]

#: offloads that change what a loopback / virtio benchmark measures (written to the manifest's ``offloads``)
KEY_OFFLOADS: tuple[str, ...] = ("tcp-segmentation-offload", "generic-segmentation-offload",
                                 "generic-receive-offload")

_CPU_LIST = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def parse_cpu_list(text: str, *, name: str = "cpus") -> tuple[int, ...]:
    """CPU numbers of a Linux CPU list (``"0-2,5"`` -> ``(0, 1, 2, 5)``), as taskset and sysfs write them.

    Raises
    ------
    ValueError
        naming *name* when *text* is not such a list (or a range runs backwards).

    >>> parse_cpu_list("0-2,5")
    (0, 1, 2, 5)
    """
    s = str(text).strip().replace(" ", "")
    if not _CPU_LIST.match(s):
        raise ValueError(f"{name}: expected a CPU list such as '1' or '0-2,5', found {text!r}")
    cpus: set[int] = set()
    for part in s.split(","):
        lo, _, hi = part.partition("-")
        a, b = int(lo), int(hi or lo)
        if b < a:
            raise ValueError(f"{name}: range {part!r} runs backwards; expected low-high, found {text!r}")
        cpus.update(range(a, b + 1))
    return tuple(sorted(cpus))


def format_cpu_list(cpus: Sequence[int]) -> str:
    """The compact Linux form of a CPU set: ``(0, 1, 2, 5)`` -> ``"0-2,5"``.

    >>> format_cpu_list([5, 0, 1, 2])
    '0-2,5'
    """
    out: list[str] = []
    run: list[int] = []
    for c in sorted(set(int(c) for c in cpus)):
        if run and c == run[-1] + 1:
            run.append(c)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [c]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _cpuinfo(root: Path) -> tuple[dict[int, float], str | None]:
    """Per-CPU ``cpu MHz`` and the CPU model name from ``/proc/cpuinfo``."""
    text = _read(root / "proc" / "cpuinfo") or ""
    mhz: dict[int, float] = {}
    model = None
    current = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            try:
                current = int(value)
            except ValueError:
                current = None
        elif key == "cpu MHz" and current is not None:
            try:
                mhz[current] = float(value)
            except ValueError:
                pass
        elif key == "model name" and model is None:
            model = value
    return mhz, model


def _khz_to_mhz(text: str | None) -> float | None:
    try:
        return int(text) / 1000.0 if text is not None else None
    except ValueError:
        return None


def _online_cpus(root: Path, cpuinfo_mhz: Mapping[int, float]) -> list[int]:
    online = _read(root / "sys" / "devices" / "system" / "cpu" / "online")
    if online:
        try:
            return list(parse_cpu_list(online, name="online"))
        except ValueError:
            pass
    return sorted(cpuinfo_mhz) or list(range(os.cpu_count() or 1))


def _turbo(root: Path) -> dict[str, Any]:
    """Turbo / boost state: intel_pstate ``no_turbo`` (inverted) or cpufreq ``boost``; None when not exposed."""
    cpu = root / "sys" / "devices" / "system" / "cpu"
    no_turbo = _read(cpu / "intel_pstate" / "no_turbo")
    if no_turbo in ("0", "1"):
        return {"enabled": no_turbo == "0", "source": "intel_pstate/no_turbo"}
    boost = _read(cpu / "cpufreq" / "boost")
    if boost in ("0", "1"):
        return {"enabled": boost == "1", "source": "cpufreq/boost"}
    return {"enabled": None, "source": None}


def cpu_snapshot(*, root: str | Path = "/") -> dict[str, Any]:
    """The CPU side of a run's metadata, read now.

    Parameters
    ----------
    root : file-system root holding ``proc`` and ``sys`` (``/``; a fake tree in tests)

    Returns
    -------
    dict
        ``time_utc`` (ISO 8601), ``monotonic_s``, ``cpu_model``, ``kernel`` (release, version), ``loadavg``
        (1, 5, 15 min), ``turbo`` (enabled True/False/None, source), ``isolated_cpus``, ``nohz_full`` and ``cpus``:
        per online CPU ``cpuinfo_mhz`` (``/proc/cpuinfo``), ``cpufreq_cur_mhz``, ``min_mhz``, ``max_mhz`` and
        ``governor`` (cpufreq sysfs; None where absent).
    """
    root = Path(root)
    mhz, model = _cpuinfo(root)
    cpus: dict[str, dict[str, Any]] = {}
    for c in _online_cpus(root, mhz):
        freq = root / "sys" / "devices" / "system" / "cpu" / f"cpu{c}" / "cpufreq"
        cpus[str(c)] = {
            "cpuinfo_mhz": mhz.get(c),
            "cpufreq_cur_mhz": _khz_to_mhz(_read(freq / "scaling_cur_freq")),
            "min_mhz": _khz_to_mhz(_read(freq / "scaling_min_freq")),
            "max_mhz": _khz_to_mhz(_read(freq / "scaling_max_freq")),
            "governor": _read(freq / "scaling_governor"),
        }
    load = (_read(root / "proc" / "loadavg") or "").split()
    try:
        loadavg = [float(x) for x in load[:3]] if len(load) >= 3 else None
    except ValueError:
        loadavg = None
    uname = platform.uname()
    cpu_dir = root / "sys" / "devices" / "system" / "cpu"
    return {
        "time_utc": datetime.now(UTC).isoformat(),
        "monotonic_s": time.monotonic(),
        "cpu_model": model,
        "kernel": {"release": uname.release, "version": uname.version},
        "loadavg": loadavg,
        "turbo": _turbo(root),
        "isolated_cpus": _read(cpu_dir / "isolated"),
        "nohz_full": _read(cpu_dir / "nohz_full"),
        "cpus": cpus,
    }


def mean_mhz(snapshot: Mapping[str, Any], cpus: Sequence[int] | None = None) -> float | None:
    """Mean clock (MHz) of *cpus* (None: all) in a :func:`cpu_snapshot`: cpufreq's current frequency where sysfs
    has it, else ``/proc/cpuinfo``'s ``cpu MHz``; None when neither is known."""
    table = snapshot.get("cpus", {})
    keys = [str(c) for c in cpus] if cpus else list(table)
    values = []
    for k in keys:
        rec = table.get(k) or {}
        v = rec.get("cpufreq_cur_mhz") or rec.get("cpuinfo_mhz")
        if v is not None:
            values.append(float(v))
    return round(sum(values) / len(values), 3) if values else None


def read_affinity(pid: int, *, root: str | Path = "/") -> str | None:
    """``Cpus_allowed_list`` of process *pid* (``/proc/<pid>/status``): the affinity actually applied; None when the
    process is gone."""
    text = _read(Path(root) / "proc" / str(int(pid)) / "status")
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return None


def _run(cmd: Sequence[str], env: Mapping[str, str] | None, timeout: float = 10.0) -> tuple[int, str, str]:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                              env=None if env is None else dict(env))
    except FileNotFoundError as exc:
        return 127, "", f"{cmd[0]}: not found ({exc.strerror})"
    except subprocess.TimeoutExpired:
        return 124, "", f"{' '.join(cmd)}: timed out after {timeout:g} s"
    return proc.returncode, proc.stdout, proc.stderr


def _parse_ethtool_k(text: str) -> dict[str, str]:
    """``ethtool -k`` lines ``name: on [fixed]`` -> ``{name: "on [fixed]"}`` (indented sub-features included)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if ":" not in line or line.startswith("Features for"):
            continue
        key, _, value = line.strip().partition(":")
        if key and value.strip():
            out[key.strip()] = value.strip()
    return out


def interface_snapshot(interface: str, *, prefix: Sequence[str] = (), env: Mapping[str, str] | None = None
                       ) -> dict[str, Any]:
    """MTU and offloads of *interface* as the model sees it: ``ip -j link show dev IF`` and ``ethtool -k IF`` run
    behind the model's command *prefix* (e.g. ``("ip", "netns", "exec", "pvA")``).

    Returns
    -------
    dict
        ``interface``, ``mtu_bytes`` (None when unknown), ``operstate``, ``offloads`` (feature -> state as
        ethtool prints it) and ``errors`` (one line per command that failed; never raises).
    """
    errors: list[str] = []
    mtu = operstate = None
    rc, out, err = _run([*prefix, "ip", "-j", "link", "show", "dev", interface], env)
    if rc == 0:
        try:
            link = json.loads(out)[0]
            mtu, operstate = link.get("mtu"), link.get("operstate")
        except (ValueError, IndexError, KeyError, TypeError):
            errors.append(f"ip -j link show dev {interface}: unreadable output {out[:80]!r}")
    else:
        errors.append(f"ip link show dev {interface}: exit {rc}: {err.strip()[:200]}")
    rc, out, err = _run([*prefix, "ethtool", "-k", interface], env)
    offloads = _parse_ethtool_k(out) if rc == 0 else {}
    if rc != 0:
        errors.append(f"ethtool -k {interface}: exit {rc}: {err.strip()[:200]}")
    return {"interface": interface, "mtu_bytes": mtu, "operstate": operstate, "offloads": offloads,
            "errors": errors}


def format_offloads(offloads: Mapping[str, str], keys: Sequence[str] = KEY_OFFLOADS) -> str:
    """The manifest's ``offloads`` cell: ``"tcp-segmentation-offload: on;..."`` for the *keys* present.

    >>> format_offloads({"generic-receive-offload": "on", "tcp-segmentation-offload": "off [fixed]"})
    'tcp-segmentation-offload: off;generic-receive-offload: on'
    """
    return ";".join(f"{k}: {offloads[k].split()[0]}" for k in keys if offloads.get(k))


# ---------------------------------------------------------------------------------------------------- system check


@dataclass(frozen=True)
class SystemCheckResult:
    """What the pre-campaign system check found.

    Attributes
    ----------
    findings : tuple of dict
        one per check: ``check``, ``status`` (``ok`` | ``warn`` | ``info``), ``message``.
    snapshot : dict
        the :func:`cpu_snapshot` the checks read (first of the two samples).
    """

    findings: tuple[dict[str, str], ...]
    snapshot: Mapping[str, Any] = field(default_factory=dict)

    @property
    def warnings(self) -> tuple[dict[str, str], ...]:
        return tuple(f for f in self.findings if f["status"] == "warn")

    def to_frame(self) -> pd.DataFrame:
        """One row per check: ``check, status, message``."""
        return pd.DataFrame(list(self.findings), columns=["check", "status", "message"])

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [dict(f) for f in self.findings], "warnings": len(self.warnings)}

    def summary(self) -> str:
        n = len(self.warnings)
        lines = [f"system check: {n} warning(s) (advice, not fatal)"]
        lines += [f"  [{f['status']:>4}] {f['check']}: {f['message']}" for f in self.findings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _check_governor(first: Mapping[str, Any], second: Mapping[str, Any], n_cpus: int) -> dict[str, str]:
    govs = {c: rec.get("governor") for c, rec in first["cpus"].items()}
    known = {c: g for c, g in govs.items() if g}
    if not known:
        return {"check": "governor", "status": "info",
                "message": "no cpufreq governor exposed (virtual machine or no cpufreq driver); the clock is "
                           "recorded from /proc/cpuinfo"}
    bad = {c: g for c, g in known.items() if g != "performance"}
    if bad:
        shown = ", ".join(f"cpu{c}={g}" for c, g in sorted(bad.items(), key=lambda kv: int(kv[0])))
        return {"check": "governor", "status": "warn",
                "message": f"governor not 'performance' ({shown}); the clock may change between runs "
                           "(cpupower frequency-set -g performance)"}
    return {"check": "governor", "status": "ok", "message": "every CPU uses the 'performance' governor"}


def _check_turbo(first: Mapping[str, Any], second: Mapping[str, Any], n_cpus: int) -> dict[str, str]:
    turbo = first["turbo"]
    if turbo["enabled"] is None:
        return {"check": "turbo", "status": "info", "message": "turbo / boost state not exposed"}
    if turbo["enabled"]:
        return {"check": "turbo", "status": "warn",
                "message": f"turbo / boost is on ({turbo['source']}); the clock depends on load and temperature"}
    return {"check": "turbo", "status": "ok", "message": f"turbo / boost is off ({turbo['source']})"}


#: 1-minute load average per CPU above which the machine counts as busy
LOAD_PER_CPU_LIMIT = 0.5


def _check_load(first: Mapping[str, Any], second: Mapping[str, Any], n_cpus: int) -> dict[str, str]:
    load = first["loadavg"]
    if load is None:
        return {"check": "load", "status": "info", "message": "load average not readable"}
    limit = LOAD_PER_CPU_LIMIT * n_cpus
    if load[0] > limit:
        return {"check": "load", "status": "warn",
                "message": f"load average {load[0]:.2f} > {limit:.2f} ({LOAD_PER_CPU_LIMIT} per CPU x {n_cpus}); "
                           "other work competes with the benchmark"}
    return {"check": "load", "status": "ok", "message": f"load average {load[0]:.2f} <= {limit:.2f}"}


#: relative spread of the clock (between CPUs, over time, or scaling min..max) that counts as varying
FREQ_SPREAD_LIMIT = 0.01


def _check_frequency(first: Mapping[str, Any], second: Mapping[str, Any], n_cpus: int) -> dict[str, str]:
    values = []
    ranges = []
    for snap in (first, second):
        for rec in snap["cpus"].values():
            v = rec.get("cpufreq_cur_mhz") or rec.get("cpuinfo_mhz")
            if v is not None:
                values.append(float(v))
    for rec in first["cpus"].values():
        if rec.get("min_mhz") and rec.get("max_mhz") and rec["max_mhz"] > rec["min_mhz"] * (1 + FREQ_SPREAD_LIMIT):
            ranges.append(f"{rec['min_mhz']:.0f}-{rec['max_mhz']:.0f}")
    if not values:
        return {"check": "frequency", "status": "info", "message": "CPU clock not readable"}
    lo, hi = min(values), max(values)
    problems = []
    if hi > lo * (1 + FREQ_SPREAD_LIMIT):
        problems.append(f"clock varies {lo:.0f}..{hi:.0f} MHz across CPUs / over time")
    if ranges:
        problems.append(f"cpufreq may scale within {sorted(set(ranges))} MHz")
    if problems:
        return {"check": "frequency", "status": "warn",
                "message": "; ".join(problems) + "; the clock is recorded per run (cpu_mhz_before/after)"}
    return {"check": "frequency", "status": "ok", "message": f"clock steady at {lo:.0f} MHz"}


def _check_isolation(first: Mapping[str, Any], second: Mapping[str, Any], n_cpus: int) -> dict[str, str]:
    iso = first.get("isolated_cpus")
    if iso:
        return {"check": "isolated_cpus", "status": "ok", "message": f"isolated CPUs {iso} (pin runs onto them)"}
    return {"check": "isolated_cpus", "status": "warn",
            "message": "no isolated CPUs (isolcpus= / nohz_full= not set); the scheduler may put other tasks on "
                       "the benchmark's CPUs"}


#: check name -> check(first snapshot, second snapshot, n_cpus) -> finding
SYSTEM_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any], int], dict[str, str]]] = {
    "governor": _check_governor,
    "turbo": _check_turbo,
    "load": _check_load,
    "frequency": _check_frequency,
    "isolated_cpus": _check_isolation,
}


def _system_check_iv(root: str | Path, interval_s: float) -> tuple[Path, float]:
    if isinstance(interval_s, bool) or not isinstance(interval_s, int | float) or not 0 <= interval_s <= 10:
        raise ValueError(f"interval_s: expected a number of seconds in [0, 10], got {interval_s!r}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root: {str(root)!r} is not a folder; expected the file-system root with proc/ "
                                "and sys/")
    return root, float(interval_s)


def system_check(*, root: str | Path = "/", interval_s: float = 0.25) -> SystemCheckResult:
    """Check the machine for what makes benchmark timings unstable, in the spirit of ``pyperf system show``.

    Two CPU snapshots *interval_s* apart feed the checks in :data:`SYSTEM_CHECKS`: governor not ``performance``,
    turbo / boost on, load average above :data:`LOAD_PER_CPU_LIMIT` per CPU, a clock that varies (between CPUs,
    over the interval, or cpufreq min < max) by more than :data:`FREQ_SPREAD_LIMIT`, and no isolated CPUs.

    Returns
    -------
    SystemCheckResult
        findings with status ``ok`` / ``warn`` / ``info``; nothing is fatal.
    """
    root, interval_s = _system_check_iv(root, interval_s)
    first = cpu_snapshot(root=root)
    if interval_s:
        time.sleep(interval_s)
    second = cpu_snapshot(root=root)
    n_cpus = max(1, len(first["cpus"]))
    findings = tuple(check(first, second, n_cpus) for check in SYSTEM_CHECKS.values())
    return SystemCheckResult(findings=findings, snapshot=first)
