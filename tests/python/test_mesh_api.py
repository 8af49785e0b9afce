"""NetMesh (API.md §4.1, §4.3, §4.4, §4.9; REFERENCE.md §3): construction, identity,
handshakes, push_to/poll, routing through a relay, failure detection and shutdown, all on
real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import _thread
import re
import resource
import socket
import struct
import threading
import time

import net
import pytest
from conftest import (
    LOOPBACK_ANY_PORT,
    MESH_SHUT_DOWN,
    fresh_psk,
    handshake,
    mesh_address,
    poll_until,
    raws,
    wait_until,
)

HEX64 = re.compile(r"[0-9a-f]{64}")
U64_KWARGS = ["heartbeat_interval_ms", "session_timeout_ms", "capability_gc_interval_ms"]
# Appendix A: identities of two fixed seeds.
SEED_VECTORS = [
    (
        bytes(32),
        "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
        0x2A22743FEE3E433D,
    ),
    (
        bytes(range(32)),
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
        0xBD826A5D0A6394F5,
    ),
]


def port_of(address: str) -> int:
    host, port = address.rsplit(":", 1)
    assert host == "127.0.0.1"
    return int(port)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- constructor ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bind_addr", ["nope", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:-1", "", ":0", "localhost:0"]
)
def test_bad_bind_addr_is_a_value_error(bind_addr):
    with pytest.raises(ValueError) as info:
        net.NetMesh(bind_addr, fresh_psk())
    assert type(info.value) is ValueError
    assert str(info.value).startswith("invalid address: ")
    assert len(str(info.value)) > len("invalid address: ")


@pytest.mark.parametrize("psk", ["zz" * 32, "g" + "0" * 63, "abc", " " + "0" * 63])
def test_psk_that_is_not_hex(psk):
    with pytest.raises(ValueError) as info:
        net.NetMesh(LOOPBACK_ANY_PORT, psk)
    assert str(info.value).startswith("invalid PSK hex: ")
    assert len(str(info.value)) > len("invalid PSK hex: ")


@pytest.mark.parametrize("psk", ["", "00", "ab" * 31, "ab" * 33, "00" * 64])
def test_psk_of_the_wrong_length(psk):
    with pytest.raises(ValueError) as info:
        net.NetMesh(LOOPBACK_ANY_PORT, psk)
    assert info.value.args == ("PSK must be 32 bytes (64 hex chars)",)


def test_psk_hex_is_case_insensitive(make_mesh):
    assert isinstance(make_mesh(key=fresh_psk().upper()), net.NetMesh)


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_identity_seed_of_the_wrong_length(length):
    with pytest.raises(ValueError) as info:
        net.NetMesh(LOOPBACK_ANY_PORT, fresh_psk(), identity_seed=bytes(length))
    assert info.value.args == (f"identity_seed must be 32 bytes, got {length}",)


@pytest.mark.parametrize(
    "seed", [bytearray(32), memoryview(bytes(32)), "a" * 32, list(range(32))], ids=type
)
def test_identity_seed_must_be_bytes(seed):
    with pytest.raises(TypeError):
        net.NetMesh(LOOPBACK_ANY_PORT, fresh_psk(), identity_seed=seed)


@pytest.mark.parametrize("seed,entity_id,node_id", SEED_VECTORS)
def test_identity_seed_fixes_entity_and_node_id_but_not_the_noise_key(
    make_mesh, seed, entity_id, node_id
):
    first, second = make_mesh(identity_seed=seed), make_mesh(identity_seed=seed)
    for mesh in (first, second):
        assert mesh.entity_id.hex() == entity_id
        assert mesh.node_id == node_id
    assert first.public_key != second.public_key


def test_without_a_seed_every_mesh_gets_a_fresh_identity(make_mesh):
    first, second = make_mesh(), make_mesh()
    assert first.entity_id != second.entity_id
    assert first.node_id != second.node_id
    assert first.public_key != second.public_key


@pytest.mark.parametrize("value", [-1, 2**64])
@pytest.mark.parametrize("kwarg", U64_KWARGS)
def test_out_of_range_u64_arguments_overflow(kwarg, value):
    with pytest.raises(OverflowError):
        net.NetMesh(LOOPBACK_ANY_PORT, fresh_psk(), **{kwarg: value})


@pytest.mark.parametrize("value", [-1, 65536])
def test_out_of_range_num_shards_overflows(value):
    with pytest.raises(OverflowError):
        net.NetMesh(LOOPBACK_ANY_PORT, fresh_psk(), num_shards=value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bind_addr": b"127.0.0.1:0"},
        {"bind_addr": None},
        {"psk": b"00" * 32},
        {"psk": None},
        {"num_shards": "4"},
        {"num_shards": 4.0},
        {"heartbeat_interval_ms": "50"},
        {"session_timeout_ms": 1.5},
        {"capability_gc_interval_ms": [1]},
        {"require_signed_capabilities": 1},
        {"require_signed_capabilities": "yes"},
        {"no_such_option": 1},
    ],
    ids=lambda kwargs: "-".join(f"{k}={v!r}" for k, v in kwargs.items()),
)
def test_wrong_argument_types_are_type_errors(kwargs):
    arguments = {"bind_addr": LOOPBACK_ANY_PORT, "psk": fresh_psk(), **kwargs}
    with pytest.raises(TypeError):
        net.NetMesh(**arguments)


def test_psk_is_required():
    with pytest.raises(TypeError):
        net.NetMesh(LOOPBACK_ANY_PORT)


def test_every_parameter_by_keyword(psk):
    with net.NetMesh(
        bind_addr=LOOPBACK_ANY_PORT,
        psk=psk,
        heartbeat_interval_ms=100,
        session_timeout_ms=1000,
        num_shards=2,
        identity_seed=SEED_VECTORS[0][0],
        capability_gc_interval_ms=1000,
        require_signed_capabilities=False,
    ) as mesh:
        assert mesh.node_id == SEED_VECTORS[0][2]
        assert mesh.peer_count() == 0


def test_parameters_are_positional_in_the_documented_order(psk):
    seed, _, node_id = SEED_VECTORS[1]
    with net.NetMesh(LOOPBACK_ANY_PORT, psk, 100, 1000, 2, seed, 1000, False) as mesh:
        assert mesh.node_id == node_id


def test_port_zero_binds_an_ephemeral_port(make_mesh):
    port = port_of(mesh_address(make_mesh()))
    assert 0 < port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, pytest.raises(OSError):
        probe.bind(("127.0.0.1", port))


def test_an_explicit_port_is_used(make_mesh):
    port = free_udp_port()
    assert mesh_address(make_mesh(f"127.0.0.1:{port}")) == f"127.0.0.1:{port}"


def test_a_port_in_use_is_a_runtime_error(make_mesh, psk):
    taken = mesh_address(make_mesh())
    with pytest.raises(RuntimeError) as info:
        net.NetMesh(taken, psk)
    assert str(info.value).startswith("MeshNode: ")


# --- properties and repr ----------------------------------------------------------------------


def test_identity_properties(make_mesh):
    mesh = make_mesh()
    assert isinstance(mesh.public_key, str) and HEX64.fullmatch(mesh.public_key)
    assert type(mesh.entity_id) is bytes and len(mesh.entity_id) == 32
    assert type(mesh.node_id) is int and 0 <= mesh.node_id < 2**64
    assert mesh.public_key == mesh.public_key
    for name in ("public_key", "entity_id", "node_id"):
        with pytest.raises(AttributeError):
            setattr(mesh, name, getattr(mesh, name))


def test_repr_of_a_fresh_mesh(make_mesh):
    mesh = make_mesh()
    assert re.fullmatch(r"NetMesh\(addr=127\.0\.0\.1:\d+, peers=0, nodes=0\)", repr(mesh))
    assert mesh.peer_count() == 0
    assert mesh.discovered_nodes() == 0


def test_repr_counts_peers_and_discovered_nodes(make_pair):
    a, b = make_pair(heartbeat_interval_ms=50)
    assert re.fullmatch(rf"NetMesh\(addr={mesh_address(a)}, peers=1, nodes=[01]\)", repr(a))
    wait_until(lambda: a.discovered_nodes() == 1 and b.discovered_nodes() == 1, what="pingwaves")
    assert repr(a) == f"NetMesh(addr={mesh_address(a)}, peers=1, nodes=1)"
    assert repr(b) == f"NetMesh(addr={mesh_address(b)}, peers=1, nodes=1)"


# --- shutdown and the context manager ---------------------------------------------------------

ANY_KEY = "ab" * 32
CALLS_AFTER_SHUTDOWN = {
    "public_key": lambda m, peer, stream, addr: m.public_key,
    "entity_id": lambda m, peer, stream, addr: m.entity_id,
    "node_id": lambda m, peer, stream, addr: m.node_id,
    "connect": lambda m, peer, stream, addr: m.connect(addr, ANY_KEY, peer),
    "connect_via": lambda m, peer, stream, addr: m.connect_via(addr, ANY_KEY, peer),
    "accept": lambda m, peer, stream, addr: m.accept(peer),
    "start": lambda m, peer, stream, addr: m.start(),
    "push_to": lambda m, peer, stream, addr: m.push_to(addr, "{}"),
    "poll": lambda m, peer, stream, addr: m.poll(10),
    "add_route": lambda m, peer, stream, addr: m.add_route(peer, addr),
    "peer_count": lambda m, peer, stream, addr: m.peer_count(),
    "discovered_nodes": lambda m, peer, stream, addr: m.discovered_nodes(),
    "open_stream": lambda m, peer, stream, addr: m.open_stream(peer, 2),
    "close_stream": lambda m, peer, stream, addr: m.close_stream(peer, 1),
    "send_on_stream": lambda m, peer, stream, addr: m.send_on_stream(stream, [b"x"]),
    "send_with_retry": lambda m, peer, stream, addr: m.send_with_retry(stream, [b"x"]),
    "send_blocking": lambda m, peer, stream, addr: m.send_blocking(stream, [b"x"]),
    "stream_stats": lambda m, peer, stream, addr: m.stream_stats(peer, 1),
}


@pytest.mark.parametrize("call", CALLS_AFTER_SHUTDOWN.values(), ids=CALLS_AFTER_SHUTDOWN.keys())
def test_every_method_and_property_raises_after_shutdown(pair, call):
    a, b = pair
    stream = a.open_stream(b.node_id, 1)
    a.shutdown()
    with pytest.raises(RuntimeError) as info:
        call(a, b.node_id, stream, mesh_address(b))
    assert type(info.value) is RuntimeError
    assert info.value.args == (MESH_SHUT_DOWN,)


def test_shutdown_is_idempotent(make_mesh):
    mesh = make_mesh()
    assert mesh.shutdown() is None
    assert mesh.shutdown() is None
    assert repr(mesh) == "NetMesh(shutdown)"


def test_shutdown_releases_the_port(psk):
    mesh = net.NetMesh(LOOPBACK_ANY_PORT, psk)
    address = mesh_address(mesh)
    mesh.start()
    mesh.shutdown()
    again = net.NetMesh(address, psk)
    assert mesh_address(again) == address
    again.shutdown()


def test_context_manager_returns_the_mesh_and_shuts_it_down(psk):
    with net.NetMesh(LOOPBACK_ANY_PORT, psk) as mesh:
        assert isinstance(mesh, net.NetMesh)
        assert mesh.peer_count() == 0
    assert repr(mesh) == "NetMesh(shutdown)"
    with pytest.raises(RuntimeError, match=f"^{MESH_SHUT_DOWN}$"):
        mesh.peer_count()


def test_context_manager_does_not_swallow_exceptions(psk):
    with pytest.raises(KeyError, match="boom"), net.NetMesh(LOOPBACK_ANY_PORT, psk) as mesh:
        raise KeyError("boom")
    assert repr(mesh) == "NetMesh(shutdown)"


def test_exit_requires_all_three_arguments_and_returns_false(make_mesh):
    mesh = make_mesh()
    assert mesh.__enter__() is mesh
    with pytest.raises(TypeError):
        mesh.__exit__()
    with pytest.raises(TypeError):
        mesh.__exit__(None, None)
    assert repr(mesh) != "NetMesh(shutdown)"
    error = ValueError("x")
    assert mesh.__exit__(ValueError, error, error.__traceback__) is False
    assert repr(mesh) == "NetMesh(shutdown)"
    assert mesh.__exit__(None, None, None) is False


# --- handshake --------------------------------------------------------------------------------


def test_accept_in_a_thread_and_connect_on_the_main_thread(make_mesh):
    """`accept` blocks in a thread while `connect` runs here: only possible if both release
    the GIL. `accept` returns the initiator's address."""
    initiator, responder = make_mesh(), make_mesh()
    assert handshake(initiator, responder) == mesh_address(initiator)
    assert initiator.peer_count() == 1
    assert responder.peer_count() == 1


