#!/usr/bin/env python3
# bench/_brokers_worker.py: one side of bench/brokers.py, run by ours's or the original's Python.
# "write": Net(<backend>_url=...) takes --events JSON events through ingest_raw_batch (1000 per
# call) and the clock stops when the broker holds them all (XLEN, or the JetStream stream state,
# asked over a plain socket so both interpreters run the same code). "read": a fresh Net pages
# them all back with poll. Prints one JSON line: {"ev_per_s": ...}.
import argparse
import json
import socket
import time


def event(i, size):
    head = f'{{"seq":{i},"token":"'
    return head + "x" * max(0, size - len(head) - 2) + '"}'


def redis_stored(port, prefix, shards):
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = sock.makefile("rb")
        total = 0
        for s in range(shards):
            key = f"{prefix}:shard:{s}"
            sock.sendall(f"*2\r\n$4\r\nXLEN\r\n${len(key)}\r\n{key}\r\n".encode())
            total += int(reader.readline()[1:])
        return total


def jetstream_stored(port, prefix, shards):
    total = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = sock.makefile("rb")
        reader.readline()  # INFO
        sock.sendall(b'CONNECT {"verbose":false}\r\nSUB _INBOX.bench 1\r\n')
        for s in range(shards):
            subject = f"$JS.API.STREAM.INFO.{prefix}_shard_{s}"
            sock.sendall(f"PUB {subject} _INBOX.bench 0\r\n\r\n".encode())
            while True:
                line = reader.readline()
                if line.startswith(b"PING"):
                    sock.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG "):
                    size = int(line.split()[-1])
                    info = json.loads(reader.read(size + 2)[:size])
                    total += info.get("state", {}).get("messages", 0)
                    break
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["redis", "jetstream"], required=True)
    parser.add_argument("--mode", choices=["write", "read"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--size", type=int, default=120)
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args()
    import net

    options = {f"{args.backend}_url": args.url, f"{args.backend}_prefix": args.prefix}
    port = int(args.url.rsplit(":", 1)[1])
    stored = redis_stored if args.backend == "redis" else jetstream_stored
    bus = net.Net(num_shards=args.shards, **options)
    if args.mode == "write":
        events = [event(i, args.size) for i in range(args.events)]
        start = time.perf_counter()
        for i in range(0, len(events), 1000):
            bus.ingest_raw_batch(events[i : i + 1000])
        deadline = start + 300
        while (
            stored(port, args.prefix, args.shards) < args.events and time.perf_counter() < deadline
        ):
            time.sleep(0.002)
        elapsed = time.perf_counter() - start
        count = stored(port, args.prefix, args.shards)
    else:
        start = time.perf_counter()
        count, cursor = 0, None
        while True:
            page = bus.poll(5000, cursor)
            count += len(page.events)
            cursor = page.next_id
            if not page.has_more:
                break
        elapsed = time.perf_counter() - start
    bus.shutdown()
    print(json.dumps({"ev_per_s": count / elapsed, "events": count}))


if __name__ == "__main__":
    main()
