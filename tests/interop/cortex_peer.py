"""CortEX snapshots under whichever `net` this interpreter imports: ours (imported by
test_interop_cortex.py) or the ORIGINAL ai2070-net 0.18.0 (run as a script with its venv's python).

As a script: reads one JSON command on stdin, writes one JSON reply on stdout.
  {"op": "build"}                        -> build()
  {"op": "restore", "snapshots": {...}}  -> restore(snapshots)
Bytes travel as hex; `last_seq` as an int or null.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import net

ORIGIN = 0x5EED_C0DE
RESTORE_ORIGIN = 0xFEED_F00D
U64_MAX = 2**64 - 1

# The same writes on both sides: unicode, empty strings, control characters, u64 limits,
# renamed / completed / deleted tasks, pinned / unpinned / retagged / overwritten / deleted
# memories, and no-ops on unknown ids.
TASK_OPS: list[tuple[Any, ...]] = [
    ("create", 1, "plain", 1_000),
    ("create", 2, "héllo wörld 日本語 😀", 2_000),
    ("create", 3, "", 3_000),
    ("create", U64_MAX, "max id", U64_MAX),
    ("create", 5, "to rename", 5_000),
    ("rename", 5, "RENAMED ÉCOLE", 5_500),
    ("create", 6, "done", 6_000),
    ("complete", 6, 6_600),
    ("create", 7, "deleted", 7_000),
    ("delete", 7),
    ("create", 8, "renamed then completed", 8_000),
    ("rename", 8, "x\ny\tz\x00\u0001", 8_100),
    ("complete", 8, 8_200),
    ("rename", 999, "ghost", 1),
    ("complete", 998, 1),
    ("delete", 997),
    *(("create", 1_000 + i, f"bulk task {i} " + "é" * (i % 7), 10_000 + i) for i in range(60)),
    *(("complete", 1_000 + i, 20_000 + i) for i in range(0, 60, 3)),
]
MEMORY_OPS: list[tuple[Any, ...]] = [
    ("store", 1, "content 😀 ünïcödé", ["a", "é", "日本"], "src", 10),
    ("pin", 1, 11),
    ("store", 2, "", [], "", 12),
    ("store", 3, "duplicate tags", ["t", "t"], "s", 13),
    ("store", 4, "pinned then unpinned", ["x"], "s2", 14),
    ("pin", 4, 15),
    ("unpin", 4, 16),
    ("store", 5, "retagged", ["old"], "s", 17),
    ("retag", 5, ["new", "ÑEW", ""], 18),
    ("store", 6, "deleted", [], "s", 19),
    ("delete", 6),
    ("store", 7, "to overwrite", ["a"], "s", 20),
    ("pin", 7, 21),
    ("store", 7, "overwritten\n", ["b", "c"], "s3", 22),
    ("store", U64_MAX, "max id", ["x" * 300], "\u0001", 2**63),
    ("pin", 12345, 1),
    ("unpin", 12346, 1),
    ("retag", 12347, ["ghost"], 1),
    ("delete", 12348),
    *(
        ("store", 100 + i, f"bulk memory {i}", [f"tag{j}" for j in range(i % 4)], f"src{i % 3}", i)
        for i in range(40)
    ),
    *(("pin", 100 + i, 1_000 + i) for i in range(0, 40, 5)),
]


def apply(adapter: Any, ops: list[tuple[Any, ...]]) -> None:
    """Every op in order, then wait until the fold has applied the last one."""
    seq = None
    for name, *args in ops:
        seq = getattr(adapter, name)(*args)
    if seq is not None:
        adapter.wait_for_seq(seq)


def task_record(task: Any) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "status": task.status,
        "created_ns": task.created_ns,
        "updated_ns": task.updated_ns,
    }


def memory_record(memory: Any) -> dict[str, Any]:
    return {
        "id": memory.id,
        "content": memory.content,
        "tags": list(memory.tags),
        "source": memory.source,
        "pinned": memory.pinned,
        "created_ns": memory.created_ns,
        "updated_ns": memory.updated_ns,
    }


def records(tasks: Any, memories: Any) -> dict[str, Any]:
    """Both adapters' records (None for an absent adapter), id ascending, plus count()."""
    out: dict[str, Any] = {"tasks": None, "memories": None}
    if tasks is not None:
        listed = [task_record(t) for t in tasks.list_tasks(order_by="id_asc")]
        out["tasks"] = sorted(listed, key=lambda r: r["id"])
        out["task_count"] = tasks.count()
    if memories is not None:
        listed = [memory_record(m) for m in memories.list_memories(order_by="id_asc")]
        out["memories"] = sorted(listed, key=lambda r: r["id"])
        out["memory_count"] = memories.count()
    return out