def test_python_threads_run_while_accept_blocks(make_mesh):
    initiator, responder = make_mesh(), make_mesh()
    ticks = []
    accepted = threading.Event()

    def accept() -> None:
        responder.accept(initiator.node_id)
        accepted.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    counter = threading.Thread(target=lambda: ticks.extend(range(1000)), daemon=True)
    counter.start()
    counter.join(2)
    assert len(ticks) == 1000 and not accepted.is_set()
    initiator.connect(mesh_address(responder), responder.public_key, responder.node_id)
    assert accepted.wait(5)
    thread.join(5)


def test_a_msg1_sent_before_accept_is_not_lost(make_mesh):
    outcome = connect_then_accept_late(make_mesh(), make_mesh())
    assert outcome["connect"] is True
    assert outcome["accept"] == outcome["initiator"]


def connect_then_accept_late(initiator: net.NetMesh, responder: net.NetMesh) -> dict:
    """`connect` first, `accept` 0.2 s later; waits up to 1.5 s for both. Returns plain data
    only, so a failing assertion does not keep the meshes alive in its traceback."""
    outcome: dict = {"initiator": mesh_address(initiator)}

    def connect() -> None:
        try:
            initiator.connect(mesh_address(responder), responder.public_key, responder.node_id)
            outcome["connect"] = True
        except RuntimeError as error:  # the test's teardown shuts the mesh down
            outcome["connect"] = error

    def accept() -> None:
        try:
            outcome["accept"] = responder.accept(initiator.node_id)
        except RuntimeError as error:
            outcome["accept"] = error

    connecting = threading.Thread(target=connect, daemon=True)
    connecting.start()
    # Nothing to poll for: give msg1 time to land in the responder's socket, unanswered.
    time.sleep(0.2)
    accepting = threading.Thread(target=accept, daemon=True)
    accepting.start()
    accepting.join(1.5)
    connecting.join(0.1)
    return outcome


