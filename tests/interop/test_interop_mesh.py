"""Our NetMesh and the original's (0.12.0, in its own process) on one mesh: handshakes in both
roles, push_to and streams both ways, credit grants both ways, relaying through either side."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable
from typing import Any

import net
import pytest

from .peer_client import OriginalPeer, wait_for

pytestmark = pytest.mark.interop


def address_of(mesh: net.NetMesh) -> str:
    return repr(mesh).split("addr=")[1].split(",")[0]


def poll_ours(mesh: net.NetMesh, count: int, timeout_s: float = 5.0) -> list[Any]:
    events: list[Any] = []
    wait_for(
        lambda: events.extend(mesh.poll(1000)) or events, lambda got: len(got) >= count, timeout_s
    )
    return events


def b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(item).decode() for item in items]


@pytest.fixture
def psk() -> str:
    return os.urandom(32).hex()


def ours_connects_to_original(
    ours: net.NetMesh, theirs: OriginalPeer, info: dict[str, Any]
) -> None:
    theirs.call("accept", peer_node_id=ours.node_id)
    ours.connect(info["addr"], info["public_key"], info["node_id"])
    assert theirs.call("accept_result") == address_of(ours)
    ours.start()
    theirs.call("start")


def original_connects_to_ours(
    ours: net.NetMesh, theirs: OriginalPeer, info: dict[str, Any]
) -> None:
    accepted: list[str] = []
    thread = threading.Thread(target=lambda: accepted.append(ours.accept(info["node_id"])))
    thread.start()
    theirs.call("connect", addr=address_of(ours), public_key=ours.public_key, node_id=ours.node_id)
    thread.join()
    assert accepted == [info["addr"]]
    ours.start()
    theirs.call("start")


@pytest.mark.parametrize("ours_initiates", [True, False], ids=["ours-initiator", "ours-responder"])
def test_handshake_and_push_both_ways(
    original_peer: OriginalPeer, psk: str, ours_initiates: bool
) -> None:
    info = original_peer.mesh(psk)
    with net.NetMesh("127.0.0.1:0", psk) as ours:
        connect = ours_connects_to_original if ours_initiates else original_connects_to_ours
        connect(ours, original_peer, info)
        assert ours.peer_count() == 1 and original_peer.call("peer_count") == 1

        for i in range(3):
            assert ours.push_to(info["addr"], f'{{"to": "original", "i": {i}}}') is True
        got = original_peer.call("poll_until", count=3, timeout_s=5.0)
        assert [e["raw"] for e in got] == [f'{{"to": "original", "i": {i}}}' for i in range(3)]
        assert [e["id"] for e in got] == ["0:0", "1:0", "2:0"]

        for i in range(3):
            original_peer.call("push_to", addr=address_of(ours), data=f"to ours {i}")
        events = poll_ours(ours, 3)
        assert [e.raw for e in events] == [f"to ours {i}" for i in range(3)]
        assert [e.id for e in events] == ["0:0", "1:0", "2:0"]


def test_streams_and_credit_both_ways(original_peer: OriginalPeer, psk: str) -> None:
    info = original_peer.mesh(psk)
    with net.NetMesh("127.0.0.1:0", psk) as ours:
        ours_connects_to_original(ours, original_peer, info)
        # Ours sends on a reliable stream with a small window; the original's grants refill it.
        stream = ours.open_stream(info["node_id"], 8, reliability="reliable", window_bytes=1000)
        ours.send_on_stream(stream, [b"x" * 500])
        stats = wait_for(
            lambda: ours.stream_stats(info["node_id"], 8), lambda s: s.tx_credit_remaining == 1000
        )
        assert stats.tx_credit_remaining == 1000 and stats.credit_grants_received >= 1
        got = original_peer.call("poll_until", count=1, timeout_s=5.0)
        assert [e["raw"] for e in got] == ["x" * 500]

        # The original sends; our grants refill its window.
        original_peer.call(
            "open_stream",
            peer_node_id=ours.node_id,
            stream_id=12,
            reliability="reliable",
            window_bytes=1000,
        )
        batch = [b"alpha", b"beta", b"gamma"]
        original_peer.call(
            "send_on_stream", peer_node_id=ours.node_id, stream_id=12, events_b64=b64(batch)
        )
        events = poll_ours(ours, 3)
        assert [e.raw for e in events] == ["alpha", "beta", "gamma"]
        theirs = wait_for(
            lambda: original_peer.call("stream_stats", peer_node_id=ours.node_id, stream_id=12),
            lambda s: s["tx_credit_remaining"] == 1000,
        )
        assert theirs["credit_grants_received"] >= 1 and theirs["tx_credit_remaining"] == 1000
        assert ours.stream_stats(info["node_id"], 12).credit_grants_sent >= 1


def test_many_events_from_the_original_arrive(original_peer: OriginalPeer, psk: str) -> None:
    info = original_peer.mesh(psk)
    with net.NetMesh("127.0.0.1:0", psk) as ours:
        original_connects_to_ours(ours, original_peer, info)
        original_peer.call(
            "open_stream", peer_node_id=ours.node_id, stream_id=3, reliability=None, window_bytes=0
        )
        payloads = [f"event {i:05d}".encode() * 10 for i in range(2000)]
        for start in range(0, len(payloads), 500):
            chunk = payloads[start : start + 500]
            original_peer.call(
                "send_on_stream", peer_node_id=ours.node_id, stream_id=3, events_b64=b64(chunk)
            )
        events = poll_ours(ours, len(payloads), timeout_s=10.0)
        assert [
            e.raw.encode() for e in events
        ] == payloads  # stream 3: shard 3, which poll drains too


def test_our_relay_serves_original_nodes(
    original_peers: Callable[..., OriginalPeer], psk: str
) -> None:
    """original A -> our relay -> ours C would need the original's connect_via (Rust only); so:
    ours A -> our relay -> original C, the direction the original can answer in."""
    c = original_peers("c")
    c_info = c.mesh(psk, heartbeat_interval_ms=100)
    with (
        net.NetMesh("127.0.0.1:0", psk, heartbeat_interval_ms=100) as relay,
        net.NetMesh("127.0.0.1:0", psk, heartbeat_interval_ms=100) as a,
    ):
        accepted: list[str] = []
        thread = threading.Thread(target=lambda: accepted.append(relay.accept(a.node_id)))
        thread.start()
        a.connect(address_of(relay), relay.public_key, relay.node_id)
        thread.join()
        c.call("accept", peer_node_id=relay.node_id)
        relay.connect(c_info["addr"], c_info["public_key"], c_info["node_id"])
        c.call("accept_result")
        for node in (a, relay):
            node.start()
        c.call("start")
        relay.add_route(c_info["node_id"], c_info["addr"])
        a.connect_via(address_of(relay), c_info["public_key"], c_info["node_id"])
        assert a.peer_count() == 2
        stream = a.open_stream(c_info["node_id"], 0)
        a.send_on_stream(stream, [b'{"via": "our relay"}'])
        got = c.call("poll_until", count=1, timeout_s=5.0)
        assert [e["raw"] for e in got] == ['{"via": "our relay"}']


def test_original_relay_serves_our_nodes(
    original_peers: Callable[..., OriginalPeer], psk: str
) -> None:
    """ours A -> original relay -> ours C: the relay forwards without decrypting; both ways work
    because our responder answers through the relay in routing headers."""
    relay = original_peers("relay")
    r_info = relay.mesh(psk, heartbeat_interval_ms=100)
    with (
        net.NetMesh("127.0.0.1:0", psk, heartbeat_interval_ms=100) as a,
        net.NetMesh("127.0.0.1:0", psk, heartbeat_interval_ms=100) as c,
    ):
        ours_accepts_relay = threading.Thread(target=lambda: c.accept(r_info["node_id"]))
        ours_accepts_relay.start()
        relay.call("connect", addr=address_of(c), public_key=c.public_key, node_id=c.node_id)
        ours_accepts_relay.join()
        relay.call("accept", peer_node_id=a.node_id)
        a.connect(r_info["addr"], r_info["public_key"], r_info["node_id"])
        relay.call("accept_result")
        a.start()
        c.start()
        relay.call("start")
        relay.call("add_route", dest_node_id=c.node_id, next_hop_addr=address_of(c))
        relay.call("add_route", dest_node_id=a.node_id, next_hop_addr=address_of(a))
        a.connect_via(r_info["addr"], c.public_key, c.node_id)
        wait_for(c.peer_count, lambda n: n == 2)
        to_c = a.open_stream(c.node_id, 0)
        a.send_on_stream(to_c, [b"a to c"])
        assert [e.raw for e in poll_ours(c, 1)] == ["a to c"]
        to_a = c.open_stream(a.node_id, 0)
        c.send_on_stream(to_a, [b"c to a"])
        assert [e.raw for e in poll_ours(a, 1)] == ["c to a"]
