#!/usr/bin/env python3
# bench/_channels_worker.py: one run of bench/channels.py under whichever `net` this interpreter
# imports (ours or the original): a publisher and N subscribers in this process, connected over
# 127.0.0.1; the channel's hash is 0 mod 4, so the original's subscribers can poll() what arrives.
# Prints JSON: publish calls/s, messages delivered/s, delivered count, latency p50/p99.
import argparse
import json
import os
import statistics
import threading
import time

import net

PSK = "6c" * 32
PAYLOAD = b'{"sensor":"t1","value":21.5,"pad":"' + b"x" * 30 + b'"}'  # 64 bytes


def address_of(mesh):
    return repr(mesh).split("addr=")[1].split(",")[0]


def shard0_channel():
    return next(f"bench/{i}" for i in range(100) if net.channel_hash(f"bench/{i}") % 4 == 0)


def connect(subscriber, publisher):
    accepted = threading.Thread(target=lambda: publisher.accept(subscriber.node_id))
    accepted.start()
    subscriber.connect(address_of(publisher), publisher.public_key, publisher.node_id)
    accepted.join()


def drain(subscribers, want, timeout):
    """Polls every subscriber until `want` messages arrived in total or `timeout` passed."""
    got, deadline = 0, time.perf_counter() + timeout
    while got < want and time.perf_counter() < deadline:
        polled = sum(len(s.poll(10_000)) for s in subscribers)
        got += polled
        if not polled:
            time.sleep(0)
    return got


def fan_out(publisher, subscribers, channel, messages):
    """Publishes `messages` as fast as credit allows; what a full window refuses is not resent."""
    delivered = 0
    start = time.perf_counter()
    for _ in range(messages):
        try:
            report = publisher.publish(channel, PAYLOAD, on_failure="collect")
        except net.ChannelError:
            continue
        delivered += report["delivered"]
        if report["errors"]:
            time.sleep(0.0002)  # let credit grants come back
        drain(subscribers, 0, 0)
    published = time.perf_counter() - start
    received = drain(subscribers, delivered, 10.0)
    elapsed = time.perf_counter() - start
    return messages / published, received / elapsed, delivered, received


def latency(publisher, subscribers, channel, rounds):
    """Publish one message, wait until every subscriber has it; microseconds per round."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        publisher.publish(channel, PAYLOAD)
        if drain(subscribers, len(subscribers), 2.0) == len(subscribers):
            samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, required=True)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    publisher = net.NetMesh("127.0.0.1:0", PSK, identity_seed=os.urandom(32))
    subscribers = [net.NetMesh("127.0.0.1:0", PSK) for _ in range(args.subscribers)]
    for subscriber in subscribers:
        connect(subscriber, publisher)
    for mesh in [publisher, *subscribers]:
        mesh.start()
    channel = shard0_channel()
    publisher.register_channel(channel)
    for subscriber in subscribers:
        subscriber.subscribe_channel(publisher.node_id, channel)
    publish_rate, delivered_rate, delivered, received = fan_out(
        publisher, subscribers, channel, args.messages
    )
    p50, p99 = latency(publisher, subscribers, channel, args.rounds)
    print(
        json.dumps(
            {
                "publish_rate": publish_rate,
                "delivered_rate": delivered_rate,
                "delivered": delivered,
                "received": received,
                "expected": args.messages * args.subscribers,
                "p50_us": p50,
                "p99_us": p99,
            }
        )
    )
    for mesh in [*subscribers, publisher]:
        mesh.shutdown()


if __name__ == "__main__":
    main()
