#!/usr/bin/env python3
# bench/brokers.py: the bus into real brokers, end to end, ours vs the original ai2070-net 0.12.0.
# Starts its own redis-server (in memory) and nats-server -js on free loopback ports, then measures
#   - write: ingest_raw_batch of N ~120 B JSON events until the broker holds them all, and
#   - read: a fresh Net paging them all back with poll,
# for Redis Streams (ours and the original's adapter, same run) and JetStream (ours; the original's
# wheel has no JetStream), beside two baselines on the same server: redis-py with hiredis doing
# pipelined XADD of the same entries (1000 per pipeline), and redis-benchmark's pipelined XADD
# (-P 1000), the ceiling of the server on this machine.
#
# Usage: bench/brokers.py [--quick] [--no-original] [--markdown] [--events N]
import json
import os
import re
import subprocess
import sys
import time

from _common import (
    BENCH_DIR,
    cpu_model,
    original_command,
    ours_command,
    ratio,
    render,
    side_by_side_parser,
)

sys.path.insert(0, str(BENCH_DIR.parent / "tests"))
from broker_servers import NatsServer, RedisServer

WORKER = BENCH_DIR / "_brokers_worker.py"
SIZE = 120
SHARDS = 2


def run_worker(command, backend, mode, url, prefix, events):
    cmd = [*command, str(WORKER), "--backend", backend, "--mode", mode, "--url", url]
    cmd += ["--prefix", prefix, "--events", str(events), "--size", str(SIZE)]
    cmd += ["--shards", str(SHARDS)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, timeout=600)
    report = json.loads(proc.stdout)
    if report["events"] != events:
        print(f"note: {backend} {mode} saw {report['events']:,} of {events:,}", file=sys.stderr)
    return report["ev_per_s"]


def envelope_entries(events):
    """The entries our adapter writes for `events` events, for the baselines."""
    sys.path.insert(0, str(BENCH_DIR))
    from _brokers_worker import event

    return [
        (f'{{"r":{event(i, SIZE)},"t":{1_000_000 + i},"s":0}}', f"bench:0:0:{i}")
        for i in range(events)
    ]


def redis_py_rate(server, events):
    """redis-py (hiredis parser) pipelining XADD of the same entries, 1000 per round trip."""
    try:
        import redis
    except ImportError:
        return None
    client = redis.Redis(port=server.port)
    entries = envelope_entries(events)
    start = time.perf_counter()
    for i in range(0, events, 1000):
        pipe = client.pipeline(transaction=False)
        for value, dedup_id in entries[i : i + 1000]:
            pipe.xadd("redispy:shard:0", {"d": value, "dedup_id": dedup_id})
        pipe.execute()
    return events / (time.perf_counter() - start)


def redis_benchmark_rate(server, events):
    """redis-benchmark's best XADD rate with 1000-command pipelines (1 and 4 connections)."""
    value, dedup_id = envelope_entries(1)[0]
    best = None
    for clients in (1, 4):
        out = subprocess.run(
            ["redis-benchmark", "-p", str(server.port), "-n", str(events), "-P", "1000"]
            + ["-c", str(clients), "-q", "XADD", "ceiling", "*", "d", value, "dedup_id", dedup_id],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        ).stdout
        found = re.findall(r"([\d.]+) requests per second", out)
        if found:
            best = max(best or 0.0, float(found[-1]))
    return best


def fmt(ev_per_s):
    return "n/a" if ev_per_s is None else f"{ev_per_s / 1e6:.3f}"


def mb(ev_per_s):
    return "n/a" if ev_per_s is None else f"{ev_per_s * SIZE / 1e6:.1f}"


def main():
    parser = side_by_side_parser("Broker adapters")
    parser.add_argument("--events", type=int, help="events per case (default 200,000)")
    args = parser.parse_args()
    events = args.events or (20_000 if args.quick else 200_000)
    original = None if args.no_original else original_command()
    ours = ours_command()

    rows = []
    with RedisServer(durable=False) as server:
        ceiling = redis_benchmark_rate(server, events)
        baseline = redis_py_rate(server, events)
        ours_write = run_worker(ours, "redis", "write", server.url, "ours", events)
        ours_read = run_worker(ours, "redis", "read", server.url, "ours", events)
        theirs_write = theirs_read = None
        if original is not None:
            try:
                theirs_write = run_worker(original, "redis", "write", server.url, "orig", events)
                theirs_read = run_worker(original, "redis", "read", server.url, "orig", events)
            except subprocess.SubprocessError as exc:
                print(f"note: the original's run failed ({exc})", file=sys.stderr)
        rows.append(["redis write", fmt(ours_write), mb(ours_write), fmt(theirs_write),
                     ratio(ours_write, theirs_write), fmt(baseline), ratio(ours_write, baseline),
                     fmt(ceiling), ratio(ours_write, ceiling)])  # fmt: skip
        rows.append(["redis read (poll)", fmt(ours_read), mb(ours_read), fmt(theirs_read),
                     ratio(ours_read, theirs_read), "", "", "", ""])  # fmt: skip
    with NatsServer() as server:
        js_write = run_worker(ours, "jetstream", "write", server.url, "ours", events)
        js_read = run_worker(ours, "jetstream", "read", server.url, "ours", events)
        rows.append(["jetstream write", fmt(js_write), mb(js_write), "n/a", "", "", "", "", ""])
        rows.append(["jetstream read (poll)", fmt(js_read), mb(js_read), "n/a", "", "", "", "", ""])

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; {events:,} events of {SIZE} B, "
          f"{SHARDS} shards; Redis in memory, JetStream on file storage")  # fmt: skip
    headers = ["case", "ours M ev/s", "ours MB/s", "original M ev/s", "vs original",
               "redis-py M ev/s", "vs redis-py", "redis-benchmark M ev/s", "vs ceiling"]  # fmt: skip
    print(render(headers, rows, args.markdown))


if __name__ == "__main__":
    main()
