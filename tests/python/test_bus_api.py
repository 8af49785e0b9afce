"""The event bus API of API.md §2: constructor, methods, value classes, reprs, errors."""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys
import time

import net
import pytest
from conftest import SMALLEST_CAPACITY, Tail, raws, shard_for
from hypothesis import given
from hypothesis import strategies as st

NET_PARAMETERS = (
    "num_shards",
    "ring_buffer_capacity",
    "backpressure_mode",
    "redis_url",
    "redis_prefix",
    "redis_pipeline_size",
    "redis_pool_size",
    "redis_connect_timeout_ms",
    "redis_command_timeout_ms",
    "redis_max_stream_len",
    "jetstream_url",
    "jetstream_prefix",
    "jetstream_connect_timeout_ms",
    "jetstream_request_timeout_ms",
    "jetstream_max_messages",
    "jetstream_max_bytes",
    "jetstream_max_age_ms",
    "jetstream_replicas",
    "net_bind_addr",
    "net_peer_addr",
    "net_psk",
    "net_role",
    "net_peer_public_key",
    "net_secret_key",
    "net_public_key",
    "net_reliability",
    "net_heartbeat_interval_ms",
    "net_session_timeout_ms",
    "net_batched_io",
    "net_packet_pool_size",
    "producer_nonce_path",  # ours, after the original's thirty: the brokers' dedup-id nonce file
    "persistent_dir",  # ours: the bus's events in persistent RedEX files
)

VALUE_CLASSES = ("IngestResult", "StoredEvent", "PollResponse", "Stats")


def one_of_each_value(bus):
    """An IngestResult, a StoredEvent, a PollResponse and a Stats from `bus`."""
    result = bus.ingest_raw('{"k": 1}')
    page = bus.poll(10)
    return {
        "IngestResult": result,
        "StoredEvent": page.events[0],
        "PollResponse": page,
        "Stats": bus.stats(),
    }


# --- module surface -------------------------------------------------------------------


def test_module_exports_the_bus_classes_first():
    assert net.__all__[:5] == ["Net", "IngestResult", "StoredEvent", "PollResponse", "Stats"]
    assert net.__version__ == "0.12.0"
    for name in net.__all__:
        assert getattr(net, name) is getattr(net._net, name)


def test_backpressure_error_is_a_runtime_error_with_a_plain_message():
    assert issubclass(net.BackpressureError, RuntimeError)
    error = net.BackpressureError("backpressure: ring buffer full")
    assert error.args == ("backpressure: ring buffer full",)
    assert str(error) == "backpressure: ring buffer full"


# --- constructor ----------------------------------------------------------------------


def test_defaults_shard_count_to_the_cpu_count(make_bus):
    assert make_bus().num_shards() == os.cpu_count()


def test_every_parameter_is_positional_or_keyword(make_bus):
    assert make_bus(*[None] * len(NET_PARAMETERS)).num_shards() == os.cpu_count()
    assert make_bus(**dict.fromkeys(NET_PARAMETERS)).num_shards() == os.cpu_count()
    with pytest.raises(TypeError):
        net.Net(*[None] * (len(NET_PARAMETERS) + 1))


def test_positional_parameters_follow_the_documented_order(make_bus):
    bus = make_bus(3, SMALLEST_CAPACITY, "drop_newest")
    assert bus.num_shards() == 3
    assert bus.ingest_raw_batch(["x"] * (SMALLEST_CAPACITY + 1)) == SMALLEST_CAPACITY


def test_a_parameter_given_twice_is_a_type_error():
    with pytest.raises(TypeError):
        net.Net(2, num_shards=2)


@pytest.mark.parametrize("num_shards", [1, 3, 16, 65535])
def test_num_shards_is_configurable(make_bus, num_shards):
    bus = make_bus(num_shards=num_shards, ring_buffer_capacity=SMALLEST_CAPACITY)
    assert bus.num_shards() == num_shards


