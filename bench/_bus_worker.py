# bench/_bus_worker.py: runs the Net event-bus cases of bench/bus.py under whichever `net` this
# interpreter imports (ours or the original), and prints the best events/s per case as JSON.
# Inputs: realistic JSON token events of exactly 9, 120 and 600 B, on 1, 2 and 4 shards.
import argparse
import gc
import json
import platform
import time

import net

SIZES = (9, 120, 600)
DICT_SIZE = 120
SHARDS = (1, 2, 4)
CAPACITY = 1 << 21
BATCH = 1000
POLL_LIMIT = 10_000
POOL = 1000
WARMUP = 1000
SETTLE_IDLE_S = 0.25
FILLER = "the quick brown fox jumps over the lazy dog "

REPS = 5
COUNTS = {
    "ingest_raw": 200_000,
    "ingest_raw_batch": 300_000,
    "ingest(dict)": 60_000,
    "poll": 200_000,
}
QUICK_COUNTS = {
    "ingest_raw": 2_000,
    "ingest_raw_batch": 5_000,
    "ingest(dict)": 2_000,
    "poll": 5_000,
}


def token_event(i, size, separators):
    """A token event dict whose json.dumps(separators=...) is exactly `size` bytes."""
    fields = {"type": "token", "stream": f"s-{i % 64:02d}", "seq": i, "logprob": -0.25, "text": ""}
    pad = size - len(json.dumps(fields, separators=separators))
    fields["text"] = (FILLER * (pad // len(FILLER) + 1))[:pad]
    return fields


def raw_event(i, size):
    """Exactly `size` bytes of compact JSON: {"a":NNN} for 9 B, else a token event."""
    if size == 9:
        return f'{{"a":{100 + i % 900}}}'
    return json.dumps(token_event(i, size, (",", ":")), separators=(",", ":"))


def repeat(pool, n):
    """n events cycling through a pool of distinct ones, so they spread over the shards."""
    return (pool * (n // len(pool) + 1))[:n]


def raw_events(size, n):
    return repeat([raw_event(i, size) for i in range(POOL)], n)


def per_event(call, events):
    start = time.perf_counter()
    for ev in events:
        call(ev)
    return len(events), time.perf_counter() - start


def bench_ingest_raw(bus, events):
    return per_event(bus.ingest_raw, events)


def bench_ingest(bus, events):
    return per_event(bus.ingest, events)


def bench_ingest_raw_batch(bus, events):
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    ingest_raw_batch = bus.ingest_raw_batch
    start = time.perf_counter()
    for batch in batches:
        ingest_raw_batch(batch)
    return len(events), time.perf_counter() - start


def drain(bus):
    """Polls from the start until empty; returns how many events came back."""
    poll = bus.poll
    count, cursor = 0, None
    while True:
        resp = poll(limit=POLL_LIMIT, cursor=cursor)
        n = len(resp)
        cursor = resp.next_id
        if n == 0 or cursor is None:
            return count + n
        count += n


def settle(bus, expected):
    """Events reach the store asynchronously: drain until all are there or none come for a while."""
    seen = drain(bus)
    last_progress = time.monotonic()
    while seen < expected and time.monotonic() - last_progress < SETTLE_IDLE_S:
        time.sleep(0.01)
        now_seen = drain(bus)
        if now_seen > seen:
            seen, last_progress = now_seen, time.monotonic()
    return seen


def bench_poll(bus, events):
    """Times a full drain of everything ingested so far; (0, 0.0) when poll returns nothing."""
    bus.ingest_raw_batch(events)
    if settle(bus, bus.stats().events_ingested) == 0:
        return 0, 0.0
    start = time.perf_counter()
    count = drain(bus)
    return count, time.perf_counter() - start


def cases(counts, ops):
    """(operation, bench function, event size, events) for every case in `ops`, in table order."""
    for op, fn in (("ingest_raw", bench_ingest_raw), ("ingest_raw_batch", bench_ingest_raw_batch)):
        for size in SIZES if op in ops else ():
            yield op, fn, size, raw_events(size, counts[op])
    if "ingest(dict)" in ops:
        dicts = [token_event(i, DICT_SIZE, None) for i in range(POOL)]
        yield "ingest(dict)", bench_ingest, DICT_SIZE, repeat(dicts, counts["ingest(dict)"])
    for size in SIZES if "poll" in ops else ():
        yield "poll", bench_poll, size, raw_events(size, counts["poll"])


def best_rate(fn, shards, events, reps):
    """Best events/s over `reps` fresh buses, or None if the operation yields no events."""
    best = 0.0
    for _ in range(reps):
        with net.Net(
            num_shards=shards, ring_buffer_capacity=CAPACITY, backpressure_mode="drop_oldest"
        ) as bus:
            fn(bus, events[:WARMUP])
            count, seconds = fn(bus, events)
        if count == 0:
            return None
        best = max(best, count / seconds)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny event counts, one run per case")
    parser.add_argument("--ops", default=",".join(COUNTS), help="comma-separated operations to run")
    args = parser.parse_args()
    ops = set(args.ops.split(","))
    unknown = ops - set(COUNTS)
    if unknown:
        parser.error(
            f"unknown operations: {', '.join(sorted(unknown))} (known: {', '.join(COUNTS)})"
        )
    counts, reps = (QUICK_COUNTS, 1) if args.quick else (COUNTS, REPS)
    gc.disable()  # nothing here makes reference cycles; keep collections out of the timed loops
    results = [
        {"op": op, "size": size, "shards": shards, "ev_per_s": best_rate(fn, shards, events, reps)}
        for op, fn, size, events in cases(counts, ops)
        for shards in SHARDS
    ]
    print(json.dumps({"python": platform.python_version(), "reps": reps, "results": results}))


if __name__ == "__main__":
    main()
