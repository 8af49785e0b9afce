"""CortEX adapters (API.md §8.1-§8.4, REFERENCE.md §11, /tmp/cortex/DECISIONS.md): TasksAdapter,
MemoriesAdapter, Task, Memory, the watch iterators and CortexError.

Where ours deliberately differs from the original 0.18.0 the test says so. Waiting is done with
`wait_for_seq`, iterators and events (wrapped in `within` so that a hang fails instead of
blocking the suite), never with sleeps. NetDb is in test_netdb.py."""

from __future__ import annotations

import gc
import re
import threading
import time

import net
import pytest
from conftest import assert_ends, take_one, take_until, within

ORIGIN = 0x0123_4567_89AB_CDEF
U64_MAX = 2**64 - 1
# Keyword filters both list_tasks and list_memories take.
COMMON_FILTERS = [
    "created_after_ns",
    "created_before_ns",
    "updated_after_ns",
    "updated_before_ns",
    "order_by",
    "limit",
]
ORDERS = ["id_asc", "id_desc", "created_asc", "created_desc", "updated_asc", "updated_desc"]
NO_DIR = "redex: channel error: config.persistent=true requires Redex::with_persistent_dir(...)"
BAD_TASK_ORDER = (
    'invalid order_by "{}" (expected one of '
    "id_asc|id_desc|created_asc|created_desc|updated_asc|updated_desc)"
)
BAD_STATUS = "invalid status \"{}\" (expected 'pending' or 'completed')"
EMPTY_SNAPSHOT = (b"\x00\x01\x00", None)  # postcard {app_seq: 0, inner: [map of 0 entries]}


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def settle(adapter, seq: int, timeout: float = 10.0) -> None:
    """`adapter.wait_for_seq(seq)`, failing instead of hanging."""
    assert within(timeout, adapter.wait_for_seq, seq) is None


def collect_until(iterator, done, timeout: float = 10.0) -> list:
    """Iterates on a thread until an item satisfies `done(item)`; returns every item seen. Fails
    if that does not happen within `timeout` (the iterator is then closed)."""
    try:
        return take_until(
            iterator,
            lambda items: bool(items) and done(items[-1]),
            timeout,
            lambda items: (
                f"no wanted item within {timeout} s; {len(items)} items, last "
                f"{items[-1] if items else None}"
            ),
        )
    except StopIteration:
        raise AssertionError("the iterator ended before a wanted item") from None


def ids(records) -> list[int]:
    return [record.id for record in records]


def task_row(task) -> tuple:
    return (task.id, task.title, task.status, task.created_ns, task.updated_ns)


def memory_row(memory) -> tuple:
    return (
        memory.id,
        memory.content,
        tuple(memory.tags),
        memory.source,
        memory.pinned,
        memory.created_ns,
        memory.updated_ns,
    )


def task_rows(tasks) -> list[tuple]:
    return [task_row(task) for task in tasks]


def memory_rows(memories) -> list[tuple]:
    return [memory_row(memory) for memory in memories]


@pytest.fixture
def redex() -> net.Redex:
    return net.Redex()


@pytest.fixture
def tasks(redex):
    adapter = net.TasksAdapter.open(redex, ORIGIN)
    yield adapter
    adapter.close()


@pytest.fixture
def memories(redex):
    adapter = net.MemoriesAdapter.open(redex, ORIGIN)
    yield adapter
    adapter.close()


# --- module surface --------------------------------------------------------------------------

CORTEX_NAMES = (
    "TasksAdapter",
    "MemoriesAdapter",
    "Task",
    "Memory",
    "TaskWatchIter",
    "MemoryWatchIter",
    "NetDb",
    "CortexError",
    "NetDbError",
)


def test_exports():
    for name in CORTEX_NAMES:
        assert name in net.__all__, name
        assert getattr(net, name) is getattr(net._net, name)


def test_the_error_classes_are_unrelated():
    errors = (net.CortexError, net.NetDbError, net.RedexError)
    for error in errors:
        assert issubclass(error, Exception)
        for other in errors:
            if other is not error:
                assert not issubclass(error, other), (error, other)
    error = net.CortexError("create failed: adapter closed")
    assert str(error) == "create failed: adapter closed"
    assert error.args == ("create failed: adapter closed",)


@pytest.mark.parametrize(
    "name",
    ["Task", "Memory", "TasksAdapter", "MemoriesAdapter", "TaskWatchIter", "MemoryWatchIter"],
)
def test_only_the_static_constructors_build_adapters_and_records(name):
    with pytest.raises(TypeError):
        getattr(net, name)()


def test_open_takes_a_redex_and_a_u64_origin(redex):
    with pytest.raises(TypeError):
        net.TasksAdapter.open("not a redex", ORIGIN)
    with pytest.raises(TypeError):
        net.MemoriesAdapter.open(None, ORIGIN)
    for origin in (-1, 2**64):
        with pytest.raises((OverflowError, TypeError)):
            net.TasksAdapter.open(redex, origin)
    for origin in (0, U64_MAX):
        adapter = net.TasksAdapter.open(net.Redex(), origin)
        assert adapter.is_running()
        adapter.close()


# --- records ---------------------------------------------------------------------------------


def test_task_attributes_and_repr(tasks):
    settle(tasks, tasks.create(7, "hi", 100))
    (task,) = tasks.list_tasks()
    assert type(task) is net.Task
    assert (task.id, task.title, task.status) == (7, "hi", "pending")
    assert (task.created_ns, task.updated_ns) == (100, 100)
    assert repr(task) == 'Task(id=7, title="hi", status="pending", created_ns=100, updated_ns=100)'


def test_memory_attributes_and_repr(memories):
    settle(memories, memories.store(5, "c", ["a", "b"], "src", 9))
    (memory,) = memories.list_memories()
    assert type(memory) is net.Memory
    assert (memory.id, memory.content, memory.tags, memory.source) == (5, "c", ["a", "b"], "src")
    assert type(memory.tags) is list
    assert (memory.pinned, memory.created_ns, memory.updated_ns) == (False, 9, 9)
    assert repr(memory) == (
        'Memory(id=5, content="c", tags=["a", "b"], source="src", pinned=false, '
        "created_ns=9, updated_ns=9)"
    )


def test_records_are_read_only(tasks, memories):
    settle(tasks, tasks.create(1, "t", 1))
    settle(memories, memories.store(1, "m", ["x"], "s", 1))
    (task,) = tasks.list_tasks()
    (memory,) = memories.list_memories()
    attributes = [
        (task, ("id", "title", "status", "created_ns", "updated_ns")),
        (memory, ("id", "content", "tags", "source", "created_ns", "updated_ns", "pinned")),
    ]
    for record, names in attributes:
        for name in names:
            with pytest.raises(AttributeError):
                setattr(record, name, getattr(record, name))
        with pytest.raises(AttributeError):
            record.new_attribute = 1
        assert not hasattr(record, "__dict__")
    memory.tags.append("y")  # a copy: the stored memory keeps its tags
    assert memories.list_memories()[0].tags == ["x"]


def test_records_compare_and_hash_by_value(tasks, memories):
    # Ours: by value (0.18 compares by identity).
    settle(tasks, tasks.create(1, "t", 1))
    first, again = tasks.list_tasks()[0], tasks.list_tasks()[0]
    assert first == again
    assert not first != again  # noqa: SIM202 -- __ne__ too
    assert hash(first) == hash(again)
    assert len({first, again}) == 1
    settle(tasks, tasks.rename(1, "t", 2))  # same title, new updated_ns
    renamed = tasks.list_tasks()[0]
    assert renamed != first
    settle(tasks, tasks.rename(1, "u", 2))  # only the title changes
    assert tasks.list_tasks()[0] != renamed

    settle(memories, memories.store(1, "m", ["a", "b"], "s", 1))
    one, two = memories.list_memories()[0], memories.list_memories()[0]
    assert one == two and hash(one) == hash(two) and len({one, two}) == 1
    settle(memories, memories.pin(1, 1))  # only `pinned` changes
    assert memories.list_memories()[0] != one


