"""The two-node Net between ours and the original (0.12.0, its own process), both roles: events
ingested on one side come out of poll on the other, both ways."""

from __future__ import annotations

import os
import time

import net
import pytest

from .peer_client import OriginalPeer, free_udp_addr

pytestmark = pytest.mark.interop


def page_all(bus: net.Net, count: int, timeout_s: float = 10.0) -> list[str]:
    got: list[str] = []
    cursor = None
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        page = bus.poll(7, cursor=cursor)
        got.extend(e.raw for e in page.events)
        cursor = page.next_id
        if not page.events:
            time.sleep(0.01)
    return got


@pytest.mark.parametrize("ours_role", ["initiator", "responder"])
def test_two_node_net_both_ways(original_peer: OriginalPeer, ours_role: str) -> None:
    psk = os.urandom(32).hex()
    ours_addr, theirs_addr = free_udp_addr(), free_udp_addr()
    # The original's receiver names events "<seq>:<i>" per sending shard, so one shard on our
    # side keeps its ids distinct (its own paging defect, not ours).
    ours_kwargs = {
        "num_shards": 1,
        "net_psk": psk,
        "net_bind_addr": ours_addr,
        "net_peer_addr": theirs_addr,
    }
    theirs_kwargs = {
        "num_shards": 1,
        "net_psk": psk,
        "net_bind_addr": theirs_addr,
        "net_peer_addr": ours_addr,
    }
    if ours_role == "initiator":
        keys = original_peer.call("keypair")
        original_peer.call(
            "net",
            kwargs={
                **theirs_kwargs,
                "net_role": "responder",
                "net_secret_key": keys["secret_key"],
                "net_public_key": keys["public_key"],
            },
        )
        ours = net.Net(**ours_kwargs, net_role="initiator", net_peer_public_key=keys["public_key"])
    else:
        keys = net.generate_net_keypair()
        ours = net.Net(
            **ours_kwargs,
            net_role="responder",
            net_secret_key=keys.secret_key,
            net_public_key=keys.public_key,
        )
        original_peer.call(
            "net",
            kwargs={
                **theirs_kwargs,
                "net_role": "initiator",
                "net_peer_public_key": keys.public_key,
            },
        )
    with ours:
        # Ingested before the original's constructor returned: sent once the session is up.
        early = [f'{{"early": {i}}}' for i in range(3)]
        for event in early:
            ours.ingest_raw(event)
        assert original_peer.call("net_wait") == "Net(active)"
        later = [f'{{"from": "ours", "i": {i}}}' for i in range(20)]
        assert ours.ingest_raw_batch(later) == 20
        got = original_peer.call("net_poll_until", count=23, timeout_s=10.0)
        assert sorted(e["raw"] for e in got) == sorted(early + later)

        to_ours = [f'{{"from": "original", "i": {i}}}' for i in range(25)]
        original_peer.call("net_ingest_raw", data=to_ours)
        received = page_all(ours, 25)
        assert sorted(received) == sorted(to_ours)
        assert ours.poll(100, cursor=None).events[0].raw in to_ours  # still readable from the start
    original_peer.call("net_shutdown")
