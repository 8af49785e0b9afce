"""The Redis Streams adapter between ours and the original (0.12.0, its own process): entries
either one writes are read back by the other's poll, with the same envelope and dedup ids."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import net
import pytest
import redis

from .peer_client import OriginalPeer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: broker_servers
from broker_servers import RedisServer

pytestmark = pytest.mark.interop

SHARDS = 2


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        yield server


def stored(server: RedisServer, prefix: str) -> list[dict[str, str]]:
    client = redis.Redis(port=server.port, decode_responses=True)
    return [f for s in range(SHARDS) for _, f in client.xrange(f"{prefix}:shard:{s}")]


def wait_stored(server: RedisServer, prefix: str, count: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(stored(server, prefix)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(stored(server, prefix)) == count


def test_ours_reads_what_the_original_wrote(original_peer: OriginalPeer, redis_server) -> None:
    events = [json.dumps({"from": "original", "i": i, "text": "é€"}) for i in range(300)]
    original_peer.call(
        "net", kwargs={"num_shards": SHARDS, "redis_url": redis_server.url, "redis_prefix": "o"}
    )
    original_peer.call("net_wait", timeout_s=20)
    original_peer.call("net_ingest_raw", data=events)
    wait_stored(redis_server, "o", len(events))
    theirs = stored(redis_server, "o")
    assert all(f["dedup_id"].count(":") == 3 for f in theirs)

    with net.Net(num_shards=SHARDS, redis_url=redis_server.url, redis_prefix="o") as ours:
        got, cursor = [], None
        while True:
            page = ours.poll(64, cursor=cursor)
            got += [e.parse() for e in page.events]
            cursor = page.next_id
            if not page.has_more:
                break
    assert sorted(got, key=lambda e: e["i"]) == [json.loads(e) for e in events]


def test_the_original_reads_what_ours_wrote(original_peer: OriginalPeer, redis_server) -> None:
    events = [json.dumps({"from": "ours", "i": i}) for i in range(300)]
    with net.Net(num_shards=SHARDS, redis_url=redis_server.url, redis_prefix="u") as ours:
        assert ours.ingest_raw_batch(events) == len(events)
    wait_stored(redis_server, "u", len(events))

    original_peer.call(
        "net", kwargs={"num_shards": SHARDS, "redis_url": redis_server.url, "redis_prefix": "u"}
    )
    original_peer.call("net_wait", timeout_s=20)
    got = original_peer.call("net_poll_until", count=len(events), timeout_s=15)
    assert sorted(json.loads(e["raw"])["i"] for e in got) == list(range(len(events)))
    assert all("-" in e["id"] for e in got)
