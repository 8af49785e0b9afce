"""The ``net demo``: an in-process event bus under load, no server needed.

A producer thread ingests JSON token events (~120 B each, like an LLM streaming tokens) while the
main thread polls them back with a cursor. A progress line on stderr shows live rates; a summary
table on stdout reports events/s in and out, drops and the ingest-to-poll latency p50/p99.

Run it as ``python -m net demo`` or ``net-demo``; ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from . import Net

DESCRIPTION = (
    "Load an in-process Net: a producer thread ingests JSON token events while the main thread "
    "polls them back; prints live rates, then events/s in and out, drops and latency."
)
DEFAULT_EVENTS = 5_000_000
DEFAULT_BATCH = 1000
POOL_EVENTS = 8192  # distinct events the producer cycles through
SINGLE_EVENT_RUN = 1024  # with --batch 1, events ingested one by one between counter updates
POLL_LIMIT = 10_000
LATENCY_SAMPLE_EVERY = 64  # one latency sample per this many polled events
IDLE_SLEEP_S = 0.0005  # the consumer's pause after an empty poll
MIN_RING_CAPACITY = 1024  # the bus's own minimum
MAX_RING_CAPACITY = 1 << 22
RING_HEADROOM = 1.2  # shards get uneven shares of the events: they are placed by hash

TOKENS = (
    " the", " of", " and", " to", " in", " is", " that", " for", " it", " with", " as", " on",
    " model", " token", " stream", " event", " shard", " latency", " bus", " mesh", ",", ".",
    "\n", " inference", " runtime", " agent", " context", " window", " sample", " logits",
)  # fmt: skip


def make_event_pool(count: int, seed: int = 2070) -> list[str]:
    """`count` distinct JSON token events of about 120 B, ASCII only (json.dumps escapes the rest),
    so len() of each is its size in bytes."""
    rng = random.Random(seed)
    sessions = [f"sess-{rng.getrandbits(64):016x}" for _ in range(32)]
    start_ms = 1_767_225_600_000
    return [
        json.dumps(
            {
                "type": "token",
                "session_id": sessions[seq % len(sessions)],
                "seq": seq,
                "token": rng.choice(TOKENS),
                "logprob": round(-rng.expovariate(4.0), 5),
                "ts": start_ms + 7 * seq,
            },
            separators=(",", ":"),
        )
        for seq in range(count)
    ]


def ring_capacity_for(events: int, shards: int) -> int:
    """Events per shard ring so that `events` fit without drops, whatever the consumer's pace:
    the next power of two above each shard's share plus headroom, within the bus's bounds and a
    memory cap."""
    needed = math.ceil(math.ceil(events / shards) * RING_HEADROOM)
    return min(max(1 << (needed - 1).bit_length(), MIN_RING_CAPACITY), MAX_RING_CAPACITY)


class Producer:
    """Ingests `total` events from a pre-built pool, `batch` per ingest_raw_batch call, or one by
    one with ingest_raw when `batch` is 1. Its run() goes in a thread of its own; the counters
    are read live by the consumer."""

    def __init__(self, bus: Net, total: int, batch: int, rate: float | None = None) -> None:
        self.bus = bus
        self.total = total
        self.batch = batch
        self.rate = rate  # events/s to hold to; None: as fast as the bus takes them
        run_length = batch if batch > 1 else SINGLE_EVENT_RUN
        pool = make_event_pool(run_length * math.ceil(POOL_EVENTS / run_length))
        runs = [pool[i : i + run_length] for i in range(0, len(pool), run_length)]
        self.runs = [(events, sum(map(len, events))) for events in runs]
        self.event_bytes = sum(map(len, pool)) / len(pool)
        self.accepted = 0  # events the bus accepted
        self.bytes = 0  # bytes of the events handed to the bus
        self.elapsed_s = 0.0
        self.done = threading.Event()
        self.stop = threading.Event()  # asks the producer to finish early

    def run(self) -> None:
        start = time.perf_counter()
        handed = 0
        try:
            for events, size in self._runs():
                self.accepted += self._ingest(events)
                self.bytes += size
                handed += len(events)
                if self.rate is not None:  # hold the schedule: this many events by now
                    ahead_s = start + handed / self.rate - time.perf_counter()
                    if ahead_s > 0:
                        time.sleep(ahead_s)
        finally:
            self.elapsed_s = time.perf_counter() - start
            self.done.set()

    def _runs(self):
        """(events, their size in bytes): the pool's runs, cycled and cut to `self.total` events
        in total."""
        remaining = self.total
        for events, size in itertools.cycle(self.runs):
            if remaining == 0 or self.stop.is_set():
                return
            if len(events) > remaining:
                events = events[:remaining]
                size = sum(map(len, events))
            remaining -= len(events)
            yield events, size

    def _ingest(self, events: list[str]) -> int:
        if self.batch > 1:
            return self.bus.ingest_raw_batch(events)
        ingest = self.bus.ingest_raw
        return sum(1 for raw in events if ingest(raw) is not None)


def format_rate(per_s: float) -> str:
    return f"{per_s / 1e6:.2f} M/s" if per_s >= 1e6 else f"{per_s / 1e3:.1f} k/s"


def format_latency(ns: int | None) -> str:
    if ns is None:
        return "n/a"
    if ns < 1_000_000:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns / 1e6:.2f} ms" if ns < 1_000_000_000 else f"{ns / 1e9:.2f} s"


class Progress:
    """A progress line on `stream`: redrawn in place ~10 times a second on a terminal (cut to its
    width, so that it never wraps), otherwise printed as a plain line about every second."""

    BAR_WIDTH = 16

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.interval_s = 0.1 if self.tty else 1.0
        self.columns = shutil.get_terminal_size().columns
        self.start = self.last = time.perf_counter()
        self.last_in = self.last_out = 0

    def update(self, ingested: int, polled: int, force: bool = False) -> None:
        """Draws the line, with the rates since the last drawing, if it is time to or `force`."""
        now = time.perf_counter()
        span = max(now - self.last, 1e-9)
        if span < self.interval_s and not force:
            return
        rate_in = (ingested - self.last_in) / span
        rate_out = (polled - self.last_out) / span
        self.last, self.last_in, self.last_out = now, ingested, polled
        fraction = polled / self.total
        filled = int(fraction * self.BAR_WIDTH)
        width = len(f"{self.total:,}")
        line = (
            f"[{'#' * filled:<{self.BAR_WIDTH}}] {fraction:4.0%}"
            f"  in {ingested:>{width},} {format_rate(rate_in):>9}"
            f"  out {polled:>{width},} {format_rate(rate_out):>9}"
            f"  {now - self.start:.1f} s"
        )
        self.stream.write(f"\r{line[: self.columns - 1]}\x1b[K" if self.tty else f"{line}\n")
        self.stream.flush()

    def finish(self, ingested: int, polled: int) -> None:
        """Draws the final counts, unless the last drawing showed them already."""
        if (ingested, polled) != (self.last_in, self.last_out):
            self.update(ingested, polled, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Consumed:
    polled: int
    elapsed_s: float  # from the start until the last event was polled
    latencies_ns: list[int]  # a sample of ingest-to-poll latencies


def consume(bus: Net, producer: Producer, progress: Progress) -> Consumed:
    """Polls until the producer is done and the bus has nothing left to deliver."""
    start = last_event = time.perf_counter()
    cursor = None
    polled = 0
    latencies: list[int] = []
    while True:
        producer_done = producer.done.is_set()  # read before polling: nothing can follow it
        response = bus.poll(POLL_LIMIT, cursor)
        now_ns = time.monotonic_ns()  # the clock of insertion_ts
        events = response.events
        if events:
            cursor = response.next_id
            polled += len(events)
            latencies.extend(now_ns - e.insertion_ts for e in events[::LATENCY_SAMPLE_EVERY])
            last_event = time.perf_counter()
        elif producer_done and not response.has_more:
            return Consumed(polled, last_event - start, latencies)
        else:
            time.sleep(IDLE_SLEEP_S)
        progress.update(producer.accepted, polled)


def percentile(sorted_values: list[int], q: float) -> int | None:
    """The nearest-rank `q` percentile (0 < q <= 1) of `sorted_values`; None if empty."""
    if not sorted_values:
        return None
    return sorted_values[max(math.ceil(q * len(sorted_values)) - 1, 0)]


@dataclass
class DemoResult:
    events: int
    shards: int
    batch: int
    rate: float | None  # the producer's target events/s; None: unlimited
    ring_capacity: int
    event_bytes: float  # mean size of an event
    ingested: int
    ingest_bytes: int
    ingest_s: float
    polled: int
    poll_s: float
    dropped: int
    latency_p50_ns: int | None
    latency_p99_ns: int | None
    wall_s: float


def run(
    events: int,
    shards: int,
    batch: int,
    ring_capacity: int | None = None,
    progress_stream: TextIO | None = None,
    rate: float | None = None,
) -> DemoResult:
    """Runs the demo on a new Net. `ring_capacity` None picks one that holds every event; `rate`
    paces the producer (events/s), so the latency is that of a steady load rather than of the
    backlog an unpaced producer builds; the progress line goes to `progress_stream`, stderr by
    default."""
    ring_capacity = ring_capacity or ring_capacity_for(events, shards)
    bus = Net(
        num_shards=shards, ring_buffer_capacity=ring_capacity, backpressure_mode="drop_oldest"
    )
    try:
        producer = Producer(bus, events, batch, rate)
        progress = Progress(events, progress_stream or sys.stderr)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="net-demo-producer") as pool:
            produced = pool.submit(producer.run)
            try:
                consumed = consume(bus, producer, progress)
            finally:
                producer.stop.set()
        produced.result()  # raises what the producer raised
        wall_s = time.perf_counter() - start
        progress.finish(producer.accepted, consumed.polled)
        dropped = bus.stats().events_dropped
    finally:
        bus.shutdown()
    latencies = sorted(consumed.latencies_ns)
    return DemoResult(
        events=events,
        shards=shards,
        batch=batch,
        rate=rate,
        ring_capacity=ring_capacity,
        event_bytes=producer.event_bytes,
        ingested=producer.accepted,
        ingest_bytes=producer.bytes,
        ingest_s=producer.elapsed_s,
        polled=consumed.polled,
        poll_s=consumed.elapsed_s,
        dropped=dropped,
        latency_p50_ns=percentile(latencies, 0.50),
        latency_p99_ns=percentile(latencies, 0.99),
        wall_s=wall_s,
    )


def format_summary(result: DemoResult) -> str:
    """The summary table."""
    ingest_s = max(result.ingest_s, 1e-9)
    poll_s = max(result.poll_s, 1e-9)
    rows = [
        ("events", f"{result.events:,}"),
        ("shards", f"{result.shards}"),
        ("batch", f"{result.batch}"),
        ("producer rate", "unlimited" if result.rate is None else f"{result.rate:,.0f} events/s"),
        ("ring capacity", f"{result.ring_capacity:,} per shard"),
        ("event size", f"{result.event_bytes:.0f} B mean"),
        ("ingested", f"{result.ingested:,}"),
        ("polled", f"{result.polled:,}"),
        ("dropped", f"{result.dropped:,}"),
        (
            "ingest rate",
            (
                f"{result.ingested / ingest_s:,.0f} events/s"
                f" ({result.ingest_bytes / ingest_s / 1e6:,.1f} MB/s)"
            ),
        ),
        ("poll rate", f"{result.polled / poll_s:,.0f} events/s"),
        ("latency p50", format_latency(result.latency_p50_ns)),
        ("latency p99", format_latency(result.latency_p99_ns)),
        ("wall time", f"{result.wall_s:.2f} s"),
    ]
    label_width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    rule = f"+-{'-' * label_width}-+-{'-' * value_width}-+"
    lines = [rule, f"| {'net demo':<{label_width}} | {'':<{value_width}} |", rule]
    lines += [f"| {label:<{label_width}} | {value:>{value_width}} |" for label, value in rows]
    return "\n".join([*lines, rule])


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def power_of_two_capacity(text: str) -> int:
    value = int(text)
    if value < MIN_RING_CAPACITY or value & (value - 1):
        raise argparse.ArgumentTypeError(
            f"must be a power of two >= {MIN_RING_CAPACITY}, not {value}"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options, shared by ``net-demo`` and ``python -m net demo``."""
    parser.add_argument(
        "--events",
        type=positive_int,
        default=DEFAULT_EVENTS,
        help=f"events to ingest (default {DEFAULT_EVENTS:,})",
    )
    parser.add_argument(
        "--shards",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="shards of the bus (default: the number of CPUs, %(default)s here)",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=DEFAULT_BATCH,
        help="events per ingest_raw_batch call; 1 ingests them one by one with ingest_raw "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--ring-capacity",
        type=power_of_two_capacity,
        help="events per shard ring; a ring full of unpolled events drops the oldest "
        f"(default: enough for every event, at most {MAX_RING_CAPACITY:,})",
    )
    parser.add_argument(
        "--rate",
        type=positive_int,
        help="events/s the producer holds to, to see the latency of a steady load (default: "
        "as fast as it can, so the latency shows the backlog the consumer works through)",
    )
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Runs the demo with parsed options, prints the summary; the exit status."""
    try:
        result = run(args.events, args.shards, args.batch, args.ring_capacity, rate=args.rate)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    print(format_summary(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``net-demo`` console script."""
    parser = argparse.ArgumentParser(prog="net-demo", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
