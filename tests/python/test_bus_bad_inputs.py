"""Bad inputs: wrong types, out-of-range integers, huge and unencodable strings.
Each is refused with the documented exception, stores nothing, and never crashes."""

from __future__ import annotations

import collections
import re
import threading
import types

import net
import pytest
from conftest import SMALLEST_CAPACITY, Tail, raws

LONE_SURROGATE = '{"a": "\ud800"}'


def assert_nothing_stored(bus) -> None:
    assert bus.stats().events_ingested == 0
    assert bus.poll(10).events == []


# --- wrong types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"{}", bytearray(b"{}"), 1, 1.5, None, ["{}"], {"a": 1}],
    ids=lambda v: type(v).__name__,
)
def test_ingest_raw_requires_str(bus, value):
    with pytest.raises(TypeError):
        bus.ingest_raw(value)
    assert_nothing_stored(bus)


@pytest.mark.parametrize(
    "value",
    [
        [("a", 1)],
        [],
        (),
        "{}",
        b"{}",
        None,
        1,
        collections.UserDict(a=1),
        types.MappingProxyType({"a": 1}),
    ],
    ids=lambda v: type(v).__name__,
)
def test_ingest_requires_a_dict(bus, value):
    with pytest.raises(TypeError):
        bus.ingest(value)
    assert_nothing_stored(bus)


@pytest.mark.parametrize(
    "value",
    ["{}", "", None, 5, b"{}", {"a": "b"}, iter(["{}"]), (e for e in ["{}"])],
    ids=lambda v: type(v).__name__,
)
def test_ingest_raw_batch_requires_a_sequence_of_str(bus, value):
    with pytest.raises(TypeError):
        bus.ingest_raw_batch(value)
    assert_nothing_stored(bus)


