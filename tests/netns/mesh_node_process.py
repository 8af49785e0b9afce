"""One mesh node for the namespace tests, run inside a namespace: `receive` or `send` N events
on a reliable stream. Prints one JSON line with what it saw (the receiver first prints its keys)."""

from __future__ import annotations

import json
import sys
import threading
import time

import net

PSK = "42" * 32
SENDER_SEED = bytes(range(32))


def sender_node_id() -> int:
    with net.NetMesh("127.0.0.1:0", PSK, identity_seed=SENDER_SEED) as probe:
        return probe.node_id


def receive(bind: str, count: int, timeout_s: float) -> None:
    mesh = net.NetMesh(bind, PSK, heartbeat_interval_ms=200)
    print(json.dumps({"public_key": mesh.public_key, "node_id": mesh.node_id}), flush=True)
    mesh.accept(sender_node_id())
    mesh.start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(seen) < count and time.monotonic() < deadline:
        events = mesh.poll(10000)
        seen.extend(e.raw for e in events)
        if not events:
            time.sleep(0.002)
    expected = [f"{i:08d}" for i in range(count)]
    print(
        json.dumps(
            {
                "received": len(seen),
                "unique": len(set(seen)),
                "in_order": seen == expected,
            }
        ),
        flush=True,
    )
    mesh.shutdown()


def send(bind: str, peer: str, public_key: str, node_id: int, count: int) -> None:
    mesh = net.NetMesh(bind, PSK, heartbeat_interval_ms=200, identity_seed=SENDER_SEED)
    mesh.connect(peer, public_key, node_id)
    mesh.start()
    stream = mesh.open_stream(node_id, 1, reliability="reliable")
    for first in range(0, count, 100):
        mesh.send_blocking(
            stream, [f"{i:08d}".encode() for i in range(first, min(first + 100, count))]
        )
    print(json.dumps({"sent": count}), flush=True)
    threading.Event().wait(float(sys.argv[-1]))  # keep answering acks until the test stops us
    mesh.shutdown()


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        send(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