def test_zero_shards_is_rejected():
    with pytest.raises(ValueError) as info:
        net.Net(num_shards=0)
    assert info.value.args == ("invalid configuration: num_shards must be > 0",)


@pytest.mark.parametrize(
    "capacity, reason",
    [
        (0, "ring_buffer_capacity must be a power of 2"),
        (1000, "ring_buffer_capacity must be a power of 2"),
        (1025, "ring_buffer_capacity must be a power of 2"),
        (3 << 20, "ring_buffer_capacity must be a power of 2"),
        (1, "ring_buffer_capacity must be >= 1024"),
        (512, "ring_buffer_capacity must be >= 1024"),
    ],
)
def test_ring_buffer_capacity_must_be_a_power_of_two_of_at_least_1024(capacity, reason):
    with pytest.raises(ValueError) as info:
        net.Net(num_shards=1, ring_buffer_capacity=capacity)
    assert info.value.args == (f"invalid configuration: {reason}",)


@pytest.mark.parametrize("capacity", [1024, 2048, 1 << 16])
def test_ring_buffer_capacity_accepts_powers_of_two(make_bus, capacity):
    bus = make_bus(num_shards=1, ring_buffer_capacity=capacity, backpressure_mode="drop_newest")
    assert bus.ingest_raw_batch(["x"] * (capacity + 5)) == capacity


def test_default_ring_buffer_capacity_is_2_to_the_20(make_bus):
    bus = make_bus(num_shards=1, backpressure_mode="drop_newest")
    assert bus.ingest_raw_batch(["x"] * ((1 << 20) + 3)) == 1 << 20
    assert bus.stats().events_dropped == 3


def test_default_backpressure_mode_is_drop_oldest(make_bus):
    bus = make_bus(num_shards=1, ring_buffer_capacity=SMALLEST_CAPACITY)
    payloads = [str(i) for i in range(SMALLEST_CAPACITY + 1)]
    assert bus.ingest_raw_batch(payloads) == len(payloads)
    assert bus.stats().events_dropped == 1
    assert bus.poll(1).events[0].raw == "1"


@pytest.mark.parametrize("mode", ["drop_oldest", "drop_newest", "fail_producer"])
def test_backpressure_modes_are_accepted(make_bus, mode):
    assert make_bus(num_shards=1, backpressure_mode=mode).num_shards() == 1


@pytest.mark.parametrize("mode", ["", "bogus", "drop-oldest", "sample"])
def test_unknown_backpressure_mode_is_rejected(mode):
    with pytest.raises(ValueError) as info:
        net.Net(backpressure_mode=mode)
    assert info.value.args == (f"Invalid backpressure mode: {mode}",)


def test_backpressure_mode_is_validated_before_the_core_configuration():
    with pytest.raises(ValueError, match="^Invalid backpressure mode: bogus$"):
        net.Net(num_shards=0, ring_buffer_capacity=3, backpressure_mode="bogus")


def test_keywords_of_unselected_adapters_are_ignored(make_bus):
    bus = make_bus(
        num_shards=1,
        redis_prefix="p",
        redis_pipeline_size=0,
        redis_connect_timeout_ms=0,
        jetstream_prefix="j",
        jetstream_replicas=3,
        net_peer_addr="not an address",
        net_psk="zz",
        net_role="bogus",
        net_reliability="bogus",
        net_batched_io=True,
    )
    bus.ingest_raw("{}")
    assert raws(bus.poll(10).events) == ["{}"]


def test_two_node_intervals_beyond_the_cap_keep_their_order():
    # Durations are capped at 2**40 ms; a session timeout given longer than the heartbeat stays
    # longer (both capped equal, the configuration was refused).
    keys = net.generate_net_keypair()
    bus = net.Net(
        num_shards=1,
        net_bind_addr="127.0.0.1:0",
        net_peer_addr="127.0.0.1:9",
        net_psk="42" * 32,
        net_role="responder",
        net_secret_key=keys.secret_key,
        net_public_key=keys.public_key,
        net_heartbeat_interval_ms=2**62,
        net_session_timeout_ms=2**64 - 1,
    )
    bus.shutdown()


