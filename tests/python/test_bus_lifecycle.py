"""Shutdown and the context manager."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import net
import pytest
from conftest import SHUT_DOWN, SMALLEST_CAPACITY, raws

CALLS_AFTER_SHUTDOWN = {
    "ingest_raw": lambda bus: bus.ingest_raw("{}"),
    "ingest": lambda bus: bus.ingest({"a": 1}),
    "ingest_raw_batch": lambda bus: bus.ingest_raw_batch(["{}"]),
    "ingest_raw_batch-empty": lambda bus: bus.ingest_raw_batch([]),
    "poll": lambda bus: bus.poll(10),
    "poll-zero": lambda bus: bus.poll(0),
    "poll-with-everything": lambda bus: bus.poll(
        10, cursor="e30=", filter='{"$or": []}', ordering="insertion_ts"
    ),
    "num_shards": lambda bus: bus.num_shards(),
    "stats": lambda bus: bus.stats(),
}


def assert_shut_down_error(error: BaseException) -> None:
    assert type(error) is RuntimeError
    assert error.args == (SHUT_DOWN,)


def test_shutdown_is_idempotent(bus):
    assert bus.shutdown() is None
    assert bus.shutdown() is None
    assert repr(bus) == "Net(shutdown)"


@pytest.mark.parametrize("call", CALLS_AFTER_SHUTDOWN.values(), ids=CALLS_AFTER_SHUTDOWN.keys())
def test_every_method_raises_after_shutdown(bus, call):
    bus.ingest_raw("{}")
    bus.shutdown()
    with pytest.raises(RuntimeError) as info:
        call(bus)
    assert_shut_down_error(info.value)


def test_repr_follows_the_state(bus):
    assert repr(bus) == "Net(active)"
    bus.shutdown()
    assert repr(bus) == "Net(shutdown)"


def test_polled_events_outlive_the_bus(make_bus):
    bus = make_bus(num_shards=2, ring_buffer_capacity=SMALLEST_CAPACITY)
    bus.ingest_raw_batch([f'{{"i": {i}, "pad": "{"x" * 1000}"}}' for i in range(200)])
    page = bus.poll(1000)
    bus.shutdown()
    del bus
    assert len(page) == 200
    assert sorted(event.parse()["i"] for event in page) == list(range(200))


def test_context_manager_returns_the_bus_and_shuts_it_down():
    with net.Net(num_shards=1) as bus:
        assert isinstance(bus, net.Net)
        bus.ingest_raw("{}")
        assert raws(bus.poll(10).events) == ["{}"]
    assert repr(bus) == "Net(shutdown)"
    with pytest.raises(RuntimeError) as info:
        bus.stats()
    assert_shut_down_error(info.value)


def test_context_manager_does_not_swallow_exceptions():
    with pytest.raises(KeyError, match="boom"), net.Net(num_shards=1) as bus:
        raise KeyError("boom")
    assert repr(bus) == "Net(shutdown)"


def test_exit_returns_false_and_accepts_its_documented_keywords(bus):
    error = ValueError("x")
    assert bus.__exit__(ValueError, error, error.__traceback__) is False
    assert bus.__exit__() is False
    assert bus.__exit__(_exc_type=None, _exc_val=None, _exc_tb=None) is False
    assert repr(bus) == "Net(shutdown)"


def test_enter_returns_the_same_object(bus):
    assert bus.__enter__() is bus


def test_shutdown_while_threads_ingest_and_poll(make_bus):
    """Racing calls either succeed or report the shutdown; nothing crashes."""
    bus = make_bus(num_shards=2, ring_buffer_capacity=SMALLEST_CAPACITY)
    workers = 4
    started = threading.Barrier(workers + 1)

    def hammer(worker: int) -> int:
        started.wait()
        calls = 0
        while True:
            try:
                if worker % 2:
                    bus.ingest_raw_batch([f'{{"w": {worker}, "n": {calls}}}'] * 50)
                else:
                    bus.poll(100)
                bus.ingest_raw("{}")
            except RuntimeError as error:
                assert_shut_down_error(error)
                return calls
            calls += 1

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(hammer, w) for w in range(workers)]
        started.wait()
        while bus.stats().events_ingested < 2000 and not any(f.done() for f in futures):
            pass
        bus.shutdown()
        calls = [future.result() for future in futures]
    assert sum(calls) > 0
    assert repr(bus) == "Net(shutdown)"


def test_a_bus_that_is_never_shut_down_is_released():
    bus = net.Net(num_shards=2, ring_buffer_capacity=SMALLEST_CAPACITY)
    bus.ingest_raw_batch(["{}"] * 100)
    page = bus.poll(10)
    del bus
    assert raws(page.events) == ["{}"] * 10
