"""RedEX append-only logs (API.md §7, REFERENCE.md §10): Redex, RedexFile, RedexEvent,
RedexTailIter and RedexError, plus what ours adds: enforced retention and backfills of any size.

Crash safety and damaged files are in test_redex_crash.py."""

from __future__ import annotations

import re
import threading
import time

import net
import pytest
import xxhash
from conftest import assert_ends, take

ALL = 2**64 - 1  # a read_range end past every seq
LAGGED = "tail: tail subscriber lagged; stream disconnected"
NO_DIR = "open_file: channel error: config.persistent=true requires Redex::with_persistent_dir(...)"
MUTUALLY_EXCLUSIVE = "fsync_every_n and fsync_interval_ms are mutually exclusive"
EVERY_N_ZERO = "fsync_every_n must be > 0"
INTERVAL_ZERO = "fsync_interval_ms must be > 0"
SEGMENT_HEADER = b"REDEXv1\n"


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def checksum(payload: bytes) -> int:
    """The original's 28-bit payload checksum: the low 28 bits of xxh3_64 (seed 0)."""
    return xxhash.xxh3_64_intdigest(payload) & 0x0FFF_FFFF


def seqs(events) -> list[int]:
    return [event.seq for event in events]


def payloads(events) -> list[bytes]:
    return [event.payload for event in events]


def later(delay: float, action) -> threading.Thread:
    """Runs `action` on a thread after `delay` seconds (while the test blocks in a tail)."""

    def run() -> None:
        time.sleep(delay)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def redex() -> net.Redex:
    return net.Redex()


# --- module surface --------------------------------------------------------------------------


def test_exports_and_the_error_class():
    for name in ("Redex", "RedexFile", "RedexEvent", "RedexTailIter", "RedexError"):
        assert name in net.__all__
        assert getattr(net, name) is getattr(net._net, name)
    assert issubclass(net.RedexError, Exception)
    assert not issubclass(net.RedexError, RuntimeError)
    for other in (net.ChannelError, net.IdentityError, net.TokenError):
        assert not issubclass(net.RedexError, other) and not issubclass(other, net.RedexError)
    error = net.RedexError("append: file closed")
    assert str(error) == "append: file closed" and error.args == ("append: file closed",)


def test_redex_repr(tmp_path):
    assert repr(net.Redex()) == "Redex(local)"
    assert repr(net.Redex(None)) == "Redex(local)"
    assert repr(net.Redex(persistent_dir=str(tmp_path))) == f'Redex(persistent_dir="{tmp_path}")'


@pytest.mark.parametrize("name", ["RedexFile", "RedexEvent", "RedexTailIter"])
def test_only_redex_is_constructible(name):
    with pytest.raises(TypeError):
        getattr(net, name)()


def test_events_are_read_only(redex):
    file = redex.open_file("read-only")
    file.append(b"abc")
    (event,) = file.read_range(0, 1)
    for attribute in ("seq", "payload", "checksum", "is_inline"):
        before = getattr(event, attribute)
        with pytest.raises(AttributeError):
            setattr(event, attribute, before)
        with pytest.raises(AttributeError):
            delattr(event, attribute)
    with pytest.raises(AttributeError):
        event.new_attribute = 1
    assert not hasattr(event, "__dict__")


# --- open_file validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, reason",
    [
        ("", "channel name is empty"),
        ("/a", "invalid channel name format: must not start or end with '/'"),
        ("a/", "invalid channel name format: must not start or end with '/'"),
        ("a//b", "invalid channel name format: must not contain '//'"),
        ("a b", "invalid character ' ' in channel name"),
        ("a/../b", 'invalid channel name format: segment ".." is reserved'),
        ("x" * 256, "channel name too long (256 > 255)"),
    ],
)
def test_an_invalid_name_is_the_bare_reason(redex, name, reason):
    with pytest.raises(net.RedexError, match=exactly(reason)):
        redex.open_file(name)


def test_valid_names(redex):
    for name in ("a", "x" * 255, "A-Z_0.9/b/c", "sensors/temp.1"):
        assert len(redex.open_file(name)) == 0


