"""NetMesh streams (API.md §4.5; REFERENCE.md §3.7): open/close, NetStream and NetStreamStats,
credit windows and grants, BackpressureError / NotConnectedError, payload types and large
(fragmented) events, over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import _thread
import threading
import time

import net
import pytest
from conftest import poll_until, raws, wait_until

WOULD_BLOCK = "stream would block (queue full)"
NOT_CONNECTED = "stream not connected"
DEFAULT_WINDOW = 65536
PACKET_OVERHEAD = 80  # 64-byte header + 16-byte AEAD tag
FRAME_OVERHEAD = 4  # u32 length before each event
STATS_FIELDS = {
    "tx_seq": int,
    "rx_seq": int,
    "inbound_pending": int,
    "last_activity_ns": int,
    "active": bool,
    "backpressure_events": int,
    "tx_credit_remaining": int,
    "tx_window": int,
    "credit_grants_received": int,
    "credit_grants_sent": int,
}


def cost(*events: bytes) -> int:
    """TX credit one packet carrying `events` consumes."""
    return sum(FRAME_OVERHEAD + len(event) for event in events) + PACKET_OVERHEAD


def text_payload(size: int, tag: str) -> bytes:
    """`size` bytes of text that is valid UTF-8 (StoredEvent.raw is "" otherwise) and unique."""
    body = (tag.encode() + b"-" + bytes(range(48, 58)) * (size // 10 + 1))[:size]
    assert len(body) == size
    return body


def assert_backpressure(error: BaseException) -> None:
    assert type(error) is net.BackpressureError
    assert error.args == (WOULD_BLOCK,)


def assert_not_connected(error: BaseException) -> None:
    assert type(error) is net.NotConnectedError
    assert error.args == (NOT_CONNECTED,)


# --- open_stream ------------------------------------------------------------------------------


def test_open_stream_returns_a_handle(pair):
    a, b = pair
    stream = a.open_stream(b.node_id, 0x2A)
    assert type(stream) is net.NetStream
    assert stream.peer_node_id == b.node_id
    assert stream.stream_id == 0x2A
    assert repr(stream) == f"NetStream(peer_node_id={b.node_id:#x}, stream_id=0x2a)"


def test_net_stream_is_read_only_and_not_constructible(pair):
    a, b = pair
    stream = a.open_stream(b.node_id, 1)
    with pytest.raises(TypeError):
        net.NetStream()
    for name in ("peer_node_id", "stream_id"):
        with pytest.raises(AttributeError):
            setattr(stream, name, 5)


def test_fresh_stream_stats(pair):
    a, b = pair
    a.open_stream(b.node_id, 1)
    stats = a.stream_stats(b.node_id, 1)
    assert type(stats) is net.NetStreamStats
    for name, kind in STATS_FIELDS.items():
        assert type(getattr(stats, name)) is kind, name
    assert stats.tx_seq == 0 and stats.rx_seq == 0
    assert stats.active is True
    assert stats.backpressure_events == 0
    assert stats.tx_window == DEFAULT_WINDOW
    assert stats.tx_credit_remaining == DEFAULT_WINDOW
    assert stats.credit_grants_received == 0 and stats.credit_grants_sent == 0
    with pytest.raises(AttributeError):
        stats.tx_seq = 1
    with pytest.raises(TypeError):
        net.NetStreamStats()


def test_open_stream_is_idempotent_and_the_first_settings_win(pair):
    a, b = pair
    first = a.open_stream(b.node_id, 3, window_bytes=1000)
    second = a.open_stream(b.node_id, 3, reliability="reliable", window_bytes=5000)
    assert (second.peer_node_id, second.stream_id) == (first.peer_node_id, first.stream_id)
    assert a.stream_stats(b.node_id, 3).tx_window == 1000
    a.send_on_stream(first, [b"via first"])
    wait_until(lambda: a.stream_stats(b.node_id, 3).tx_credit_remaining == 1000)
    a.send_on_stream(second, [b"via second"])
    assert raws(poll_until(b, 2)) == ["via first", "via second"]


@pytest.mark.parametrize("mode", [None, "fire_and_forget", "reliable"])
def test_reliability_modes(pair, mode):
    a, b = pair
    stream = a.open_stream(b.node_id, 4, reliability=mode)
    a.send_on_stream(stream, [b"one", b"two"])
    events = poll_until(b, 2)
    assert raws(events) == ["one", "two"]
    assert [event.id for event in events] == ["0:0", "0:1"]


@pytest.mark.parametrize("mode", ["x", "", "Reliable", "fire-and-forget", "none"])
def test_unknown_reliability_mode(pair, mode):
    a, b = pair
    with pytest.raises(ValueError) as info:
        a.open_stream(b.node_id, 1, reliability=mode)
    assert info.value.args == (
        f'unknown reliability mode "{mode}"; expected "fire_and_forget" or "reliable"',
    )
    assert a.stream_stats(b.node_id, 1) is None


def test_open_stream_to_an_unknown_peer(pair):
    a, _ = pair
    with pytest.raises(RuntimeError) as info:
        a.open_stream(0x7B, 1)
    assert type(info.value) is RuntimeError
    assert str(info.value).startswith(
        "open_stream: connection error: open_stream: no session for peer 0x"
    )
    assert "7b" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stream_id": -1},
        {"stream_id": 2**64},
        {"window_bytes": -1},
        {"window_bytes": 2**32},
        {"fairness_weight": -1},
        {"fairness_weight": 256},
    ],
    ids=lambda kwargs: "-".join(f"{k}={v}" for k, v in kwargs.items()),
)
def test_open_stream_integers_out_of_range(pair, kwargs):
    a, b = pair
    arguments = {"stream_id": 1, **kwargs}
    with pytest.raises(OverflowError):
        a.open_stream(b.node_id, **arguments)


def test_open_stream_with_the_largest_values(pair):
    a, b = pair
    stream = a.open_stream(b.node_id, 2**64 - 1 - 1, window_bytes=2**32 - 1, fairness_weight=255)
    assert a.stream_stats(b.node_id, stream.stream_id).tx_window == 2**32 - 1


# --- credit and backpressure ------------------------------------------------------------------


def test_credit_is_spent_refused_and_granted_back(gated_pair):
    """REFERENCE §3.7 example: window 1000, a 500-byte event costs 584."""
    a, b, gate = gated_pair()
    gate.hold()  # b's grants wait at the gate
    stream = a.open_stream(b.node_id, 1, window_bytes=1000)
    event = b"a" * 500
    a.send_on_stream(stream, [event])
    stats = a.stream_stats(b.node_id, 1)
    assert stats.tx_credit_remaining == 1000 - cost(event) == 416
    assert stats.tx_window == 1000
    assert stats.tx_seq == 1 and stats.backpressure_events == 0
    assert raws(poll_until(b, 1)) == ["a" * 500]
    wait_until(lambda: b.stream_stats(a.node_id, 1).credit_grants_sent >= 1)

    with pytest.raises(net.BackpressureError) as info:
        a.send_on_stream(stream, [b"b" * 500])
    assert_backpressure(info.value)
    stats = a.stream_stats(b.node_id, 1)
    assert stats.backpressure_events == 1
    assert stats.tx_credit_remaining == 416 and stats.tx_seq == 1
    assert stats.credit_grants_received == 0

    gate.release()
    wait_until(lambda: a.stream_stats(b.node_id, 1).tx_credit_remaining == 1000, what="grant")
    assert a.stream_stats(b.node_id, 1).credit_grants_received >= 1
    a.send_on_stream(stream, [b"b" * 500])
    assert raws(poll_until(b, 1)) == ["b" * 500]
    assert a.stream_stats(b.node_id, 1).backpressure_events == 1


def test_backpressure_error_is_an_exception_with_one_argument():
    assert issubclass(net.BackpressureError, Exception)
    assert issubclass(net.NotConnectedError, Exception)
    assert net.BackpressureError(WOULD_BLOCK).args == (WOULD_BLOCK,)


def test_a_batch_that_does_not_fit_sends_nothing(gated_pair):
    """[WE DIFFER] send_on_stream is all-or-nothing: the original kept the packets that fit."""
    a, b, gate = gated_pair()
    gate.hold()
    stream = a.open_stream(b.node_id, 1, window_bytes=20_000)
    a.send_on_stream(stream, [b"a" * 5000])
    assert a.stream_stats(b.node_id, 1).tx_credit_remaining == 20_000 - 5084 == 14_916
    batch = [b"x" * 8000, b"y" * 8000]  # two packets of 8084: the first would fit
    with pytest.raises(net.BackpressureError) as info:
        a.send_on_stream(stream, batch)
    assert_backpressure(info.value)
    stats = a.stream_stats(b.node_id, 1)
    assert (stats.tx_seq, stats.tx_credit_remaining, stats.backpressure_events) == (1, 14_916, 1)
    gate.release()
    wait_until(lambda: a.stream_stats(b.node_id, 1).tx_credit_remaining == 20_000)
    a.send_on_stream(stream, [b"marker"])
    assert raws(poll_until(b, 2)) == ["a" * 5000, "marker"]
    assert b.poll(10) == []


def test_a_batch_that_fits_is_sent(gated_pair):
    a, b, gate = gated_pair()
    gate.hold()
    stream = a.open_stream(b.node_id, 1, window_bytes=1000)
    batch = [b"x" * 400, b"y" * 400]
    a.send_on_stream(stream, batch)
    assert a.stream_stats(b.node_id, 1).tx_credit_remaining == 1000 - cost(*batch)
    assert raws(poll_until(b, 2)) == ["x" * 400, "y" * 400]


def test_send_with_retry_waits_for_the_grant(gated_pair):
    a, b, gate = gated_pair()
    gate.hold()
    stream = a.open_stream(b.node_id, 1, window_bytes=1000)
    a.send_on_stream(stream, [b"1" * 500])
    wait_until(lambda: gate.held_count() >= 1, what="the grant reaching the gate")
    with pytest.raises(net.BackpressureError):
        a.send_on_stream(stream, [b"2" * 500])
    # The grant is let through while send_with_retry sleeps between attempts (GIL released).
    releaser = threading.Timer(0.05, gate.release)
    releaser.start()
    assert a.send_with_retry(stream, [b"2" * 500]) is None
    releaser.join()
    assert raws(poll_until(b, 2)) == ["1" * 500, "2" * 500]
    assert a.stream_stats(b.node_id, 1).backpressure_events >= 2


def test_send_blocking_waits_for_the_grant(gated_pair):
    a, b, gate = gated_pair()
    gate.hold()
    stream = a.open_stream(b.node_id, 1, window_bytes=1000)
    a.send_on_stream(stream, [b"1" * 500])
    releaser = threading.Timer(0.05, gate.release)
    releaser.start()
    assert a.send_blocking(stream, [b"2" * 500]) is None
    releaser.join()
    assert raws(poll_until(b, 2)) == ["1" * 500, "2" * 500]
    assert a.stream_stats(b.node_id, 1).backpressure_events >= 1


def test_send_blocking_to_a_stalled_peer_ends_at_ctrl_c(gated_pair):
    a, b, gate = gated_pair()
    gate.hold()  # no grant comes back: send_blocking would wait 13 minutes
    stream = a.open_stream(b.node_id, 1, window_bytes=1000)
    a.send_on_stream(stream, [b"1" * 500])
    interrupter = threading.Timer(0.3, _thread.interrupt_main)
    interrupter.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        a.send_blocking(stream, [b"2" * 500])
    assert time.monotonic() - started < 2.0
    interrupter.join()
    assert a.stream_stats(b.node_id, 1).tx_seq == 1


def test_credit_of_a_lost_packet_comes_back(gated_pair):
    """A lost fire-and-forget packet is never granted: a credit probe answered without progress
    restores the window (the stream stayed short of it for good)."""
    a, b, gate = gated_pair()
    stream = a.open_stream(b.node_id, 1, window_bytes=1000)
    gate.drop(True)
    a.send_on_stream(stream, [b"lost" * 125])
    time.sleep(0.05)
    gate.drop(False)
    for i in range(3):
        a.send_with_retry(stream, [b"%d" % i * 500])
    assert raws(poll_until(b, 3)) == ["0" * 500, "1" * 500, "2" * 500]


def test_a_stream_the_receiver_closed_keeps_flowing(pair):
    """The receiver's close starts its count again from 0; the sender's grants once stopped
    adding credit for good."""
    a, b = pair
    stream = a.open_stream(b.node_id, 5, window_bytes=1000)
    a.send_on_stream(stream, [b"before" * 80])
    assert len(poll_until(b, 1)) == 1
    wait_until(lambda: a.stream_stats(b.node_id, 5).tx_credit_remaining == 1000, what="grant")
    b.close_stream(a.node_id, 5)
    for i in range(4):
        a.send_with_retry(stream, [b"%d" % i * 500])
    assert raws(poll_until(b, 4)) == [str(i) * 500 for i in range(4)]


def test_a_large_event_arrives_while_another_thread_sends_on_the_session(pair):
    """An event of 1,200+ packets and a thread sending small events on the same session: the
    large one's packets once took their counters all at once and reached the wire after the
    small ones had moved the peer's replay window (1,024) past them, and were dropped."""
    a, b = pair
    large, small = (
        a.open_stream(b.node_id, 1, window_bytes=0),
        a.open_stream(b.node_id, 2, window_bytes=0),
    )
    stop = threading.Event()

    def chatter() -> None:
        while not stop.is_set():
            a.send_on_stream(small, [b"s"])

    thread = threading.Thread(target=chatter)
    thread.start()
    try:
        time.sleep(0.02)
        a.send_on_stream(large, [bytes(10_000_000)])
    finally:
        stop.set()
        thread.join()
    wait_until(
        lambda: any(len(e.raw) > 1000 for e in b.poll(1_000_000)),
        timeout=5.0,
        what="the large event",
    )


