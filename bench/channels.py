#!/usr/bin/env python3
# bench/channels.py: channel publish fan-out, ours vs the original ai2070-net 0.12.0, side by
# side: one publisher and 1, 4 and 16 subscribers in one process over 127.0.0.1, 64-byte
# messages. Columns: messages delivered to subscribers per second, how many of the messages sent
# arrived, and the publish-to-every-subscriber latency p50/p99. Then discovery: a node fed 10,000
# signed announcements by bench/announce_feeder (native, built with the tests), the time of
# find_nodes over them, and token verifications per second.
#
# Usage: bench/channels.py [--quick] [--no-original] [--markdown]
import json
import os
import subprocess
import sys

from _common import (
    BENCH_DIR,
    cpu_model,
    native_tool,
    original_command,
    ours_command,
    ratio,
    render,
    side_by_side_parser,
)

WORKER = BENCH_DIR / "_channels_worker.py"
DISCOVERY_WORKER = BENCH_DIR / "_discovery_worker.py"
FAN_OUTS = [1, 4, 16]


def run(command, subscribers, quick):
    counts = ["--messages", "2000", "--rounds", "50"] if quick else []
    cmd = [*command, str(WORKER), "--subscribers", str(subscribers), *counts]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, timeout=600).stdout
    return json.loads(out)


def cells(result):
    if result is None:
        return ["n/a"] * 4
    return [
        f"{result['delivered_rate'] / 1e3:.1f}",
        f"{result['received']}/{result['expected']}",
        f"{result['p50_us']:.0f}",
        f"{result['p99_us']:.0f}",
    ]


def discovery(command, nodes):
    feeder = native_tool("announce_feeder")
    if feeder is None:
        return None
    cmd = [*command, str(DISCOVERY_WORKER), "--feeder", feeder, "--nodes", str(nodes)]
    return json.loads(
        subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, timeout=600).stdout
    )


def discovery_table(original_cmd, nodes, markdown):
    ours = discovery(ours_command(), nodes)
    if ours is None:
        return "discovery: bench/announce_feeder is not built (build the C++ tests first)"
    theirs = None
    if original_cmd is not None:
        try:
            theirs = discovery(original_cmd, nodes)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            print("note: the original's discovery run failed", file=sys.stderr)
    rows = []
    for key, value in ours.items():
        if key in ("indexed", "announcements/s"):  # the feeder paces the announcements
            continue
        other = theirs.get(key) if theirs else None
        lower_is_better = key.startswith("find_nodes")
        unit = "us" if lower_is_better else "/s"
        rows.append(
            [
                f"{key} ({unit})",
                f"{value:.0f}",
                "n/a" if other is None else f"{other:.0f}",
                ratio(other, value) if lower_is_better else ratio(value, other),
            ]
        )
    title = f"discovery over {ours['indexed']} indexed nodes"
    return title + "\n" + render(["operation", "ours", "original", "ratio"], rows, markdown)


def main():
    args = side_by_side_parser("Channel publish fan-out").parse_args()
    original_cmd = None if args.no_original else original_command()
    rows = []
    for subscribers in FAN_OUTS:
        ours = run(ours_command(), subscribers, args.quick)
        theirs = None
        if original_cmd is not None:
            try:
                theirs = run(original_cmd, subscribers, args.quick)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                print(f"note: the original's run with {subscribers} failed", file=sys.stderr)
        rows.append(
            [
                str(subscribers),
                *cells(ours),
                *cells(theirs),
                ratio(ours["delivered_rate"], theirs and theirs["delivered_rate"]),
            ]
        )
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; 64-byte messages")
    headers = [
        "subscribers",
        "ours k msg/s",
        "ours arrived",
        "ours p50 us",
        "ours p99 us",
        "orig k msg/s",
        "orig arrived",
        "orig p50 us",
        "orig p99 us",
        "ratio",
    ]
    print(render(headers, rows, args.markdown))
    print()
    print(discovery_table(original_cmd, 1000 if args.quick else 10_000, args.markdown))


if __name__ == "__main__":
    main()