@pytest.mark.parametrize(
    "name, options, message",
    [
        # 1. the name comes before everything else
        ("", {"fsync_every_n": 1, "fsync_interval_ms": 1}, "channel name is empty"),
        ("a b", {"fsync_every_n": 0, "persistent": True}, "invalid character ' ' in channel name"),
        # 2. both fsync options, whatever their values
        ("ok", {"fsync_every_n": 1, "fsync_interval_ms": 1}, MUTUALLY_EXCLUSIVE),
        ("ok", {"fsync_every_n": 0, "fsync_interval_ms": 0}, MUTUALLY_EXCLUSIVE),
        (
            "ok",
            {"fsync_every_n": 5, "fsync_interval_ms": 0, "persistent": True},
            MUTUALLY_EXCLUSIVE,
        ),
        # 3. and 4. zeros, before the persistent-without-a-directory failure
        ("ok", {"fsync_every_n": 0}, EVERY_N_ZERO),
        ("ok", {"fsync_every_n": 0, "persistent": True}, EVERY_N_ZERO),
        ("ok", {"fsync_interval_ms": 0}, INTERVAL_ZERO),
        ("ok", {"fsync_interval_ms": 0, "persistent": True}, INTERVAL_ZERO),
        # 5. the open itself
        ("ok", {"persistent": True}, NO_DIR),
        ("ok", {"persistent": True, "fsync_every_n": 1, "retention_max_events": 3}, NO_DIR),
    ],
)
def test_validation_order(redex, name, options, message):
    with pytest.raises(net.RedexError, match=exactly(message)):
        redex.open_file(name, **options)


def test_options_are_validated_even_when_the_name_is_already_open(redex):
    file = redex.open_file("open-already")
    file.append(b"x")
    with pytest.raises(net.RedexError, match=exactly(MUTUALLY_EXCLUSIVE)):
        redex.open_file("open-already", fsync_every_n=1, fsync_interval_ms=1)
    with pytest.raises(net.RedexError, match=exactly(EVERY_N_ZERO)):
        redex.open_file("open-already", fsync_every_n=0)
    assert len(file) == 1


def test_options_are_keyword_only(redex):
    with pytest.raises(TypeError):
        redex.open_file("positional", True)


def test_retention_limits_are_u64(redex):
    with pytest.raises(OverflowError):
        redex.open_file("negative", retention_max_events=-1)
    with pytest.raises(OverflowError):
        redex.open_file("too-big", retention_max_bytes=2**64)
    # The age in ms is converted to ns saturating: the largest u64 is accepted and evicts nothing.
    file = redex.open_file("forever", retention_max_age_ms=2**64 - 1)
    file.append(b"kept")
    assert payloads(file.read_range(0, ALL)) == [b"kept"]


def test_an_open_failure_has_the_open_file_prefix(tmp_path):
    not_a_directory = tmp_path / "plain-file"
    not_a_directory.write_bytes(b"")
    redex = net.Redex(persistent_dir=str(not_a_directory))
    with pytest.raises(net.RedexError, match=r"^open_file: "):
        redex.open_file("chan", persistent=True)


# --- append, append_batch, read_range, len ---------------------------------------------------


def test_appends_get_contiguous_seqs_from_zero_and_read_back_exactly(redex):
    file = redex.open_file("append")
    written = [b"", b"a", bytes(range(256)), b"\x00" * 8, b"x" * 100_000, "héllo".encode()]
    assert [file.append(payload) for payload in written] == list(range(len(written)))
    assert len(file) == len(written)
    events = file.read_range(0, ALL)
    assert seqs(events) == list(range(len(written)))
    assert payloads(events) == written
    for event in events:
        assert type(event) is net.RedexEvent
        assert type(event.seq) is int and type(event.payload) is bytes
        assert event.checksum == checksum(event.payload)
        assert 0 <= event.checksum < 2**28
        assert event.is_inline is False