def test_connect_works_after_start(make_mesh):
    initiator, responder = make_mesh(), make_mesh()
    initiator.start()
    assert initiator.start() is None  # idempotent
    assert handshake(initiator, responder) == mesh_address(initiator)
    responder.start()
    assert initiator.push_to(mesh_address(responder), '{"after": "start"}') is True
    assert [event.raw for event in poll_until(responder, 1)] == ['{"after": "start"}']


def test_accept_after_start_is_a_runtime_error(make_mesh):
    mesh = make_mesh()
    mesh.start()
    with pytest.raises(RuntimeError) as info:
        mesh.accept(12345)
    assert str(info.value).startswith("accept: fatal error: Mesh::accept called after start()")


@pytest.mark.parametrize(
    "address,key,message",
    [
        ("127.0.0.1:9", "zz" * 32, "invalid hex: "),
        ("127.0.0.1:9", "abc", "invalid hex: "),
        ("127.0.0.1:9", "ab" * 31, "public key must be 32 bytes"),
        ("127.0.0.1:9", "ab" * 33, "public key must be 32 bytes"),
        ("127.0.0.1:9", "", "public key must be 32 bytes"),
        ("nope", "ab" * 32, "invalid address: "),
        ("127.0.0.1", "ab" * 32, "invalid address: "),
    ],
)
def test_connect_argument_errors(make_mesh, address, key, message):
    mesh = make_mesh()
    with pytest.raises(ValueError) as info:
        mesh.connect(address, key, 1)
    if message.endswith(": "):
        assert str(info.value).startswith(message)
        assert len(str(info.value)) > len(message)
    else:
        assert info.value.args == (message,)
    assert mesh.peer_count() == 0


