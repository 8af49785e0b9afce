"""NetDb (API.md §8.5, REFERENCE.md §11.4, /tmp/cortex/DECISIONS.md): a bundle of the CortEX
adapters over a private Redex, its snapshot bundle and NetDbError.

The adapters themselves are tested in test_cortex.py."""

from __future__ import annotations

import re

import net
import pytest
from conftest import within

U64_MAX = 2**64 - 1
NO_DIR = "redex: channel error: config.persistent=true requires Redex::with_persistent_dir(...)"

# Bundles produced by ai2070-net 0.18.0 (postcard of {tasks: Option<(bytes, Option<u64>)>,
# memories: Option<(bytes, Option<u64>)>}).
NOTHING = b"\x00\x00"
FRESH_TASKS = bytes.fromhex("01 03 000100 00 00")
FRESH_MEMORIES = bytes.fromhex("00 01 03 000100 00")
ONE_TASK = bytes.fromhex("01 0a 01080101010161000202 01 00 00")  # tasks.create(1, "a", 2)
ONE_OF_EACH = bytes.fromhex(  # ... and memories.store(5, "c", ["a", "b"], "src", 9)
    "01 0a 01080101010161000202 01 00 01 13 011101050501630201610162037372630909 00 01 00"
)


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def settle(adapter, seq: int) -> None:
    assert within(10, adapter.wait_for_seq, seq) is None


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def bundle_of(tasks_pair, memories_pair) -> bytes:
    """The bundle encoding (postcard), written out independently of the implementation."""

    def entry(pair) -> bytes:
        if pair is None:
            return b"\x00"
        state, last_seq = pair
        last = b"\x00" if last_seq is None else b"\x01" + varint(last_seq)
        return b"\x01" + varint(len(state)) + state + last

    return entry(tasks_pair) + entry(memories_pair)


def task_rows(tasks) -> list[tuple]:
    return [(t.id, t.title, t.status, t.created_ns, t.updated_ns) for t in tasks]


def ids_of(records) -> list[int]:
    return [record.id for record in records]


def memory_rows(memories) -> list[tuple]:
    return [
        (m.id, m.content, tuple(m.tags), m.source, m.pinned, m.created_ns, m.updated_ns)
        for m in memories
    ]


@pytest.fixture
def open_db():
    """Builds NetDbs (`open_db(**kwargs)` or `open_db(bundle, **kwargs)`) closed after the test."""
    dbs = []

    def make(bundle: bytes | None = None, **kwargs) -> net.NetDb:
        kwargs.setdefault("origin_hash", 1)
        if bundle is None:
            db = net.NetDb.open(**kwargs)
        else:
            db = net.NetDb.open_from_snapshot(bundle, **kwargs)
        dbs.append(db)
        return db

    yield make
    for db in dbs:
        db.close()


def fill(db) -> None:
    """A few writes to each enabled model, folded."""
    if db.tasks is not None:
        db.tasks.create(1, "one", 10)
        db.tasks.create(2, "two", 20)
        settle(db.tasks, db.tasks.complete(2, 30))
    if db.memories is not None:
        db.memories.store(7, "seven", ["x", "y"], "src", 40)
        settle(db.memories, db.memories.pin(7, 50))


# --- open ------------------------------------------------------------------------------------


def test_open_is_keyword_only_and_needs_origin_hash():
    with pytest.raises(TypeError):
        net.NetDb.open(1)
    with pytest.raises(TypeError):
        net.NetDb.open()
    with pytest.raises(TypeError):
        net.NetDb.open(with_tasks=True)
    with pytest.raises(TypeError):
        net.NetDb.open_from_snapshot(NOTHING, 1)
    with pytest.raises(TypeError):
        net.NetDb.open_from_snapshot(NOTHING)
    with pytest.raises(TypeError):
        net.NetDb()
    for origin in (-1, 2**64):
        with pytest.raises((OverflowError, TypeError)):
            net.NetDb.open(origin_hash=origin)


@pytest.mark.parametrize(
    "with_tasks, with_memories", [(False, False), (True, False), (False, True), (True, True)]
)
def test_models_not_enabled_are_none(open_db, with_tasks, with_memories):
    db = open_db(origin_hash=U64_MAX, with_tasks=with_tasks, with_memories=with_memories)
    if with_tasks:
        assert type(db.tasks) is net.TasksAdapter
        assert db.tasks.is_running() and db.tasks.count() == 0
    else:
        assert db.tasks is None
    if with_memories:
        assert type(db.memories) is net.MemoriesAdapter
        assert db.memories.is_running() and db.memories.count() == 0
    else:
        assert db.memories is None
    assert repr(db) == (
        f"NetDb(tasks={str(with_tasks).lower()}, memories={str(with_memories).lower()})"
    )


