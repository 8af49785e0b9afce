#!/usr/bin/env python3
# bench/_storage_worker.py: the RedEX operations of bench/storage.py under whichever `net` this
# interpreter imports (ours, or the original 0.18.0: RedEX is not in the 0.12.0 wheel); prints
# JSON. Every row runs in a process of its own (`--row NAME`), so a row that kills its process
# (the original 0.18.0 aborts on a Rust panic when a persistent file is opened from Python)
# becomes a null result with a note instead of ending the run, and the heap of one row does not
# weigh on the next.
#
# The CortEX rows time TasksAdapter: creates folded (a wait_for_seq every CREATE_BARRIER creates
# and after the last: the original 0.18.0 stops its fold after a few thousand creates with no
# barrier), create + wait_for_seq round trips, list_tasks() over TASKS tasks, and snapshot() /
# open_from_snapshot() of TASKS tasks (each rate per call, and per task).
#
# Usage: _storage_worker.py [--quick] --row NAME   one row -> its result as JSON
# (bench/storage.py runs every row, alternating ours and the original's.)
import json
import os
import sys
import tempfile
import threading
import time

REPS = 3  # best of
DISK_PAYLOAD = 256
BATCH, BATCH_PAYLOAD = 1000, 256

HEAP_ROWS = {"append 8 B": 8, "append 32 B": 32, "append 256 B": 256, "append 1 KiB": 1024}
BATCH_ROW = f"append_batch {BATCH} x {BATCH_PAYLOAD} B (events)"
INTERVAL_ROW = f"disk append {DISK_PAYLOAD} B, fsync_interval_ms=100"
EVERY_ROW = f"disk append {DISK_PAYLOAD} B, fsync_every_n=1"
RAW_ROW = f"raw write+fdatasync {DISK_PAYLOAD} B"
TAIL_ROW = "tail latency"
THROUGHPUT_ROWS = [*HEAP_ROWS, BATCH_ROW, INTERVAL_ROW, EVERY_ROW, RAW_ROW]

TASKS, CREATE_BARRIER, ORIGIN = 10_000, 1_000, 0x5EED
CREATE_ROW = "tasks.create"
ROUND_TRIP_ROW = "create + wait_for_seq round trip"
LIST_ROW = f"list_tasks over {TASKS:,} tasks"
ENCODE_ROW = f"snapshot encode {TASKS:,} tasks"
DECODE_ROW = f"open_from_snapshot decode {TASKS:,} tasks"
CORTEX_ROWS = [CREATE_ROW, ROUND_TRIP_ROW, LIST_ROW, ENCODE_ROW, DECODE_ROW]


def counts(quick):
    scale = 20 if quick else 1
    return {
        "heap": 200_000 // scale,
        "heap 1 KiB": 100_000 // scale,
        "batches": 200 // scale,
        "interval": 50_000 // scale,
        "every": 3_000 // scale,
        "tail": 5_000 // scale,
        "creates": 200_000 // (40 if quick else 1),
        "round trips": 20_000 // (40 if quick else 1),
        "lists": 5 if quick else 200,
        "encodes": 5 if quick else 200,
        "decodes": 5 if quick else 100,
    }


def throughput(events, seconds, size):
    return {"ops": events / seconds, "mbps": events * size / seconds / 1e6}


def best(measure):
    """The best of REPS runs of `measure()`, which returns a throughput dict."""
    return max((measure() for _ in range(REPS)), key=lambda result: result["ops"])


def timed_appends(file, size, count):
    """Appends `count` payloads of `size` bytes one call each; closes the file; the throughput."""
    append, payload = file.append, bytes(size)
    start = time.perf_counter()
    for _ in range(count):
        append(payload)
    elapsed = time.perf_counter() - start
    file.close()
    return throughput(count, elapsed, size)


def heap_append(size, count):
    import net

    return best(lambda: timed_appends(net.Redex().open_file("bench/heap"), size, count))


def heap_batch(batches):
    import net

    def measure():
        file = net.Redex().open_file("bench/batch")
        batch = [bytes(BATCH_PAYLOAD)] * BATCH
        start = time.perf_counter()
        for _ in range(batches):
            file.append_batch(batch)
        elapsed = time.perf_counter() - start
        file.close()
        return throughput(batches * BATCH, elapsed, BATCH_PAYLOAD)

    return best(measure)


def disk_append(count, **fsync):
    import net

    def measure():
        with tempfile.TemporaryDirectory(prefix="redex-bench-") as directory:
            file = net.Redex(persistent_dir=directory).open_file(
                "bench/disk", persistent=True, **fsync
            )
            return timed_appends(file, DISK_PAYLOAD, count)

    return best(measure)