def test_connect_node_id_out_of_range(make_mesh):
    mesh = make_mesh()
    for node_id in (-1, 2**64):
        with pytest.raises(OverflowError):
            mesh.connect("127.0.0.1:9", "ab" * 32, node_id)
    with pytest.raises(OverflowError):
        mesh.accept(-1)


def test_a_wrong_psk_times_out_and_leaves_no_session(make_mesh):
    """Takes ~15 s: three handshake attempts of 5 s each."""
    initiator, responder = make_mesh(key=fresh_psk()), make_mesh(key=fresh_psk())
    outcome: dict = {}

    def accept() -> None:
        try:
            outcome["addr"] = responder.accept(initiator.node_id)
        except RuntimeError as error:
            outcome["error"] = error

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    with pytest.raises(RuntimeError) as info:
        initiator.connect(mesh_address(responder), responder.public_key, responder.node_id)
    assert type(info.value) is RuntimeError
    assert info.value.args == ("connect: connection error: handshake timeout",)
    thread.join(30)
    assert "addr" not in outcome
    assert str(outcome["error"]).startswith("accept: ")
    assert initiator.peer_count() == 0
    assert responder.peer_count() == 0
    with pytest.raises(RuntimeError, match="^send: connection error: unknown peer$"):
        initiator.push_to(mesh_address(responder), "{}")