def test_strings_round_trip_exactly(tasks, memories):
    title = "héllo ✓ 😀 \x00 end"
    settle(tasks, tasks.create(1, title, 1))
    assert tasks.list_tasks()[0].title == title
    tags = ["日本", "", "a b", "😀"]
    settle(memories, memories.store(1, title, tags, "sørce", 1))
    (memory,) = memories.list_memories()
    assert (memory.content, memory.tags, memory.source) == (title, tags, "sørce")


def test_arguments_are_strictly_typed(tasks, memories):
    with pytest.raises(TypeError):
        tasks.create(1, b"bytes title", 1)
    with pytest.raises(TypeError):
        tasks.create("1", "t", 1)
    with pytest.raises((OverflowError, TypeError)):
        tasks.create(-1, "t", 1)
    with pytest.raises((OverflowError, TypeError)):
        tasks.create(1, "t", 2**64)
    with pytest.raises((OverflowError, TypeError)):
        tasks.rename(1, "t", -5)
    with pytest.raises((OverflowError, TypeError)):
        memories.pin(-1, 1)
    with pytest.raises(TypeError):
        memories.store(1, "c", [1, 2], "s", 1)
    settle(tasks, tasks.create(U64_MAX, "max", U64_MAX))
    assert task_rows(tasks.list_tasks()) == [(U64_MAX, "max", "pending", U64_MAX, U64_MAX)]
    assert tasks.count() == 1
    assert memories.count() == 0


# --- mutations and the fold: tasks ----------------------------------------------------------


def test_every_task_mutation_returns_its_log_seq(redex, tasks):
    seqs = [
        tasks.create(1, "a", 10),
        tasks.rename(1, "b", 11),
        tasks.complete(1, 12),
        tasks.delete(1),
        tasks.rename(99, "unknown", 13),  # a no-op for the fold, still an event
        tasks.create(2, "c", 14),
    ]
    assert all(type(seq) is int for seq in seqs)
    assert seqs == list(range(6))
    settle(tasks, seqs[-1])
    assert len(redex.open_file("cortex/tasks")) == 6  # the adapter's RedEX file


def test_create(tasks):
    settle(tasks, tasks.create(1, "write", 100))
    assert task_rows(tasks.list_tasks()) == [(1, "write", "pending", 100, 100)]
    assert tasks.count() == 1


def test_rename_changes_the_title_and_updated(tasks):
    tasks.create(1, "write", 100)
    settle(tasks, tasks.rename(1, "rewrite", 150))
    assert task_rows(tasks.list_tasks()) == [(1, "rewrite", "pending", 100, 150)]


def test_complete_changes_the_status_and_updated(tasks):
    tasks.create(1, "write", 100)
    settle(tasks, tasks.complete(1, 200))
    assert task_rows(tasks.list_tasks()) == [(1, "write", "completed", 100, 200)]
    settle(tasks, tasks.rename(1, "done", 300))  # a rename keeps the status
    assert task_rows(tasks.list_tasks()) == [(1, "done", "completed", 100, 300)]


def test_delete_removes(tasks):
    tasks.create(1, "a", 1)
    tasks.create(2, "b", 2)
    settle(tasks, tasks.delete(1))
    assert task_rows(tasks.list_tasks()) == [(2, "b", "pending", 2, 2)]
    assert tasks.count() == 1


def test_create_of_an_existing_id_replaces_the_task(tasks):
    tasks.create(1, "old", 10)
    tasks.complete(1, 20)
    settle(tasks, tasks.create(1, "new", 30))
    assert task_rows(tasks.list_tasks()) == [(1, "new", "pending", 30, 30)]
    assert tasks.count() == 1


def test_mutations_of_an_unknown_id_are_no_ops(tasks):
    tasks.create(1, "a", 1)
    rename = tasks.rename(2, "ghost", 5)
    complete = tasks.complete(3, 6)
    delete = tasks.delete(4)
    assert [rename, complete, delete] == [1, 2, 3]
    settle(tasks, delete)
    assert task_rows(tasks.list_tasks()) == [(1, "a", "pending", 1, 1)]
    assert tasks.count() == 1
    settle(tasks, tasks.rename(2, "still a ghost", 7))  # no create afterwards either
    assert ids(tasks.list_tasks()) == [1]


def test_a_deleted_task_stays_deleted_for_later_updates(tasks):
    tasks.create(1, "a", 1)
    tasks.delete(1)
    tasks.rename(1, "b", 2)
    settle(tasks, tasks.complete(1, 3))
    assert tasks.list_tasks() == []
    assert tasks.count() == 0


def test_wait_for_seq_of_a_folded_seq_returns_at_once(tasks):
    seq = tasks.create(1, "a", 1)
    settle(tasks, seq)
    settle(tasks, seq)
    settle(tasks, 0)


# --- mutations and the fold: memories -------------------------------------------------------


def test_every_memory_mutation_returns_its_log_seq(redex, memories):
    seqs = [
        memories.store(1, "c", ["a"], "s", 10),
        memories.retag(1, ["b"], 11),
        memories.pin(1, 12),
        memories.unpin(1, 13),
        memories.delete(1),
        memories.pin(42, 14),
        memories.store(2, "d", [], "s", 15),
    ]
    assert all(type(seq) is int for seq in seqs)
    assert seqs == list(range(7))
    settle(memories, seqs[-1])
    assert len(redex.open_file("cortex/memories")) == 7


def test_store_of_a_new_memory(memories):
    settle(memories, memories.store(1, "buy milk", ["home", "shopping"], "phone", 100))
    assert memory_rows(memories.list_memories()) == [
        (1, "buy milk", ("home", "shopping"), "phone", False, 100, 100)
    ]
    assert memories.count() == 1


def test_store_over_an_existing_memory_keeps_created_and_pinned(memories):
    memories.store(1, "old", ["a"], "phone", 100)
    memories.pin(1, 150)
    settle(memories, memories.store(1, "new", ["b", "c"], "laptop", 200))
    assert memory_rows(memories.list_memories()) == [
        (1, "new", ("b", "c"), "laptop", True, 100, 200)
    ]
    assert memories.count() == 1


def test_retag_replaces_the_tags_in_order(memories):
    memories.store(1, "c", ["a", "b"], "s", 100)
    settle(memories, memories.retag(1, ["z", "y", "x"], 110))
    assert memory_rows(memories.list_memories()) == [
        (1, "c", ("z", "y", "x"), "s", False, 100, 110)
    ]
    settle(memories, memories.retag(1, [], 120))
    assert memory_rows(memories.list_memories()) == [(1, "c", (), "s", False, 100, 120)]


def test_a_tag_sequence_that_fails_raises_its_own_error(memories):
    class Failing:  # a sequence whose items cannot be read (once a crash)
        def __len__(self):
            return 2

        def __getitem__(self, index):
            raise ValueError("unreadable")

    with pytest.raises(ValueError, match="unreadable"):
        memories.store(1, "c", Failing(), "s", 100)
    with pytest.raises(ValueError, match="unreadable"):
        memories.list_memories(all_tags=Failing())
    assert memories.count() == 0


def test_pin_and_unpin(memories):
    memories.store(1, "c", [], "s", 100)
    settle(memories, memories.pin(1, 110))
    assert memory_rows(memories.list_memories()) == [(1, "c", (), "s", True, 100, 110)]
    settle(memories, memories.pin(1, 120))  # pinning again keeps it pinned, moves updated
    assert memory_rows(memories.list_memories()) == [(1, "c", (), "s", True, 100, 120)]
    settle(memories, memories.unpin(1, 130))
    assert memory_rows(memories.list_memories()) == [(1, "c", (), "s", False, 100, 130)]


def test_delete_of_a_memory(memories):
    memories.store(1, "a", [], "s", 1)
    memories.store(2, "b", [], "s", 2)
    settle(memories, memories.delete(2))
    assert ids(memories.list_memories()) == [1]
    assert memories.count() == 1


def test_memory_mutations_of_an_unknown_id_are_no_ops(memories):
    memories.store(1, "a", ["t"], "s", 1)
    memories.retag(2, ["x"], 5)
    memories.pin(3, 6)
    memories.unpin(4, 7)
    settle(memories, memories.delete(5))
    assert memory_rows(memories.list_memories()) == [(1, "a", ("t",), "s", False, 1, 1)]
    assert memories.count() == 1


