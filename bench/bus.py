#!/usr/bin/env python3
# bench/bus.py: Net event-bus hot paths, ours vs the original ai2070-net 0.12.0, side by side:
# ingest_raw, ingest_raw_batch (1000 per call), ingest(dict) and the poll drain, for JSON events of
# 9, 120 and 600 B on 1, 2 and 4 shards. Prints: machine line, then per case the best of 5 runs in
# each of 2 rounds of ours (M events/s, MB/s) and the original (M events/s), and the ours/original
# ratio. The sides alternate operation by operation, so both see the machine in the same state.
#
# Usage: bench/bus.py [--quick] [--no-original] [--markdown] [--ops ingest_raw,poll,...]
# Each side runs bench/_bus_worker.py in its own interpreter: ours is the repo's .venv (or this
# Python), the original lives in ~/.cache/net-bench/venv-0.12.0 and is created on first use.
import json
import os
import subprocess
import sys
from pathlib import Path

from _common import cpu_model, original_command, ours_command, ratio, render, side_by_side_parser

WORKER = Path(__file__).resolve().parent / "_bus_worker.py"
OPS = ("ingest_raw", "ingest_raw_batch", "ingest(dict)", "poll")
ROUNDS = 2


def run_worker(command, quick, ops):
    """Runs the worker with the interpreter `command`; returns its parsed JSON report."""
    cmd = [*command, str(WORKER)] + (["--quick"] if quick else []) + (["--ops", ops] if ops else [])
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout)


def best_of(report, more):
    """`report` with `more`'s results merged in, keeping the faster of each case."""
    if report is None:
        return more
    by_case = {(r["op"], r["size"], r["shards"]): r for r in report["results"]}
    for r in more["results"]:
        key = (r["op"], r["size"], r["shards"])
        if key not in by_case or (r["ev_per_s"] or 0) > (by_case[key]["ev_per_s"] or 0):
            by_case[key] = r
    order = {op: i for i, op in enumerate(OPS)}
    results = sorted(by_case.values(), key=lambda r: (order[r["op"]], r["size"], r["shards"]))
    return {**report, "results": results}


def rate(ev_per_s):
    return "n/a" if ev_per_s is None else f"{ev_per_s / 1e6:.2f}"


def throughput(ev_per_s, size):
    return "n/a" if ev_per_s is None else f"{ev_per_s * size / 1e6:.1f}"


def table_rows(ours, original):
    headers = ["operation", "size (B)", "shards", "ours M ev/s", "ours MB/s"]
    if original is not None:
        headers += ["original M ev/s", "ratio"]
        by_case = {(r["op"], r["size"], r["shards"]): r["ev_per_s"] for r in original["results"]}
    rows = []
    for r in ours["results"]:
        row = [
            r["op"],
            str(r["size"]),
            str(r["shards"]),
            rate(r["ev_per_s"]),
            throughput(r["ev_per_s"], r["size"]),
        ]
        if original is not None:
            theirs = by_case[(r["op"], r["size"], r["shards"])]
            row += [rate(theirs), ratio(r["ev_per_s"], theirs)]
        rows.append(row)
    return headers, rows


def main():
    parser = side_by_side_parser("Net event-bus benchmark")
    parser.add_argument(
        "--ops", help="comma-separated operations to run (default: all), e.g. ingest_raw,poll"
    )
    args = parser.parse_args()

    original_cmd = None if args.no_original else original_command()
    # The two sides take turns, one operation at a time, ROUNDS times over: this VM's speed drifts
    # by tens of percent within a minute, and a ratio of two runs made minutes apart measured that.
    ops = args.ops.split(",") if args.ops else list(OPS)
    ours = original = None
    for _ in range(1 if args.quick else ROUNDS):
        for op in ops:
            try:
                ours = best_of(ours, run_worker(ours_command(), args.quick, op))
            except subprocess.CalledProcessError as exc:
                sys.exit(f"error: our run failed ({exc})")
            if original_cmd is not None:
                try:
                    original = best_of(original, run_worker(original_cmd, args.quick, op))
                except subprocess.CalledProcessError:
                    print(f"note: the original's {op} run failed", file=sys.stderr)

    pythons = f"Python {ours['python']}" + (
        f" (original: {original['python']})" if original else ""
    )
    runs = "1 run" if ours["reps"] == 1 else f"best of {ours['reps']} runs x {ROUNDS} rounds"
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {pythons}; {runs} per case")
    print(render(*table_rows(ours, original), args.markdown))


if __name__ == "__main__":
    main()
