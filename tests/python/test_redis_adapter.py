"""Net(redis_url=...): the Redis Streams adapter against a real redis-server, and RedisStreamDedup."""

from __future__ import annotations

import json
import re
import threading
import time

import net
import pytest
import redis
from conftest import check_broker_poll, drain

DEDUP_ID = re.compile(r"^[0-9a-f]+:(\d+):(\d+):(\d+)$")


def entries(server, key: str) -> list[tuple[str, dict[str, str]]]:
    client = redis.Redis(port=server.port, decode_responses=True)
    return client.xrange(key)


def all_entries(server, prefix: str, shards: int) -> list[tuple[str, dict[str, str]]]:
    out = []
    for s in range(shards):
        out += entries(server, f"{prefix}:shard:{s}")
    return out


def wait_stored(server, prefix: str, shards: int, count: int, timeout_s: float = 20.0) -> int:
    client = redis.Redis(port=server.port)

    deadline = time.monotonic() + timeout_s
    stored = 0
    while time.monotonic() < deadline:
        stored = sum(client.xlen(f"{prefix}:shard:{s}") for s in range(shards))
        if stored >= count:
            return stored
        time.sleep(0.02)
    return stored


def test_events_land_in_per_shard_streams_in_the_originals_format(make_bus, redis_server):
    bus = make_bus(num_shards=2, redis_url=redis_server.url)
    sent = [json.dumps({"i": i, "token": "x" * (i % 7)}) for i in range(500)]
    results = [bus.ingest_raw(e) for e in sent]
    assert wait_stored(redis_server, "net", 2, len(sent)) == len(sent)

    stored = all_entries(redis_server, "net", 2)
    assert len(stored) == len(sent)
    by_raw = {}
    for entry_id, fields in stored:
        assert re.fullmatch(r"\d+-\d+", entry_id)
        assert set(fields) == {"d", "dedup_id"}
        envelope = json.loads(fields["d"])
        assert set(envelope) == {"r", "t", "s"}
        raw = json.dumps(envelope["r"])
        by_raw[raw] = (envelope, fields["dedup_id"])
        assert fields["d"] == f'{{"r":{raw},"t":{envelope["t"]},"s":{envelope["s"]}}}'
    for event, result in zip(sent, results, strict=True):
        envelope, dedup_id = by_raw[event]
        assert envelope["s"] == result.shard_id
        assert envelope["t"] == result.timestamp
        match = DEDUP_ID.match(dedup_id)
        assert match is not None and int(match.group(1)) == result.shard_id
    # One nonce per producer; per shard, sequence_start + index counts up from 0.
    assert len({fields["dedup_id"].split(":")[0] for _, fields in stored}) == 1
    for s in range(2):
        positions = [
            int(m.group(2)) + int(m.group(3))
            for _, fields in entries(redis_server, f"net:shard:{s}")
            if (m := DEDUP_ID.match(fields["dedup_id"]))
        ]
        assert positions == list(range(len(positions)))


def test_poll_pages_every_entry_once(make_bus, redis_server):
    bus = make_bus(num_shards=3, redis_url=redis_server.url, redis_pipeline_size=64)
    sent = [json.dumps({"n": i}) for i in range(3000)]
    assert bus.ingest_raw_batch(sent) == len(sent)
    bus.ingest({"via": "dict"})
    sent.append(json.dumps({"via": "dict"}))
    assert wait_stored(redis_server, "net", 3, len(sent)) == len(sent)

    events = check_broker_poll(bus, sent, limit=250, id_pattern=r"\d+-\d+")
    assert {e.shard_id for e in events} == {0, 1, 2}
    assert events[0].parse() == json.loads(events[0].raw)


def test_a_new_net_reads_what_an_earlier_one_wrote(redis_server):
    with net.Net(num_shards=2, redis_url=redis_server.url, redis_prefix="durable") as first:
        assert first.ingest_raw_batch([f'{{"k":{i}}}' for i in range(100)]) == 100
    # shutdown() flushed: everything is in Redis already.
    assert len(all_entries(redis_server, "durable", 2)) == 100
    with net.Net(num_shards=2, redis_url=redis_server.url, redis_prefix="durable") as second:
        events, _ = drain(second, limit=30)
        assert sorted(e.raw for e in events) == sorted(f'{{"k":{i}}}' for i in range(100))