def test_a_session_keeps_at_most_4096_streams(pair):
    """REFERENCE §3.7 max_streams: a peer making up stream ids evicts its own idlest, instead of
    growing the receiver's memory (and the work of its every tick) without end."""
    a, b = pair
    for stream_id in range(1, 4098):
        a.send_on_stream(a.open_stream(b.node_id, stream_id), [b"x"])
        if stream_id % 512 == 0:
            assert len(poll_until(b, 512)) == 512
    assert len(poll_until(b, 4097 % 512)) == 4097 % 512
    assert b.stream_stats(a.node_id, 1) is None  # the idlest went
    assert b.stream_stats(a.node_id, 4097) is not None
    assert a.stream_stats(b.node_id, 1) is None  # the sender's side is bounded too


@pytest.mark.parametrize("max_retries", [0, 2])
def test_send_with_retry_gives_up_after_max_retries(gated_pair, max_retries):
    a, b, gate = gated_pair()
    gate.hold()
    stream = a.open_stream(b.node_id, 1, window_bytes=1000)
    a.send_on_stream(stream, [b"1" * 500])
    with pytest.raises(net.BackpressureError) as info:
        a.send_with_retry(stream, [b"2" * 500], max_retries=max_retries)
    assert_backpressure(info.value)
    stats = a.stream_stats(b.node_id, 1)
    assert stats.backpressure_events == max_retries + 1
    assert stats.tx_seq == 1
    with pytest.raises(OverflowError):
        a.send_with_retry(stream, [b"z"], max_retries=-1)