@pytest.mark.parametrize("bad", [1, None, b"{}", ["{}"], 2.5], ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("position", [0, 1, 499])
def test_a_batch_with_a_non_str_item_is_refused_whole(bus, bad, position):
    batch = [f'{{"i": {i}}}' for i in range(500)]
    batch[position] = bad
    with pytest.raises(TypeError):
        bus.ingest_raw_batch(batch)
    assert_nothing_stored(bus)


def test_a_big_batch_with_a_non_str_item_is_refused_whole(bus):
    batch = ["x" * 1000] * 1000 + [None]
    with pytest.raises(TypeError):
        bus.ingest_raw_batch(batch)
    assert_nothing_stored(bus)


@pytest.mark.parametrize(
    "keyword, value",
    [
        ("cursor", 5),
        ("cursor", b"e30="),
        ("filter", 5),
        ("filter", {"path": "a", "value": 1}),
        ("filter", b"{}"),
        ("ordering", 5),
        ("ordering", b"none"),
    ],
)
def test_poll_options_must_be_str_or_none(bus, keyword, value):
    with pytest.raises(TypeError):
        bus.poll(10, **{keyword: value})


@pytest.mark.parametrize("limit", ["5", 5.0, None, b"5", [5]], ids=repr)
def test_poll_limit_must_be_an_int(bus, limit):
    with pytest.raises(TypeError):
        bus.poll(limit)


@pytest.mark.parametrize(
    "keyword, value",
    [
        ("num_shards", "4"),
        ("num_shards", 4.0),
        ("ring_buffer_capacity", "1024"),
        ("ring_buffer_capacity", 1024.0),
        ("backpressure_mode", 1),
        ("backpressure_mode", b"drop_oldest"),
    ],
)
def test_constructor_arguments_have_types(keyword, value):
    with pytest.raises(TypeError):
        net.Net(**{keyword: value})


# --- unknown keywords and arity --------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: net.Net(shards=2),
        lambda: net.Net(num_shards=1, capacity=1024),
        lambda: net.Net(num_shards=1).poll(10, cursr=None),
        lambda: net.Net(num_shards=1).poll(),
        lambda: net.Net(num_shards=1).poll(1, None, None, None, None),
        lambda: net.Net(num_shards=1).ingest_raw(text="{}"),
        lambda: net.Net(num_shards=1).ingest_raw(),
        lambda: net.Net(num_shards=1).ingest_raw("{}", "{}"),
        lambda: net.Net(num_shards=1).ingest(events={}),
        lambda: net.Net(num_shards=1).ingest_raw_batch(event=[]),
        lambda: net.Net(num_shards=1).num_shards(1),
        lambda: net.Net(num_shards=1).stats(True),
    ],
)
def test_unknown_keywords_and_wrong_arity_are_type_errors(call):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda bus: bus.ingest_raw(), "missing 1 required positional argument: 'json'"),
        (lambda bus: bus.ingest_raw("a", "b"), "takes 1 positional argument but 2 were given"),
        (lambda bus: bus.ingest_raw("a", json="b"), "got multiple values for argument 'json'"),
        (lambda bus: bus.ingest_raw(text="a"), "got an unexpected keyword argument 'text'"),
        (lambda bus: bus.ingest_raw(b"{}"), "argument 'json' must be str, not bytes"),
        (lambda bus: bus.ingest(event=[]), "argument 'event' must be dict, not list"),
        (lambda bus: bus.ingest(), "missing 1 required positional argument: 'event'"),
    ],
)
def test_per_event_methods_name_what_is_wrong(bus, call, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        call(bus)
    assert bus.stats().events_ingested == 0


def test_per_event_methods_take_their_argument_by_keyword(bus):
    assert bus.ingest_raw(json='{"a": 1}').shard_id == 0
    assert bus.ingest(event={"a": 2}).shard_id == 0
    assert [e.raw for e in bus.poll(10).events] == ['{"a": 1}', '{"a": 2}']


def test_per_event_methods_refuse_an_uninitialized_net():
    bare = net.Net.__new__(net.Net)
    with pytest.raises(TypeError, match="uninitialized"):
        bare.ingest_raw("{}")
    with pytest.raises(TypeError, match="uninitialized"):
        bare.ingest({})


def test_per_event_methods_refuse_other_receivers():
    with pytest.raises(TypeError):
        net.Net.ingest_raw(object(), "{}")


# --- integer ranges ------------------------------------------------------------------------


@pytest.mark.parametrize("num_shards", [-1, 65536, 2**64, -(2**70)])
def test_num_shards_out_of_u16_range_is_an_overflow_error(num_shards):
    with pytest.raises(OverflowError):
        net.Net(num_shards=num_shards)


@pytest.mark.parametrize("capacity", [-1, -1024, 2**64, 2**100])
def test_ring_buffer_capacity_out_of_range_is_an_overflow_error(capacity):
    with pytest.raises(OverflowError):
        net.Net(num_shards=1, ring_buffer_capacity=capacity)


@pytest.mark.parametrize("limit", [-1, -(2**64), 2**64, 2**100])
def test_poll_limit_out_of_range_is_an_overflow_error(bus, limit):
    with pytest.raises(OverflowError):
        bus.poll(limit)


# --- huge and unencodable strings ------------------------------------------------------------


def test_a_50_mb_event_round_trips(bus):
    payload = '{"blob": "' + "x" * 50_000_000 + '"}'
    bus.ingest_raw(payload)
    (event,) = Tail(bus).read()
    assert event.raw == payload
    assert len(event.parse()["blob"]) == 50_000_000


def test_a_huge_dict_round_trips(bus):
    event = {"blob": "é" * 2_000_000, "ascii": "x" * 20_000_000}
    bus.ingest(event)
    stored = Tail(bus).read_one()
    assert len(stored.raw) == 6 * 2_000_000 + 20_000_000 + len('{"blob": "", "ascii": ""}')
    assert stored.parse() == event


def test_a_large_batch_round_trips_in_order(bus):
    payloads = [f'{{"i": {i}, "pad": "{"y" * 1000}"}}' for i in range(SMALLEST_CAPACITY)]
    assert bus.ingest_raw_batch(payloads) == len(payloads)
    assert raws(Tail(bus).read()) == payloads


def test_a_large_batch_survives_the_list_being_changed_by_another_thread(bus):
    """The GIL is released while a large batch is copied; the list must be pinned."""
    payloads = ["z" * 4096] * 512
    batch = list(payloads)
    stop = threading.Event()

    def mutate():
        while not stop.is_set():
            batch.append("extra")
            batch.pop()
            batch[0] = "z" * 4096

    mutator = threading.Thread(target=mutate)
    mutator.start()
    try:
        for _ in range(20):
            accepted = bus.ingest_raw_batch(batch)
            assert accepted in (512, 513)
    finally:
        stop.set()
        mutator.join()
    events = Tail(bus).read()
    assert all(raw in ("z" * 4096, "extra") for raw in raws(events))


@pytest.mark.parametrize("text", [LONE_SURROGATE, "\ud800", chr(0xDFFF), "a\udc80b"], ids=ascii)
def test_a_lone_surrogate_is_a_unicode_encode_error(bus, text):
    with pytest.raises(UnicodeEncodeError) as info:
        bus.ingest_raw(text)
    assert isinstance(info.value, ValueError)
    assert_nothing_stored(bus)


@pytest.mark.parametrize("position", [0, 250, 499])
def test_a_batch_with_a_lone_surrogate_is_refused_whole(bus, position):
    batch = [f'{{"i": {i}}}' for i in range(500)]
    batch[position] = LONE_SURROGATE
    with pytest.raises(UnicodeEncodeError):
        bus.ingest_raw_batch(batch)
    assert_nothing_stored(bus)


def test_a_dict_with_lone_surrogates_is_stored_escaped(bus):
    bus.ingest({"\udc00": "\ud800"})
    assert Tail(bus).read_one().raw == '{"\\udc00": "\\ud800"}'


def test_nul_characters_round_trip(bus):
    payload = '{"a": "\x00"}\x00tail'
    bus.ingest_raw(payload)
    assert Tail(bus).read_one().raw == payload


# --- adapters that are not built ---------------------------------------------------------------


def test_a_redis_url_is_refused_until_the_adapter_exists():
    with pytest.raises(RuntimeError):
        net.Net(num_shards=1, redis_url="redis://127.0.0.1:1")