def pair(snapshot: tuple[bytes, int | None]) -> list[Any]:
    state, last_seq = snapshot
    return [state.hex(), last_seq]


def build() -> dict[str, Any]:
    """Adapters and NetDbs filled by the same writes; their snapshots and records."""
    redex = net.Redex()
    tasks = net.TasksAdapter.open(redex, ORIGIN)
    memories = net.MemoriesAdapter.open(redex, ORIGIN)
    empty_tasks = net.TasksAdapter.open(net.Redex(), ORIGIN)
    empty_memories = net.MemoriesAdapter.open(net.Redex(), ORIGIN)
    one_task = net.TasksAdapter.open(net.Redex(), ORIGIN)
    one_memory = net.MemoriesAdapter.open(net.Redex(), ORIGIN)
    both = net.NetDb.open(origin_hash=ORIGIN, with_tasks=True, with_memories=True)
    tasks_only = net.NetDb.open(origin_hash=ORIGIN, with_tasks=True)
    empty_db = net.NetDb.open(origin_hash=ORIGIN, with_tasks=True, with_memories=True)
    try:
        apply(tasks, TASK_OPS)
        apply(memories, MEMORY_OPS)
        apply(one_task, TASK_OPS[1:2])
        apply(one_memory, MEMORY_OPS[:2])
        apply(both.tasks, TASK_OPS)
        apply(both.memories, MEMORY_OPS)
        apply(tasks_only.tasks, TASK_OPS)
        return {
            "snapshots": {
                "tasks": pair(tasks.snapshot()),
                "memories": pair(memories.snapshot()),
                "empty_tasks": pair(empty_tasks.snapshot()),
                "empty_memories": pair(empty_memories.snapshot()),
                "one_task": pair(one_task.snapshot()),
                "one_memory": pair(one_memory.snapshot()),
                "bundle": both.snapshot().hex(),
                "bundle_tasks_only": tasks_only.snapshot().hex(),
                "bundle_empty": empty_db.snapshot().hex(),
            },
            "records": records(tasks, memories),
            "netdb_records": records(both.tasks, both.memories),
        }
    finally:
        for adapter in (tasks, memories, empty_tasks, empty_memories, one_task, one_memory):
            adapter.close()
        for db in (both, tasks_only, empty_db):
            db.close()


def restore(snapshots: dict[str, Any]) -> dict[str, Any]:
    """Everything build() snapshotted, restored: records, and the snapshots taken again."""

    def unpair(key: str) -> tuple[bytes, int | None]:
        state, last_seq = snapshots[key]
        return bytes.fromhex(state), last_seq

    def adapter(cls: Any, key: str) -> Any:
        return cls.open_from_snapshot(net.Redex(), RESTORE_ORIGIN, *unpair(key))

    def netdb(key: str, **models: bool) -> Any:
        bundle = bytes.fromhex(snapshots[key])
        return net.NetDb.open_from_snapshot(bundle, origin_hash=RESTORE_ORIGIN, **models)

    tasks = adapter(net.TasksAdapter, "tasks")
    memories = adapter(net.MemoriesAdapter, "memories")
    empty_tasks = adapter(net.TasksAdapter, "empty_tasks")
    empty_memories = adapter(net.MemoriesAdapter, "empty_memories")
    both = netdb("bundle", with_tasks=True, with_memories=True)
    tasks_only = netdb("bundle_tasks_only", with_tasks=True, with_memories=True)
    memories_only = netdb("bundle", with_memories=True)
    try:
        return {
            "records": records(tasks, memories),
            "empty_records": records(empty_tasks, empty_memories),
            "netdb_records": records(both.tasks, both.memories),
            "tasks_only_records": records(tasks_only.tasks, tasks_only.memories),
            "memories_only_records": records(memories_only.tasks, memories_only.memories),
            "resnapshots": {
                "tasks": pair(tasks.snapshot()),
                "memories": pair(memories.snapshot()),
                "bundle": both.snapshot().hex(),
            },
        }
    finally:
        for one in (tasks, memories, empty_tasks, empty_memories):
            one.close()
        for db in (both, tasks_only, memories_only):
            db.close()


def main() -> None:
    command = json.loads(sys.stdin.read())
    if command["op"] == "build":
        reply = build()
    elif command["op"] == "restore":
        reply = restore(command["snapshots"])
    else:
        raise SystemExit(f"unknown op {command['op']!r}")
    json.dump(reply, sys.stdout)


if __name__ == "__main__":
    main()