def test_an_event_larger_than_the_window_never_fits(pair):
    a, b = pair
    stream = a.open_stream(b.node_id, 1, window_bytes=1000)
    outcome = []
    for send in (
        lambda: a.send_on_stream(stream, [b"z" * 1000]),
        lambda: a.send_with_retry(stream, [b"z" * 1000], max_retries=1),
    ):
        try:
            send()
            outcome.append("sent")
        except net.BackpressureError as error:
            outcome.append(error.args)
    stats = a.stream_stats(b.node_id, 1)
    assert outcome == [(WOULD_BLOCK,), (WOULD_BLOCK,)]
    assert (stats.tx_seq, stats.backpressure_events) == (0, 3)


def test_window_zero_is_unbounded(gated_pair):
    a, b, gate = gated_pair()
    gate.hold()  # no grant ever arrives
    stream = a.open_stream(b.node_id, 1, window_bytes=0)
    assert a.stream_stats(b.node_id, 1).tx_window == 0
    payloads = [bytes([65 + i]) * 8000 for i in range(12)]  # 12 x 8084 > 65536
    for payload in payloads:
        a.send_on_stream(stream, [payload])
    stats = a.stream_stats(b.node_id, 1)
    assert stats.backpressure_events == 0
    assert stats.tx_seq == len(payloads)
    assert [event.raw.encode() for event in poll_until(b, len(payloads))] == payloads


