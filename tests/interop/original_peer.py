"""Remote-controlled peer around the ORIGINAL `net` 0.12.0 (run with the original's python).

Reads one JSON command per line on stdin, writes one JSON reply per line on stdout; logs go to stderr.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import net

STATS_FIELDS = (
    "tx_seq",
    "rx_seq",
    "inbound_pending",
    "last_activity_ns",
    "active",
    "backpressure_events",
    "credit_grants_received",
    "credit_grants_sent",
    "tx_credit_remaining",
    "tx_window",
)
REPR_ADDR = re.compile(r"NetMesh\(addr=([^,]+),")


def log(*args: object) -> None:
    print("[original_peer]", *args, file=sys.stderr, flush=True)


def event_dict(e: Any) -> dict[str, Any]:
    return {"id": e.id, "raw": e.raw, "insertion_ts": e.insertion_ts, "shard_id": e.shard_id}


class Background:
    """Runs one blocking call in a daemon thread and keeps its outcome."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as e:  # noqa: BLE001 - reported to the controller
            self.error = e

    def wait(self, timeout_s: float | None) -> Any:
        self.thread.join(timeout_s)
        if self.thread.is_alive():
            raise TimeoutError(f"background call still running after {timeout_s}s")
        if self.error is not None:
            raise self.error
        return self.value