def test_tasks_and_memories_have_separate_logs(redex, tasks, memories):
    assert tasks.create(1, "t", 1) == 0
    assert memories.store(1, "m", [], "s", 1) == 0
    assert tasks.create(2, "t", 2) == 1
    settle(tasks, 1)
    settle(memories, 0)
    assert (tasks.count(), memories.count()) == (2, 1)


# --- list_tasks filters ----------------------------------------------------------------------


@pytest.fixture
def sample_tasks(tasks):
    """Five tasks. Final state (id, title, status, created, updated):
    1 "Write report"          completed 100 150
    2 "Read REPORT draft v2"  pending   200 300
    3 "École fees"            pending   200 200
    4 "lunch"                 completed  50 400
    5 "МОСКВА trip"           pending   300 300"""
    tasks.create(1, "Write report", 100)
    tasks.create(2, "Read REPORT draft", 200)
    tasks.create(3, "École fees", 200)
    tasks.create(4, "lunch", 50)
    tasks.create(5, "МОСКВА trip", 300)
    tasks.complete(1, 150)
    tasks.rename(2, "Read REPORT draft v2", 300)
    settle(tasks, tasks.complete(4, 400))
    return tasks


def test_list_tasks_without_filters_is_everything_by_id(sample_tasks):
    # Ours: id ascending without order_by (0.18: unspecified hash order).
    assert task_rows(sample_tasks.list_tasks()) == [
        (1, "Write report", "completed", 100, 150),
        (2, "Read REPORT draft v2", "pending", 200, 300),
        (3, "École fees", "pending", 200, 200),
        (4, "lunch", "completed", 50, 400),
        (5, "МОСКВА trip", "pending", 300, 300),
    ]
    nones = dict.fromkeys(["status", "title_contains", *COMMON_FILTERS])
    assert ids(sample_tasks.list_tasks(**nones)) == [1, 2, 3, 4, 5]
    assert sample_tasks.count() == 5


@pytest.mark.parametrize(
    "status, expected",
    [
        ("pending", [2, 3, 5]),
        ("completed", [1, 4]),
        ("PENDING", [2, 3, 5]),
        ("Completed", [1, 4]),
    ],
)
def test_status_filter_is_case_insensitive(sample_tasks, status, expected):
    assert ids(sample_tasks.list_tasks(status=status)) == expected
    assert {task.status for task in sample_tasks.list_tasks(status=status)} == {status.lower()}


@pytest.mark.parametrize(
    "needle, expected",
    [
        ("report", [1, 2]),
        ("REPORT", [1, 2]),
        ("RePoRt D", [2]),
        ("école", [3]),
        ("ÉCOLE", [3]),  # Unicode case folding, not only ASCII
        ("École FEES", [3]),
        ("москва", [5]),
        ("Москва Trip", [5]),
        ("lunch", [4]),
        ("", [1, 2, 3, 4, 5]),
        ("zzz", []),
        ("reports", []),
    ],
)
def test_title_contains_is_a_case_insensitive_substring(sample_tasks, needle, expected):
    assert ids(sample_tasks.list_tasks(title_contains=needle)) == expected


@pytest.mark.parametrize(
    "bounds, expected",
    [
        ({"created_after_ns": 200}, [2, 3, 5]),  # inclusive
        ({"created_after_ns": 201}, [5]),
        ({"created_before_ns": 200}, [1, 2, 3, 4]),  # inclusive
        ({"created_before_ns": 199}, [1, 4]),
        ({"created_after_ns": 200, "created_before_ns": 200}, [2, 3]),
        ({"created_after_ns": 0, "created_before_ns": U64_MAX}, [1, 2, 3, 4, 5]),
        ({"created_after_ns": 301}, []),
        ({"created_after_ns": 300, "created_before_ns": 100}, []),
        ({"updated_after_ns": 300}, [2, 4, 5]),
        ({"updated_before_ns": 200}, [1, 3]),
        ({"updated_after_ns": 150, "updated_before_ns": 150}, [1]),
        ({"updated_after_ns": 151, "updated_before_ns": 299}, [3]),
        ({"created_after_ns": 100, "updated_before_ns": 300}, [1, 2, 3, 5]),
    ],
)
def test_time_bounds_are_inclusive(sample_tasks, bounds, expected):
    assert ids(sample_tasks.list_tasks(**bounds)) == expected


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"status": "pending", "updated_after_ns": 300}, [2, 5]),
        ({"status": "completed", "title_contains": "LUNCH"}, [4]),
        ({"status": "completed", "title_contains": "report", "created_before_ns": 99}, []),
        ({"title_contains": "r", "created_after_ns": 100, "updated_before_ns": 300}, [1, 2, 5]),
    ],
)
def test_task_filters_combine(sample_tasks, filters, expected):
    assert ids(sample_tasks.list_tasks(**filters)) == expected


TASK_ORDERS = {
    "id_asc": [1, 2, 3, 4, 5],
    "id_desc": [5, 4, 3, 2, 1],
    "created_asc": [4, 1, 2, 3, 5],  # 2 and 3 tie at 200: id ascending
    "created_desc": [5, 2, 3, 1, 4],  # ties broken by id ascending here too
    "updated_asc": [1, 3, 2, 5, 4],  # 2 and 5 tie at 300
    "updated_desc": [4, 2, 5, 3, 1],
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("spell", [str.lower, str.upper, str.title])
def test_task_order_by_all_six_case_insensitive(sample_tasks, order, spell):
    assert ids(sample_tasks.list_tasks(order_by=spell(order))) == TASK_ORDERS[order]


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"limit": 0}, []),
        ({"limit": 1}, [1]),
        ({"limit": 3}, [1, 2, 3]),
        ({"limit": 5}, [1, 2, 3, 4, 5]),
        ({"limit": 100}, [1, 2, 3, 4, 5]),
        ({"limit": 2**32 - 1}, [1, 2, 3, 4, 5]),
        ({"limit": 2, "order_by": "created_desc"}, [5, 2]),  # after ordering
        ({"limit": 2, "order_by": "updated_asc", "status": "pending"}, [3, 2]),
        ({"limit": 0, "order_by": "id_desc"}, []),
    ],
)
def test_task_limit_applies_after_filtering_and_ordering(sample_tasks, options, expected):
    assert ids(sample_tasks.list_tasks(**options)) == expected


def test_id_order_follows_every_change_between_lists(tasks):
    """The id order is kept between lists and must follow creates (in any id order), deletes
    and renames, with and without a limit, both directions."""
    for task_id in (5, 1, 3):
        tasks.create(task_id, f"t{task_id}", 10)
    settle(tasks, tasks.create(4, "t4", 10))
    assert ids(tasks.list_tasks()) == [1, 3, 4, 5]
    assert ids(tasks.list_tasks(order_by="id_desc", limit=2)) == [5, 4]
    tasks.delete(4)
    tasks.create(2, "t2", 11)
    settle(tasks, tasks.rename(5, "renamed", 12))
    assert ids(tasks.list_tasks()) == [1, 2, 3, 5]
    assert ids(tasks.list_tasks(order_by="id_desc")) == [5, 3, 2, 1]
    assert [t.title for t in tasks.list_tasks(order_by="id_desc", limit=1)] == ["renamed"]
    assert ids(tasks.list_tasks(title_contains="t", limit=2)) == [1, 2]
    state, last_seq = tasks.snapshot()
    restored = net.TasksAdapter.open_from_snapshot(net.Redex(), ORIGIN, state, last_seq)
    try:
        assert restored.list_tasks() == tasks.list_tasks()
    finally:
        restored.close()


def test_task_limit_must_be_unsigned(sample_tasks):
    with pytest.raises((OverflowError, TypeError)):
        sample_tasks.list_tasks(limit=-1)


@pytest.mark.parametrize("status, shown", [("done", "done"), ("DONE", "done"), ("", "")])
def test_invalid_status(sample_tasks, status, shown):
    message = exactly(BAD_STATUS.format(shown))
    with pytest.raises(ValueError, match=message):
        sample_tasks.list_tasks(status=status)
    with pytest.raises(ValueError, match=message):
        sample_tasks.watch_tasks(status=status)
    with pytest.raises(ValueError, match=message):
        sample_tasks.snapshot_and_watch_tasks(status=status)