def test_the_default_window_blocks_without_grants(gated_pair):
    a, b, gate = gated_pair()
    gate.hold()
    stream = a.open_stream(b.node_id, 1)
    sent = 0
    with pytest.raises(net.BackpressureError):
        for _ in range(10):
            a.send_on_stream(stream, [b"d" * 8000])
            sent += 1
    assert sent == DEFAULT_WINDOW // 8084 == 8
    assert a.stream_stats(b.node_id, 1).tx_credit_remaining == DEFAULT_WINDOW - 8 * 8084


def test_the_receiver_grants_credit_back_on_its_side(pair):
    a, b = pair
    stream = a.open_stream(b.node_id, 9)
    a.send_on_stream(stream, [b"hello"])
    poll_until(b, 1)
    wait_until(lambda: a.stream_stats(b.node_id, 9).credit_grants_received >= 1)
    receiver_side = b.stream_stats(a.node_id, 9)
    assert receiver_side is not None
    assert receiver_side.rx_seq == 1
    assert receiver_side.credit_grants_sent >= 1


# --- close_stream -----------------------------------------------------------------------------


def test_close_stream_is_idempotent_and_forgets_the_stream(pair):
    a, b = pair
    stream = a.open_stream(b.node_id, 5)
    assert a.close_stream(b.node_id, 5) is None
    assert a.close_stream(b.node_id, 5) is None
    assert a.stream_stats(b.node_id, 5) is None
    with pytest.raises(net.NotConnectedError) as info:
        a.send_on_stream(stream, [b"late"])
    assert_not_connected(info.value)
    for send in (a.send_with_retry, a.send_blocking):
        with pytest.raises(net.NotConnectedError) as info:
            send(stream, [b"late"])
        assert_not_connected(info.value)


