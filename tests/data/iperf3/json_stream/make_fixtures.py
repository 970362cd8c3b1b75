"""Write the --json-stream fixtures of this folder from -J documents captured from the real iperf3 (3.12).

Debian 12 ships iperf3 3.12, which has no --json-stream (added in 3.17), so each fixture is the event stream
iperf3 >= 3.17 prints for the same run: ``JSONStream_Output`` in iperf3's ``src/iperf_api.c`` prints one
``{"event":<name>,"data":<object>}`` per line with ``cJSON_PrintUnformatted`` (no spaces); the ``start`` event
carries the -J ``start`` object, each ``interval`` event one element of ``intervals``, the ``end`` event the -J
``end`` object, and an ``error`` event iperf3's error text (followed by an ``end`` event). Run from the
repository root: ``python tests/data/iperf3/json_stream/make_fixtures.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parents[1]
SOURCES = {
    "tcp_l4096_3.12.jsonl": TESTS / "samples" / "iperf3" / "x_iperf3_tcp_A_split_l4096_t1.json",
    "udp_b1G_3.12.jsonl": TESTS / "samples" / "iperf3" / "x_iperf3_udp_B_split_b1G_t1.json",
    "tcp_reverse_3.12.jsonl": TESTS / "iperf3" / "tcp_reverse_3.12.json",
    "tcp_bidir_3.12.jsonl": TESTS / "iperf3" / "tcp_bidir_3.12.json",
    "tcp_omit1_3.9.jsonl": TESTS / "iperf3" / "tcp_omit1_3.9.json",
}


def event(name: str, data) -> str:
    return json.dumps({"event": name, "data": data}, separators=(",", ":"))


def stream(doc: dict) -> str:
    lines = [event("start", doc["start"])]
    lines += [event("interval", i) for i in doc["intervals"]]
    lines.append(event("end", doc["end"]))
    return "\n".join(lines) + "\n"


def main() -> None:
    for name, source in SOURCES.items():
        (HERE / name).write_text(stream(json.loads(source.read_text())))
    err = json.loads((TESTS / "iperf3" / "error_connect_3.12.json").read_text())
    (HERE / "error_connect_3.12.jsonl").write_text(
        event("start", err["start"]) + "\n" + event("error", err["error"]) + "\n" + event("end", {}) + "\n")


if __name__ == "__main__":
    main()