@pytest.mark.parametrize("order", ["foo", "id-asc", "", "idasc", "title_asc"])
def test_invalid_task_order_by(sample_tasks, order):
    message = exactly(BAD_TASK_ORDER.format(order))
    with pytest.raises(ValueError, match=message):
        sample_tasks.list_tasks(order_by=order)
    with pytest.raises(ValueError, match=message):
        sample_tasks.watch_tasks(order_by=order)
    with pytest.raises(ValueError, match=message):
        sample_tasks.snapshot_and_watch_tasks(order_by=order)


def test_an_invalid_order_by_in_upper_case_is_a_value_error(sample_tasks):
    # The text shown is the lowercased value in 0.18 ("FOO" -> "foo"); either spelling will do.
    with pytest.raises(ValueError, match=r'^invalid order_by "(FOO|foo)" \(expected one of '):
        sample_tasks.list_tasks(order_by="FOO")


def test_task_filters_are_keyword_only(sample_tasks):
    with pytest.raises(TypeError):
        sample_tasks.list_tasks("pending")
    with pytest.raises(TypeError):
        sample_tasks.watch_tasks("pending")
    with pytest.raises(TypeError):
        sample_tasks.list_tasks(title="x")  # not a filter


# --- list_memories filters -------------------------------------------------------------------


@pytest.fixture
def sample_memories(memories):
    """Five memories. Final state (id, content, tags, source, pinned, created, updated):
    1 "Buy milk"       [shopping, home]         phone   pinned 100 150
    2 "Call MOM"       [family]                 phone   -      200 200
    3 "École pickup"   [family, school, urgent] laptop  -      200 350
    4 "milk the cows"  []                       laptop  -       50 400
    5 "notes"          [home]                   Phone   pinned 300 300"""
    memories.store(1, "Buy milk", ["shopping", "home"], "phone", 100)
    memories.store(2, "Call MOM", ["family"], "phone", 200)
    memories.store(3, "École pickup", ["family", "school"], "laptop", 200)
    memories.store(4, "milk the cows", [], "laptop", 50)
    memories.store(5, "notes", ["home"], "Phone", 300)
    memories.pin(1, 150)
    memories.retag(3, ["family", "school", "urgent"], 350)
    memories.pin(4, 60)
    memories.unpin(4, 400)
    settle(memories, memories.pin(5, 300))
    return memories


def test_list_memories_without_filters_is_everything_by_id(sample_memories):
    assert memory_rows(sample_memories.list_memories()) == [
        (1, "Buy milk", ("shopping", "home"), "phone", True, 100, 150),
        (2, "Call MOM", ("family",), "phone", False, 200, 200),
        (3, "École pickup", ("family", "school", "urgent"), "laptop", False, 200, 350),
        (4, "milk the cows", (), "laptop", False, 50, 400),
        (5, "notes", ("home",), "Phone", True, 300, 300),
    ]
    nones = dict.fromkeys(
        ["source", "content_contains", "tag", "any_tag", "all_tags", "pinned", *COMMON_FILTERS]
    )
    assert ids(sample_memories.list_memories(**nones)) == [1, 2, 3, 4, 5]
    assert sample_memories.count() == 5


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"source": "phone"}, [1, 2]),  # exact: not "Phone"
        ({"source": "Phone"}, [5]),
        ({"source": "PHONE"}, []),
        ({"source": "laptop"}, [3, 4]),
        ({"source": ""}, []),
        ({"content_contains": "MILK"}, [1, 4]),
        ({"content_contains": "mom"}, [2]),
        ({"content_contains": "école"}, [3]),
        ({"content_contains": "ÉCOLE PICKUP"}, [3]),  # Unicode case folding
        ({"content_contains": ""}, [1, 2, 3, 4, 5]),
        ({"content_contains": "milkshake"}, []),
        ({"tag": "family"}, [2, 3]),
        ({"tag": "Family"}, []),  # tags match exactly
        ({"tag": "urgent"}, [3]),
        ({"tag": "nope"}, []),
        ({"any_tag": ["home", "school"]}, [1, 3, 5]),
        ({"any_tag": ["nope", "family"]}, [2, 3]),
        ({"any_tag": ["nope"]}, []),
        ({"any_tag": []}, [1, 2, 3, 4, 5]),  # empty: no constraint
        ({"all_tags": ["family", "school"]}, [3]),
        ({"all_tags": ["home"]}, [1, 5]),
        ({"all_tags": ["family", "home"]}, []),
        ({"all_tags": []}, [1, 2, 3, 4, 5]),  # empty: no constraint
        ({"any_tag": [], "all_tags": []}, [1, 2, 3, 4, 5]),
        ({"pinned": True}, [1, 5]),
        ({"pinned": False}, [2, 3, 4]),
        ({"created_after_ns": 200}, [2, 3, 5]),
        ({"created_before_ns": 100}, [1, 4]),
        ({"created_after_ns": 200, "created_before_ns": 200}, [2, 3]),
        ({"updated_after_ns": 350}, [3, 4]),
        ({"updated_before_ns": 150}, [1]),
        ({"updated_after_ns": 200, "updated_before_ns": 300}, [2, 5]),
        ({"updated_after_ns": 401}, []),
        ({"source": "laptop", "pinned": False, "any_tag": ["school"]}, [3]),
        ({"content_contains": "MILK", "pinned": True}, [1]),
        ({"tag": "family", "any_tag": ["urgent"], "all_tags": []}, [3]),
        ({"tag": "home", "all_tags": ["shopping"], "source": "phone"}, [1]),
        ({"any_tag": ["home"], "pinned": True, "created_after_ns": 101}, [5]),
    ],
)
def test_memory_filters(sample_memories, filters, expected):
    assert ids(sample_memories.list_memories(**filters)) == expected


MEMORY_ORDERS = {
    "id_asc": [1, 2, 3, 4, 5],
    "id_desc": [5, 4, 3, 2, 1],
    "created_asc": [4, 1, 2, 3, 5],  # 2 and 3 tie at 200: id ascending
    "created_desc": [5, 2, 3, 1, 4],
    "updated_asc": [1, 2, 5, 3, 4],
    "updated_desc": [4, 3, 5, 2, 1],
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("spell", [str.lower, str.upper, str.title])
def test_memory_order_by_all_six_case_insensitive(sample_memories, order, spell):
    assert ids(sample_memories.list_memories(order_by=spell(order))) == MEMORY_ORDERS[order]


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"limit": 0}, []),
        ({"limit": 2}, [1, 2]),
        ({"limit": 99}, [1, 2, 3, 4, 5]),
        ({"limit": 2, "order_by": "updated_desc"}, [4, 3]),
        ({"limit": 1, "order_by": "created_asc", "pinned": True}, [1]),
        ({"limit": 0, "pinned": True}, []),
    ],
)
def test_memory_limit_applies_after_filtering_and_ordering(sample_memories, options, expected):
    assert ids(sample_memories.list_memories(**options)) == expected


@pytest.mark.parametrize("order", ["foo", "", "id-desc", "content_asc"])
def test_invalid_memory_order_by(sample_memories, order):
    message = exactly(f'invalid order_by "{order}"')
    with pytest.raises(ValueError, match=message):
        sample_memories.list_memories(order_by=order)
    with pytest.raises(ValueError, match=message):
        sample_memories.watch_memories(order_by=order)
    with pytest.raises(ValueError, match=message):
        sample_memories.snapshot_and_watch_memories(order_by=order)


def test_memory_filters_are_keyword_only_and_limit_unsigned(sample_memories):
    with pytest.raises(TypeError):
        sample_memories.list_memories("phone")
    with pytest.raises((OverflowError, TypeError)):
        sample_memories.list_memories(limit=-1)


# --- open errors and close -------------------------------------------------------------------


