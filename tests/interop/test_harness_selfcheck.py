"""Self-check of the interop harness: two ORIGINAL peers (two processes) talk to each other.

If these fail, the harness is broken, not our implementation.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from typing import Any

import pytest

from .peer_client import OriginalPeer, PeerError, free_udp_addr, wait_for

pytestmark = pytest.mark.interop

PSK = os.urandom(32).hex()


def connected_meshes(a: OriginalPeer, b: OriginalPeer) -> tuple[dict[str, Any], dict[str, Any]]:
    """a connects (initiator) to b (responder, accepting); both are started afterwards."""
    ma, mb = a.mesh(PSK), b.mesh(PSK)
    assert b.call("accept", peer_node_id=ma["node_id"]) is None
    a.call("connect", addr=mb["addr"], public_key=mb["public_key"], node_id=mb["node_id"])
    assert b.call("accept_result") == ma["addr"]
    a.call("start")
    b.call("start")
    return ma, mb


def test_mesh_handshake(original_peers: Callable[..., OriginalPeer]) -> None:
    a, b = original_peers("a"), original_peers("b")
    ma, mb = connected_meshes(a, b)
    assert len(ma["public_key"]) == 64 and len(ma["entity_id_hex"]) == 64
    assert ma["node_id"] != mb["node_id"]
    assert a.call("peer_count") == 1 and b.call("peer_count") == 1
    with pytest.raises(PeerError, match=r"^RuntimeError: accept: fatal error: .*after start"):
        b.call("accept", peer_node_id=ma["node_id"])
        b.call("accept_result")


def test_push_to_and_poll(original_peers: Callable[..., OriginalPeer]) -> None:
    a, b = original_peers("a"), original_peers("b")
    _, mb = connected_meshes(a, b)
    payloads = [f'{{"n": {i}}}' for i in range(5)]
    for p in payloads:
        assert a.call("push_to", addr=mb["addr"], data=p) is True
    events = b.call("poll_until", count=5, timeout_s=5.0)
    assert [e["raw"] for e in events] == payloads
    assert {e["shard_id"] for e in events} == {0}
    assert events[0]["id"] == "0:0" and events[0]["insertion_ts"] == 0
    assert b.call("poll", limit=10) == []  # poll drains
    with pytest.raises(PeerError, match=r"^RuntimeError: send: connection error: unknown peer"):
        a.call("push_to", addr="127.0.0.1:9", data="{}")


def test_stream_credit_grants(original_peers: Callable[..., OriginalPeer]) -> None:
    a, b = original_peers("a"), original_peers("b")
    ma, mb = connected_meshes(a, b)
    # A multiple of num_shards (4) lands in inbound shard 0, the only one poll drains.
    sid, peer_b = 4, mb["node_id"]
    assert a.call("stream_stats", peer_node_id=peer_b, stream_id=sid) is None
    a.call(
        "open_stream", peer_node_id=peer_b, stream_id=sid, reliability="reliable", window_bytes=1000
    )
    with pytest.raises(PeerError, match=r"^BackpressureError: stream would block \(queue full\)$"):
        a.call(
            "send_on_stream",
            peer_node_id=peer_b,
            stream_id=sid,
            events_b64=[base64.b64encode(b"x" * 1000).decode()],
        )  # needs 1084 > 1000
    data = [b"alpha", b"beta", b"gamma"]
    a.call(
        "send_on_stream",
        peer_node_id=peer_b,
        stream_id=sid,
        events_b64=[base64.b64encode(d).decode() for d in data],
    )
    events = b.call("poll_until", count=3, timeout_s=5.0)
    assert [e["raw"] for e in events] == ["alpha", "beta", "gamma"]
    stats = wait_for(
        lambda: a.call("stream_stats", peer_node_id=peer_b, stream_id=sid),
        lambda s: s["credit_grants_received"] >= 1,
    )
    assert stats["credit_grants_received"] >= 1 and stats["backpressure_events"] == 1
    assert stats["tx_window"] == 1000 and stats["tx_credit_remaining"] == 1000
    assert stats["tx_seq"] == 1 and stats["active"] is True
    rx = b.call("stream_stats", peer_node_id=ma["node_id"], stream_id=sid)
    assert rx is not None and rx["credit_grants_sent"] >= 1


def test_two_node_net_both_ways(original_peers: Callable[..., OriginalPeer]) -> None:
    resp, init = original_peers("responder"), original_peers("initiator")
    kp = resp.call("keypair")
    assert len(kp["public_key"]) == 64 and len(kp["secret_key"]) == 64
    r_addr, i_addr = free_udp_addr(), free_udp_addr()
    # num_shards=1: the receiving net adapter ids events "<seq>:<i>" per sender shard, so
    # several sender shards would produce colliding ids and confuse cursor paging.
    common = {"net_psk": PSK, "num_shards": 1}
    resp.call(
        "net",
        kwargs={
            **common,
            "net_bind_addr": r_addr,
            "net_peer_addr": i_addr,
            "net_role": "responder",
            "net_secret_key": kp["secret_key"],
            "net_public_key": kp["public_key"],
        },
    )
    init.call(
        "net",
        kwargs={
            **common,
            "net_bind_addr": i_addr,
            "net_peer_addr": r_addr,
            "net_role": "initiator",
            "net_peer_public_key": kp["public_key"],
        },
    )
    assert init.call("net_wait") == "Net(active)"
    assert resp.call("net_wait") == "Net(active)"

    to_resp = [f'{{"from": "initiator", "i": {i}}}' for i in range(3)]
    init.call("net_ingest_raw", data=to_resp)
    got = resp.call("net_poll_until", count=3, timeout_s=10.0)
    assert [e["raw"] for e in got] == to_resp

    to_init = [f'{{"from": "responder", "i": {i}}}' for i in range(2)]
    resp.call("net_ingest_raw", data=to_init)
    got = init.call("net_poll_until", count=2, timeout_s=10.0)
    assert [e["raw"] for e in got] == to_init
    assert init.call("net_poll", limit=10, cursor=None)["events"] == []  # polling consumes

    init.call("net_shutdown")
    resp.call("net_shutdown")
    with pytest.raises(PeerError, match=r"^RuntimeError: EventBus has been shut down$"):
        init.call("net_poll", limit=1, cursor=None)
