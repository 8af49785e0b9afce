"""RedEX persistence under crashes and damage.

* Crash safety: redex_crash_child.py appends with fsync_every_n=1 and prints every seq an append
  returned; it is killed with SIGKILL at a random moment (seeded), then the file is reopened:
  every reported seq is there with its exact payload, the seqs are 0..len-1 with nothing
  invented, and at most the one append in flight when the kill came is there unreported.
* Damage: bytes flipped in, junk appended to and cuts of the segment files (`*.log` under
  `<persistent_dir>/<channel path>/`) never crash the reader and never expose a payload other
  than the one written for its seq; the file opens (or fails with RedexError) and stays usable.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import net
import pytest
import xxhash
from redex_crash_child import MAX_BATCH, payload_for

CHILD = Path(__file__).with_name("redex_crash_child.py")
NAME = "crash/log"
ALL = 2**64 - 1
SEGMENT_HEADER = b"REDEXv1\n"
RECORD_OVERHEAD_BOUND = 64  # generous upper bound of one record's framing, for the cut tests


def checksum(payload: bytes) -> int:
    return xxhash.xxh3_64_intdigest(payload) & 0x0FFF_FFFF


def open_store(directory: Path):
    return net.Redex(persistent_dir=str(directory)).open_file(NAME, persistent=True)


def read_all(file) -> list:
    """Every retained event, with the checks that hold whatever happened to the disk: seqs
    strictly increasing, the event count is `len`, each checksum matches its payload."""
    events = file.read_range(0, ALL)
    seqs = [event.seq for event in events]
    assert seqs == sorted(set(seqs)), f"seqs out of order or repeated: {seqs[:50]}"
    assert len(file) == len(events)
    for event in events:
        assert type(event.payload) is bytes
        assert event.checksum == checksum(event.payload), f"seq {event.seq}: bad checksum"
    return events


def tail_backfill(file, from_seq: int, count: int, timeout: float = 10.0) -> list:
    """The first `count` events of `file.tail(from_seq)` (read on a thread: a hang fails)."""
    tail = file.tail(from_seq)
    events: list = []

    def read() -> None:
        for _ in range(count):
            try:
                events.append(next(tail))
            except (StopIteration, net.RedexError):
                return

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(timeout)
    tail.close()
    assert not thread.is_alive() and len(events) == count, f"tail gave {len(events)} of {count}"
    return events


# --- crash safety ----------------------------------------------------------------------------


def run_child_until_killed(directory: Path, rng: random.Random) -> tuple[int | None, list[int]]:
    """Starts the writer, SIGKILLs it after a random delay (sometimes before it has even opened
    the file, sometimes during recovery); returns the seq it said it starts at (None if killed
    before) and the seqs it reported as appended."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(directory), NAME, str(rng.randrange(2**32))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        child.wait(rng.uniform(0.05, 0.6))
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, f"the writer ended by itself: {err}"
    lines = out.split("\n")[:-1]  # whole lines only
    ready = None
    if lines and lines[0].startswith("ready "):
        ready = int(lines.pop(0).removeprefix("ready "))
    return ready, [int(line) for line in lines]


def crash_rounds(base: Path, rounds: int, seed: int, per_store: int = 25) -> int:
    """Kills `rounds` writers, `per_store` of them on each store (so a store stays small);
    returns the number of events all the stores hold at the end."""
    rng = random.Random(seed)
    total = 0
    for start in range(0, rounds, per_store):
        directory = base / f"store{start // per_store}"
        total += crash_store(directory, range(start, min(rounds, start + per_store)), rng)
    return total