def test_persistent_without_a_directory_is_refused():
    # Ours refuses (0.18.0 silently accepts and keeps nothing).
    with pytest.raises(net.CortexError, match=exactly(f"TasksAdapter open failed: {NO_DIR}")):
        net.TasksAdapter.open(net.Redex(), ORIGIN, persistent=True)
    with pytest.raises(net.CortexError, match=exactly(f"MemoriesAdapter open failed: {NO_DIR}")):
        net.MemoriesAdapter.open(net.Redex(), ORIGIN, persistent=True)
    with pytest.raises(net.CortexError, match="^TasksAdapter open_from_snapshot failed: "):
        net.TasksAdapter.open_from_snapshot(net.Redex(), ORIGIN, EMPTY_SNAPSHOT[0], persistent=True)
    with pytest.raises(net.CortexError, match="^MemoriesAdapter open_from_snapshot failed: "):
        net.MemoriesAdapter.open_from_snapshot(
            net.Redex(), ORIGIN, EMPTY_SNAPSHOT[0], persistent=True
        )


def test_close_of_a_tasks_adapter(tasks):
    settle(tasks, tasks.create(1, "kept", 1))
    assert tasks.is_running()
    assert tasks.close() is None
    assert not tasks.is_running()  # ours (0.18 still says True)
    calls = {
        "create": lambda: tasks.create(2, "lost", 2),
        "rename": lambda: tasks.rename(1, "lost", 2),
        "complete": lambda: tasks.complete(1, 2),
        "delete": lambda: tasks.delete(1),
    }
    for op, call in calls.items():
        with pytest.raises(net.CortexError, match=exactly(f"{op} failed: adapter closed")):
            call()
    within(2, tasks.wait_for_seq, 10**9)  # returns at once, never blocks
    assert tasks.count() == 1  # the last state still answers
    assert task_rows(tasks.list_tasks()) == [(1, "kept", "pending", 1, 1)]
    assert ids(tasks.list_tasks(title_contains="KEPT")) == [1]
    tasks.close()  # idempotent
    assert not tasks.is_running()


def test_close_of_a_memories_adapter(memories):
    settle(memories, memories.store(1, "kept", ["t"], "s", 1))
    memories.close()
    assert not memories.is_running()
    calls = {
        "store": lambda: memories.store(2, "lost", [], "s", 2),
        "retag": lambda: memories.retag(1, [], 2),
        "pin": lambda: memories.pin(1, 2),
        "unpin": lambda: memories.unpin(1, 2),
        "delete": lambda: memories.delete(1),
    }
    for op, call in calls.items():
        with pytest.raises(net.CortexError, match=exactly(f"{op} failed: adapter closed")):
            call()
    within(2, memories.wait_for_seq, 10**9)
    assert memories.count() == 1
    assert memory_rows(memories.list_memories(tag="t")) == [(1, "kept", ("t",), "s", False, 1, 1)]
    memories.close()
    memories.close()


def test_a_finalizer_that_waits_for_the_fold_during_list_tasks_does_not_deadlock(tasks):
    # list_tasks makes its objects while the state is read-locked; a collection run there
    # could call a __del__ that waits for the fold, which needs that lock.
    settle(tasks, tasks.create(1, "a", 1))
    waited = []

    class WaitsForTheFold:
        def __del__(self):
            waited.append(tasks.wait_for_seq(tasks.create(len(waited) + 2, "b", 2)))

    def list_with_garbage_pending():
        thresholds = gc.get_threshold()
        try:
            for allocations in range(1, 9):  # one of them falls inside the locked part
                gc.collect()
                cycle = WaitsForTheFold()
                cycle.self = cycle
                del cycle
                gc.set_threshold(allocations, 1000, 1000)
                tasks.list_tasks()
                gc.set_threshold(*thresholds)
        finally:
            gc.set_threshold(*thresholds)
        gc.collect()

    within(20, list_with_garbage_pending)
    assert len(waited) == 8 and tasks.count() == 9


def test_a_blocked_wait_for_seq_returns_when_the_adapter_closes(tasks):
    settle(tasks, tasks.create(1, "a", 1))
    outcome: list = []

    def wait() -> None:
        try:
            outcome.append(tasks.wait_for_seq(10**6))
        except net.CortexError as error:  # a wait cut short may say so; it must not hang
            outcome.append(error)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    tasks.close()
    waiter.join(5)
    assert not waiter.is_alive(), "wait_for_seq of a never-written seq outlived close()"
    assert len(outcome) == 1


# --- persistence -----------------------------------------------------------------------------


def test_a_persistent_tasks_adapter_replays_its_file_on_reopen(tmp_path):
    adapter = net.TasksAdapter.open(
        net.Redex(persistent_dir=str(tmp_path)), ORIGIN, persistent=True
    )
    for i in range(50):
        adapter.create(i, f"task {i}", 1000 + i)
    adapter.rename(3, "renamed", 2000)
    adapter.complete(4, 2001)
    adapter.delete(5)
    last = adapter.rename(999, "unknown", 2002)
    assert last == 53
    settle(adapter, last)
    before = task_rows(adapter.list_tasks())
    adapter.close()
    assert (tmp_path / "cortex" / "tasks").is_dir()

    reopened = net.TasksAdapter.open(
        net.Redex(persistent_dir=str(tmp_path)), ORIGIN, persistent=True
    )
    try:
        # Ours: the replay is done before open returns, no wait needed.
        assert reopened.count() == 49
        assert task_rows(reopened.list_tasks()) == before
        assert (3, "renamed", "pending", 1003, 2000) in before
        assert (4, "task 4", "completed", 1004, 2001) in before
        assert 5 not in ids(reopened.list_tasks())
        seq = reopened.create(100, "after reopen", 3000)
        assert seq == 54  # seqs go on after the replayed ones
        settle(reopened, seq)
        assert reopened.count() == 50
    finally:
        reopened.close()

    third = net.TasksAdapter.open(net.Redex(persistent_dir=str(tmp_path)), ORIGIN, persistent=True)
    try:
        assert third.count() == 50
        assert task_rows(third.list_tasks(limit=1, order_by="id_desc")) == [
            (100, "after reopen", "pending", 3000, 3000)
        ]
    finally:
        third.close()


def test_a_persistent_memories_adapter_replays_its_file_on_reopen(tmp_path):
    adapter = net.MemoriesAdapter.open(
        net.Redex(persistent_dir=str(tmp_path)), ORIGIN, persistent=True
    )
    adapter.store(1, "one", ["a"], "s", 10)
    adapter.store(2, "two", ["b"], "s", 20)
    adapter.pin(1, 30)
    adapter.retag(2, ["c", "d"], 40)
    adapter.store(3, "three", [], "t", 50)
    settle(adapter, adapter.delete(3))
    before = memory_rows(adapter.list_memories())
    adapter.close()

    reopened = net.MemoriesAdapter.open(
        net.Redex(persistent_dir=str(tmp_path)), ORIGIN, persistent=True
    )
    try:
        assert reopened.count() == 2
        assert (
            memory_rows(reopened.list_memories())
            == before
            == [
                (1, "one", ("a",), "s", True, 10, 30),
                (2, "two", ("c", "d"), "s", False, 20, 40),
            ]
        )
        assert reopened.unpin(1, 60) == 6
    finally:
        reopened.close()


def test_a_non_persistent_adapter_keeps_nothing_across_managers(tmp_path):
    adapter = net.TasksAdapter.open(net.Redex(persistent_dir=str(tmp_path)), ORIGIN)
    settle(adapter, adapter.create(1, "heap only", 1))
    adapter.close()
    again = net.TasksAdapter.open(net.Redex(persistent_dir=str(tmp_path)), ORIGIN)
    try:
        assert again.count() == 0
        assert again.create(2, "fresh", 2) == 0
    finally:
        again.close()


# --- snapshots -------------------------------------------------------------------------------

