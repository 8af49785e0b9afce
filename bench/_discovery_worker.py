#!/usr/bin/env python3
# bench/_discovery_worker.py: find_nodes over a large capability index, under whichever `net`
# this interpreter imports (ours or the original). bench/announce_feeder (ours, native) connects
# as a peer and sends N signed announcements of distinct nodes; this process times how fast they
# are indexed, then find_nodes for a few filters, and token verifications per second. Prints
# JSON.
import argparse
import json
import subprocess
import threading
import time

import net

PSK = "d1" * 32
FEEDER_SEED = bytes([0x42] * 32)
FILTERS = {
    "find_nodes({})": {},
    "find_nodes(require_tags rare)": {"require_tags": ["rare"]},
    "find_nodes(gpu, 32 GiB)": {"require_gpu": True, "min_memory_mb": 32768},
}


def address_of(mesh):
    return repr(mesh).split("addr=")[1].split(",")[0]


def best_seconds(call, reps):
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeder", required=True)
    parser.add_argument("--nodes", type=int, default=10_000)
    args = parser.parse_args()
    mesh = net.NetMesh("127.0.0.1:0", PSK)
    feeder_id = net.Identity.from_seed(FEEDER_SEED).node_id
    accepted = threading.Thread(target=lambda: mesh.accept(feeder_id))
    accepted.start()
    command = [
        args.feeder,
        address_of(mesh),
        mesh.public_key,
        str(mesh.node_id),
        PSK,
        str(args.nodes),
    ]
    feeder = subprocess.Popen(command)
    accepted.join()
    mesh.start()
    start = time.perf_counter()
    deadline = start + 120
    while len(mesh.find_nodes({})) < args.nodes and time.perf_counter() < deadline:
        time.sleep(0.01)
    indexed = len(mesh.find_nodes({}))
    ingest = indexed / (time.perf_counter() - start)
    feeder.wait()
    results = {"indexed": indexed, "announcements/s": ingest}
    for name, filter_ in FILTERS.items():
        results[name] = 1e6 * best_seconds(lambda filter_=filter_: mesh.find_nodes(filter_), 20)
    issuer = net.Identity.from_seed(FEEDER_SEED)
    tokens = [
        issuer.issue_token(mesh.entity_id, ["subscribe"], f"chan/{i}", 60) for i in range(2000)
    ]
    results["verify_token/s"] = len(tokens) / best_seconds(
        lambda: [net.verify_token(t) for t in tokens], 5
    )
    print(json.dumps(results))
    mesh.shutdown()


if __name__ == "__main__":
    main()