# --- ingest ---------------------------------------------------------------------------


def test_ingest_raw_returns_where_and_when_the_event_was_stored(make_bus):
    bus = make_bus(num_shards=4, ring_buffer_capacity=SMALLEST_CAPACITY)
    before = time.monotonic_ns()
    result = bus.ingest_raw('{"token": "hello"}')
    after = time.monotonic_ns()
    assert isinstance(result, net.IngestResult)
    assert type(result.shard_id) is int and type(result.timestamp) is int
    assert before <= result.timestamp <= after
    assert result.shard_id == 3  # REFERENCE.md §1.3 vector


@pytest.mark.parametrize("num_shards", [1, 2, 3, 4, 7, 16, 1000])
def test_shard_is_chosen_by_xxh3_multiply_shift(make_bus, num_shards):
    bus = make_bus(num_shards=num_shards, ring_buffer_capacity=SMALLEST_CAPACITY)
    payloads = [f'{{"i": {i}}}' for i in range(200)] + ["", "x", "é", "🎉" * 9]
    for payload in payloads:
        assert bus.ingest_raw(payload).shard_id == shard_for(payload, num_shards)
    events = Tail(bus).read()
    assert len(events) == len(payloads)
    for event in events:
        assert event.shard_id == shard_for(event.raw, num_shards)


def test_ingest_raw_stores_text_without_validating_it(bus):
    payloads = ["not json", "", "{", '{"a": 1,}', "\x00\x01\n", "   ", "[1, 2", "🎉"]
    for payload in payloads:
        assert bus.ingest_raw(payload) is not None
    assert raws(Tail(bus).read()) == payloads


@given(st.lists(st.text(st.characters(exclude_categories=("Cs",))), max_size=8))
def test_ingest_raw_and_batch_round_trip_any_text_verbatim(payloads):
    with net.Net(num_shards=1, ring_buffer_capacity=SMALLEST_CAPACITY) as bus:
        tail = Tail(bus)
        for payload in payloads:
            bus.ingest_raw(payload)
        assert raws(tail.read()) == payloads
        assert bus.ingest_raw_batch(payloads) == len(payloads)
        assert raws(tail.read()) == payloads


def test_ingest_serializes_a_dict_like_json_dumps(bus):
    result = bus.ingest({"token": "hello", "n": [1, 2.5, None, True]})
    assert isinstance(result, net.IngestResult)
    assert Tail(bus).read_one().raw == '{"token": "hello", "n": [1, 2.5, null, true]}'


def test_ingest_raw_batch_returns_the_accepted_count(make_bus):
    bus = make_bus(num_shards=4, ring_buffer_capacity=SMALLEST_CAPACITY)
    assert bus.ingest_raw_batch([]) == 0
    assert bus.ingest_raw_batch([f'{{"i": {i}}}' for i in range(100)]) == 100
    assert bus.ingest_raw_batch(tuple(f'{{"j": {i}}}' for i in range(5))) == 5
    assert bus.stats().events_ingested == 105


def test_ingest_raw_batch_keeps_input_order_within_a_shard(bus):
    payloads = [f'{{"i": {i}}}' for i in range(300)]
    bus.ingest_raw_batch(payloads)
    assert raws(Tail(bus).read()) == payloads


def test_keyword_names_of_the_methods(bus):
    bus.ingest_raw(json='{"a": 1}')
    bus.ingest(event={"b": 2})
    bus.ingest_raw_batch(events=['{"c": 3}'])
    page = bus.poll(limit=10, cursor=None, filter=None, ordering=None)
    assert raws(page.events) == ['{"a": 1}', '{"b": 2}', '{"c": 3}']


# --- poll and the value classes ---------------------------------------------------------


