#!/usr/bin/env python3
# bench/storage.py: RedEX append-only logs, ours vs the original ai2070-net 0.18.0 (RedEX is not
# in the 0.12.0 wheel), side by side: heap appends of 8 B..1 KiB and batches of 1000 (ops/s and
# MB/s), append -> tail latency (p50/p99), and disk appends with fsync_interval_ms=100 and
# fsync_every_n=1 next to the ceiling of the latter, a raw os.write + os.fdatasync of the same
# payload in the same temporary directory. Then CortEX (a TasksAdapter): creates folded,
# create + wait_for_seq round trips, list_tasks() over 10,000 tasks, and snapshot() /
# open_from_snapshot() of 10,000 tasks, per call and per task. Best of 3 runs per row in each of
# 2 rounds; the two sides take turns row by row, so both see the machine in the same state.
#
# The original 0.18.0 aborts (a Rust panic: no Tokio runtime) when a persistent file is opened
# from Python, so its disk rows show n/a with that note. Its fsync_every_n only signals a
# background fsync; ours fsyncs before the append returns.
#
# Usage: bench/storage.py [--quick] [--no-original] [--markdown]
import json
import os
import subprocess

from _common import (
    BENCH_DIR,
    cpu_model,
    original_command,
    ours_command,
    ratio,
    render,
    side_by_side_parser,
)
from _storage_worker import (
    CORTEX_ROWS,
    EVERY_ROW,
    RAW_ROW,
    TAIL_ROW,
    THROUGHPUT_ROWS,
    failure_note,
)

WORKER = BENCH_DIR / "_storage_worker.py"
ORIGINAL_VERSION = "0.18.0"
ROUNDS = 2
ROW_TIMEOUT_S = 600


def run_row(command, name, quick):
    """(result, None) for one row run by the worker under `command`, or (None, why)."""
    cmd = [*command, str(WORKER), "--row", name, *(["--quick"] if quick else [])]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=ROW_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {ROW_TIMEOUT_S} s"
    if done.returncode != 0:
        return None, failure_note(done.stderr, done.returncode)
    return json.loads(done.stdout), None


def better(name, result, than):
    """Whether `result` beats `than`: a lower p50 for the latency row, more ops/s otherwise."""
    if name == TAIL_ROW:
        return result["p50_us"] < than["p50_us"]
    return result["ops"] > than["ops"]


def run_sides(args):
    """{side: {"rows", "latency", "cortex", "notes"}} for ours and, unless skipped, the original,
    the sides taking turns row by row, ROUNDS times over, keeping each row's best."""
    sides = {"ours": ours_command()}
    if not args.no_original and (original := original_command(ORIGINAL_VERSION)) is not None:
        sides["original"] = original
    best = {side: {} for side in sides}
    notes = {side: {} for side in sides}
    for _ in range(1 if args.quick else ROUNDS):
        for name in [*THROUGHPUT_ROWS, TAIL_ROW, *CORTEX_ROWS]:
            for side, command in sides.items():
                result, why = run_row(command, name, args.quick)
                kept = best[side].get(name)
                if result is None:
                    notes[side][name] = why
                elif kept is None or better(name, result, kept):
                    best[side][name] = result
    out = {}
    for side in sides:
        rows = best[side]
        out[side] = {
            "rows": {name: rows.get(name) for name in THROUGHPUT_ROWS},
            "latency": rows.get(TAIL_ROW),
            "cortex": {name: rows.get(name) for name in CORTEX_ROWS},
            "notes": {name: why for name, why in notes[side].items() if rows.get(name) is None},
        }
    return out["ours"], out.get("original")


def cell(result, key, scale=1.0, digits=1):
    return "n/a" if result is None else f"{result[key] / scale:.{digits}f}"


def rate(result, key):
    """A per-second figure: whole above 100, one decimal below; n/a for a row that did not run."""
    if result is None:
        return "n/a"
    value = result[key]
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def of_ceiling(side):
    rows = side["rows"] if side else {}
    every, raw = rows.get(EVERY_ROW), rows.get(RAW_ROW)
    return ratio(every and every["ops"], raw and raw["ops"])


def main():
    args = side_by_side_parser("RedEX storage", ORIGINAL_VERSION).parse_args()
    ours, theirs = run_sides(args)

    rows = []
    for operation, mine in ours["rows"].items():
        other = theirs["rows"].get(operation) if theirs else None
        rows.append(
            [
                operation,
                cell(mine, "ops", 1e3),
                cell(mine, "mbps"),
                cell(other, "ops", 1e3),
                cell(other, "mbps"),
                ratio(mine and mine["ops"], other and other["ops"]),
            ]
        )
    latency = [
        [
            "append -> tail next()",
            cell(ours["latency"], "p50_us"),
            cell(ours["latency"], "p99_us"),
            cell(theirs and theirs["latency"], "p50_us"),
            cell(theirs and theirs["latency"], "p99_us"),
        ]
    ]

    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores; best of 3 runs x {ROUNDS} rounds; "
        f"original = ai2070-net {ORIGINAL_VERSION}"
    )
    headers = ["operation", "ours k ops/s", "ours MB/s", "original k ops/s", "original MB/s"]
    print(render([*headers, "ratio"], rows, args.markdown))
    print(
        f"\nfsync_every_n=1 / raw write+fdatasync (the ceiling): ours {of_ceiling(ours)}, "
        f"original {of_ceiling(theirs)}\n"
    )
    print(
        render(
            ["tail latency", "ours p50 µs", "ours p99 µs", "original p50 µs", "original p99 µs"],
            latency,
            args.markdown,
        )
    )
    cortex = []
    for operation, mine in ours["cortex"].items():
        other = theirs["cortex"].get(operation) if theirs else None
        cortex.append(
            [
                operation,
                rate(mine, "ops"),
                rate(mine, "tasks"),
                rate(other, "ops"),
                rate(other, "tasks"),
                ratio(mine and mine["ops"], other and other["ops"]),
            ]
        )
    print()
    headers = ["CortEX", "ours calls/s", "ours tasks/s", "original calls/s", "original tasks/s"]
    print(render([*headers, "ratio"], cortex, args.markdown))
    for side, result in (("ours", ours), ("original", theirs)):
        for operation, why in (result or {}).get("notes", {}).items():
            print(f"n/a: {side}: {operation}: {why}")


if __name__ == "__main__":
    main()
