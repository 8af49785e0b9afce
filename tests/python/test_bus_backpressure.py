"""Backpressure: what each mode does when a shard holds `capacity` unpolled events,
and that every discarded or evicted event is counted in `stats().events_dropped`."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import net
import pytest
from conftest import SMALLEST_CAPACITY, Tail, drain, raws

CAPACITY = SMALLEST_CAPACITY
FULL_MESSAGE = "backpressure: ring buffer full"


def numbered(start: int, stop: int) -> list[str]:
    return [str(i) for i in range(start, stop)]


@pytest.fixture
def full_bus(make_bus):
    """A one-shard ring holding `CAPACITY` unpolled events "0" .. "1023", in a given mode."""

    def make(mode: str) -> net.Net:
        bus = make_bus(num_shards=1, ring_buffer_capacity=CAPACITY, backpressure_mode=mode)
        assert bus.ingest_raw_batch(numbered(0, CAPACITY)) == CAPACITY
        assert bus.stats().events_dropped == 0
        return bus

    return make


def assert_full_ring_message(error: BaseException) -> None:
    assert type(error) is net.BackpressureError
    assert isinstance(error, RuntimeError)
    assert error.args == (FULL_MESSAGE,)


# --- drop_oldest ------------------------------------------------------------------------


def test_drop_oldest_evicts_the_oldest_unpolled_events(full_bus):
    bus = full_bus("drop_oldest")
    for i in range(CAPACITY, CAPACITY + 10):
        assert isinstance(bus.ingest_raw(str(i)), net.IngestResult)
    stats = bus.stats()
    assert (stats.events_ingested, stats.events_dropped) == (CAPACITY + 10, 10)
    events = Tail(bus).read()
    assert raws(events) == numbered(10, CAPACITY + 10)
    assert [event.id for event in events] == numbered(10, CAPACITY + 10)


def test_drop_oldest_batch_accepts_everything_and_counts_evictions(full_bus):
    bus = full_bus("drop_oldest")
    assert bus.ingest_raw_batch(numbered(CAPACITY, CAPACITY + 300)) == 300
    assert bus.stats().events_dropped == 300
    assert raws(Tail(bus).read()) == numbered(300, CAPACITY + 300)


def test_drop_oldest_overwrites_polled_events_before_evicting_unpolled_ones(full_bus):
    bus = full_bus("drop_oldest")
    first_page = bus.poll(10)
    assert raws(first_page.events) == numbered(0, 10)
    bus.ingest_raw_batch(numbered(CAPACITY, CAPACITY + 20))
    # The 10 polled events made room for 10 newcomers; 10 unpolled events were evicted.
    assert bus.stats().events_dropped == 10
    assert raws(drain(bus, 2000, first_page.next_id)[0]) == numbered(20, CAPACITY + 20)


@pytest.mark.parametrize("extra", [1, 5, CAPACITY])
def test_drop_oldest_counts_one_drop_per_evicted_unpolled_event(full_bus, extra):
    bus = full_bus("drop_oldest")
    for i in range(CAPACITY, CAPACITY + extra):
        bus.ingest_raw(str(i))
    assert bus.stats().events_dropped == extra
    assert raws(Tail(bus).read()) == numbered(extra, CAPACITY + extra)


# --- drop_newest ------------------------------------------------------------------------


def test_drop_newest_rejects_the_new_event_and_returns_none(full_bus):
    bus = full_bus("drop_newest")
    for i in range(CAPACITY, CAPACITY + 10):
        assert bus.ingest_raw(str(i)) is None
    assert bus.ingest({"late": True}) is None
    stats = bus.stats()
    assert (stats.events_ingested, stats.events_dropped) == (CAPACITY, 11)
    assert raws(Tail(bus).read()) == numbered(0, CAPACITY)


def test_drop_newest_batch_returns_the_accepted_count(make_bus):
    bus = make_bus(num_shards=1, ring_buffer_capacity=CAPACITY, backpressure_mode="drop_newest")
    assert bus.ingest_raw_batch(numbered(0, 2000)) == CAPACITY
    assert bus.stats().events_dropped == 2000 - CAPACITY
    assert raws(Tail(bus).read()) == numbered(0, CAPACITY)


# --- fail_producer ----------------------------------------------------------------------


def test_fail_producer_raises_backpressure_error(full_bus):
    bus = full_bus("fail_producer")
    with pytest.raises(net.BackpressureError) as info:
        bus.ingest_raw(str(CAPACITY))
    assert_full_ring_message(info.value)
    with pytest.raises(RuntimeError) as info:
        bus.ingest({"late": True})
    assert_full_ring_message(info.value)
    stats = bus.stats()
    assert (stats.events_ingested, stats.events_dropped) == (CAPACITY, 2)
    assert raws(Tail(bus).read()) == numbered(0, CAPACITY)


def test_fail_producer_batch_never_raises(full_bus):
    bus = full_bus("fail_producer")
    assert bus.ingest_raw_batch(numbered(CAPACITY, CAPACITY + 50)) == 0
    assert bus.stats().events_dropped == 50


def test_fail_producer_batch_into_a_partly_full_ring(make_bus):
    bus = make_bus(num_shards=1, ring_buffer_capacity=CAPACITY, backpressure_mode="fail_producer")
    assert bus.ingest_raw_batch(numbered(0, 1000)) == 1000
    assert bus.ingest_raw_batch(numbered(1000, 1100)) == CAPACITY - 1000
    assert bus.stats().events_dropped == 1100 - CAPACITY
    assert raws(Tail(bus).read()) == numbered(0, CAPACITY)


# --- polling frees capacity -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["drop_newest", "fail_producer"])
def test_a_polled_event_frees_capacity(full_bus, mode):
    bus = full_bus(mode)
    page = bus.poll(10)
    for i in range(CAPACITY, CAPACITY + 10):
        assert isinstance(bus.ingest_raw(str(i)), net.IngestResult)
    assert bus.ingest_raw_batch(["one too many"]) == 0
    assert bus.stats().events_dropped == 1
    assert raws(drain(bus, 2000, page.next_id)[0]) == numbered(10, CAPACITY + 10)


def test_polled_events_stay_readable_by_an_old_cursor_until_overwritten(full_bus):
    bus = full_bus("fail_producer")
    first_page = bus.poll(100)
    assert raws(first_page.events) == numbered(0, 100)
    assert raws(bus.poll(100).events) == numbered(0, 100)  # polled, not yet overwritten
    bus.ingest_raw_batch(numbered(CAPACITY, CAPACITY + 30))  # overwrites the 30 oldest
    assert bus.stats().events_dropped == 0
    assert raws(bus.poll(100).events) == numbered(30, 130)
    assert raws(drain(bus, 500, first_page.next_id)[0]) == numbered(100, CAPACITY + 30)


def test_each_shard_has_its_own_capacity(make_bus):
    bus = make_bus(num_shards=2, ring_buffer_capacity=CAPACITY, backpressure_mode="drop_newest")
    accepted = bus.ingest_raw_batch(numbered(0, 4 * CAPACITY))
    assert accepted == 2 * CAPACITY
    counts = {0: 0, 1: 0}
    for event in Tail(bus).read():
        counts[event.shard_id] += 1
    assert counts == {0: CAPACITY, 1: CAPACITY}
    assert bus.stats().events_dropped == 2 * CAPACITY


# --- accounting under a concurrent consumer ------------------------------------------------


def ingest_all(bus, payloads: list[str], use_batch: bool) -> int:
    """Ingests every payload; returns how many the bus accepted."""
    if use_batch:
        return sum(
            bus.ingest_raw_batch(payloads[i : i + 500]) for i in range(0, len(payloads), 500)
        )
    accepted = 0
    for payload in payloads:
        try:
            accepted += bus.ingest_raw(payload) is not None
        except net.BackpressureError:
            pass
    return accepted


@pytest.mark.parametrize("use_batch", [False, True], ids=["ingest_raw", "ingest_raw_batch"])
@pytest.mark.parametrize("mode", ["drop_oldest", "drop_newest", "fail_producer"])
def test_with_a_concurrent_consumer_each_event_is_delivered_once_or_counted_dropped(
    make_bus, mode, use_batch
):
    """No event vanishes uncounted, and none is both delivered and counted as dropped."""
    bus = make_bus(num_shards=1, ring_buffer_capacity=CAPACITY, backpressure_mode=mode)
    payloads = numbered(0, 50_000)
    producing = threading.Event()
    producing.set()

    def produce() -> int:
        try:
            return ingest_all(bus, payloads, use_batch)
        finally:
            producing.clear()

    tail, received = Tail(bus), []
    with ThreadPoolExecutor(1) as pool:
        producer = pool.submit(produce)
        while producing.is_set():
            received.extend(tail.read(CAPACITY))
        accepted = producer.result()
    received.extend(tail.read())

    numbers = [int(raw) for raw in raws(received)]
    assert all(a < b for a, b in itertools.pairwise(numbers)), "duplicated or reordered"
    stats = bus.stats()
    assert len(received) + stats.events_dropped == len(payloads)
    if mode != "drop_oldest":
        assert (len(received), stats.events_ingested) == (accepted, accepted)
