#!/usr/bin/env python3
# bench/_tokens_worker.py: the identity and token operations of bench/tokens.py under whichever
# `net` this interpreter imports (ours or the original); prints the best ops/s of 5 runs per
# operation as JSON.
import json
import sys
import time

import net

REPS = 5


def best_rate(operation, items):
    best = 0.0
    for _ in range(REPS):
        start = time.perf_counter()
        for item in items:
            operation(item)
        best = max(best, len(items) / (time.perf_counter() - start))
    return best


def main():
    count = 2_000 if "--quick" in sys.argv else 20_000
    issuer, subject = net.Identity.from_seed(bytes(range(32))), net.Identity.generate()
    tokens = [
        issuer.issue_token(subject.entity_id, ["publish", "subscribe"], f"chan/{i % 100}", 3600)
        for i in range(count)
    ]
    names = [f"sensors/{i % 1000}/temp" for i in range(count)]
    holder = net.Identity.generate()
    results = {
        "verify_token": best_rate(net.verify_token, tokens),
        "parse_token": best_rate(net.parse_token, tokens),
        "issue_token": best_rate(
            lambda name: issuer.issue_token(subject.entity_id, ["publish"], name, 60), names
        ),
        "install_token": best_rate(holder.install_token, tokens),
        "sign (64 B)": best_rate(issuer.sign, [bytes(64)] * count),
        "channel_hash": best_rate(net.channel_hash, names),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