# --- push_to / poll ---------------------------------------------------------------------------


def test_push_to_and_poll_both_directions(make_mesh):
    a, b = make_mesh(), make_mesh()
    a_seen_by_b = handshake(a, b)
    a.start()
    b.start()
    assert a.push_to(mesh_address(b), '{"from": "a"}') is True
    assert b.push_to(a_seen_by_b, '{"from": "b"}') is True
    (at_b,) = poll_until(b, 1)
    (at_a,) = poll_until(a, 1)
    assert at_b.raw == '{"from": "a"}' and at_b.parse() == {"from": "a"}
    assert at_a.raw == '{"from": "b"}'


def test_poll_returns_a_plain_list_of_stored_events(pair):
    a, b = pair
    assert type(b.poll(10)) is list
    payloads = [f'{{"i": {i}}}' for i in range(3)]
    for payload in payloads:
        a.push_to(mesh_address(b), payload)
    events = poll_until(b, 3)
    assert all(type(event) is net.StoredEvent for event in events)
    assert [event.raw for event in events] == payloads
    assert [event.id for event in events] == ["0:0", "1:0", "2:0"]
    assert [event.insertion_ts for event in events] == [0, 1, 2]
    assert {event.shard_id for event in events} == {0}
    assert repr(events[1]) == "StoredEvent(id='1:0', shard_id=0, insertion_ts=1)"
    assert b.poll(10) == []


def test_poll_limit(pair):
    a, b = pair
    for i in range(5):
        a.push_to(mesh_address(b), f'{{"i": {i}}}')

    def received() -> bool:  # the receiver counts arrivals on stream 0 before anyone polls
        stats = b.stream_stats(a.node_id, 0)
        return stats is not None and stats.rx_seq == 5

    wait_until(received, what="five arrivals")
    assert b.poll(0) == []
    pages = [b.poll(2), b.poll(2), b.poll(2), b.poll(2)]
    assert [len(page) for page in pages] == [2, 2, 1, 0]
    assert [event.raw for page in pages for event in page] == [f'{{"i": {i}}}' for i in range(5)]
    with pytest.raises(OverflowError):
        b.poll(-1)


def test_poll_drains_every_inbound_shard(pair):
    """[WE DIFFER] The original only returns shard 0 (streams that are multiples of 4)."""
    a, b = pair
    for stream_id in range(1, 8):
        a.send_on_stream(a.open_stream(b.node_id, stream_id), [f"stream {stream_id}".encode()])
    a.push_to(mesh_address(b), "stream 0")
    events = poll_until(b, 8)
    by_raw = {event.raw: event for event in events}
    assert sorted(by_raw) == [f"stream {i}" for i in range(8)]
    for stream_id in range(8):
        event = by_raw[f"stream {stream_id}"]
        assert event.shard_id == stream_id % 4
        assert event.id == "0:0"


def test_events_land_in_stream_id_modulo_num_shards(make_pair):
    a, b = make_pair(num_shards=3)
    for stream_id in (3, 4, 5, 1000):
        a.send_on_stream(a.open_stream(b.node_id, stream_id), [str(stream_id).encode()])
    events = poll_until(b, 4)
    assert {event.raw: event.shard_id for event in events} == {"3": 0, "4": 1, "5": 2, "1000": 1}