def test_event_repr(redex):
    file = redex.open_file("repr")
    file.append(b"x" * 10)
    file.append(b"")
    file.append(b"y" * 1000)
    for event in file.read_range(0, 3):
        assert repr(event) == (
            f"RedexEvent(seq={event.seq}, payload=<{len(event.payload)} bytes>, "
            f"checksum=0x{checksum(event.payload):08x}, is_inline=false)"
        )


@pytest.mark.parametrize("payload", ["text", bytearray(b"ab"), memoryview(b"ab"), 7, None, [1]])
def test_append_takes_only_bytes(redex, payload):
    file = redex.open_file("strict")
    with pytest.raises(TypeError):
        file.append(payload)
    assert len(file) == 0
    assert file.append(b"ok") == 0


def test_append_batch(redex):
    file = redex.open_file("batch")
    assert file.append(b"first") == 0
    batch = [b"a", b"", b"c" * 300]
    assert file.append_batch(batch) == 1
    assert file.append_batch([]) is None
    assert len(file) == 4
    assert file.append_batch((b"t1", b"t2")) == 4  # any non-str sequence
    assert file.append(b"last") == 6
    events = file.read_range(0, ALL)
    assert seqs(events) == list(range(7))
    assert payloads(events) == [b"first", *batch, b"t1", b"t2", b"last"]


def test_a_bad_batch_appends_nothing(redex):
    file = redex.open_file("bad-batch")
    with pytest.raises(TypeError):
        file.append_batch("abc")
    with pytest.raises(TypeError):
        file.append_batch([b"ok", "not bytes", b"ok"])
    with pytest.raises(TypeError):
        file.append_batch([b"ok", None])
    assert len(file) == 0
    assert file.append_batch([b"ok"]) == 0


def test_read_range_is_half_open_and_clipped(redex):
    file = redex.open_file("range")
    for i in range(10):
        file.append(bytes([i]))
    assert seqs(file.read_range(3, 7)) == [3, 4, 5, 6]
    assert payloads(file.read_range(3, 5)) == [b"\x03", b"\x04"]
    assert file.read_range(5, 5) == []
    assert file.read_range(7, 3) == []
    assert seqs(file.read_range(8, 100)) == [8, 9]
    assert file.read_range(10, ALL) == []
    assert file.read_range(20, 30) == []
    assert type(file.read_range(0, 1)) is list


def test_reopening_a_name_returns_the_same_file_and_ignores_the_new_options(redex):
    first = redex.open_file("shared")
    for i in range(3):
        first.append(bytes([i]))
    again = redex.open_file("shared", retention_max_events=1, fsync_every_n=5)
    assert again.append(b"\x03") == 3
    assert len(first) == len(again) == 4  # the retention of the second open is ignored
    assert payloads(first.read_range(0, ALL)) == [b"\x00", b"\x01", b"\x02", b"\x03"]
    other = redex.open_file("shared/child")
    assert len(other) == 0 and other.append(b"z") == 0


def test_files_of_different_managers_are_separate():
    one, two = net.Redex(), net.Redex()
    one.open_file("same").append(b"1")
    assert len(two.open_file("same")) == 0


def test_sync_of_an_in_memory_file_does_nothing(redex):
    file = redex.open_file("sync")
    assert file.sync() is None
    file.append(b"a")
    assert file.sync() is None
    assert len(file) == 1


def test_close(redex):
    file = redex.open_file("close")
    file.append(b"a")
    assert file.close() is None
    assert file.close() is None  # idempotent
    with pytest.raises(net.RedexError, match=exactly("append: file closed")):
        file.append(b"b")
    with pytest.raises(net.RedexError, match=exactly("append_batch: file closed")):
        file.append_batch([b"b"])
    assert_ends(file.tail())  # tailing a closed file ends at once


