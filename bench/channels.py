#!/usr/bin/env python3
# bench/channels.py: channel publish fan-out, ours vs the original ai2070-net 0.12.0, side by
# side: one publisher and 1, 4 and 16 subscribers in one process over 127.0.0.1, 64-byte
# messages. Columns: publish calls/s, messages delivered to subscribers per second, how many of
# the messages sent arrived, and the publish-to-every-subscriber latency p50/p99.
#
# Usage: bench/channels.py [--quick] [--no-original] [--markdown]
import json
import os
import subprocess
import sys

from _common import (
    BENCH_DIR,
    cpu_model,
    original_command,
    ours_command,
    ratio,
    render,
    side_by_side_parser,
)

WORKER = BENCH_DIR / "_channels_worker.py"
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


if __name__ == "__main__":
    main()
