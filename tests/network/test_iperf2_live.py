"""iperf 2 ``-e -y C`` from the installed tool (Debian 12: iperf 2.1.8) on 127.0.0.1, parsed as captured.

The fixtures in tests/data/iperf2/2.1.8/ were captured this way; this test repeats the capture on the machine
running the suite, so a different iperf 2 build is caught. ``make test`` installs iperf (Makefile ``tools``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from analysis.collect import _listening
from analysis.parsers import parse_text

pytestmark = pytest.mark.network


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(server: subprocess.Popen, port: int, timeout_s: float = 10.0) -> None:
    """Until *server* listens (TCP) or is bound (UDP) on *port*, read from /proc as ``pvfair collect`` does.

    A client started before that fails with "connect failed"; probing with a connection would itself be a test
    run for the server.
    """
    deadline = time.monotonic() + timeout_s
    while not _listening(server.pid, port):
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"iperf -s did not listen on 127.0.0.1:{port} within {timeout_s} s")
        time.sleep(0.05)


def _capture(udp: bool) -> tuple[str, str]:
    port = _free_port(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    proto = ["-u"] if udp else []
    server = subprocess.Popen(["iperf", "-s", *proto, "-B", "127.0.0.1", "-p", str(port), "-e", "-y", "C", "-t", "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_listening(server, port)
        client = subprocess.run(["iperf", "-c", "127.0.0.1", *proto, "-p", str(port), "-e", "-y", "C", "-t", "1",
                                 "-i", "1", *(["-b", "5M"] if udp else [])],
                                capture_output=True, text=True, timeout=20, check=True)
        out, _ = server.communicate(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return client.stdout, out


@pytest.mark.skipif(shutil.which("iperf") is None, reason="iperf 2 not installed (make test: Makefile 'tools')")
@pytest.mark.parametrize("udp", [False, True], ids=["tcp", "udp"])
def test_live_enhanced_csv_parses(udp):
    client_text, server_text = _capture(udp)
    client = parse_text(client_text, "client.csv")
    assert client.tool == "iperf2" and client.parser == "iperf2-csv"
    assert client.fields["protocol"] == ("UDP" if udp else "TCP")
    metric = "send_throughput_bps" if udp else "throughput_bps"
    assert client.measurements[metric] > (4e6 if udp else 1e7)
    server = parse_text(server_text, "server.csv")
    assert server.measurements["throughput_bps"] > (4e6 if udp else 1e7)
    if udp:
        assert server.measurements["packets"] > 100 and server.measurements["loss_pct"] >= 0