def test_the_properties_are_read_only(open_db):
    db = open_db(with_tasks=True)
    with pytest.raises(AttributeError):
        db.tasks = None
    with pytest.raises(AttributeError):
        db.memories = None


def test_each_netdb_has_its_own_redex(open_db):
    one, two = open_db(with_tasks=True), open_db(with_tasks=True)
    assert one.tasks.create(1, "a", 1) == 0
    assert two.tasks.create(2, "b", 2) == 0
    settle(one.tasks, 0)
    settle(two.tasks, 0)
    assert task_rows(one.tasks.list_tasks()) == [(1, "a", "pending", 1, 1)]
    assert task_rows(two.tasks.list_tasks()) == [(2, "b", "pending", 2, 2)]


def test_the_adapters_work_through_the_properties(open_db):
    db = open_db(with_tasks=True, with_memories=True)
    fill(db)
    assert task_rows(db.tasks.list_tasks()) == [
        (1, "one", "pending", 10, 10),
        (2, "two", "completed", 20, 30),
    ]
    assert memory_rows(db.memories.list_memories()) == [
        (7, "seven", ("x", "y"), "src", True, 40, 50)
    ]


def test_persistent_without_a_directory_is_refused():
    with pytest.raises(net.CortexError, match=exactly(f"TasksAdapter open failed: {NO_DIR}")):
        net.NetDb.open(origin_hash=1, persistent=True, with_tasks=True)
    with pytest.raises(net.CortexError, match=exactly(f"MemoriesAdapter open failed: {NO_DIR}")):
        net.NetDb.open(origin_hash=1, persistent=True, with_memories=True)
    db = net.NetDb.open(origin_hash=1, persistent=True)  # nothing to open
    assert (db.tasks, db.memories) == (None, None)
    db.close()


# --- close -----------------------------------------------------------------------------------


def test_close_is_idempotent_and_closes_the_adapters():
    db = net.NetDb.open(origin_hash=1, with_tasks=True, with_memories=True)
    fill(db)
    tasks, memories = db.tasks, db.memories
    assert db.close() is None
    db.close()
    assert not tasks.is_running() and not memories.is_running()
    with pytest.raises(net.CortexError, match=exactly("create failed: adapter closed")):
        db.tasks.create(3, "late", 1)
    with pytest.raises(net.CortexError, match=exactly("store failed: adapter closed")):
        db.memories.store(8, "late", [], "s", 1)
    assert db.tasks.count() == 2 and db.memories.count() == 1  # the last state answers
    empty = net.NetDb.open(origin_hash=1)
    empty.close()
    empty.close()


def test_closing_the_netdb_ends_the_watchers():
    db = net.NetDb.open(origin_hash=1, with_tasks=True)
    watch = db.tasks.watch_tasks()
    assert within(10, next, watch) == []
    db.close()
    with pytest.raises(StopIteration):
        within(5, next, watch)


# --- snapshot bundles ------------------------------------------------------------------------


def test_bundle_bytes_match_the_original(open_db):
    assert open_db().snapshot() == NOTHING
    assert open_db(with_tasks=True).snapshot() == FRESH_TASKS
    assert open_db(with_memories=True).snapshot() == FRESH_MEMORIES
    db = open_db(origin_hash=1, with_tasks=True)
    settle(db.tasks, db.tasks.create(1, "a", 2))
    assert db.snapshot() == bytes.fromhex("010a01080101010161000202010000") == ONE_TASK
    both = open_db(with_tasks=True, with_memories=True)
    settle(both.tasks, both.tasks.create(1, "a", 2))
    settle(both.memories, both.memories.store(5, "c", ["a", "b"], "src", 9))
    assert type(both.snapshot()) is bytes
    assert both.snapshot() == ONE_OF_EACH