# Byte vectors produced by ai2070-net 0.18.0 (postcard; ours writes map entries in id order).
ONE_TASK = bytes.fromhex("01 08 01 01 01 01 61 00 02 02")  # create(1, "a", 2)
BIG_TASK = bytes.fromhex(  # create(300, "é", U64_MAX); complete(300, U64_MAX)
    "02 1d 01 ac02 ac02 02 c3a9 01 ffffffffffffffffff01 ffffffffffffffffff01"
)
TWO_TASKS_ID_ORDER = bytes.fromhex(  # ... then create(2, "x", 1), entries in id order
    "03 24 02 02 02 01 78 00 01 01 ac02 ac02 02 c3a9 01 ffffffffffffffffff01 ffffffffffffffffff01"
)
TWO_TASKS_0_18_ORDER = bytes.fromhex(  # the same state as 0.18.0 wrote it (hash order)
    "03 24 02 ac02 ac02 02 c3a9 01 ffffffffffffffffff01 ffffffffffffffffff01 02 02 01 78 00 01 01"
)
ONE_MEMORY = bytes.fromhex(  # store(5, "c", ["a", "b"], "src", 9)
    "01 11 01 05 05 01 63 02 01 61 01 62 03 737263 09 09 00"
)
ONE_PINNED_MEMORY = bytes.fromhex(  # ... then pin(5, 300)
    "02 12 01 05 05 01 63 02 01 61 01 62 03 737263 09 ac02 01"
)


def test_an_empty_snapshot(tasks, memories):
    assert tasks.snapshot() == EMPTY_SNAPSHOT
    assert memories.snapshot() == EMPTY_SNAPSHOT
    assert type(tasks.snapshot()[0]) is bytes


def test_task_snapshot_bytes_match_the_original(redex):
    tasks = net.TasksAdapter.open(redex, ORIGIN)
    settle(tasks, tasks.create(1, "a", 2))
    assert tasks.snapshot() == (ONE_TASK, 0)
    tasks.close()

    big = net.TasksAdapter.open(net.Redex(), ORIGIN)
    big.create(300, "é", U64_MAX)
    settle(big, big.complete(300, U64_MAX))
    assert big.snapshot() == (BIG_TASK, 1)
    settle(big, big.create(2, "x", 1))
    assert big.snapshot() == (TWO_TASKS_ID_ORDER, 2)
    big.close()


def test_memory_snapshot_bytes_match_the_original(memories):
    settle(memories, memories.store(5, "c", ["a", "b"], "src", 9))
    assert memories.snapshot() == (ONE_MEMORY, 0)
    settle(memories, memories.pin(5, 300))
    assert memories.snapshot() == (ONE_PINNED_MEMORY, 1)


def test_snapshots_of_the_original_open(redex):
    tasks = net.TasksAdapter.open_from_snapshot(redex, ORIGIN, TWO_TASKS_0_18_ORDER)
    try:
        assert task_rows(tasks.list_tasks()) == [
            (2, "x", "pending", 1, 1),
            (300, "é", "completed", U64_MAX, U64_MAX),
        ]
        assert tasks.count() == 2
        assert tasks.snapshot() == (TWO_TASKS_ID_ORDER, None)  # re-encoded in id order
    finally:
        tasks.close()
    memories = net.MemoriesAdapter.open_from_snapshot(net.Redex(), ORIGIN, ONE_PINNED_MEMORY, None)
    try:
        assert memory_rows(memories.list_memories()) == [(5, "c", ("a", "b"), "src", True, 9, 300)]
        assert memories.snapshot() == (ONE_PINNED_MEMORY, None)
    finally:
        memories.close()


def test_a_restored_adapter_goes_on_writing(redex):
    tasks = net.TasksAdapter.open_from_snapshot(redex, ORIGIN, ONE_TASK)
    try:
        assert task_rows(tasks.list_tasks()) == [(1, "a", "pending", 2, 2)]
        seq = tasks.create(2, "b", 3)
        assert seq == 0  # a fresh log
        settle(tasks, seq)
        assert ids(tasks.list_tasks()) == [1, 2]
        # app_seq 1 from the snapshot, +1 for the create; entries in id order
        assert tasks.snapshot() == (
            bytes.fromhex("02 0f 02 01 01 01 61 00 02 02 02 02 01 62 00 03 03"),
            0,
        )
    finally:
        tasks.close()


def test_snapshot_round_trip_with_last_seq_folds_what_came_after(tmp_path):
    """A snapshot taken at seq 4; the log goes on to seq 6; reopening from the snapshot with its
    last_seq restores the snapshot and folds seqs 5 and 6 from the file, not 0..4 again."""
    adapter = net.TasksAdapter.open(
        net.Redex(persistent_dir=str(tmp_path)), ORIGIN, persistent=True
    )
    for i in range(5):
        adapter.create(i, f"t{i}", i)
    settle(adapter, 4)
    state, last_seq = adapter.snapshot()
    assert last_seq == 4
    adapter.rename(1, "R", 10)
    settle(adapter, adapter.delete(2))
    adapter.close()

    restored = net.TasksAdapter.open_from_snapshot(
        net.Redex(persistent_dir=str(tmp_path)), ORIGIN, state, last_seq, persistent=True
    )
    try:
        seq = restored.create(9, "n", 11)
        assert seq == 7
        settle(restored, seq)
        assert task_rows(restored.list_tasks()) == [
            (0, "t0", "pending", 0, 0),
            (1, "R", "pending", 1, 10),
            (3, "t3", "pending", 3, 3),
            (4, "t4", "pending", 4, 4),
            (9, "n", "pending", 11, 11),
        ]
        assert restored.snapshot()[1] == 7
    finally:
        restored.close()


def test_a_snapshot_restores_even_where_the_log_was_deleted_after_it(tmp_path):
    """The snapshot is the truth up to last_seq: a memory stored before it and deleted after it
    is gone once the later events are folded, and one stored after it is there."""
    adapter = net.MemoriesAdapter.open(
        net.Redex(persistent_dir=str(tmp_path)), ORIGIN, persistent=True
    )
    adapter.store(1, "old", ["a"], "s", 1)
    settle(adapter, adapter.pin(1, 2))
    state, last_seq = adapter.snapshot()
    adapter.delete(1)
    settle(adapter, adapter.store(2, "new", [], "s", 3))
    adapter.close()
    restored = net.MemoriesAdapter.open_from_snapshot(
        net.Redex(persistent_dir=str(tmp_path)), ORIGIN, state, last_seq=last_seq, persistent=True
    )
    try:
        settle(restored, 3)
        assert memory_rows(restored.list_memories()) == [(2, "new", (), "s", False, 3, 3)]
    finally:
        restored.close()


@pytest.mark.parametrize(
    "state",
    [
        b"",
        b"\xff",
        b"\x00",
        b"\x00\x05\x00",  # the inner state is shorter than its length says
        b"\x01\x02\xff\xff",
        b"\x00\x03\x01\x01\x01",  # one entry, cut short
    ],
)
def test_bad_snapshot_bytes(redex, state):
    with pytest.raises(net.CortexError, match="^TasksAdapter open_from_snapshot failed: .+"):
        net.TasksAdapter.open_from_snapshot(redex, ORIGIN, state)
    with pytest.raises(net.CortexError, match="^MemoriesAdapter open_from_snapshot failed: .+"):
        net.MemoriesAdapter.open_from_snapshot(redex, ORIGIN, state)


def test_open_from_snapshot_arguments(redex):
    with pytest.raises(TypeError):
        net.TasksAdapter.open_from_snapshot(redex, ORIGIN, bytearray(EMPTY_SNAPSHOT[0]))
    with pytest.raises(TypeError):
        net.MemoriesAdapter.open_from_snapshot(redex, ORIGIN, "\x00\x01\x00")
    with pytest.raises(TypeError):
        net.TasksAdapter.open_from_snapshot("redex", ORIGIN, EMPTY_SNAPSHOT[0])
    with pytest.raises((OverflowError, TypeError)):
        net.TasksAdapter.open_from_snapshot(redex, ORIGIN, EMPTY_SNAPSHOT[0], -1)
    adapter = net.TasksAdapter.open_from_snapshot(
        redex, ORIGIN, state_bytes=EMPTY_SNAPSHOT[0], last_seq=None, persistent=False
    )
    assert adapter.count() == 0 and adapter.snapshot() == EMPTY_SNAPSHOT
    adapter.close()


# --- watch iterators -------------------------------------------------------------------------