# --- persistent files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"fsync_every_n": 1}, {"fsync_every_n": 7}, {"fsync_interval_ms": 5}],
    ids=["no-fsync", "every-1", "every-7", "interval-5ms"],
)
def test_a_persistent_file_keeps_its_events_and_seqs_across_a_reopen(tmp_path, options):
    redex = net.Redex(persistent_dir=str(tmp_path))
    file = redex.open_file("logs/app", persistent=True, **options)
    written = [bytes([i]) * (i * 37 % 500) for i in range(50)]
    for payload in written[:40]:
        file.append(payload)
    assert file.append_batch(written[40:]) == 40
    assert file.sync() is None
    file.close()

    reopened = net.Redex(persistent_dir=str(tmp_path)).open_file("logs/app", persistent=True)
    try:
        assert len(reopened) == 50
        events = reopened.read_range(0, ALL)
        assert seqs(events) == list(range(50))
        assert payloads(events) == written
        assert all(event.checksum == checksum(event.payload) for event in events)
        assert reopened.append(b"next") == 50
        assert seqs(take(reopened.tail(48), 3)) == [48, 49, 50]
    finally:
        reopened.close()


def test_the_log_lives_under_the_channel_path(tmp_path):
    file = net.Redex(persistent_dir=str(tmp_path)).open_file("a/b/c", persistent=True)
    file.append(b"payload")
    file.close()
    logs = sorted((tmp_path / "a" / "b" / "c").glob("*.log"))
    assert logs, f"no segment under {tmp_path}/a/b/c: {sorted(tmp_path.rglob('*'))}"
    assert logs[0].name == "0" * 20 + ".log"
    for log in logs:
        assert re.fullmatch(r"\d{20}\.log", log.name)
        assert log.read_bytes().startswith(SEGMENT_HEADER)


def test_an_in_memory_file_of_a_persistent_manager_is_not_kept(tmp_path):
    file = net.Redex(persistent_dir=str(tmp_path)).open_file("heap-only")
    file.append(b"gone")
    file.close()
    assert not list(tmp_path.rglob("*.log"))
    assert len(net.Redex(persistent_dir=str(tmp_path)).open_file("heap-only")) == 0


def test_a_closed_persistent_file_refuses_appends_and_keeps_what_it_had(tmp_path):
    file = net.Redex(persistent_dir=str(tmp_path)).open_file("closed", persistent=True)
    file.append(b"kept")
    file.close()
    file.close()
    with pytest.raises(net.RedexError, match=exactly("append: file closed")):
        file.append(b"lost")
    reopened = net.Redex(persistent_dir=str(tmp_path)).open_file("closed", persistent=True)
    assert payloads(reopened.read_range(0, ALL)) == [b"kept"]
    reopened.close()


# --- retention (enforced by ours; the original accepts the settings and never applies them) ---


def test_retention_by_count(redex):
    file = redex.open_file("count", retention_max_events=3)
    for i in range(10):
        assert file.append(bytes([i])) == i
        assert len(file) == min(i + 1, 3)
    assert seqs(file.read_range(0, ALL)) == [7, 8, 9]
    assert payloads(file.read_range(0, ALL)) == [b"\x07", b"\x08", b"\x09"]
    assert seqs(file.read_range(0, 8)) == [7]  # evicted seqs are skipped without an error
    assert file.read_range(0, 7) == []


def test_retention_by_bytes_counts_20_plus_the_payload_per_event(redex):
    exact = redex.open_file("bytes/exact", retention_max_bytes=3 * (20 + 10))
    under = redex.open_file("bytes/under", retention_max_bytes=3 * (20 + 10) - 1)
    for i in range(20):
        exact.append(bytes([i]) * 10)
        under.append(bytes([i]) * 10)
    assert seqs(exact.read_range(0, ALL)) == [17, 18, 19]
    assert seqs(under.read_range(0, ALL)) == [18, 19]
    mixed = redex.open_file("bytes/mixed", retention_max_bytes=75)
    for payload in (b"x" * 100, b"a" * 5, b"b" * 5, b"c" * 5):
        mixed.append(payload)
    assert payloads(mixed.read_range(0, ALL)) == [b"a" * 5, b"b" * 5, b"c" * 5]
    assert len(mixed) == 3