def test_the_bundle_holds_exactly_the_adapter_snapshots(open_db):
    db = open_db(with_tasks=True, with_memories=True)
    for i in range(200):  # snapshots longer than 127 bytes: multi-byte lengths
        db.tasks.create(i, f"task number {i}", 1000 + i)
    settle(db.tasks, 199)
    for i in range(20):
        db.memories.store(i, "m" * i, [f"t{i}"], "s", i)
    settle(db.memories, 19)
    tasks_pair, memories_pair = db.tasks.snapshot(), db.memories.snapshot()
    assert tasks_pair[1] == 199 and memories_pair[1] == 19
    assert len(tasks_pair[0]) > 127
    assert db.snapshot() == bundle_of(tasks_pair, memories_pair)
    only_tasks = open_db(with_tasks=True)
    assert only_tasks.snapshot() == bundle_of(only_tasks.tasks.snapshot(), None)


def test_a_bundle_round_trips(open_db):
    db = open_db(with_tasks=True, with_memories=True)
    fill(db)
    bundle = db.snapshot()
    tasks_before = task_rows(db.tasks.list_tasks())
    memories_before = memory_rows(db.memories.list_memories())
    db.close()

    restored = open_db(bundle, with_tasks=True, with_memories=True)
    assert repr(restored) == "NetDb(tasks=true, memories=true)"
    assert task_rows(restored.tasks.list_tasks()) == tasks_before
    assert memory_rows(restored.memories.list_memories()) == memories_before
    assert restored.tasks.count() == 2 and restored.memories.count() == 1
    assert restored.snapshot() == bundle


def test_a_bundle_of_the_original_opens(open_db):
    db = open_db(ONE_OF_EACH, origin_hash=1, with_tasks=True, with_memories=True)
    assert task_rows(db.tasks.list_tasks()) == [(1, "a", "pending", 2, 2)]
    assert memory_rows(db.memories.list_memories()) == [(5, "c", ("a", "b"), "src", False, 9, 9)]


def test_a_model_missing_from_the_bundle_opens_fresh(open_db):
    db = open_db(ONE_TASK, with_tasks=True, with_memories=True)
    assert task_rows(db.tasks.list_tasks()) == [(1, "a", "pending", 2, 2)]
    assert db.memories is not None and db.memories.count() == 0
    seq = db.memories.store(1, "new", [], "s", 5)
    assert seq == 0
    settle(db.memories, seq)
    assert memory_rows(db.memories.list_memories()) == [(1, "new", (), "s", False, 5, 5)]
    fresh = open_db(NOTHING, with_tasks=True, with_memories=True)
    assert fresh.tasks.count() == 0 and fresh.memories.count() == 0
    assert fresh.snapshot() == bundle_of(fresh.tasks.snapshot(), fresh.memories.snapshot())


def test_models_not_enabled_are_ignored_even_if_in_the_bundle(open_db):
    only_tasks = open_db(ONE_OF_EACH, with_tasks=True)
    assert only_tasks.memories is None
    assert task_rows(only_tasks.tasks.list_tasks()) == [(1, "a", "pending", 2, 2)]
    assert only_tasks.snapshot() == ONE_TASK
    only_memories = open_db(ONE_OF_EACH, with_memories=True)
    assert only_memories.tasks is None
    assert ids_of(only_memories.memories.list_memories()) == [5]
    neither = open_db(ONE_OF_EACH)
    assert (neither.tasks, neither.memories) == (None, None)
    assert neither.snapshot() == NOTHING
    assert repr(neither) == "NetDb(tasks=false, memories=false)"


def test_a_restored_in_memory_netdb_folds_new_writes(open_db):
    """The bundle says the tasks were folded through seq 0, but the restored NetDb's RedEX file is
    new and empty, so its first write gets seq 0 too. That write must still be folded (0.18.0
    skips it: the restored fold starts after the bundle's last_seq)."""
    db = open_db(ONE_TASK, with_tasks=True)
    seq = db.tasks.create(2, "after restore", 3)
    settle(db.tasks, seq)
    later = db.tasks.create(3, "and another", 4)
    settle(db.tasks, later)
    assert task_rows(db.tasks.list_tasks()) == [
        (1, "a", "pending", 2, 2),
        (2, "after restore", "pending", 3, 3),
        (3, "and another", "pending", 4, 4),
    ]