def test_a_task_watcher_starts_with_the_current_result_then_emits_only_changes(tasks):
    tasks.create(1, "x one", 1)
    settle(tasks, tasks.create(2, "two", 2))
    watch = tasks.watch_tasks(title_contains="X")
    assert type(watch) is net.TaskWatchIter
    assert iter(watch) is watch
    try:
        first = take_one(watch)
        assert type(first) is list and all(type(task) is net.Task for task in first)
        assert task_rows(first) == [(1, "x one", "pending", 1, 1)]
        # Changes outside the filter produce no item (an equal list is never emitted) ...
        tasks.create(3, "three", 3)
        settle(tasks, tasks.rename(2, "still two", 4))
        # ... so the next item is the one that changes the result.
        settle(tasks, tasks.create(4, "x four", 5))
        assert ids(take_one(watch)) == [1, 4]
        settle(tasks, tasks.rename(1, "x one", 6))  # same title, new updated_ns: a change
        assert task_rows(take_one(watch)) == [
            (1, "x one", "pending", 1, 6),
            (4, "x four", "pending", 5, 5),
        ]
        settle(tasks, tasks.complete(4, 7))
        assert task_rows(take_one(watch))[1] == (4, "x four", "completed", 5, 7)
        settle(tasks, tasks.delete(1))
        assert ids(take_one(watch)) == [4]
        settle(tasks, tasks.rename(4, "no longer", 8))
        assert take_one(watch) == []
    finally:
        watch.close()


def test_a_watcher_orders_by_id_by_default_and_honours_order_and_limit(tasks):
    for i in (5, 3, 9, 1):
        tasks.create(i, f"t{i}", 100 - i)
    settle(tasks, 3)
    default, ordered = tasks.watch_tasks(), tasks.watch_tasks(order_by="CREATED_ASC", limit=2)
    try:
        assert ids(take_one(default)) == [1, 3, 5, 9]
        assert ids(take_one(ordered)) == [9, 5]
        settle(tasks, tasks.create(0, "newest", 1))
        assert ids(take_one(default)) == [0, 1, 3, 5, 9]
        assert ids(take_one(ordered)) == [0, 9]
    finally:
        default.close()
        ordered.close()


def test_a_watcher_of_nothing_starts_empty(tasks, memories):
    watch_t, watch_m = tasks.watch_tasks(), memories.watch_memories(pinned=True)
    try:
        assert take_one(watch_t) == []
        assert take_one(watch_m) == []
        settle(tasks, tasks.create(1, "a", 1))
        assert ids(take_one(watch_t)) == [1]
        memories.store(1, "m", [], "s", 1)  # not pinned: no item yet
        settle(memories, memories.pin(1, 2))
        assert memory_rows(take_one(watch_m)) == [(1, "m", (), "s", True, 1, 2)]
    finally:
        watch_t.close()
        watch_m.close()


def test_a_memory_watcher_emits_only_changes(memories):
    memories.store(1, "keep", ["a"], "s", 1)
    settle(memories, memories.store(2, "other", ["b"], "s", 2))
    watch = memories.watch_memories(any_tag=["a", "c"], order_by="id_desc")
    assert type(watch) is net.MemoryWatchIter
    assert iter(watch) is watch
    try:
        first = take_one(watch)
        assert all(type(memory) is net.Memory for memory in first)
        assert ids(first) == [1]
        memories.pin(2, 3)
        settle(memories, memories.retag(2, ["b", "d"], 4))  # both outside the filter
        settle(memories, memories.retag(2, ["c"], 5))
        assert ids(take_one(watch)) == [2, 1]
        settle(memories, memories.store(1, "changed", ["a"], "s", 6))
        assert memory_rows(take_one(watch))[1] == (1, "changed", ("a",), "s", False, 1, 6)
        settle(memories, memories.delete(2))
        assert ids(take_one(watch)) == [1]
    finally:
        watch.close()


def test_closing_a_watcher_ends_a_blocked_for_loop_in_another_thread(tasks):
    watch = tasks.watch_tasks()
    seen: list = []
    got_first = threading.Event()

    def loop() -> None:
        for items in watch:
            seen.append(items)
            got_first.set()

    consumer = threading.Thread(target=loop, daemon=True)
    consumer.start()
    assert got_first.wait(10), "no first item"
    time.sleep(0.05)  # not needed for correctness: makes it likely next() is already blocked
    started = time.monotonic()
    watch.close()
    consumer.join(5)
    assert not consumer.is_alive(), "the for loop did not end after close()"
    assert time.monotonic() - started < 2
    assert seen == [[]]
    watch.close()  # idempotent
    assert_ends(watch)


def test_a_closed_watcher_stops_even_before_its_first_item(tasks, memories):
    settle(tasks, tasks.create(1, "a", 1))
    for watch in (tasks.watch_tasks(), memories.watch_memories()):
        watch.close()
        assert_ends(watch)
        assert_ends(watch)
    settle(tasks, tasks.create(2, "b", 2))  # the adapter goes on
    assert tasks.count() == 2


def test_closing_one_watcher_leaves_the_others(tasks):
    one, two = tasks.watch_tasks(), tasks.watch_tasks()
    try:
        assert take_one(one) == [] and take_one(two) == []
        one.close()
        settle(tasks, tasks.create(1, "a", 1))
        assert ids(take_one(two)) == [1]
        assert_ends(one)
    finally:
        two.close()


@pytest.mark.parametrize("model", ["tasks", "memories"])
def test_closing_the_adapter_ends_its_watchers(request, model):
    adapter = request.getfixturevalue(model)
    if model == "tasks":
        watch, other = adapter.watch_tasks(), adapter.watch_tasks(limit=1)
        _, paired = adapter.snapshot_and_watch_tasks()
    else:
        watch, other = adapter.watch_memories(), adapter.watch_memories(limit=1)
        _, paired = adapter.snapshot_and_watch_memories()
    assert take_one(watch) == [] and take_one(other) == []
    ended = threading.Event()

    def loop() -> None:
        for _ in watch:
            pass
        ended.set()

    consumer = threading.Thread(target=loop, daemon=True)
    consumer.start()
    adapter.close()
    assert ended.wait(5), "a for loop over a watcher outlived the adapter's close()"
    assert_ends(other)
    assert_ends(paired)
    assert_ends(watch)


def test_snapshot_and_watch_drops_a_first_emission_equal_to_the_snapshot(tasks):
    tasks.create(1, "a", 1)
    tasks.create(2, "b", 2)
    settle(tasks, tasks.create(3, "c", 3))
    snapshot, watch = tasks.snapshot_and_watch_tasks(status="pending", order_by="id_desc")
    assert type(watch) is net.TaskWatchIter
    try:
        assert type(snapshot) is list
        assert task_rows(snapshot) == task_rows(
            tasks.list_tasks(status="pending", order_by="id_desc")
        )
        assert ids(snapshot) == [3, 2, 1]
        settle(tasks, tasks.complete(2, 10))
        # Had the first emission (equal to the snapshot) not been dropped, this would be [3, 2, 1].
        assert ids(take_one(watch)) == [3, 1]
    finally:
        watch.close()


def test_snapshot_and_watch_orders_by_id_by_default(tasks, memories):
    for i in (4, 2, 8):
        tasks.create(i, "t", 10 - i)
        memories.store(i, "m", [], "s", 10 - i)
    settle(tasks, 2)
    settle(memories, 2)
    task_snapshot, task_watch = tasks.snapshot_and_watch_tasks()
    memory_snapshot, memory_watch = memories.snapshot_and_watch_memories(content_contains="M")
    try:
        assert ids(task_snapshot) == [2, 4, 8]
        assert type(memory_watch) is net.MemoryWatchIter
        assert ids(memory_snapshot) == [2, 4, 8]
        assert all(type(memory) is net.Memory for memory in memory_snapshot)
        settle(memories, memories.delete(4))
        assert ids(take_one(memory_watch)) == [2, 8]
        settle(tasks, tasks.create(1, "t", 0))
        assert ids(take_one(task_watch)) == [1, 2, 4, 8]
    finally:
        task_watch.close()
        memory_watch.close()


def test_snapshot_and_watch_of_an_empty_adapter(memories):
    snapshot, watch = memories.snapshot_and_watch_memories(pinned=True, limit=5)
    try:
        assert snapshot == []
        memories.store(1, "a", [], "s", 1)
        settle(memories, memories.pin(1, 2))
        assert ids(take_one(watch)) == [1]
    finally:
        watch.close()


