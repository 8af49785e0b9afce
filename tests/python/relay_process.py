"""A relay node in its own process, for tests that kill it: prints its address, key and node id,
accepts the node ids given on the command line one after the other, starts, then serves until
killed. Usage: relay_process.py PSK HEARTBEAT_MS TIMEOUT_MS NODE_ID..."""

import json
import sys
import threading

import net

psk, heartbeat_ms, timeout_ms, *peers = sys.argv[1:]
mesh = net.NetMesh(
    "127.0.0.1:0", psk, heartbeat_interval_ms=int(heartbeat_ms), session_timeout_ms=int(timeout_ms)
)
addr = repr(mesh).split("addr=")[1].split(",")[0]
print(
    json.dumps({"addr": addr, "public_key": mesh.public_key, "node_id": mesh.node_id}), flush=True
)
for peer in peers:
    mesh.accept(int(peer))
mesh.start()
print("started", flush=True)
threading.Event().wait()