def test_the_strictest_retention_rule_wins(redex):
    file = redex.open_file("both", retention_max_events=5, retention_max_bytes=3 * 21)
    for i in range(10):
        file.append(bytes([i]))
    assert seqs(file.read_range(0, ALL)) == [7, 8, 9]
    loose = redex.open_file("both/loose", retention_max_events=5, retention_max_bytes=10**9)
    for i in range(10):
        loose.append(bytes([i]))
    assert seqs(loose.read_range(0, ALL)) == [5, 6, 7, 8, 9]


def test_retention_applies_to_batches(redex):
    file = redex.open_file("batch-retention", retention_max_events=3)
    assert file.append_batch([bytes([i]) for i in range(10)]) == 0
    assert len(file) == 3
    assert seqs(file.read_range(0, ALL)) == [7, 8, 9]
    assert file.append_batch([b"a", b"b"]) == 10
    assert seqs(file.read_range(0, ALL)) == [9, 10, 11]


def test_retention_by_age(redex):
    file = redex.open_file("age", retention_max_age_ms=200)
    for i in range(3):
        file.append(bytes([i]))
    assert len(file) == 3
    time.sleep(0.4)
    assert file.append(b"new") == 3
    assert seqs(file.read_range(0, ALL)) == [3]
    assert payloads(file.read_range(0, ALL)) == [b"new"]
    assert len(file) == 1


def test_what_retention_evicted_stays_evicted_after_a_reopen(tmp_path):
    options = {"persistent": True, "retention_max_events": 3}
    file = net.Redex(persistent_dir=str(tmp_path)).open_file("evicting", **options)
    for i in range(10):
        file.append(bytes([i]))
    file.close()
    reopened = net.Redex(persistent_dir=str(tmp_path)).open_file("evicting", **options)
    try:
        assert reopened.append(b"\x0a") == 10  # seqs go on after the evicted ones
        events = reopened.read_range(0, ALL)
        assert seqs(events) == [8, 9, 10]
        assert payloads(events) == [b"\x08", b"\x09", b"\x0a"]
    finally:
        reopened.close()


def test_a_tail_from_an_evicted_seq_is_lagged(redex):
    file = redex.open_file("lagged", retention_max_events=3)
    for i in range(10):
        file.append(bytes([i]))
    with pytest.raises(net.RedexError, match=exactly(LAGGED)):
        take(file.tail(0), 1)
    with pytest.raises(net.RedexError, match=exactly(LAGGED)):
        take(file.tail(from_seq=6), 1)
    tail = file.tail(from_seq=7)  # the oldest retained seq is fine
    try:
        assert seqs(take(tail, 3)) == [7, 8, 9]
        file.append(b"\x0a")
        assert seqs(take(tail, 1)) == [10]
    finally:
        tail.close()


# --- tails -----------------------------------------------------------------------------------


def test_a_tail_replays_the_backfill_then_follows_live_appends(redex):
    file = redex.open_file("tail")
    for i in range(5):
        file.append(bytes([i]))
    tail = file.tail(2)
    try:
        assert iter(tail) is tail
        backfill = take(tail, 3)
        assert seqs(backfill) == [2, 3, 4]
        assert payloads(backfill) == [b"\x02", b"\x03", b"\x04"]
        later(0.1, lambda: (file.append(b"\x05"), file.append_batch([b"\x06", b"\x07"])))
        live = take(tail, 3)
        assert seqs(live) == [5, 6, 7]
        assert payloads(live) == [b"\x05", b"\x06", b"\x07"]
        assert all(event.checksum == checksum(event.payload) for event in backfill + live)
    finally:
        tail.close()


def test_tail_starts_at_zero_by_default(redex):
    file = redex.open_file("tail/default")
    file.append(b"a")
    file.append(b"b")
    tail = file.tail()
    assert payloads(take(tail, 2)) == [b"a", b"b"]
    tail.close()


def test_a_backfill_bigger_than_1024_events_is_delivered_whole(redex):
    # The original's tail buffer holds 1024 events and reports "lagged" beyond; ours reads the
    # backfill from the log itself.
    file = redex.open_file("tail/big")
    written = [i.to_bytes(4, "little") for i in range(3000)]
    file.append_batch(written)
    tail = file.tail()
    try:
        events = take(tail, 3000)
        assert seqs(events) == list(range(3000))
        assert payloads(events) == written
        file.append(b"live")
        assert seqs(take(tail, 1)) == [3000]
    finally:
        tail.close()