def test_an_old_handle_stays_dead_after_reopening(pair):
    a, b = pair
    old = a.open_stream(b.node_id, 5)
    a.close_stream(b.node_id, 5)
    new = a.open_stream(b.node_id, 5)
    with pytest.raises(net.NotConnectedError) as info:
        a.send_on_stream(old, [b"old"])
    assert_not_connected(info.value)
    a.send_on_stream(new, [b"new"])
    assert raws(poll_until(b, 1)) == ["new"]


def test_close_and_stats_of_unknown_streams(pair):
    a, b = pair
    assert a.stream_stats(b.node_id, 77) is None
    assert a.stream_stats(0x7B, 0) is None
    assert a.close_stream(b.node_id, 77) is None
    assert a.close_stream(0x7B, 0) is None


# --- payload types ----------------------------------------------------------------------------


def test_events_accept_bytes_bytearray_memoryview_and_small_int_lists(pair):
    a, b = pair
    stream = a.open_stream(b.node_id, 1)
    a.send_on_stream(stream, [b"bytes", bytearray(b"bytearray"), memoryview(b"memoryview")])
    a.send_on_stream(stream, ([104, 105],))  # any non-str sequence of events
    assert raws(poll_until(b, 4)) == ["bytes", "bytearray", "memoryview", "hi"]


