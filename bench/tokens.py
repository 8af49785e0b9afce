#!/usr/bin/env python3
# bench/tokens.py: identity and permission-token operations, ours vs the original ai2070-net
# 0.12.0, side by side: verify_token, parse_token, issue_token, install_token, sign and
# channel_hash, in operations per second (best of 5 runs of 20,000 each).
#
# Usage: bench/tokens.py [--quick] [--no-original] [--markdown]
import os

from _common import (
    BENCH_DIR,
    cpu_model,
    ratio,
    render,
    run_both,
    side_by_side_parser,
)

WORKER = BENCH_DIR / "_tokens_worker.py"


def main():
    parser = side_by_side_parser("Token operations")
    args = parser.parse_args()
    ours, theirs = run_both(WORKER, args)
    rows = []
    for operation, rate in ours.items():
        other = theirs.get(operation) if theirs else None
        rows.append(
            [
                operation,
                f"{rate / 1e3:.1f}",
                "n/a" if other is None else f"{other / 1e3:.1f}",
                ratio(rate, other),
            ]
        )
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; best of 5 runs")
    print(render(["operation", "ours k ops/s", "original k ops/s", "ratio"], rows, args.markdown))


if __name__ == "__main__":
    main()