def test_push_to_keeps_unicode_and_large_payloads(pair):
    """[WE DIFFER] Events larger than one packet are fragmented (the original loses them)."""
    a, b = pair
    small = '{"text": "日本 😀"}'
    large = '{"pad": "' + "x" * 1_000_000 + '"}'
    a.push_to(mesh_address(b), small)
    a.push_to(mesh_address(b), large)
    events = poll_until(b, 2)
    assert [event.raw for event in events] == [small, large]


def test_push_to_an_unknown_peer(pair):
    a, _ = pair
    with pytest.raises(RuntimeError) as info:
        a.push_to("127.0.0.1:9", "{}")
    assert type(info.value) is RuntimeError
    assert info.value.args == ("send: connection error: unknown peer",)


def test_push_to_a_bad_address_or_payload(pair):
    a, b = pair
    with pytest.raises(ValueError, match="^invalid address: "):
        a.push_to("nope", "{}")
    with pytest.raises(TypeError):
        a.push_to(mesh_address(b), b"{}")


def test_add_route(make_mesh):
    mesh = make_mesh()
    assert mesh.add_route(0xDEADBEEF, "127.0.0.1:9") is None
    with pytest.raises(ValueError, match="^invalid address: "):
        mesh.add_route(1, "nope")
    with pytest.raises(OverflowError):
        mesh.add_route(-1, "127.0.0.1:9")


# --- three nodes: relayed handshake -----------------------------------------------------------


def test_connect_via_a_relay_then_streams_flow_both_ways(make_mesh):
    """[WE DIFFER] After a relayed handshake the original only carries initiator → responder."""
    relay = make_mesh(heartbeat_interval_ms=50)
    left, right = make_mesh(heartbeat_interval_ms=50), make_mesh(heartbeat_interval_ms=50)
    handshake(left, relay)
    handshake(right, relay)
    for mesh in (relay, left, right):
        mesh.start()
    wait_until(
        lambda: left.discovered_nodes() == 2 and right.discovered_nodes() == 2,
        what="pingwaves through the relay",
    )
    assert left.connect_via(mesh_address(relay), right.public_key, right.node_id) is None
    assert left.peer_count() == 2
    wait_until(lambda: right.peer_count() == 2, what="the responder's new session")

    to_right = left.open_stream(right.node_id, 7, reliability="reliable")
    to_left = right.open_stream(left.node_id, 7, reliability="reliable")
    left.send_on_stream(to_right, [b"left to right"])
    right.send_on_stream(to_left, [b"right to left"])
    assert [event.raw for event in poll_until(right, 1)] == ["left to right"]
    assert [event.raw for event in poll_until(left, 1)] == ["right to left"]
    # Credit grants come back through the relay in both directions.
    wait_until(lambda: left.stream_stats(right.node_id, 7).credit_grants_received >= 1)
    wait_until(lambda: right.stream_stats(left.node_id, 7).credit_grants_received >= 1)
    assert relay.poll(100) == []


def test_connect_via_argument_errors(make_mesh):
    mesh = make_mesh()
    with pytest.raises(ValueError, match="^invalid address: "):
        mesh.connect_via("nope", "ab" * 32, 1)
    with pytest.raises(ValueError, match="^invalid hex: "):
        mesh.connect_via("127.0.0.1:9", "zz" * 32, 1)
    with pytest.raises(ValueError, match="^public key must be 32 bytes$"):
        mesh.connect_via("127.0.0.1:9", "ab" * 16, 1)


# --- failure detection ------------------------------------------------------------------------


def test_a_silent_peer_is_dropped(make_pair):
    a, b = make_pair(heartbeat_interval_ms=50, session_timeout_ms=200)
    wait_until(lambda: a.discovered_nodes() == 1, what="pingwaves")
    b.shutdown()
    wait_until(lambda: a.peer_count() == 0, timeout=5, what="failure detection")
    assert re.fullmatch(r"NetMesh\(addr=127\.0\.0\.1:\d+, peers=0, nodes=\d+\)", repr(a))


