"""Net(jetstream_url=...): the JetStream adapter against a real nats-server -js."""

from __future__ import annotations

import base64
import json
import re
import time

import net
import pytest
from conftest import check_broker_poll, drain


def stream_info(server, name: str) -> dict:
    return server.jetstream(f"STREAM.INFO.{name}")


def wait_stored(server, shards: int, count: int, timeout_s: float = 20.0) -> int:
    """Messages in the streams net_shard_0..shards-1, once they hold `count` or time is up
    (publishing is asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while True:
        stored = sum(
            stream_info(server, f"net_shard_{s}").get("state", {}).get("messages", 0)
            for s in range(shards)
        )
        if stored >= count or time.monotonic() >= deadline:
            return stored
        time.sleep(0.02)


def stored_message(server, name: str, seq: int) -> tuple[dict, str]:
    """The envelope and the Nats-Msg-Id of one stored message."""
    reply = server.jetstream(f"STREAM.MSG.GET.{name}", {"seq": seq})["message"]
    headers = base64.b64decode(reply["hdrs"]).decode()
    msg_id = re.search(r"Nats-Msg-Id: (\S+)", headers).group(1)
    return json.loads(base64.b64decode(reply["data"])), msg_id


def test_streams_are_created_as_the_original_names_and_configures_them(make_bus, nats_server):
    make_bus(
        num_shards=2,
        jetstream_url=nats_server.url,
        jetstream_prefix="ev",
        jetstream_max_messages=1000,
        jetstream_max_bytes=1 << 20,
        jetstream_max_age_ms=60_000,
    )
    for shard in range(2):
        config = stream_info(nats_server, f"ev_shard_{shard}")["config"]
        assert config["subjects"] == [f"ev.shard.{shard}"]
        assert config["retention"] == "limits"
        assert config["storage"] == "file"
        assert config["discard"] == "old"
        assert config["allow_direct"] is True
        assert config["num_replicas"] == 1
        assert config["duplicate_window"] == 60 * 10**9  # at most max_age (3600 s without it)
        assert config["max_msgs"] == 1000
        assert config["max_bytes"] == 1 << 20
        assert config["max_age"] == 60 * 10**9


def test_events_are_stored_with_the_envelope_and_msg_id(make_bus, nats_server):
    bus = make_bus(num_shards=1, jetstream_url=nats_server.url)
    sent = [json.dumps({"i": i}) for i in range(50)]
    results = [bus.ingest_raw(e) for e in sent]
    assert wait_stored(nats_server, 1, len(sent)) == len(sent)
    envelope, msg_id = stored_message(nats_server, "net_shard_0", 1)
    assert envelope == {"r": {"i": 0}, "t": results[0].timestamp, "s": 0}
    assert re.fullmatch(r"[0-9a-f]+:0:0:0", msg_id)


def test_poll_pages_every_message_once(make_bus, nats_server):
    bus = make_bus(num_shards=3, jetstream_url=nats_server.url)
    sent = [json.dumps({"n": i}) for i in range(5000)]
    assert bus.ingest_raw_batch(sent) == len(sent)
    bus.ingest({"via": "dict"})
    sent.append(json.dumps({"via": "dict"}))
    assert wait_stored(nats_server, 3, len(sent)) == len(sent)
    check_broker_poll(bus, sent, limit=400, id_pattern=r"\d+")
    with pytest.raises(RuntimeError, match="invalid cursor"):
        bus.poll(5, cursor=base64.b64encode(b'{"0":"1-0"}').decode())


def test_a_new_net_reads_what_an_earlier_one_wrote(nats_server):
    with net.Net(num_shards=2, jetstream_url=nats_server.url) as first:
        first.ingest_raw_batch([f'{{"k":{i}}}' for i in range(100)])
    with net.Net(num_shards=2, jetstream_url=nats_server.url) as second:
        events, _ = drain(second, limit=30)
        assert sorted(e.raw for e in events) == sorted(f'{{"k":{i}}}' for i in range(100))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"jetstream_replicas": 0}, "jetstream replicas must be >= 1"),
        ({"jetstream_max_messages": -1}, "jetstream max_messages must be >= 0"),
        ({"jetstream_max_bytes": -5}, "jetstream max_bytes must be >= 0"),
        ({"jetstream_connect_timeout_ms": 0}, "jetstream connect_timeout must be > 0"),
        ({"jetstream_request_timeout_ms": 0}, "jetstream request_timeout must be > 0"),
    ],
)
def test_bad_configuration(kwargs, message):
    with pytest.raises(ValueError) as info:
        net.Net(jetstream_url="nats://127.0.0.1:1", **kwargs)
    assert (
        str(info.value)
        == f"invalid configuration: jetstream adapter: invalid configuration: {message}"
    )


def test_unreachable_server_and_precedence(make_bus, redis_server, nats_server):
    with pytest.raises(RuntimeError, match="^connection error: "):
        net.Net(jetstream_url="nats://127.0.0.1:1", jetstream_connect_timeout_ms=200)
    with pytest.raises(TypeError):
        net.Net(jetstream_url=nats_server.url, jetstream_replicas="3")
    # Redis wins over JetStream; JetStream over the two-node keywords.
    bus = make_bus(num_shards=1, redis_url=redis_server.url, jetstream_url="nats://127.0.0.1:1")
    bus.ingest_raw("{}")
    make_bus(num_shards=1, jetstream_url=nats_server.url, net_bind_addr="not an address")


def test_a_restart_mid_ingest_loses_nothing_and_stores_nothing_twice(make_bus, nats_server):
    total = 1_000_000
    bus = make_bus(
        num_shards=2,
        ring_buffer_capacity=1 << 20,
        backpressure_mode="fail_producer",
        jetstream_url=nats_server.url,
        jetstream_request_timeout_ms=500,
    )
    batch = 5_000
    for start in range(0, total, batch):
        events = [f'{{"n":{n}}}' for n in range(start, start + batch)]
        accepted = 0
        while accepted < batch:
            accepted += bus.ingest_raw_batch(events[accepted:])
        if start == total // 2:
            nats_server.restart(pause_s=0.3)
    assert bus.stats().events_dropped == 0
    bus.shutdown()
    assert (
        wait_stored(nats_server, 2, total, 5) == total
    )  # the duplicate window dropped every resent copy

    with net.Net(num_shards=2, jetstream_url=nats_server.url) as reader:
        events, _ = drain(reader, limit=10_000)
    assert len(events) == total
    assert {e.raw for e in events} == {f'{{"n":{n}}}' for n in range(total)}


def test_a_restarted_producer_with_the_same_nonce_file_loses_nothing(nats_server, tmp_path):
    # The duplicate window would drop a new run's events if they reused the last run's ids.
    nonce_file = str(tmp_path / "nonce")
    for run in range(2):
        with net.Net(
            num_shards=1, jetstream_url=nats_server.url, producer_nonce_path=nonce_file
        ) as bus:
            bus.ingest_raw_batch([f'{{"run":{run},"i":{i}}}' for i in range(100)])
    assert wait_stored(nats_server, 1, 200, 5) == 200


def test_events_larger_than_the_servers_max_payload_are_refused_at_ingest(make_bus, nats_server):
    bus = make_bus(num_shards=1, jetstream_url=nats_server.url)
    big = '"' + "x" * (1 << 20) + '"'  # nats-server's max_payload is 1 MiB
    with pytest.raises(
        ValueError, match=r"^event too large: .* \(the jetstream adapter carries at most \d+\)"
    ):
        bus.ingest_raw(big)
    with pytest.raises(ValueError, match="event too large"):
        bus.ingest_raw_batch(['{"ok":1}', big])
    assert bus.stats().events_ingested == 0  # the batch was refused whole
    bus.ingest_raw('{"ok":2}')
    assert wait_stored(nats_server, 1, 1) == 1
