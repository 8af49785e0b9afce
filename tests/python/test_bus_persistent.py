"""Net(persistent_dir=...) (ours; docs/storage.md): the bus keeps its events in persistent RedEX
files, so what was ingested survives a restart and a consumer's cursor resumes after it."""

from __future__ import annotations

import json

import net
import pytest
from conftest import check_broker_poll, drain, wait_until

EVENTS = [json.dumps({"n": i}) for i in range(1000)]


def stored(bus: net.Net, count: int) -> list:
    """Every event once the drain thread has written `count` of them."""
    return wait_until(
        lambda: (events := drain(bus)[0]) and len(events) == count and events,
        what=f"{count} stored",
    )


def test_events_survive_a_restart_and_a_cursor_resumes_after_them(tmp_path):
    with net.Net(num_shards=3, persistent_dir=str(tmp_path)) as bus:
        assert bus.ingest_raw_batch(EVENTS) == len(EVENTS)
        before = stored(bus, len(EVENTS))
        seen, cursor = [], None
        while len(seen) < 400:  # a consumer part of the way through
            page = bus.poll(100, cursor=cursor)
            seen.extend(page.events)
            cursor = page.next_id
    with net.Net(num_shards=3, persistent_dir=str(tmp_path)) as bus:
        rest, _ = drain(bus, 100, cursor)
        assert sorted(e.raw for e in seen + rest) == sorted(EVENTS)  # each exactly once
        again, _ = drain(bus)

        def fields(events):  # shards take turns leading a page, so compare per shard
            return sorted((e.shard_id, int(e.id), e.raw, e.insertion_ts) for e in events)

        assert fields(again) == fields(before)
        bus.ingest_raw('{"after": "restart"}')
        new = wait_until(lambda: drain(bus, 100, cursor)[0][len(rest) :], what="the new event")
        assert [e.raw for e in new] == ['{"after": "restart"}']
        ids_in_shard = [int(e.id) for e in drain(bus)[0] if e.shard_id == new[0].shard_id]
        assert ids_in_shard == sorted(ids_in_shard) and int(new[0].id) == ids_in_shard[-1]


def test_the_poll_contract_holds_over_the_store(tmp_path):
    with net.Net(num_shards=2, persistent_dir=str(tmp_path)) as bus:
        sent = [json.dumps({"n": i}) for i in range(300)]
        bus.ingest_raw_batch(sent)
        stored(bus, len(sent))
        check_broker_poll(bus, sent, 64, r"\d+")


def test_each_shard_keeps_what_its_ring_would(tmp_path):
    with net.Net(num_shards=1, ring_buffer_capacity=1024, persistent_dir=str(tmp_path)) as bus:
        for start in range(0, 3000, 500):
            bus.ingest_raw_batch(EVENTS[start % 1000 : start % 1000 + 500])
            last = str(start + 499)
            wait_until(lambda last=last: (found := drain(bus)[0]) and found[-1].id == last)
        events = drain(bus)[0]  # all written: one consistent reading
        assert [int(e.id) for e in events] == list(range(3000 - 1024, 3000))
        assert bus.stats().events_dropped == 0


def test_persistent_dir_is_not_combined_with_another_store(tmp_path):
    with pytest.raises(ValueError, match="persistent_dir"):
        net.Net(persistent_dir=str(tmp_path), redis_url="redis://127.0.0.1:1")
