"""CortEX snapshots between ours and the original ai2070-net 0.18.0 (CortEX is not in the 0.12.0
wheel), which runs cortex_peer.py in a child process of its own venv: adapter snapshot pairs and
NetDb bundles it writes restore in ours to the same records, ours restore in it, and the same
writes give the same bytes once the original's entries (written in hash order) are put in id
order, the order ours writes them in.

Skipped when ~/.cache/net-bench/venv-0.18.0 (created by bench/storage.py) is absent; the
NET_ORIGINAL_018_PYTHON environment variable names another python with ai2070-net==0.18.0."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import net
import pytest

from . import cortex_peer

pytestmark = pytest.mark.interop

ORIGINAL_VERSION = "0.18.0"
DEFAULT_PYTHON = (
    Path.home() / ".cache" / "net-bench" / f"venv-{ORIGINAL_VERSION}" / "bin" / "python"
)
PEER_SCRIPT = Path(cortex_peer.__file__)


@pytest.fixture(scope="module")
def original_python() -> str:
    env = os.environ.get("NET_ORIGINAL_018_PYTHON")
    python = Path(env) if env else DEFAULT_PYTHON
    if not python.exists():
        pytest.skip(
            f"original ai2070-net {ORIGINAL_VERSION} unavailable: no {python} "
            f"(bench/storage.py creates that venv)"
        )
    probe = [
        str(python),
        "-I",
        "-c",
        "import importlib.metadata as m; print(m.version('ai2070-net'))",
    ]
    try:
        out = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"original ai2070-net {ORIGINAL_VERSION} unavailable: {python}: {e}")
    if out.returncode != 0 or out.stdout.strip() != ORIGINAL_VERSION:
        pytest.skip(f"original ai2070-net {ORIGINAL_VERSION} unavailable: {python} lacks it")
    return str(python)


def original(python: str, command: dict[str, Any]) -> dict[str, Any]:
    """cortex_peer.py's reply to `command` under the original (isolated: it imports only it)."""
    done = subprocess.run(
        [python, "-I", str(PEER_SCRIPT)],
        input=json.dumps(command),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"the original's cortex_peer.py failed:\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def theirs(original_python: str) -> dict[str, Any]:
    return original(original_python, {"op": "build"})


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return cortex_peer.build()


# ---- postcard, just enough to put the original's snapshot entries in id order ------------------


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    def take(self, n: int) -> bytes:
        assert self.pos + n <= len(self.data), "truncated"
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def blob(self) -> bytes:
        return self.take(self.varint())

    def end(self) -> None:
        assert self.pos == len(self.data), f"{len(self.data) - self.pos} trailing bytes"


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def skip_task(r: Reader) -> None:
    r.varint()  # id
    r.blob()  # title
    r.varint()  # status
    r.varint()  # created_ns
    r.varint()  # updated_ns


def skip_memory(r: Reader) -> None:
    r.varint()  # id
    r.blob()  # content
    for _ in range(r.varint()):  # tags
        r.blob()
    r.blob()  # source
    r.varint()  # created_ns
    r.varint()  # updated_ns
    assert r.take(1) in (b"\x00", b"\x01")  # pinned


def in_id_order(snapshot: bytes, kind: str) -> bytes:
    """An adapter snapshot ({app_seq, inner = map id -> record}) with its entries in id order."""
    skip = skip_task if kind == "tasks" else skip_memory
    outer = Reader(snapshot)
    app_seq, inner = outer.varint(), Reader(outer.blob())
    outer.end()
    entries = []
    for _ in range(inner.varint()):
        start = inner.pos
        key = inner.varint()
        skip(inner)
        entries.append((key, inner.data[start : inner.pos]))
    inner.end()
    state = varint(len(entries)) + b"".join(entry for _, entry in sorted(entries))
    return varint(app_seq) + varint(len(state)) + state


def bundle_in_id_order(bundle: bytes) -> bytes:
    """A NetDb bundle ({tasks, memories: Option<(snapshot, Option<last_seq>)>}) likewise."""
    r, out = Reader(bundle), bytearray()
    for kind in ("tasks", "memories"):
        present = r.take(1)
        out += present
        if present == b"\x01":
            state = in_id_order(r.blob(), kind)
            out += varint(len(state)) + state
            has_seq = r.take(1)
            out += has_seq + (varint(r.varint()) if has_seq == b"\x01" else b"")
        else:
            assert present == b"\x00"
    r.end()
    return bytes(out)


def pair_in_id_order(snapshot: list[Any], kind: str) -> list[Any]:
    state, last_seq = snapshot
    return [in_id_order(bytes.fromhex(state), kind).hex(), last_seq]


# ---- the tests --------------------------------------------------------------------------------


def test_the_original_restores_its_own_snapshots(original_python, theirs):
    """Harness self-check: if this fails, the peer script is wrong, not our implementation."""
    back = original(original_python, {"op": "restore", "snapshots": theirs["snapshots"]})
    assert back["records"] == theirs["records"] == theirs["netdb_records"]
    assert len(theirs["records"]["tasks"]) > 60 and len(theirs["records"]["memories"]) > 40


def test_original_snapshots_restore_in_ours(theirs):
    mine = cortex_peer.restore(theirs["snapshots"])
    expected = theirs["records"]
    assert mine["records"] == expected
    assert mine["netdb_records"] == expected
    assert mine["empty_records"] == {
        "tasks": [],
        "memories": [],
        "task_count": 0,
        "memory_count": 0,
    }
    # a bundle without memories: ours opens them fresh; a model not enabled is None
    only = mine["tasks_only_records"]
    assert only["tasks"] == expected["tasks"] and only["memories"] == []
    only = mine["memories_only_records"]
    assert only["tasks"] is None and only["memories"] == expected["memories"]
    # snapshotted again by ours: the same state and last_seq, entries in id order
    snaps = theirs["snapshots"]
    assert mine["resnapshots"]["tasks"] == pair_in_id_order(snaps["tasks"], "tasks")
    assert mine["resnapshots"]["memories"] == pair_in_id_order(snaps["memories"], "memories")
    assert mine["resnapshots"]["bundle"] == bundle_in_id_order(bytes.fromhex(snaps["bundle"])).hex()


def test_our_snapshots_restore_in_the_original(original_python, ours):
    back = original(original_python, {"op": "restore", "snapshots": ours["snapshots"]})
    expected = ours["records"]
    assert back["records"] == expected
    assert back["netdb_records"] == expected
    assert back["empty_records"] == {
        "tasks": [],
        "memories": [],
        "task_count": 0,
        "memory_count": 0,
    }
    only = back["tasks_only_records"]
    assert only["tasks"] == expected["tasks"] and only["memories"] == []
    only = back["memories_only_records"]
    assert only["tasks"] is None and only["memories"] == expected["memories"]
    # the original's snapshot of what it restored is ours, but for entry order
    snaps = ours["snapshots"]
    assert pair_in_id_order(back["resnapshots"]["tasks"], "tasks") == snaps["tasks"]
    assert pair_in_id_order(back["resnapshots"]["memories"], "memories") == snaps["memories"]
    resnapshot = bytes.fromhex(back["resnapshots"]["bundle"])
    assert bundle_in_id_order(resnapshot).hex() == snaps["bundle"]


def test_the_same_writes_give_the_same_records_and_bytes(ours, theirs):
    assert ours["records"] == theirs["records"]
    assert ours["netdb_records"] == theirs["netdb_records"]
    mine, snaps = ours["snapshots"], theirs["snapshots"]
    assert mine["empty_tasks"] == mine["empty_memories"] == [b"\x00\x01\x00".hex(), None]
    for key in ("empty_tasks", "empty_memories", "one_task", "one_memory", "bundle_empty"):
        assert mine[key] == snaps[key], key  # at most one entry: no order to differ in
    assert mine["tasks"] == pair_in_id_order(snaps["tasks"], "tasks")
    assert mine["memories"] == pair_in_id_order(snaps["memories"], "memories")
    for key in ("bundle", "bundle_tasks_only"):
        assert mine[key] == bundle_in_id_order(bytes.fromhex(snaps[key])).hex(), key


def test_ours_writes_entries_in_id_order(ours):
    """Ours is canonical: putting its entries in id order changes nothing."""
    snaps = ours["snapshots"]
    assert pair_in_id_order(snaps["tasks"], "tasks") == snaps["tasks"]
    assert pair_in_id_order(snaps["memories"], "memories") == snaps["memories"]
    assert bundle_in_id_order(bytes.fromhex(snaps["bundle"])).hex() == snaps["bundle"]


def test_a_record_restored_from_the_original_compares_by_value(theirs):
    """Task / Memory from an original snapshot equal (and hash like) the same records of ours."""
    state, last_seq = theirs["snapshots"]["one_task"]
    restored = net.TasksAdapter.open_from_snapshot(net.Redex(), 1, bytes.fromhex(state), last_seq)
    fresh = net.TasksAdapter.open(net.Redex(), 1)
    try:
        cortex_peer.apply(fresh, cortex_peer.TASK_OPS[1:2])
        [a], [b] = restored.list_tasks(), fresh.list_tasks()
        assert a == b and hash(a) == hash(b) and repr(a) == repr(b)
        assert a.title == "héllo wörld 日本語 😀"
    finally:
        restored.close()
        fresh.close()