def crash_store(directory: Path, rounds: range, rng: random.Random) -> int:
    present = 0  # events seen in the file after the previous round (the child starts there)
    reported_end = 0  # one past the highest seq any writer reported
    for round_ in rounds:
        ready, reported = run_child_until_killed(directory, rng)
        if ready is not None:
            assert ready == present, f"round {round_}: the writer started at seq {ready}"
        if reported:
            assert reported == list(range(reported[0], reported[0] + len(reported)))
            assert reported[0] == present, f"round {round_}: first reported seq {reported[0]}"
            reported_end = reported[-1] + 1
        known = max(present, reported_end)
        file = open_store(directory)
        try:
            events = read_all(file)
            count = len(events)
            assert [event.seq for event in events] == list(range(count)), (
                f"round {round_}: seqs are not 0..{count - 1}"
            )
            assert count >= known, (
                f"round {round_}: acknowledged seqs lost: {count} events, {known} acknowledged"
            )
            assert count <= known + MAX_BATCH, (
                f"round {round_}: {count} events but only {known} acknowledged (+1 in flight)"
            )
            for event in events:
                assert event.payload == payload_for(event.seq), f"seq {event.seq}: wrong payload"
        finally:
            file.close()
        present = count
    return present


def test_a_killed_writer_loses_no_acknowledged_append(tmp_path):
    assert crash_rounds(tmp_path, rounds=20, seed=20260) > 0


@pytest.mark.slow
def test_a_killed_writer_loses_no_acknowledged_append_200_rounds(tmp_path):
    assert crash_rounds(tmp_path, rounds=200, seed=7) > 0


# --- damaged segment files -------------------------------------------------------------------