@pytest.mark.parametrize(
    "bundle",
    [
        b"",
        b"\x01",  # tasks present, then nothing
        b"\x02",  # not an Option discriminant
        b"\x00\x02",
        b"\x01\x05ab",  # shorter than its length
        b"\x01\x03\x00\x01\x00",  # last_seq missing
        b"\x01\x03\x00\x01\x00\x00",  # memories missing
        b"\x01\x03\x00\x01\x00\x07\x00",  # a bad Option for last_seq
        b"\xff" * 12,
    ],
)
def test_a_bad_bundle_is_a_decode_error(bundle):
    with pytest.raises(net.NetDbError, match=r"^decode bundle: .+"):
        net.NetDb.open_from_snapshot(bundle, origin_hash=1, with_tasks=True, with_memories=True)


def test_a_bad_model_snapshot_in_a_good_bundle_is_a_cortex_error():
    bad_tasks = bundle_of((b"\xff\xff", None), None)
    with pytest.raises(net.CortexError, match=r"^TasksAdapter open_from_snapshot failed: "):
        net.NetDb.open_from_snapshot(bad_tasks, origin_hash=1, with_tasks=True)
    bad_memories = bundle_of(None, (b"\x00\x09\x00", 3))
    with pytest.raises(net.CortexError, match=r"^MemoriesAdapter open_from_snapshot failed: "):
        net.NetDb.open_from_snapshot(bad_memories, origin_hash=1, with_memories=True)


def test_the_bundle_must_be_bytes():
    with pytest.raises(TypeError):
        net.NetDb.open_from_snapshot(bytearray(NOTHING), origin_hash=1)
    with pytest.raises(TypeError):
        net.NetDb.open_from_snapshot(NOTHING.decode(), origin_hash=1)


def test_netdb_error_is_its_own_class():
    assert issubclass(net.NetDbError, Exception)
    assert not issubclass(net.NetDbError, net.CortexError)
    assert not issubclass(net.CortexError, net.NetDbError)
    assert str(net.NetDbError("decode bundle: x")) == "decode bundle: x"


# --- persistence -----------------------------------------------------------------------------


def test_a_persistent_netdb_reopens_with_its_data(tmp_path):
    options = {
        "origin_hash": 1,
        "persistent_dir": str(tmp_path),
        "persistent": True,
        "with_tasks": True,
        "with_memories": True,
    }
    db = net.NetDb.open(**options)
    fill(db)
    tasks_before = task_rows(db.tasks.list_tasks())
    memories_before = memory_rows(db.memories.list_memories())
    db.close()
    assert (tmp_path / "cortex" / "tasks").is_dir()
    assert (tmp_path / "cortex" / "memories").is_dir()

    again = net.NetDb.open(**options)
    try:
        assert task_rows(again.tasks.list_tasks()) == tasks_before
        assert memory_rows(again.memories.list_memories()) == memories_before
        assert again.tasks.create(3, "three", 60) == 3  # after the three replayed events
        settle(again.tasks, 3)
    finally:
        again.close()

    tasks_only = net.NetDb.open(**{**options, "with_memories": False})
    try:
        assert tasks_only.memories is None
        assert tasks_only.tasks.count() == 3
    finally:
        tasks_only.close()


def test_a_netdb_with_a_directory_but_not_persistent_keeps_nothing(tmp_path):
    db = net.NetDb.open(origin_hash=1, persistent_dir=str(tmp_path), with_tasks=True)
    fill(db)
    db.close()
    again = net.NetDb.open(origin_hash=1, persistent_dir=str(tmp_path), with_tasks=True)
    try:
        assert again.tasks.count() == 0
    finally:
        again.close()


def test_a_persistent_netdb_restored_from_a_bundle_folds_what_came_after_it(tmp_path):
    options = {"origin_hash": 1, "persistent_dir": str(tmp_path), "persistent": True}
    db = net.NetDb.open(**options, with_tasks=True, with_memories=True)
    fill(db)
    bundle = db.snapshot()
    db.tasks.rename(1, "renamed later", 70)
    settle(db.tasks, db.tasks.delete(2))
    settle(db.memories, db.memories.unpin(7, 80))
    db.close()

    restored = net.NetDb.open_from_snapshot(bundle, **options, with_tasks=True, with_memories=True)
    try:
        settle(restored.tasks, 4)
        settle(restored.memories, 2)
        assert task_rows(restored.tasks.list_tasks()) == [(1, "renamed later", "pending", 10, 70)]
        assert memory_rows(restored.memories.list_memories()) == [
            (7, "seven", ("x", "y"), "src", False, 40, 80)
        ]
        assert restored.tasks.create(9, "next", 90) == 5
    finally:
        restored.close()