def test_closing_the_iterator_ends_a_blocked_next(redex):
    file = redex.open_file("tail/close-iterator")
    file.append(b"a")
    tail = file.tail()
    assert seqs(take(tail, 1)) == [0]
    later(0.2, tail.close)
    assert_ends(tail)  # next() was blocked when close() came
    tail.close()  # idempotent
    assert_ends(tail)
    assert file.append(b"b") == 1  # the file is still open
    other = file.tail(1)
    assert seqs(take(other, 1)) == [1]
    other.close()


def test_closing_the_file_ends_every_blocked_tail(redex):
    file = redex.open_file("tail/close-file")
    file.append(b"a")
    tails = [file.tail(), file.tail(1)]
    assert seqs(take(tails[0], 1)) == [0]
    ended: list = []

    def wait(tail) -> None:
        try:
            next(tail)
        except StopIteration:
            ended.append(tail)

    waiters = [threading.Thread(target=wait, args=(tail,), daemon=True) for tail in tails]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.2)
    file.close()
    for waiter in waiters:
        waiter.join(5)
    assert len(ended) == 2, "close() of the file did not end every blocked tail"


def test_independent_tails_each_see_every_event(redex):
    file = redex.open_file("tail/many")
    tails = [file.tail() for _ in range(3)]
    for i in range(100):
        file.append(bytes([i]))
    for tail in tails:
        assert payloads(take(tail, 100)) == [bytes([i]) for i in range(100)]
        tail.close()


# --- threads ---------------------------------------------------------------------------------


class Reader(threading.Thread):
    """Reads `count` events of a tail on its own thread."""

    def __init__(self, tail, count: int):
        super().__init__(daemon=True)
        self.tail, self.count = tail, count
        self.events: list = []
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            for _ in range(self.count):
                self.events.append(next(self.tail))
        except BaseException as error:  # noqa: BLE001 -- checked by the test
            self.error = error


def test_concurrent_writers_and_tails_see_every_append_once_in_order(redex):
    file = redex.open_file("threads")
    writers, per_writer, batch = 4, 2000, 5
    total = writers * per_writer
    readers = [Reader(file.tail(), total) for _ in range(3)]
    written: dict[int, list[tuple[int, bytes]]] = {}

    def write(w: int) -> None:
        mine = []
        if w % 2 == 0:
            for i in range(per_writer):
                payload = f"{w}:{i}".encode()
                mine.append((file.append(payload), payload))
        else:  # batches: atomic, so their seqs are consecutive
            for i in range(0, per_writer, batch):
                chunk = [f"{w}:{i + j}".encode() for j in range(batch)]
                first = file.append_batch(chunk)
                mine.extend((first + j, payload) for j, payload in enumerate(chunk))
        written[w] = mine

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(file) < total // 4 and time.monotonic() < deadline:
        time.sleep(0.001)
    readers.append(Reader(file.tail(), total))  # joins while the writers run: backfill + live
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a writer did not finish"
    for reader in readers:
        reader.join(60)
    alive = [reader for reader in readers if reader.is_alive()]
    for reader in alive:
        reader.tail.close()
    assert not alive, f"tails stuck at {[len(r.events) for r in alive]} of {total} events"

    expected: dict[int, bytes] = {}
    for mine in written.values():
        assert [seq for seq, _ in mine] == sorted(seq for seq, _ in mine)  # each writer's order
        expected.update(mine)
    assert sorted(expected) == list(range(total)), "seqs are not unique and contiguous"
    assert len(file) == total
    assert payloads(file.read_range(0, ALL)) == [expected[seq] for seq in range(total)]
    for reader in readers:
        assert reader.error is None, reader.error
        assert seqs(reader.events) == list(range(total))
        assert payloads(reader.events) == [expected[seq] for seq in range(total)]
        reader.tail.close()