def test_heartbeats_keep_an_idle_session_alive(make_pair):
    a, b = make_pair(heartbeat_interval_ms=50, session_timeout_ms=200)
    quiet_until = time.monotonic() + 1.0  # five session timeouts with nothing but heartbeats
    while time.monotonic() < quiet_until:
        assert a.peer_count() == 1 and b.peer_count() == 1
        time.sleep(0.02)
    a.push_to(mesh_address(b), '{"still": "here"}')
    assert [event.raw for event in poll_until(b, 1)] == ['{"still": "here"}']


# -- subnet and subnet_policy validation (API.md §4.2) -------------------------------------------


@pytest.mark.parametrize(
    ("subnet", "error", "message"),
    [
        ([], net.IdentityError, "identity: subnet: levels must have at least one entry"),
        (
            [1, 2, 3, 4, 5],
            net.IdentityError,
            "identity: subnet: levels must have at most 4 entries, got 5",
        ),
        ([1, 256], net.IdentityError, "identity: subnet: level 1 value 256 exceeds u8 range"),
        ([-1], OverflowError, None),
        (["a"], TypeError, None),
    ],
)
def test_subnet_is_validated(psk, subnet, error, message):
    with pytest.raises(error) as raised:
        net.NetMesh("127.0.0.1:0", psk, subnet=subnet)
    if message is not None:
        assert str(raised.value) == message
        assert raised.value.args == (message,)


@pytest.mark.parametrize(
    ("policy", "error", "message"),
    [
        ({"rules": "x"}, TypeError, "subnet: 'rules' must be a list"),
        ({"rules": [1]}, TypeError, "subnet: each rule must be a dict"),
        (
            {"rules": [{"level": 0}]},
            net.IdentityError,
            "identity: subnet: rule missing 'tag_prefix'",
        ),
        (
            {"rules": [{"tag_prefix": "r:"}]},
            net.IdentityError,
            "identity: subnet: rule missing 'level'",
        ),
        (
            {"rules": [{"tag_prefix": "r:", "level": 300}]},
            net.IdentityError,
            "identity: subnet: rule level value 300 exceeds u8 range",
        ),
        (
            {"rules": [{"tag_prefix": "r:", "level": 4}]},
            net.IdentityError,
            "identity: subnet: rule level must be 0..=3, got 4",
        ),
        (
            {"rules": [{"tag_prefix": "r:", "level": 0, "values": [1]}]},
            TypeError,
            "subnet: rule 'values' must be a dict",
        ),
        (
            {"rules": [{"tag_prefix": "r:", "level": 0, "values": {"eu": 256}}]},
            net.IdentityError,
            "identity: subnet: rule value for eu value 256 exceeds u8 range",
        ),
        (
            {"rules": [{"tag_prefix": "r:", "level": 0, "values": {"eu": 0}}]},
            net.IdentityError,
            'identity: subnet: rule value for "eu" must be in 1..=255 (0 is reserved)',
        ),
    ],
)
def test_subnet_policy_is_validated(psk, policy, error, message):
    with pytest.raises(error) as raised:
        net.NetMesh("127.0.0.1:0", psk, subnet_policy=policy)
    assert str(raised.value) == message


def test_valid_subnet_and_policy_are_accepted(psk):
    policy = {
        "rules": [
            {"tag_prefix": "region:", "level": 0, "values": {"eu": 1}},
            {"tag_prefix": "z", "level": 1},
        ]
    }
    for options in (
        {"subnet": [3, 7]},
        {"subnet": (1, 2, 3, 4)},
        {"subnet_policy": policy},
        {"subnet_policy": {}},
        {"subnet_policy": {"rules": None}},
    ):
        net.NetMesh("127.0.0.1:0", psk, **options).shutdown()
    assert issubclass(net.IdentityError, Exception) and not issubclass(
        net.IdentityError, RuntimeError
    )


# -- poll(limit, timeout_ms) waits for the first event (ours) -------------------------------------