def test_prefix_max_len_and_nonce_file(make_bus, redis_server, tmp_path):
    nonce_file = tmp_path / "nonce"
    bus = make_bus(
        num_shards=1,
        redis_url=redis_server.url,
        redis_prefix="trim",
        redis_max_stream_len=100,
        producer_nonce_path=str(nonce_file),
    )
    assert bus.ingest_raw_batch([f'{{"x":{i}}}' for i in range(5000)]) == 5000
    bus.shutdown()
    stored = entries(redis_server, "trim:shard:0")
    assert 100 <= len(stored) < 1000  # MAXLEN ~ trims whole macro nodes
    assert json.loads(stored[-1][1]["d"])["r"] == {"x": 4999}
    data = nonce_file.read_bytes()
    assert len(data) == 9 and data[0] == 1
    nonce = format(int.from_bytes(data[1:], "little"), "x")
    assert stored[-1][1]["dedup_id"].startswith(nonce + ":0:")

    again = make_bus(
        num_shards=1,
        redis_url=redis_server.url,
        redis_prefix="again",
        producer_nonce_path=str(nonce_file),
    )
    again.ingest_raw_batch(['{"y":1}', '{"y":2}'])
    again.shutdown()
    first_run = {f["dedup_id"] for _, f in stored}
    second_run = [f["dedup_id"] for _, f in entries(redis_server, "again:shard:0")]
    # Same nonce, but a new run's positions start at the wall clock: no id of the first run recurs.
    assert all(i.startswith(nonce + ":0:") for i in second_run)
    assert not first_run & set(second_run)
    start, index = (int(x) for x in second_run[0].split(":")[2:])
    assert index < 1000 and start % 1000 == 0 and start + index > time.time_ns() - 60 * 10**9

    nonce_file.write_bytes(b"\x07" * 9)
    with pytest.raises(ValueError, match="failed to load/create producer-nonce file at"):
        net.Net(redis_url=redis_server.url, producer_nonce_path=str(nonce_file))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"redis_pipeline_size": 0}, "redis pipeline_size must be > 0"),
        ({"redis_connect_timeout_ms": 0}, "redis connect_timeout must be > 0"),
        ({"redis_command_timeout_ms": 0}, "redis command_timeout must be > 0"),
    ],
)
def test_bad_configuration(kwargs, message):
    with pytest.raises(ValueError) as info:
        net.Net(redis_url="redis://127.0.0.1:1", **kwargs)
    assert (
        str(info.value) == f"invalid configuration: redis adapter: invalid configuration: {message}"
    )


def test_core_validation_comes_first_and_types_are_checked():
    with pytest.raises(ValueError, match="Invalid backpressure mode: nope"):
        net.Net(redis_url="redis://127.0.0.1:1", backpressure_mode="nope")
    with pytest.raises(ValueError, match="invalid configuration: "):
        net.Net(redis_url="redis://127.0.0.1:1", ring_buffer_capacity=1000)
    with pytest.raises(TypeError):
        net.Net(redis_url=5)
    with pytest.raises(OverflowError):
        net.Net(redis_url="redis://127.0.0.1:1", redis_pipeline_size=-1)


def test_unreachable_and_unusable_urls():
    with pytest.raises(
        RuntimeError, match=r"^connection error: Connection refused \(os error 111\)$"
    ):
        net.Net(redis_url="redis://127.0.0.1:1")
    for url in ("http://localhost", "redis://", "redis://host:notaport", "rediss://localhost"):
        with pytest.raises(RuntimeError, match="^connection error: "):
            net.Net(redis_url=url)


def test_redis_wins_over_the_two_node_keywords(make_bus, redis_server):
    bus = make_bus(num_shards=1, redis_url=redis_server.url, net_bind_addr="not an address")
    bus.ingest_raw('{"a":1}')
    assert wait_stored(redis_server, "net", 1, 1) == 1


def test_concurrent_producers_and_a_paging_consumer(make_bus, redis_server):
    bus = make_bus(num_shards=4, redis_url=redis_server.url)
    per_thread = 5000

    def produce(t: int) -> None:
        batch = [f'{{"t":{t},"i":{i}}}' for i in range(per_thread)]
        for start in range(0, per_thread, 500):
            assert bus.ingest_raw_batch(batch[start : start + 500]) == 500

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    seen: list[str] = []
    cursor = None

    deadline = time.monotonic() + 30
    while len(seen) < 4 * per_thread and time.monotonic() < deadline:
        page = bus.poll(700, cursor=cursor)
        seen += [e.raw for e in page.events]
        cursor = page.next_id
        if not page.events:
            time.sleep(0.01)
    for thread in threads:
        thread.join()
    assert len(seen) == len(set(seen)) == 4 * per_thread