def test_stored_event_carries_what_ingest_reported(make_bus):
    bus = make_bus(num_shards=4, ring_buffer_capacity=SMALLEST_CAPACITY)
    results = {i: bus.ingest_raw(f'{{"i": {i}}}') for i in range(40)}
    events = Tail(bus).read()
    assert sorted(event.parse()["i"] for event in events) == list(results)
    for event in events:
        result = results[event.parse()["i"]]
        assert event.raw == f'{{"i": {event.parse()["i"]}}}'
        assert (event.shard_id, event.insertion_ts) == (result.shard_id, result.timestamp)
        assert type(event.id) is str and type(event.insertion_ts) is int


def test_event_ids_are_per_shard_sequence_numbers(make_bus):
    bus = make_bus(num_shards=3, ring_buffer_capacity=SMALLEST_CAPACITY)
    bus.ingest_raw_batch([f'{{"i": {i}}}' for i in range(90)])
    counts = {}
    for event in Tail(bus).read():
        assert event.id == str(counts.get(event.shard_id, 0))
        counts[event.shard_id] = counts.get(event.shard_id, 0) + 1
    assert sum(counts.values()) == 90


def test_insertion_timestamps_increase_strictly_within_a_shard(bus):
    for i in range(50):
        bus.ingest_raw(str(i))
    bus.ingest_raw_batch([str(i) for i in range(50)])
    timestamps = [event.insertion_ts for event in Tail(bus).read()]
    assert len(timestamps) == 100
    assert all(a < b for a, b in itertools.pairwise(timestamps))


def test_value_objects_made_from_reused_memory_are_whole_and_independent(make_bus):
    # IngestResults and StoredEvents reuse the memory of freed ones: each must still be a
    # new object of its own, and their types must keep exactly the references they had.
    bus = make_bus(num_shards=1, ring_buffer_capacity=SMALLEST_CAPACITY)
    type_refs = sys.getrefcount(net.IngestResult), sys.getrefcount(net.StoredEvent)
    for i in range(5000):  # made and freed one at a time
        assert bus.ingest_raw(str(i)).timestamp > 0
    held = [bus.ingest_raw(str(i)) for i in range(200)]  # more alive at once than are kept
    del held[::2]
    held += [bus.ingest_raw(str(i)) for i in range(100)]
    assert len({id(result) for result in held}) == len(held) == 200
    assert all(a.timestamp < b.timestamp for a, b in itertools.pairwise(held[:100]))
    events = Tail(bus).read()
    assert [event.raw for event in events[-3:]] == ["97", "98", "99"]
    del events, held
    assert (sys.getrefcount(net.IngestResult), sys.getrefcount(net.StoredEvent)) == type_refs


def test_poll_response_events_is_a_fresh_list_each_access(bus):
    bus.ingest_raw_batch(["a", "b", "c"])
    page = bus.poll(10)
    first = page.events
    assert type(first) is list and first is not page.events
    first.clear()
    assert raws(page.events) == ["a", "b", "c"]
    assert len(page) == 3


def test_poll_response_iterates_over_a_copy(bus):
    bus.ingest_raw_batch(["a", "b"])
    page = bus.poll(10)
    iterator = iter(page)
    assert raws(list(iterator)) == ["a", "b"]
    assert raws(page) == ["a", "b"]


def test_poll_response_fields(bus):
    empty = bus.poll(10)
    assert (empty.events, empty.next_id, empty.has_more, len(empty)) == ([], None, False, 0)
    bus.ingest_raw_batch(["a", "b"])
    page = bus.poll(1)
    assert type(page.next_id) is str and page.has_more is True
    last = bus.poll(1, cursor=page.next_id)
    assert last.has_more is False and raws(last.events) == ["b"]


def test_stats_counts_ingested_events_and_is_a_snapshot(make_bus):
    bus = make_bus(num_shards=2, ring_buffer_capacity=SMALLEST_CAPACITY)
    assert (bus.stats().events_ingested, bus.stats().events_dropped) == (0, 0)
    bus.ingest_raw("a")
    bus.ingest({"b": 1})
    bus.ingest_raw_batch(["c", "d"])
    stats = bus.stats()
    assert (stats.events_ingested, stats.events_dropped) == (4, 0)
    bus.ingest_raw("e")
    assert stats.events_ingested == 4
    assert bus.stats().events_ingested == 5