# --- load ------------------------------------------------------------------------------------


def test_a_million_creates_without_a_barrier_then_one_wait(tasks):
    # 0.18.0 stops its fold ("fold task stopped") after a few thousand such creates.
    create = tasks.create
    count = 1_000_000
    seq = None
    for i in range(count):
        seq = create(i, "t", i)
    assert seq == count - 1
    settle(tasks, seq, timeout=120)
    assert tasks.is_running()
    assert tasks.count() == count
    assert task_rows(tasks.list_tasks(order_by="id_desc", limit=2)) == [
        (count - 1, "t", "pending", count - 1, count - 1),
        (count - 2, "t", "pending", count - 2, count - 2),
    ]
    assert ids(tasks.list_tasks(created_after_ns=count - 3)) == [count - 3, count - 2, count - 1]


# --- concurrency -----------------------------------------------------------------------------


class WatchChecker(threading.Thread):
    """Consumes a watcher on its own thread until an emission equals `final`, checking every
    emission against the previous one as it goes (without keeping them all)."""

    def __init__(self, watch, final: list[tuple], check):
        super().__init__(daemon=True)
        self.watch, self.final, self.check = watch, final, check
        self.count = 0
        self.last: list[tuple] | None = None
        self.problems: list[str] = []
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            for items in self.watch:
                current = task_rows(items)
                if self.last is not None:
                    if current == self.last:
                        self.problems.append(f"emission {self.count} repeats the previous one")
                    problem = self.check(self.last, current)
                    if problem:
                        self.problems.append(f"emission {self.count}: {problem}")
                self.last = current
                self.count += 1
                if current == self.final or len(self.problems) > 10:
                    return
        except BaseException as error:  # noqa: BLE001 -- checked by the test
            self.error = error


def test_concurrent_writers_watchers_and_a_tail(redex, tasks):
    """Writers each create and then rename their own id range; two watchers and a RedEX tail on
    the adapter's file run meanwhile. No task is ever deleted and a rename is the last thing
    that happens to an id, so every watcher's view only ever grows."""
    writers, per_writer = 4, 150
    total_events = writers * per_writer * 2
    all_ids = list(range(writers * per_writer))

    def created(i: int) -> tuple:
        return (i, f"new-{i}", "pending", i + 1, i + 1)

    def renamed(i: int) -> tuple:
        return (i, f"done-{i}", "pending", i + 1, 10**9 + i)

    final_all = [renamed(i) for i in all_ids]
    final_done = sorted(final_all, key=lambda row: row[4], reverse=True)  # updated_desc

    def check_all(previous: list[tuple], current: list[tuple]) -> str | None:
        if [row[0] for row in current] != sorted(row[0] for row in current):
            return "not in id order"
        now = {row[0]: row for row in current}
        for row in previous:
            if row[0] not in now:
                return f"task {row[0]} disappeared"
            if row[1].startswith("done-") and now[row[0]] != row:
                return f"task {row[0]} went back from {row} to {now[row[0]]}"
        for row in current:
            if row not in (created(row[0]), renamed(row[0])):
                return f"unexpected task {row}"
        return None

    def check_done(previous: list[tuple], current: list[tuple]) -> str | None:
        if [row[4] for row in current] != sorted((row[4] for row in current), reverse=True):
            return "not in updated_desc order"
        if any(row != renamed(row[0]) for row in current):
            return "a task outside the filter"
        if not {row[0] for row in previous} <= {row[0] for row in current}:
            return "a renamed task disappeared"
        return None

    tail = redex.open_file("cortex/tasks").tail(0)
    tail_events: list = []
    tail_errors: list = []

    def read_tail() -> None:
        try:
            for _ in range(total_events):
                tail_events.append(next(tail))
        except BaseException as error:  # noqa: BLE001 -- checked by the test
            tail_errors.append(error)

    tail_reader = threading.Thread(target=read_tail, daemon=True)
    tail_reader.start()
    watch_all = tasks.watch_tasks()
    watch_done = tasks.watch_tasks(title_contains="DONE-", order_by="updated_desc")
    checkers = [
        WatchChecker(watch_all, final_all, check_all),
        WatchChecker(watch_done, final_done, check_done),
    ]

    written: dict[int, list[int]] = {}
    start = threading.Barrier(writers)

    def write(w: int) -> None:
        mine = range(w * per_writer, (w + 1) * per_writer)
        seqs = []
        start.wait()
        for i in mine:
            seqs.append(tasks.create(i, f"new-{i}", i + 1))
        for i in mine:
            seqs.append(tasks.rename(i, f"done-{i}", 10**9 + i))
        written[w] = seqs

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a writer did not finish"
    every_seq = sorted(seq for seqs in written.values() for seq in seqs)
    assert every_seq == list(range(total_events)), "seqs are not unique and contiguous"
    for seqs in written.values():
        assert seqs == sorted(seqs), "a writer's seqs went backwards"
    settle(tasks, total_events - 1)
    assert task_rows(tasks.list_tasks(order_by="id_asc")) == final_all
    assert task_rows(tasks.list_tasks(title_contains="done-", order_by="updated_desc")) == (
        final_done
    )

    for checker in checkers:
        checker.join(20)
    stuck = [checker for checker in checkers if checker.is_alive()]
    for checker in stuck:
        checker.watch.close()
    assert not stuck, "a watcher never delivered the final state"
    for checker in checkers:
        assert checker.error is None, checker.error
        assert checker.problems == [], checker.problems[:5]
        assert checker.last == checker.final
        assert checker.count >= 1

    tail_reader.join(20)
    if tail_reader.is_alive():
        tail.close()
    assert not tail_reader.is_alive(), f"the tail delivered {len(tail_events)} of {total_events}"
    assert tail_errors == []
    assert [event.seq for event in tail_events] == list(range(total_events))
    assert all(event.payload for event in tail_events)
    tail.close()
    watch_all.close()
    watch_done.close()


def test_snapshot_and_watch_loses_nothing_to_concurrent_writers(tasks):
    """Each round: two writers create their tasks, and snapshot_and_watch_tasks is called once
    the first writer has done a round-dependent number of them, so the call lands at different
    points of the stream (before, during, after). If the snapshot lacks some tasks, the iterator
    must deliver them: a lost first emission would leave the consumer waiting (the timeout)."""
    rounds, writers, per_writer = 40, 2, 30
    for r in range(rounds):
        tag = f"<{r}>"
        expected = set(range(r * 1000, r * 1000 + writers * per_writer))
        start = threading.Barrier(writers)
        go = threading.Event()
        trigger = (r * 7) % (per_writer + 1)  # writes of writer 0 before the call; 0..per_writer
        seqs: list[int] = []

        def write(
            w: int, r: int = r, tag: str = tag, start=start, go=go, trigger=trigger, seqs=seqs
        ):
            start.wait()
            first = r * 1000 + w * per_writer
            for n, i in enumerate(range(first, first + per_writer)):
                if w == 0 and n == trigger:
                    go.set()
                seqs.append(tasks.create(i, f"{tag}{i}", i))
            go.set()

        threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(writers)]
        for thread in threads:
            thread.start()
        assert go.wait(30), "the writers did not start"
        snapshot, watch = tasks.snapshot_and_watch_tasks(title_contains=tag)
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads)
        settle(tasks, max(seqs))
        try:
            assert ids(snapshot) == sorted(ids(snapshot))
            assert set(ids(snapshot)) <= expected
            if set(ids(snapshot)) != expected:
                emissions = collect_until(
                    watch, lambda items, expected=expected: set(ids(items)) == expected, timeout=10
                )
                previous = snapshot
                for items in emissions:
                    assert task_rows(items) != task_rows(previous), "an emission repeated"
                    assert set(ids(previous)) <= set(ids(items)), "a task disappeared"
                    assert ids(items) == sorted(ids(items))
                    previous = items
            assert set(ids(tasks.list_tasks(title_contains=tag))) == expected
        finally:
            watch.close()
    assert tasks.count() == rounds * writers * per_writer