def raw_fdatasync(count):
    """The ceiling of an append that is on disk when it returns: os.write + os.fdatasync of the
    same payload, in the same temporary directory."""

    def measure():
        with tempfile.TemporaryDirectory(prefix="redex-bench-") as directory:
            fd = os.open(os.path.join(directory, "raw"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            payload = bytes(DISK_PAYLOAD)
            try:
                start = time.perf_counter()
                for _ in range(count):
                    os.write(fd, payload)
                    os.fdatasync(fd)
                elapsed = time.perf_counter() - start
            finally:
                os.close(fd)
        return throughput(count, elapsed, DISK_PAYLOAD)

    return best(measure)


def tail_latency(samples):
    """Append -> the tail thread's next() returning, one event in flight at a time (the next append
    waits until the tail has it); p50/p99 in microseconds."""
    import net

    file = net.Redex().open_file("bench/tail")
    tail = file.tail()
    warmup = max(samples // 10, 10)
    sent_at = [0] * (warmup + samples)
    latencies = []
    received = threading.Event()

    def follow():
        for event in tail:
            latencies.append(time.perf_counter_ns() - sent_at[event.seq])
            received.set()
            if len(latencies) == len(sent_at):
                return

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    payload = bytes(64)
    for seq in range(len(sent_at)):
        received.clear()
        sent_at[seq] = time.perf_counter_ns()
        file.append(payload)
        if not received.wait(10):
            raise RuntimeError(f"the tail did not deliver seq {seq} within 10 s")
    thread.join(10)
    tail.close()
    file.close()
    measured = sorted(latencies[warmup:])
    return {
        "p50_us": measured[len(measured) // 2] / 1e3,
        "p99_us": measured[min(len(measured) - 1, len(measured) * 99 // 100)] / 1e3,
    }


def per_call(calls, seconds, tasks_per_call):
    return {"ops": calls / seconds, "tasks": calls * tasks_per_call / seconds}


def create_tasks(adapter, count, first_id=0):
    """`count` creates, a wait_for_seq every CREATE_BARRIER of them and after the last."""
    create, wait = adapter.create, adapter.wait_for_seq
    seq = None
    for n, task_id in enumerate(range(first_id, first_id + count), 1):
        seq = create(task_id, f"task number {task_id}", 1_000_000 + task_id)
        if n % CREATE_BARRIER == 0:
            wait(seq)
    if seq is not None:
        wait(seq)


def tasks_adapter(count=0):
    """A fresh in-memory TasksAdapter holding `count` folded tasks."""
    import net

    adapter = net.TasksAdapter.open(net.Redex(), ORIGIN)
    create_tasks(adapter, count)
    return adapter


def cortex_create(count):
    def measure():
        adapter = tasks_adapter()
        start = time.perf_counter()
        create_tasks(adapter, count)
        elapsed = time.perf_counter() - start
        adapter.close()
        return per_call(count, elapsed, 1)

    return best(measure)


def cortex_round_trip(count):
    def measure():
        adapter = tasks_adapter()
        create, wait = adapter.create, adapter.wait_for_seq
        start = time.perf_counter()
        for task_id in range(count):
            wait(create(task_id, "round trip", task_id))
        elapsed = time.perf_counter() - start
        adapter.close()
        return per_call(count, elapsed, 1)

    return best(measure)


def cortex_calls(call, calls):
    """The best of REPS runs of `calls` back-to-back `call()`s over an adapter of TASKS tasks."""
    adapter = tasks_adapter(TASKS)

    def measure():
        start = time.perf_counter()
        for _ in range(calls):
            call(adapter)
        return per_call(calls, time.perf_counter() - start, TASKS)

    try:
        return best(measure)
    finally:
        adapter.close()


def cortex_list(calls):
    def list_all(adapter):
        if len(adapter.list_tasks()) != TASKS:
            raise RuntimeError(f"list_tasks() did not return {TASKS} tasks")

    return cortex_calls(list_all, calls)


def cortex_decode(decodes):
    """open_from_snapshot of a TASKS-task snapshot, timed alone: each adapter is closed and dropped
    before the next one's clock starts (rebinding the name would drop it inside the timed span)."""
    import net

    source = tasks_adapter(TASKS)
    state, last_seq = source.snapshot()
    source.close()

    def measure():
        elapsed = 0.0
        for _ in range(decodes):
            redex = net.Redex()
            start = time.perf_counter()
            adapter = net.TasksAdapter.open_from_snapshot(redex, ORIGIN, state, last_seq)
            elapsed += time.perf_counter() - start
            if adapter.count() != TASKS:
                raise RuntimeError(f"open_from_snapshot did not restore {TASKS} tasks")
            adapter.close()
            del adapter
        return per_call(decodes, elapsed, TASKS)

    return best(measure)


def run_row(name, quick):
    n = counts(quick)
    if name in HEAP_ROWS:
        size = HEAP_ROWS[name]
        return heap_append(size, n["heap 1 KiB"] if size >= 1024 else n["heap"])
    if name == BATCH_ROW:
        return heap_batch(n["batches"])
    if name == INTERVAL_ROW:
        return disk_append(n["interval"], fsync_interval_ms=100)
    if name == EVERY_ROW:
        return disk_append(n["every"], fsync_every_n=1)
    if name == RAW_ROW:
        return raw_fdatasync(n["every"])
    if name == TAIL_ROW:
        return tail_latency(n["tail"])
    if name == CREATE_ROW:
        return cortex_create(n["creates"])
    if name == ROUND_TRIP_ROW:
        return cortex_round_trip(n["round trips"])
    if name == LIST_ROW:
        return cortex_list(n["lists"])
    if name == ENCODE_ROW:
        return cortex_calls(lambda adapter: adapter.snapshot(), n["encodes"])
    if name == DECODE_ROW:
        return cortex_decode(n["decodes"])
    raise SystemExit(f"unknown row {name!r}")


def failure_note(stderr, returncode):
    """One line saying why a row's process failed: the panic or the exception, if any."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "panicked at" in line:  # a Rust panic: the line after it is the message
            message = lines[lines.index(line) + 1] if line != lines[-1] else ""
            return f"panicked: {message}".rstrip(": ")
    if lines:
        return lines[-1]
    return f"exit status {returncode}"


def main():
    if "--row" not in sys.argv:
        raise SystemExit("usage: _storage_worker.py [--quick] --row NAME")
    print(json.dumps(run_row(sys.argv[sys.argv.index("--row") + 1], "--quick" in sys.argv)))


if __name__ == "__main__":
    main()
