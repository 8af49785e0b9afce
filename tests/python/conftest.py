"""Shared fixtures and helpers for the event bus tests.

Helpers that tests call directly (``drain``, ``Tail``, ...) are imported with
``from conftest import ...``; fixtures are found by pytest as usual.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict

import net
import pytest
import xxhash
from hypothesis import HealthCheck, settings

# Modest example counts and no per-example deadline: the suite must stay fast on
# two cores, and timing-based failures would only measure the machine.
settings.register_profile(
    "net", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("net")

SHUT_DOWN = "EventBus has been shut down"
NO_FILTER_VARIANT = "data did not match any variant of untagged enum Filter"
SMALLEST_CAPACITY = 1024


@pytest.fixture
def make_bus():
    """Builds `Net`s that are shut down when the test ends."""
    buses = []

    def make(*args, **kwargs) -> net.Net:
        bus = net.Net(*args, **kwargs)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.shutdown()


@pytest.fixture
def bus(make_bus) -> net.Net:
    """A single-shard bus with the smallest ring: events come back in ingest order."""
    return make_bus(num_shards=1, ring_buffer_capacity=SMALLEST_CAPACITY)


def drain(
    bus: net.Net, limit: int = 1000, cursor: str | None = None, max_pages: int = 100_000, **options
) -> tuple[list, str | None]:
    """Pages with `poll(limit, cursor=next_id)` until `has_more` is False.

    Returns every event seen, in delivery order, and the last `next_id`.
    """
    events = []
    for _ in range(max_pages):
        page = bus.poll(limit, cursor=cursor, **options)
        events.extend(page.events)
        cursor = page.next_id
        if not page.has_more:
            return events, cursor
    raise AssertionError(f"poll still reported has_more=True after {max_pages} pages")


class Tail:
    """Follows a bus like a consumer: each `read()` returns what arrived since the last one."""

    def __init__(self, bus: net.Net):
        self.bus = bus
        self.cursor: str | None = None

    def read(self, limit: int = 1000, **options) -> list:
        events, self.cursor = drain(self.bus, limit, self.cursor, **options)
        return events

    def read_one(self):
        (event,) = self.read()
        return event


def raws(events) -> list[str]:
    return [event.raw for event in events]


def encode_cursor(positions: dict) -> str:
    """A cursor in the documented format: base64 of a JSON object {shard: position}."""
    return base64.b64encode(json.dumps(positions).encode()).decode()


def decode_cursor(cursor: str) -> dict:
    return json.loads(base64.b64decode(cursor, validate=True))


def shard_for(raw: str, num_shards: int) -> int:
    """The original's shard mapping: Lemire's multiply-shift of xxh3_64 over the raw bytes."""
    return (xxhash.xxh3_64_intdigest(raw.encode()) * num_shards) >> 64


def assert_exactly_once_in_shard_order(events, expected_raws, gapless: bool = True) -> None:
    """Every expected payload arrived exactly once, and each shard's events arrived in
    the shard's own order: increasing sequence ids, consecutive unless `gapless` is off
    (a filter leaves gaps)."""
    keys = [(event.shard_id, event.id) for event in events]
    assert len(set(keys)) == len(keys), "an event was delivered twice"
    assert sorted(raws(events)) == sorted(expected_raws)
    ids_by_shard = defaultdict(list)
    for event in events:
        ids_by_shard[event.shard_id].append(int(event.id))
    for shard, ids in ids_by_shard.items():
        assert ids == sorted(set(ids)), f"shard {shard} delivered out of order"
        if gapless:
            assert ids == list(range(ids[0], ids[0] + len(ids))), f"shard {shard} skipped an event"