def test_poll_with_a_timeout_waits_for_the_first_event(pair):
    a, b = pair
    started = time.monotonic()
    assert b.poll(10, timeout_ms=50) == []
    assert 0.04 <= time.monotonic() - started < 1.0
    threading.Timer(0.05, lambda: a.push_to(mesh_address(b), "late")).start()
    started = time.monotonic()
    events = b.poll(10, timeout_ms=5000)
    assert [e.raw for e in events] == ["late"]
    assert time.monotonic() - started < 2.0
    started = time.monotonic()
    assert b.poll(0, timeout_ms=60_000) == []  # nothing to wait for
    assert time.monotonic() - started < 0.5
    with pytest.raises(TypeError):
        b.poll(10, timeout_ms="1")
    with pytest.raises(OverflowError):
        b.poll(10, timeout_ms=-1)


def test_poll_waiting_ends_at_ctrl_c(make_mesh):
    mesh = make_mesh()
    mesh.start()
    interrupter = threading.Timer(0.2, _thread.interrupt_main)
    interrupter.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        mesh.poll(10, timeout_ms=60_000)
    assert time.monotonic() - started < 2.0
    interrupter.join()


def cpu_seconds_while_idle(seconds: float) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(seconds)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def test_intervals_up_to_2_to_the_64_mean_a_long_time_not_a_busy_loop(make_mesh):
    # A u64 of milliseconds beyond the signed range once wrapped to a negative interval, and
    # the heartbeat timer then fired without pause.
    mesh = make_mesh(**{name: 2**64 - 1 for name in U64_KWARGS})
    mesh.start()
    assert cpu_seconds_while_idle(0.5) < 0.2


def resident_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


def test_handshakes_from_a_flood_of_sources_do_not_grow_memory(make_mesh):
    # Handshake packets are unauthenticated: each source's pacing window cost a map entry, kept
    # for good before start() and swept once a heartbeat after (about 100 B a source).
    mesh = make_mesh()
    host, port = mesh_address(mesh).rsplit(":", 1)
    header = bytearray(64)
    header[0:2], header[2], header[3] = b"\x45\x4e", 1, 0x10  # magic, version, handshake flag
    before = resident_kib()
    for _ in range(60_000):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as source:
            source.sendto(bytes(header), (host, int(port)))
    time.sleep(0.3)
    assert resident_kib() - before < 2_500


def test_pingwaves_of_made_up_origins_stop_at_the_cap(gated_pair):
    """Pingwaves are plaintext, accepted from a peer's address: each new origin once added
    routing and proximity entries without limit (50,000 injected: 17 MB)."""
    a, _, gate = gated_pair()
    wave = bytearray(72)
    for origin in range(1 << 24, (1 << 24) + 20_000):
        struct.pack_into("<Q", wave, 0, origin)
        struct.pack_into("<Q", wave, 32, 1)  # seq
        wave[40], wave[41] = 1, 0  # ttl 1 (not forwarded), hop count 0
        gate.inject(bytes(wave))
        if origin % 2000 == 0:
            time.sleep(0.01)  # within the socket's buffer
    wait_until(lambda: a.discovered_nodes() >= 16_384, what="the cap reached")
    time.sleep(0.2)
    assert a.discovered_nodes() <= 16_384 + 1  # + b itself


def test_an_old_msg1_replayed_does_not_replace_the_session(gated_pair):
    """A captured msg1 of an earlier handshake, sent again from the peer's address, once made
    the responder install keys the peer no longer has: the live session went dead."""
    a, b, gate = gated_pair()
    old_msg1 = next(d for d in gate.from_near if len(d) >= 64 and d[3] & 0x10)  # handshake flag
    a.connect(gate.address, b.public_key, b.node_id)  # a new handshake: a new session
    stream = a.open_stream(b.node_id, 1)
    a.send_on_stream(stream, [b"before"])
    assert raws(poll_until(b, 1)) == ["before"]
    gate.inject(old_msg1, to_far=True)
    time.sleep(0.2)
    a.send_on_stream(stream, [b"after"])
    assert raws(poll_until(b, 1)) == ["after"]


def test_max_datagram_is_validated():
    for bad in (575, 65508):
        with pytest.raises(
            ValueError, match=rf"^max_datagram must be between 576 and 65507, got {bad}$"
        ):
            net.NetMesh("127.0.0.1:0", "42" * 32, max_datagram=bad)
    with pytest.raises(TypeError):
        net.NetMesh("127.0.0.1:0", "42" * 32, max_datagram="1400")
    net.NetMesh("127.0.0.1:0", "42" * 32, max_datagram=1400).shutdown()