def test_a_restart_mid_ingest_loses_nothing_and_dedup_flags_exactly_the_repeats(
    make_bus, redis_server
):
    total = 1_000_000
    bus = make_bus(
        num_shards=2,
        ring_buffer_capacity=1 << 20,
        backpressure_mode="fail_producer",
        redis_url=redis_server.url,
        redis_command_timeout_ms=300,
        redis_connect_timeout_ms=300,
    )
    batch = 10_000
    for start in range(0, total, batch):
        events = [f'{{"n":{n}}}' for n in range(start, start + batch)]
        accepted = 0
        while accepted < batch:  # fail_producer: a short count means the rings are full
            accepted += bus.ingest_raw_batch(events[accepted:])
        if start == total // 2:
            redis_server.restart(pause_s=0.3)
    bus.shutdown()  # flushes whatever the rings still hold

    client = redis.Redis(port=redis_server.port, decode_responses=True)
    dedup = net.RedisStreamDedup(capacity=1 << 21)
    payloads: set[str] = set()
    entries_seen = flagged = 0
    for s in range(2):
        last = "-"
        while True:
            chunk = client.xrange(f"net:shard:{s}", min=last, count=50_000)
            if last != "-":
                chunk = chunk[1:]
            if not chunk:
                break
            for _, fields in chunk:
                duplicate = dedup.is_duplicate(fields["dedup_id"])
                repeated = fields["d"] in payloads  # same event, same shard, same insertion_ts
                assert duplicate == repeated
                payloads.add(fields["d"])
                entries_seen += 1
                flagged += duplicate
            last = chunk[-1][0]
    assert len(payloads) == total
    assert entries_seen == total + flagged


def test_stats_and_shutdown(make_bus, redis_server):
    bus = make_bus(num_shards=1, redis_url=redis_server.url)
    bus.ingest_raw_batch(["1", "2", "3"])
    assert bus.stats().events_ingested == 3
    bus.shutdown()
    bus.shutdown()
    with pytest.raises(RuntimeError, match="EventBus has been shut down"):
        bus.poll(1)


# ---- RedisStreamDedup ------------------------------------------------------------------


def test_dedup_contract():
    d = net.RedisStreamDedup()
    assert d.capacity == 4096 and d.len == 0 and d.is_empty
    assert repr(d) == "RedisStreamDedup(len=0, capacity=4096)"
    assert d.is_duplicate("abc:0:0:0") is False
    assert d.is_duplicate("abc:0:0:0") is True
    assert d.len == 1 and not d.is_empty
    d.clear()
    assert d.len == 0 and d.is_duplicate("abc:0:0:0") is False
    assert net.RedisStreamDedup(0).capacity == 1
    assert net.RedisStreamDedup(capacity=None).capacity == 4096
    with pytest.raises(OverflowError):
        net.RedisStreamDedup(-1)
    with pytest.raises(TypeError):
        net.RedisStreamDedup("big")
    with pytest.raises(TypeError):
        len(d)
    with pytest.raises(TypeError):
        d.is_duplicate(5)
    assert d.is_duplicate(dedup_id="k") is False


def test_dedup_evicts_the_oldest_first_sighting_without_refresh():
    d = net.RedisStreamDedup(2)
    assert [d.is_duplicate(x) for x in ["a", "b", "a", "c", "a"]] == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert d.len == 2


def test_dedup_is_thread_safe():
    d = net.RedisStreamDedup(100_000)
    fresh = []

    def work() -> None:
        fresh.append(sum(not d.is_duplicate(f"id{i}") for i in range(20_000)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fresh) == 20_000 and d.len == 20_000


@pytest.mark.parametrize("mode", ["drop_newest", "drop_oldest", "fail_producer"])
def test_while_the_broker_is_away_the_ring_buffers_and_the_mode_decides(
    make_bus, redis_server, mode
):
    bus = make_bus(
        num_shards=1,
        ring_buffer_capacity=1024,
        backpressure_mode=mode,
        redis_url=redis_server.url,
        redis_connect_timeout_ms=200,
        redis_command_timeout_ms=200,
    )
    redis_server.stop()
    accepted = bus.ingest_raw_batch([f'{{"n":{n}}}' for n in range(3000)])
    dropped = bus.stats().events_dropped
    assert bus.stats().events_ingested == accepted
    # Every event either waits in the ring or was counted as dropped.
    assert (accepted, dropped) == ((1024, 1976) if mode != "drop_oldest" else (3000, 1976))
    redis_server.start()
    assert wait_stored(redis_server, "net", 1, 1024) == 1024
    bus.shutdown()
    stored = [json.loads(f["d"])["r"]["n"] for _, f in entries(redis_server, "net:shard:0")]
    kept = range(1024) if mode != "drop_oldest" else range(3000 - 1024, 3000)
    assert stored == list(kept)
