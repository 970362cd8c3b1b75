"""Capture the real ``data/raw/loopback`` campaign: iperf3 over loopback in two network namespaces.

Superseded by the collector: ``pvfair collect examples/loopback.yaml --out data/raw/<campaign>`` runs the same
campaign from a plan (with per-run metadata, a system check and ``--resume``). This script is kept because it
produced the committed ``data/raw/loopback`` campaign, whose README cites it.

The two "PV models" are two loopback configurations:

* ``lo-gso-64k``   : namespace ``pvA``, ``lo`` with MTU 65536 and GSO/TSO on (the kernel's default for lo);
* ``lo-nogso-1500``: namespace ``pvB``, ``lo`` with MTU 1500 and GSO/TSO off (``ethtool -K lo gso off tso off``).

In each namespace an iperf3 server runs on 127.0.0.1 pinned to CPU 0 (``taskset -c 0 iperf3 -s -D``); clients run
pinned to CPU 1 (``taskset -c 1 iperf3 -c 127.0.0.1 -J -t 2 -l SIZE``), for several message sizes, ``--trials``
trials each, in interleaved order (all (model, size) runs of trial 1 in a seeded random order, then trial 2, ...).
The CPU clock (``cpu MHz`` of the client's CPU in /proc/cpuinfo) is read before and after each run into the
manifest. Namespaces and servers are removed at the end, also on failure. Only loopback addresses are used.

Needs root, ``ip`` (iproute2) and ``taskset``; installs iperf3 and ethtool with apt-get when missing
(``apt-get update`` first). Usage: ``sudo python3 scripts/capture_loopback.py [--out data/raw/loopback]
[--trials 5] [--sizes 1024,16384,131072] [--seed 20091105]``. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = {
    # model: (namespace, mtu, gso/tso)
    "lo-gso-64k": ("pvA", 65536, "on"),
    "lo-nogso-1500": ("pvB", 1500, "off"),
}
SERVER_CPU, CLIENT_CPU = 0, 1
PORT = 5201
DURATION_S = 2


def sh(*cmd: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(list(cmd), check=check, text=True, capture_output=capture)


def ensure_tools() -> None:
    missing = [p for p, exe in (("iperf3", "iperf3"), ("ethtool", "ethtool")) if shutil.which(exe) is None]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    for exe in ("ip", "taskset", "iperf3", "ethtool"):
        if shutil.which(exe) is None:
            sys.exit(f"capture_loopback: {exe} not found; expected it on PATH")


def cpu_mhz(cpu: int) -> float | None:
    """``cpu MHz`` of *cpu* in /proc/cpuinfo (None where the kernel does not report it)."""
    current = None
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor":
            current = int(value)
        elif key == "cpu MHz" and current == cpu:
            return float(value)
    return None


def governor(cpu: int) -> str:
    p = pathlib.Path(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor")
    return p.read_text().strip() if p.exists() else ""


def iperf3_version() -> str:
    out = sh("iperf3", "--version", capture=True, check=False).stdout
    return out.split("\n", 1)[0].strip()


def setup(pidfiles: dict[str, pathlib.Path]) -> None:
    existing = sh("ip", "netns", "list", capture=True).stdout.split()
    for ns, _, _ in MODELS.values():
        if ns in existing:
            sys.exit(f"capture_loopback: network namespace {ns} already exists; refusing to touch it")
    for model, (ns, mtu, gso) in MODELS.items():
        sh("ip", "netns", "add", ns)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up", "mtu", str(mtu))
        sh("ip", "netns", "exec", ns, "ethtool", "-K", "lo", "gso", gso, "tso", gso)
        sh("ip", "netns", "exec", ns, "taskset", "-c", str(SERVER_CPU), "iperf3", "-s", "-D", "-B", "127.0.0.1",
           "-p", str(PORT), "-I", str(pidfiles[model]))
    time.sleep(1.0)


def teardown(pidfiles: dict[str, pathlib.Path]) -> None:
    for pf in pidfiles.values():
        try:
            pid = int(pf.read_text().strip().strip("\x00"))
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    for ns, _, _ in MODELS.values():
        sh("ip", "netns", "delete", ns, check=False)


def offloads(ns: str) -> str:
    out = sh("ip", "netns", "exec", ns, "ethtool", "-k", "lo", capture=True, check=False).stdout
    keep = ("generic-segmentation-offload", "tcp-segmentation-offload", "generic-receive-offload")
    return ";".join(ln.strip().split(" [")[0] for ln in out.splitlines() if ln.strip().startswith(keep))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "data" / "raw" / "loopback")
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--sizes", default="1024,16384,131072", help="iperf3 -l message sizes, comma-separated")
    ap.add_argument("--seed", type=int, default=20091105, help="seeds the interleaved run order")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if os.geteuid() != 0:
        sys.exit("capture_loopback: needs root (ip netns, ethtool)")
    if (os.cpu_count() or 1) < 2:
        sys.exit("capture_loopback: needs >= 2 CPUs (server on CPU 0, client on CPU 1)")
    ensure_tools()
    out: pathlib.Path = args.out
    if out.exists() and any(out.iterdir()):
        sys.exit(f"capture_loopback: --out {out} already has content; expected a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    plan = []
    for trial in range(1, args.trials + 1):
        block = [(model, size, trial) for model in MODELS for size in sizes]
        rng.shuffle(block)
        plan.extend(block)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="pvfair-loopback-"))
    pidfiles = {m: tmp / f"iperf3-{MODELS[m][0]}.pid" for m in MODELS}
    rows = []
    host, kernel = platform.node(), platform.release()
    try:
        setup(pidfiles)
        offl = {m: offloads(ns) for m, (ns, _, _) in MODELS.items()}
        for idx, (model, size, trial) in enumerate(plan):
            ns, mtu, _ = MODELS[model]
            fname = f"{idx + 1:03d}_iperf3_{model}_l{size}_t{trial}.json"
            before = cpu_mhz(CLIENT_CPU)
            res = sh("ip", "netns", "exec", ns, "taskset", "-c", str(CLIENT_CPU), "iperf3", "-c", "127.0.0.1",
                     "-p", str(PORT), "-J", "-t", str(DURATION_S), "-l", str(size), capture=True, check=False)
            after = cpu_mhz(CLIENT_CPU)
            (out / fname).write_text(res.stdout)
            rows.append({
                "file": fname, "pv_model": model, "tool": "iperf3", "test": "IPERF3_TCP", "msg_size_bytes": size,
                "pinning": "split", "cpu_mhz_before": before, "cpu_mhz_after": after, "n_cpus": os.cpu_count(),
                "governor": governor(CLIENT_CPU), "host": host, "host_kernel": kernel, "mtu_bytes": mtu,
                "session": "boot1", "trial": trial, "order_index": idx, "offloads": offl[model],
                "command": f"ip netns exec {ns} taskset -c {CLIENT_CPU} iperf3 -c 127.0.0.1 -p {PORT} -J "
                           f"-t {DURATION_S} -l {size}",
            })
            time.sleep(0.3)
    finally:
        teardown(pidfiles)
        shutil.rmtree(tmp, ignore_errors=True)
    with open(out / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"captured {len(rows)} runs with {iperf3_version()} into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
