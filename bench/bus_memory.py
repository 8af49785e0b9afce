"""Resident memory of retained events: ingest N ~120 B events into a Net that keeps them all,
then compare the growth of the process's RSS with the payload bytes.

    .venv/bin/python bench/bus_memory.py [--events 10000000] [--shards 2]
"""

import argparse
import sys


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args(argv)

    import net

    per_shard = -(-args.events * 5 // 4 // args.shards)  # headroom for an uneven spread
    capacity = max(1024, 1 << (per_shard - 1).bit_length())
    template = (
        '{"type":"token","session":"s-%08d","seq":%09d,"token":"hello world","logprob":-0.12345}'
    )
    pool = [(template % (i, i)).ljust(120) for i in range(1000)]
    payload = sum(len(e) for e in pool) * (args.events // len(pool))

    before = rss_bytes()
    bus = net.Net(num_shards=args.shards, ring_buffer_capacity=capacity)
    for _ in range(args.events // len(pool)):
        bus.ingest_raw_batch(pool)
    stats = bus.stats()
    grown = rss_bytes() - before
    print(
        f"retained {stats.events_ingested:,} events, {payload / 1e6:,.0f} MB of payload; "
        f"RSS grew {grown / 1e6:,.0f} MB = {grown / payload:.2f}x payload "
        f"(dropped {stats.events_dropped})"
    )
    bus.shutdown()
    return 0 if stats.events_dropped == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