COUNT = 200  # events in the pristine store (one segment of ~200 KB)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A closed store holding seqs 0..COUNT-1 with payload_for(seq), written in mixed appends
    and batches."""
    directory = tmp_path_factory.mktemp("pristine")
    file = open_store(directory)
    seq = 0
    while seq < COUNT:
        if seq % 3 == 0:
            batch = min(5, COUNT - seq)
            assert file.append_batch([payload_for(s) for s in range(seq, seq + batch)]) == seq
            seq += batch
        else:
            assert file.append(payload_for(seq)) == seq
            seq += 1
    file.close()
    assert segments(directory), "the store wrote no *.log segment"
    return directory


def segments(directory: Path) -> list[Path]:
    return sorted((directory / Path(*NAME.split("/"))).glob("*.log"))


def damaged_copy(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(pristine, copy)
    return copy


def check_damaged_store(directory: Path, written: dict[int, bytes]) -> list[int] | None:
    """Opens a damaged store. Either RedexError on open (returns None), or: what it exposes is
    exactly what was written for those seqs, a tail replays the same, the file takes a new append
    after the highest seq it holds, and a second reopen shows the same events plus that one.
    Returns the seqs exposed by the first open."""
    try:
        file = open_store(directory)
    except net.RedexError:
        return None
    try:
        events = read_all(file)
        seqs = [event.seq for event in events]
        assert set(seqs) <= set(written), f"invented seqs {sorted(set(seqs) - set(written))}"
        for event in events:
            assert event.payload == written[event.seq], f"seq {event.seq}: wrong payload"
        if events:
            replay = tail_backfill(file, seqs[0], len(events))
            assert [(e.seq, e.payload) for e in replay] == [(e.seq, e.payload) for e in events]
        skipped = getattr(file, "corrupt_records", None)  # ours: damaged records skipped
        if callable(skipped):
            skipped = skipped()
        if skipped is not None and seqs and len(seqs) < seqs[-1] + 1:
            assert skipped >= 1, f"records below seq {seqs[-1]} vanished uncounted"
        new = file.append(b"after the damage")
        assert new >= (seqs[-1] + 1 if seqs else 0)
        assert [e.payload for e in file.read_range(new, new + 1)] == [b"after the damage"]
    finally:
        file.close()
    file = open_store(directory)  # the repaired store opens again, with the same content
    try:
        again = read_all(file)
        assert [(e.seq, e.payload) for e in again] == [
            *((e.seq, e.payload) for e in events),
            (new, b"after the damage"),
        ]
    finally:
        file.close()
    return seqs


def written_by_pristine() -> dict[int, bytes]:
    return {seq: payload_for(seq) for seq in range(COUNT)}


def test_the_pristine_store_reads_back_whole(pristine, tmp_path):
    for log in segments(pristine):
        assert log.read_bytes().startswith(SEGMENT_HEADER)
    seqs = check_damaged_store(damaged_copy(pristine, tmp_path), written_by_pristine())
    assert seqs == list(range(COUNT))


@pytest.mark.parametrize("trial", range(40))
def test_a_flipped_byte_is_caught(pristine, tmp_path, trial):
    rng = random.Random(1000 + trial)
    directory = damaged_copy(pristine, tmp_path)
    log = rng.choice(segments(directory))
    data = bytearray(log.read_bytes())
    at = rng.randrange(len(data)) if trial % 8 else rng.randrange(len(SEGMENT_HEADER))
    data[at] ^= rng.randrange(1, 256)
    log.write_bytes(bytes(data))
    check_damaged_store(directory, written_by_pristine())


@pytest.mark.parametrize("trial", range(8))
def test_a_garbled_stretch_is_caught(pristine, tmp_path, trial):
    rng = random.Random(2000 + trial)
    directory = damaged_copy(pristine, tmp_path)
    log = rng.choice(segments(directory))
    data = bytearray(log.read_bytes())
    size = rng.choice([4, 16, 64, 1000])
    at = rng.randrange(len(SEGMENT_HEADER), len(data) - size)
    data[at : at + size] = rng.randbytes(size)
    log.write_bytes(bytes(data))
    check_damaged_store(directory, written_by_pristine())


def guaranteed_prefix(log: Path, cut: int) -> int:
    """How many of a segment's records lie wholly before byte `cut`, if no record's framing
    exceeds RECORD_OVERHEAD_BOUND: those must survive the cut."""
    seq = first = int(log.stem)  # a segment is named after its first seq
    end = len(SEGMENT_HEADER)
    while seq < COUNT:
        end += len(payload_for(seq)) + RECORD_OVERHEAD_BOUND
        if end > cut:
            break
        seq += 1
    return seq - first


@pytest.mark.parametrize(
    "where", ["empty", "in-header", "header-only", "header+1", "half", "-10", "-1"]
)
def test_a_cut_segment_keeps_what_lies_before_the_cut(pristine, tmp_path, where):
    directory = damaged_copy(pristine, tmp_path)
    log = segments(directory)[-1]
    size = log.stat().st_size
    header = len(SEGMENT_HEADER)
    cut = {
        "empty": 0,
        "in-header": header // 2,
        "header-only": header,
        "header+1": header + 1,
        "half": size // 2,
        "-10": size - 10,
        "-1": size - 1,
    }[where]
    with open(log, "r+b") as f:
        f.truncate(cut)
    first = int(log.stem)
    seqs = check_damaged_store(directory, written_by_pristine())
    if cut < header:  # a segment without its header: an error or skipped, either is fine
        return
    assert seqs is not None, "a torn tail must be cut off on open, not refused"
    kept = [seq for seq in seqs if seq >= first]
    assert kept == list(range(first, first + len(kept))), "a gap before the cut"
    assert len(kept) >= guaranteed_prefix(log, cut), "records before the cut were lost"
    assert len(kept) < COUNT - first, "the cut record is still there"
    assert seqs[: len(seqs) - len(kept)] == list(range(first)), "earlier segments were touched"


@pytest.mark.parametrize("junk", ["zeros", "random", "header"])
def test_junk_after_the_last_record_is_a_torn_tail(pristine, tmp_path, junk):
    directory = damaged_copy(pristine, tmp_path)
    log = segments(directory)[-1]
    tail = {
        "zeros": bytes(4096),
        "random": random.Random(3).randbytes(777),
        "header": SEGMENT_HEADER * 3,
    }[junk]
    with open(log, "ab") as f:
        f.write(tail)
    seqs = check_damaged_store(directory, written_by_pristine())
    assert seqs == list(range(COUNT))
