"""Capabilities and channels between our NetMesh and the original's (0.12.0, in its own process):
announcements indexed both ways and forwarded by us to another original node, subscribers of
either implementation receiving the other's publishes, and our token rules applied to an
original subscriber."""

from __future__ import annotations

import os
from typing import Any

import net
import pytest

from .peer_client import OriginalPeer, PeerError, wait_for
from .test_interop_mesh import original_connects_to_ours, ours_connects_to_original

pytestmark = pytest.mark.interop

CAPS = {
    "hardware": {
        "cpu_cores": 16,
        "memory_mb": 65536,
        "gpu": {"vendor": "nvidia", "model": "RTX 4090", "vram_mb": 24576, "fp16_tflops_x10": 825},
    },
    "software": {"os": "linux", "runtimes": [["python", "3.11"]], "cuda_version": "12.4"},
    "models": [{"model_id": "llama-3.1-8b", "context_length": 131072, "modalities": ["code"]}],
    "tools": [{"tool_id": "search", "requires": ["net"]}],
    "tags": ["gpu", "é日本😀", "ctl\u0001\u007f"],
    "limits": {"max_concurrent_requests": 4},
}
GPU_FILTER = {"require_gpu": True, "require_tags": ["gpu"], "min_context_length": 100000}


def shard0_channel(prefix: str) -> str:
    """A channel whose hash is 0 mod 4: the only ones an original subscriber can poll()."""
    return next(f"{prefix}/{i}" for i in range(100) if net.channel_hash(f"{prefix}/{i}") % 4 == 0)


@pytest.fixture
def psk() -> str:
    return os.urandom(32).hex()


@pytest.fixture
def pair(psk, original_peer: OriginalPeer):
    """Our mesh and an original one, connected (the original initiates) and started."""
    seed = os.urandom(32)
    ours = net.NetMesh("127.0.0.1:0", psk, identity_seed=seed)
    info = original_peer.mesh(psk)
    original_connects_to_ours(ours, original_peer, info)
    original_peer.call("start")
    yield ours, original_peer, info, seed
    ours.shutdown()


def test_announcements_are_indexed_both_ways(pair):
    ours, theirs, info, _ = pair
    theirs.call("announce_capabilities", caps=CAPS)
    found = wait_for(lambda: ours.find_nodes(GPU_FILTER), lambda ids: info["node_id"] in ids)
    assert info["node_id"] in found
    ours.announce_capabilities(CAPS)
    found = wait_for(
        lambda: theirs.call("find_nodes", filter=GPU_FILTER), lambda ids: ours.node_id in ids
    )
    assert ours.node_id in found


def test_we_forward_announcements_the_original_accepts(psk, original_peers):
    """original A - ours - original B: B indexes A's announcement as we re-encoded it."""
    ours = net.NetMesh("127.0.0.1:0", psk)
    a, b = original_peers("a"), original_peers("b")
    info_a, info_b = a.mesh(psk), b.mesh(psk)
    try:
        original_connects_to_ours(ours, a, info_a)
        b.call("accept", peer_node_id=ours.node_id)
        ours.connect(info_b["addr"], info_b["public_key"], info_b["node_id"])
        b.call("accept_result")
        a.call("start")
        b.call("start")
        a.call("announce_capabilities", caps=CAPS)
        found = wait_for(
            lambda: b.call("find_nodes", filter=GPU_FILTER), lambda ids: info_a["node_id"] in ids
        )
        assert info_a["node_id"] in found
    finally:
        ours.shutdown()


def test_an_original_subscriber_receives_our_publishes(pair):
    ours, theirs, _, _ = pair
    channel = shard0_channel("ours")
    ours.register_channel(channel)
    theirs.call("subscribe_channel", publisher=ours.node_id, channel=channel)
    report = ours.publish(channel, b'{"from":"ours"}')
    assert report == {"attempted": 1, "delivered": 1, "errors": []}
    events = theirs.call("poll_until", count=1, timeout_s=5)
    assert [e["raw"] for e in events] == ['{"from":"ours"}']


def test_an_original_subscriber_receives_a_burst_packed_many_to_a_datagram(pair):
    ours, theirs, info, _ = pair
    channel = shard0_channel("burst")
    ours.register_channel(channel)
    theirs.call("subscribe_channel", publisher=ours.node_id, channel=channel)
    payloads = [f'{{"n":{i}}}' for i in range(200)]
    for payload in payloads:
        assert ours.publish(channel, payload.encode())["delivered"] == 1
    events = theirs.call("poll_until", count=len(payloads), timeout_s=10)
    assert sorted(e["raw"] for e in events) == sorted(payloads)
    stats = ours.stream_stats(info["node_id"], (1 << 48) | net.channel_hash(channel))
    assert stats is not None and stats.tx_seq < len(payloads)  # fewer datagrams than messages


def test_our_subscriber_receives_the_originals_publishes(pair):
    ours, theirs, info, _ = pair
    channel = "theirs/any-hash"
    theirs.call("register_channel", name=channel, options={})
    receiver = ours.channel(channel)
    ours.subscribe_channel(info["node_id"], channel)
    payloads = [b"one", b"two", b"three"]
    for payload in payloads:
        report: dict[str, Any] = theirs.call("publish", channel=channel, payload=payload.decode())
        assert report["delivered"] == 1
    got = [receiver.receive(timeout=5.0) for _ in payloads]
    assert [(m.channel, m.publisher, m.payload) for m in got] == [
        (channel, info["node_id"], p) for p in payloads
    ]


def test_our_token_rules_for_an_original_subscriber(pair):
    ours, theirs, info, seed = pair
    ours.register_channel("secret", require_token=True)
    theirs.call("announce_capabilities", caps={})
    wait_for(lambda: ours.find_nodes({}), lambda ids: info["node_id"] in ids)
    subject = bytes.fromhex(info["entity_id_hex"])
    self_issued = net.Identity.generate().issue_token(subject, ["subscribe"], "secret", 60)
    with pytest.raises(PeerError, match="ChannelAuthError: channel: unauthorized"):
        theirs.call(
            "subscribe_channel",
            publisher=ours.node_id,
            channel="secret",
            token_hex=self_issued.hex(),
        )
    token = net.Identity.from_seed(seed).issue_token(subject, ["subscribe"], "secret", 60)
    theirs.call(
        "subscribe_channel", publisher=ours.node_id, channel="secret", token_hex=token.hex()
    )
    assert ours.publish("secret", b"x")["delivered"] == 1


def test_the_originals_refusals_reach_our_subscriber_typed(psk, original_peer):
    ours = net.NetMesh("127.0.0.1:0", psk)
    try:
        info = original_peer.mesh(psk)
        ours_connects_to_original(ours, original_peer, info)
        original_peer.call("register_channel", name="exported", options={"visibility": "exported"})
        with pytest.raises(net.ChannelAuthError, match="^channel: unauthorized$"):
            ours.subscribe_channel(info["node_id"], "exported")
        with pytest.raises(net.ChannelError, match="^channel: unknown channel$"):
            ours.subscribe_channel(info["node_id"], "missing")
    finally:
        ours.shutdown()
