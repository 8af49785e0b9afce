"""Shared fixtures and helpers for the event bus and mesh tests.

Helpers that tests call directly (``drain``, ``Tail``, ...) are imported with
``from conftest import ...``; fixtures are found by pytest as usual.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: broker_servers
from broker_servers import NatsServer, RedisServer

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
def redis_server():
    """A redis-server of the test's own (append-only file on), removed afterwards."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def nats_server():
    """A nats-server with JetStream of the test's own, removed afterwards."""
    with NatsServer() as server:
        yield server


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


def check_broker_poll(bus: net.Net, sent: list[str], limit: int, id_pattern: str) -> list:
    """The poll contract of a Net whose broker holds exactly `sent` (among them '{"n": 2}'):
    paging delivers each event once with the backend's ids, an exhausted cursor stays where it
    is, a merge by insertion_ts is in time order, a filter finds its one event. Returns the
    events of the paging."""
    events, cursor = drain(bus, limit=limit)
    assert sorted(e.raw for e in events) == sorted(sent)
    assert all(re.fullmatch(id_pattern, e.id) for e in events)
    again = bus.poll(limit, cursor=cursor)
    assert again.events == [] and not again.has_more and again.next_id == cursor
    stamps = [e.insertion_ts for e in bus.poll(len(sent), ordering="insertion_ts").events]
    assert len(stamps) == len(sent) and stamps == sorted(stamps)
    found, _ = drain(bus, limit=limit // 3 + 1, filter='{"$eq": {"path": "n", "value": 2}}')
    assert [e.raw for e in found] == [json.dumps({"n": 2})]
    return events


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


# --- NetMesh helpers (test_mesh_*.py) -------------------------------------------------------

MESH_SHUT_DOWN = "MeshNode has been shut down"
LOOPBACK_ANY_PORT = "127.0.0.1:0"
_MESH_REPR = re.compile(r"NetMesh\(addr=(?P<addr>[^,]+), peers=\d+, nodes=\d+\)")


def fresh_psk() -> str:
    return os.urandom(32).hex()


def mesh_address(mesh: net.NetMesh) -> str:
    """The bound `ip:port`, read from the repr (NetMesh has no `addr` property)."""
    match = _MESH_REPR.fullmatch(repr(mesh))
    assert match, f"unexpected repr {mesh!r}"
    return match["addr"]


def wait_until(condition, timeout: float = 2.0, what: str = "condition"):
    """Calls `condition()` until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s (last value {value!r})")
        time.sleep(0.005)


def poll_until(mesh: net.NetMesh, count: int, timeout: float = 2.0) -> list:
    """Polls `mesh` until `count` events arrived; fails on a timeout or on extra events."""
    events: list = []
    deadline = time.monotonic() + timeout
    while len(events) < count:
        events.extend(mesh.poll(1000))
        if len(events) < count and time.monotonic() > deadline:
            raise AssertionError(f"got {len(events)} of {count} events within {timeout} s")
        time.sleep(0.002)
    assert len(events) == count, f"expected {count} events, got {len(events)}"
    return events


def handshake(initiator: net.NetMesh, responder: net.NetMesh, timeout: float = 30.0) -> str:
    """`responder.accept()` in a thread while `initiator.connect()` runs on this thread.

    Returns what `accept` returned (the initiator's `ip:port`). Only works if both calls
    release the GIL. Either call may come first (a msg1 that arrives before accept() is kept
    for it: test_mesh_api.py::test_a_msg1_sent_before_accept_is_not_lost)."""
    outcome: dict = {}

    def accept() -> None:
        try:
            outcome["addr"] = responder.accept(initiator.node_id)
        except BaseException as error:  # noqa: BLE001 -- re-raised on the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        initiator.connect(mesh_address(responder), responder.public_key, responder.node_id)
    finally:
        thread.join(timeout)
    assert not thread.is_alive(), "accept() did not return"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addr"]


@pytest.fixture
def psk() -> str:
    """A fresh pre-shared key per test, so meshes of different tests never talk."""
    return fresh_psk()


@pytest.fixture
def make_mesh(psk):
    """Builds `NetMesh`es on 127.0.0.1 (ephemeral port, the test's PSK unless given) that are
    shut down when the test ends."""
    meshes = []

    def make(bind_addr: str = LOOPBACK_ANY_PORT, key: str | None = None, **kwargs) -> net.NetMesh:
        mesh = net.NetMesh(bind_addr, key or psk, **kwargs)
        meshes.append(mesh)
        return mesh

    yield make
    for mesh in meshes:
        mesh.shutdown()


@pytest.fixture
def make_pair(make_mesh):
    """Two meshes with a session between them: `make_pair(start=True, **kwargs) -> (a, b)`,
    `a` the initiator. With `start=False` neither receive loop runs yet."""

    def make(start: bool = True, **kwargs) -> tuple[net.NetMesh, net.NetMesh]:
        initiator, responder = make_mesh(**kwargs), make_mesh(**kwargs)
        handshake(initiator, responder)
        if start:
            initiator.start()
            responder.start()
        return initiator, responder

    return make


@pytest.fixture
def pair(make_pair) -> tuple[net.NetMesh, net.NetMesh]:
    """Two started meshes with a session between them."""
    return make_pair()


class Gate:
    """A UDP forwarder on 127.0.0.1 between two meshes that can hold back the packets going
    to `near` (e.g. credit grants) until `release()`: it makes "the grant has not arrived yet"
    deterministic; and can lose what `near` sends (`drop`). `near` talks to the gate's `address`
    as if it were `far`."""

    def __init__(self, near: str, far: str):
        self.near, self.far = _socket_address(near), _socket_address(far)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.01)
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.lock = threading.Lock()
        self.holding = False
        self.dropping = False
        self.held: list[bytes] = []
        self.from_near: list[bytes] = []  # everything `near` sent, as a capture
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._forward, daemon=True)
        self.thread.start()

    def _forward(self) -> None:
        while not self.closed.is_set():
            try:
                datagram, source = self.socket.recvfrom(65536)
                with self.lock:
                    if source == self.near:
                        self.from_near.append(datagram)
                    if source == self.near and not self.dropping:
                        self.socket.sendto(datagram, self.far)
                    elif source == self.near:
                        pass  # lost on the way
                    elif source == self.far and self.holding:
                        self.held.append(datagram)
                    elif source == self.far:
                        self.socket.sendto(datagram, self.near)
            except OSError:  # includes the receive timeout
                continue

    def hold(self) -> None:
        with self.lock:
            self.holding = True

    def release(self) -> None:
        with self.lock:
            self.holding = False
            for datagram in self.held:
                self.socket.sendto(datagram, self.near)
            self.held.clear()

    def inject(self, datagram: bytes, to_far: bool = False) -> None:
        """Sends `datagram` to `near` as if `far` had sent it (or to `far`, as if from `near`)."""
        with self.lock:
            self.socket.sendto(datagram, self.far if to_far else self.near)

    def drop(self, dropping: bool) -> None:
        """Loses (or stops losing) everything `near` sends."""
        with self.lock:
            self.dropping = dropping

    def held_count(self) -> int:
        with self.lock:
            return len(self.held)

    def close(self) -> None:
        self.closed.set()
        self.thread.join(1)
        self.socket.close()


def _socket_address(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


@pytest.fixture
def gated_pair(make_mesh):
    """`(a, b, gate)`: two started meshes whose session runs through a `Gate`, so the test can
    hold back everything `b` sends to `a` (credit grants included)."""
    gates = []

    def make(**kwargs) -> tuple[net.NetMesh, net.NetMesh, Gate]:
        a, b = make_mesh(**kwargs), make_mesh(**kwargs)
        gate = Gate(mesh_address(a), mesh_address(b))
        gates.append(gate)
        outcome: dict = {}
        thread = threading.Thread(
            target=lambda: outcome.setdefault("addr", b.accept(a.node_id)), daemon=True
        )
        thread.start()
        time.sleep(0.02)  # let accept() listen first (see `handshake`)
        a.connect(gate.address, b.public_key, b.node_id)
        thread.join(10)
        assert outcome["addr"] == gate.address
        a.start()
        b.start()
        return a, b, gate

    yield make
    for gate in gates:
        gate.close()


# Blocking calls under a time limit: a call that hangs fails its test instead of the suite.


def within(timeout: float, function, *args):
    """`function(*args)` on a thread: its result, or its exception re-raised here; a call that
    does not return within `timeout` seconds fails the test instead of hanging it."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # noqa: BLE001 -- re-raised on the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        name = getattr(function, "__name__", repr(function))
        raise AssertionError(f"{name}{args!r} did not return within {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def take_until(iterator, done, timeout: float, failure) -> list:
    """Items of `iterator`, read with `next` on a thread until `done(items)` holds; an exception of
    `next`, StopIteration included, is re-raised here. After `timeout` the iterator is closed and
    the test fails with `failure(items)`."""
    items: list = []
    errors: list = []

    def read() -> None:
        try:
            while not done(items):
                items.append(next(iterator))
        except BaseException as error:  # noqa: BLE001 -- re-raised on the test's thread
            errors.append(error)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        iterator.close()
        thread.join(2)
        raise AssertionError(failure(items))
    if errors:
        raise errors[0]
    return items


def take(iterator, count: int, timeout: float = 10.0) -> list:
    """The next `count` items of `iterator` (see take_until)."""
    return take_until(
        iterator,
        lambda items: len(items) == count,
        timeout,
        lambda items: f"the iterator delivered {len(items)} of {count} items in {timeout} s",
    )


def take_one(iterator, timeout: float = 10.0) -> list:
    return take(iterator, 1, timeout)[0]


def assert_ends(iterator, timeout: float = 5.0) -> None:
    """`next(iterator)` raises StopIteration within `timeout`."""
    with pytest.raises(StopIteration):
        take(iterator, 1, timeout)