def test_num_shards_is_a_method(make_bus):
    bus = make_bus(num_shards=5, ring_buffer_capacity=SMALLEST_CAPACITY)
    assert callable(bus.num_shards) and bus.num_shards() == 5


# --- reprs (Appendix B) -----------------------------------------------------------------


def test_reprs(bus):
    values = one_of_each_value(bus)
    result, event, page = values["IngestResult"], values["StoredEvent"], values["PollResponse"]
    assert repr(result) == f"IngestResult(shard_id=0, timestamp={result.timestamp})"
    assert repr(event) == f"StoredEvent(id='0', shard_id=0, insertion_ts={event.insertion_ts})"
    assert (
        repr(page) == f'PollResponse(events=[...1], next_id=Some("{page.next_id}"), has_more=false)'
    )
    assert repr(values["Stats"]) == "Stats(events_ingested=1, events_dropped=0)"
    assert repr(bus) == "Net(active)"


def test_poll_response_repr_without_cursor_and_with_more(bus):
    assert repr(bus.poll(5)) == "PollResponse(events=[...0], next_id=None, has_more=false)"
    bus.ingest_raw_batch(["a", "b", "c"])
    page = bus.poll(2)
    assert (
        repr(page) == f'PollResponse(events=[...2], next_id=Some("{page.next_id}"), has_more=true)'
    )


# --- object model (§1.6) ----------------------------------------------------------------


@pytest.mark.parametrize("name", VALUE_CLASSES)
def test_value_classes_cannot_be_constructed(name):
    cls = getattr(net, name)
    with pytest.raises(TypeError):
        cls()
    with pytest.raises(TypeError):
        cls(0, 0)


def test_plain_value_types_outlive_their_names():
    """The binding keeps the types of the objects it makes per event: deleting every name of
    them does not break the next ingest, poll or list_tasks (it used to free the type)."""
    code = """
import gc, net, net._net as native
for name in ("IngestResult", "StoredEvent", "Task", "Memory"):
    delattr(native, name)
    delattr(net, name)
gc.collect()
bus = net.Net(num_shards=1)
result = bus.ingest_raw('{"a":1}')
tasks = net.TasksAdapter.open(net.Redex(), 7)
tasks.wait_for_seq(tasks.create(1, "t", 5))
print(result.shard_id, bus.poll(5).events[0].raw, tasks.list_tasks()[0].title)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.split() == ["0", '{"a":1}', "t"]


@pytest.mark.parametrize(
    "name, attributes",
    [
        ("IngestResult", ["shard_id", "timestamp"]),
        ("StoredEvent", ["id", "raw", "insertion_ts", "shard_id"]),
        ("PollResponse", ["events", "next_id", "has_more"]),
        ("Stats", ["events_ingested", "events_dropped"]),
    ],
)
def test_value_objects_are_read_only(bus, name, attributes):
    value = one_of_each_value(bus)[name]
    for attribute in attributes:
        before = getattr(value, attribute)
        with pytest.raises(AttributeError):
            setattr(value, attribute, before)
        with pytest.raises(AttributeError):
            delattr(value, attribute)
    with pytest.raises(AttributeError):
        value.new_attribute = 1
    assert not hasattr(value, "__dict__")


@pytest.mark.parametrize("name", VALUE_CLASSES)
def test_value_objects_are_not_picklable(bus, name):
    with pytest.raises((TypeError, pickle.PicklingError)):
        pickle.dumps(one_of_each_value(bus)[name])


def test_value_objects_compare_by_identity(bus):
    bus.ingest_raw("a")
    first, second = bus.poll(1).events[0], bus.poll(1).events[0]
    assert first != second
    assert bus.stats() != bus.stats()