@pytest.mark.parametrize("events", [["text"], "text", [b"ok", "text"], [None], [3], None], ids=repr)
def test_str_and_other_non_bytes_events_are_type_errors(pair, events):
    a, b = pair
    stream = a.open_stream(b.node_id, 1)
    for send in (a.send_on_stream, a.send_with_retry, a.send_blocking):
        with pytest.raises(TypeError):
            send(stream, events)
    assert a.stream_stats(b.node_id, 1).tx_seq == 0


def test_the_stream_argument_must_be_a_net_stream(pair):
    a, b = pair
    with pytest.raises(TypeError):
        a.send_on_stream((b.node_id, 1), [b"x"])


def test_non_utf8_payloads_arrive_with_an_empty_raw(pair):
    a, b = pair
    a.send_on_stream(a.open_stream(b.node_id, 1), [b"\xff\xfe", b"ok"])
    assert raws(poll_until(b, 2)) == ["", "ok"]


# --- large events -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8200, 100_000, 1_000_000])
def test_large_events_arrive_intact(pair, size):
    """[WE DIFFER] Events larger than one packet are fragmented and reassembled."""
    a, b = pair
    stream = a.open_stream(b.node_id, 2, window_bytes=0)
    payload = text_payload(size, "big")
    a.send_on_stream(stream, [payload])
    (event,) = poll_until(b, 1, timeout=5)
    assert event.raw.encode() == payload


def test_large_and_small_events_keep_their_order_both_ways(pair):
    a, b = pair
    big, medium = text_payload(1_000_000, "mb"), text_payload(100_000, "kb")
    a.send_on_stream(a.open_stream(b.node_id, 3, window_bytes=0), [b"first", big, b"last"])
    b.send_on_stream(b.open_stream(a.node_id, 6, window_bytes=0), [medium, b"after"])
    at_b = poll_until(b, 3, timeout=5)
    at_a = poll_until(a, 2, timeout=5)
    assert [event.raw.encode() for event in at_b] == [b"first", big, b"last"]
    assert [event.raw.encode() for event in at_a] == [medium, b"after"]


def test_a_large_event_on_a_reliable_stream(pair):
    a, b = pair
    payload = text_payload(300_000, "rel")
    stream = a.open_stream(b.node_id, 1, reliability="reliable", window_bytes=0)
    a.send_on_stream(stream, [payload])
    (event,) = poll_until(b, 1, timeout=5)
    assert event.raw.encode() == payload


def test_a_large_event_within_a_window_uses_send_with_retry(pair):
    """100 kB through the default 64 KiB window would never fit; a 256 KiB window takes it and
    the credit comes back."""
    a, b = pair
    stream = a.open_stream(b.node_id, 1, window_bytes=256 * 1024)
    payload = text_payload(100_000, "win")
    a.send_with_retry(stream, [payload])
    a.send_with_retry(stream, [payload])
    a.send_with_retry(stream, [payload])
    events = poll_until(b, 3, timeout=5)
    assert all(event.raw.encode() == payload for event in events)
    wait_until(lambda: a.stream_stats(b.node_id, 1).tx_credit_remaining == 256 * 1024)