class Peer:
    def __init__(self) -> None:
        self.mesh: Any = None
        self.accepting: Background | None = None
        self.bus: Background | None = None
        self.after_reply: Callable[[], None] | None = None

    # ---- NetMesh -------------------------------------------------------------------------

    def op_mesh(
        self,
        bind: str,
        psk: str,
        heartbeat_interval_ms: int | None = None,
        session_timeout_ms: int | None = None,
        identity_seed_hex: str | None = None,
    ) -> dict[str, Any]:
        seed = bytes.fromhex(identity_seed_hex) if identity_seed_hex else None
        self.mesh = net.NetMesh(
            bind, psk, heartbeat_interval_ms, session_timeout_ms, identity_seed=seed
        )
        m = REPR_ADDR.match(repr(self.mesh))
        return {
            "public_key": self.mesh.public_key,
            "node_id": self.mesh.node_id,
            "entity_id_hex": self.mesh.entity_id.hex(),
            "addr": m.group(1) if m else None,
        }

    def op_accept(self, peer_node_id: int) -> None:
        self.accepting = Background(lambda: self.mesh.accept(peer_node_id))
        self.accepting.thread.start()  # accept releases the GIL, so the loop stays responsive

    def op_accept_result(self, timeout_s: float | None = None) -> str:
        if self.accepting is None:
            raise RuntimeError("no accept in progress")
        return self.accepting.wait(timeout_s)

    def op_connect(self, addr: str, public_key: str, node_id: int) -> None:
        self.mesh.connect(addr, public_key, node_id)

    def op_start(self) -> None:
        self.mesh.start()

    def op_push_to(self, addr: str, data: str) -> bool:
        return self.mesh.push_to(addr, data)

    def op_poll(self, limit: int) -> list[dict[str, Any]]:
        return [event_dict(e) for e in self.mesh.poll(limit)]

    def op_poll_until(self, count: int, timeout_s: float) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(events) < count and time.monotonic() < deadline:
            batch = self.mesh.poll(count - len(events))
            events += [event_dict(e) for e in batch]
            if not batch:
                time.sleep(0.01)
        return events

    def _stream(
        self,
        peer_node_id: int,
        stream_id: int,
        reliability: str | None = None,
        window_bytes: int = 65536,
    ) -> Any:
        return self.mesh.open_stream(peer_node_id, stream_id, reliability, window_bytes)

    def op_open_stream(
        self,
        peer_node_id: int,
        stream_id: int,
        reliability: str | None = None,
        window_bytes: int = 65536,
    ) -> str:
        return repr(self._stream(peer_node_id, stream_id, reliability, window_bytes))

    def op_send_on_stream(self, peer_node_id: int, stream_id: int, events_b64: list[str]) -> None:
        stream = self._stream(peer_node_id, stream_id)  # idempotent: first open's settings win
        self.mesh.send_on_stream(stream, [base64.b64decode(e) for e in events_b64])

    def op_stream_stats(self, peer_node_id: int, stream_id: int) -> dict[str, Any] | None:
        st = self.mesh.stream_stats(peer_node_id, stream_id)
        return None if st is None else {f: getattr(st, f) for f in STATS_FIELDS}

    def op_peer_count(self) -> int:
        return self.mesh.peer_count()

    def op_discovered_nodes(self) -> int:
        return self.mesh.discovered_nodes()

    def op_add_route(self, dest_node_id: int, next_hop_addr: str) -> None:
        self.mesh.add_route(dest_node_id, next_hop_addr)

    # ---- capabilities and channels ---------------------------------------------------------

    def op_announce_capabilities(self, caps: dict[str, Any]) -> None:
        self.mesh.announce_capabilities(caps)

    def op_find_nodes(self, filter: dict[str, Any]) -> list[int]:
        return self.mesh.find_nodes(filter)

    def op_register_channel(self, name: str, options: dict[str, Any]) -> None:
        self.mesh.register_channel(name, **options)

    def op_subscribe_channel(
        self, publisher: int, channel: str, token_hex: str | None = None
    ) -> None:
        token = bytes.fromhex(token_hex) if token_hex else None
        self.mesh.subscribe_channel(publisher, channel, token)

    def op_publish(self, channel: str, payload: str) -> dict[str, Any]:
        return self.mesh.publish(channel, payload.encode())

    def op_shutdown(self) -> None:
        self.mesh.shutdown()

    # ---- two-node Net --------------------------------------------------------------------

    def op_net(self, kwargs: dict[str, Any]) -> None:
        # Net(...) blocks on the handshake WITHOUT releasing the GIL, so start it only after
        # the reply is flushed; commands sent meanwhile are served once the handshake ends.
        self.bus = Background(lambda: net.Net(**kwargs))
        self.after_reply = self.bus.thread.start

    def _net(self) -> Any:
        if self.bus is None:
            raise RuntimeError("no Net created")
        return self.bus.wait(None)

    def op_net_wait(self, timeout_s: float | None = None) -> str:
        if self.bus is None:
            raise RuntimeError("no Net created")
        return repr(self.bus.wait(timeout_s))

    def op_net_ingest_raw(self, data: list[str]) -> list[dict[str, int]]:
        bus = self._net()
        return [
            {"shard_id": r.shard_id, "timestamp": r.timestamp}
            for r in (bus.ingest_raw(d) for d in data)
        ]

    def op_net_poll(self, limit: int, cursor: str | None = None) -> dict[str, Any]:
        r = self._net().poll(limit, cursor)
        return {
            "events": [event_dict(e) for e in r.events],
            "next_id": r.next_id,
            "has_more": r.has_more,
        }

    def op_net_poll_until(self, count: int, timeout_s: float) -> list[dict[str, Any]]:
        bus = self._net()
        events: list[dict[str, Any]] = []
        cursor: str | None = None
        deadline = time.monotonic() + timeout_s
        while len(events) < count and time.monotonic() < deadline:
            r = bus.poll(count - len(events), cursor)
            events += [event_dict(e) for e in r.events]
            cursor = r.next_id
            if not r.events:
                time.sleep(0.01)
        return events

    def op_keypair(self) -> dict[str, str]:
        kp = net.generate_net_keypair()
        return {"public_key": kp.public_key, "secret_key": kp.secret_key}

    def op_net_shutdown(self) -> None:
        self._net().shutdown()


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints must never corrupt the protocol
    peer = Peer()
    for line in sys.stdin:
        if not line.strip():
            continue
        op: str | None = None
        try:
            cmd = json.loads(line)
            op = cmd.pop("op")
            if op == "exit":
                reply: dict[str, Any] = {"ok": True, "result": None}
            else:
                handler = getattr(peer, f"op_{op}", None)
                if handler is None:
                    raise ValueError(f"unknown op {op!r}")
                reply = {"ok": True, "result": handler(**cmd)}
        except Exception as e:  # noqa: BLE001 - every failure becomes an error reply
            log(traceback.format_exc())
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if peer.after_reply is not None:
            hook, peer.after_reply = peer.after_reply, None
            hook()
        if op == "exit":
            break
    log("exiting")


if __name__ == "__main__":
    main()
