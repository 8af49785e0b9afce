"""Failure detection and rerouting with a real relay process killed by SIGKILL: A and C talk
through relay R1 (another process); a second relay R2 joins; R1 is killed; A and C notice, their
traffic moves to R2, and a reliable stream loses nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from conftest import handshake, mesh_address, poll_until, wait_until

RELAY = str(Path(__file__).with_name("relay_process.py"))
HEARTBEAT_MS, TIMEOUT_MS = 50, 300


def test_traffic_moves_to_another_relay_when_one_is_killed(make_mesh, psk):
    options = {"heartbeat_interval_ms": HEARTBEAT_MS, "session_timeout_ms": TIMEOUT_MS}
    a, c, r2 = make_mesh(**options), make_mesh(**options), make_mesh(**options)
    r1 = subprocess.Popen(
        [
            sys.executable,
            RELAY,
            psk,
            str(HEARTBEAT_MS),
            str(TIMEOUT_MS),
            str(a.node_id),
            str(c.node_id),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(r1.stdout.readline())
        a.connect(info["addr"], info["public_key"], info["node_id"])
        c.connect(info["addr"], info["public_key"], info["node_id"])
        assert r1.stdout.readline().strip() == "started"
        a.start()
        c.start()
        # Pingwaves teach R1 where A and C are; then A handshakes with C through it.
        wait_until(
            lambda: a.discovered_nodes() >= 2 and c.discovered_nodes() >= 2, 5.0, "pingwaves"
        )
        a.connect_via(info["addr"], c.public_key, c.node_id)
        to_c = a.open_stream(c.node_id, 1, reliability="reliable")
        a.send_blocking(to_c, [b"before"])
        assert [e.raw for e in poll_until(c, 1)] == ["before"]

        handshake(a, r2)
        handshake(c, r2)  # r2 accepts both (accept() must precede start())
        r2.start()
        r1.send_signal(signal.SIGKILL)
        r1.wait()
        # Keep sending while A notices (suspicion after 2 timeouts, failure after 3).
        sent = [f"event {i}".encode() for i in range(200)]
        for event in sent:
            a.send_blocking(to_c, [event])
        received = poll_until(c, len(sent), timeout=10.0)
        assert [e.raw.encode() for e in received] == sent
        wait_until(lambda: a.peer_count() == 2, 5.0, "A dropping R1 (C and R2 remain)")
        to_a = c.open_stream(a.node_id, 1, reliability="reliable")
        c.send_blocking(to_a, [b"and back"])
        assert [e.raw for e in poll_until(a, 1, timeout=5.0)] == ["and back"]
        assert mesh_address(r2) in repr(r2)
    finally:
        r1.kill()
        r1.wait()
