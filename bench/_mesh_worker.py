# bench/_mesh_worker.py: one side of bench/mesh.py, run under ours' or the original's interpreter
# (both import as `net` with the same NetMesh API). Roles: receive/send (throughput on one stream)
# and echo/ping (round trips of a small message). Prints JSON lines; reads "go"/"exit" on stdin.
import argparse
import json
import resource
import sys
import time

import net

PSK = "5e" * 32
SENDER_SEED = bytes(range(32))
SEND_BATCH = 256


def say(**fields):
    print(json.dumps(fields), flush=True)


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def waiting_poll(mesh):
    """poll(limit) that waits for the first event: ours takes timeout_ms; the original has no such
    argument, so it spins (time.sleep(0) lets the node's own threads run on a small machine)."""
    try:
        mesh.poll(1, timeout_ms=0)
    except TypeError:

        def spin(limit):
            while not (events := mesh.poll(limit)):
                time.sleep(0)
            return events

        return spin
    return lambda limit: mesh.poll(limit, timeout_ms=100)


def address_of(mesh):
    return repr(mesh).split("addr=")[1].split(",")[0]


def sender_node_id():
    probe = net.NetMesh("127.0.0.1:0", PSK, identity_seed=SENDER_SEED)
    node_id = probe.node_id
    probe.shutdown()
    return node_id


def serve(args):
    """receive / echo: the accepting side."""
    mesh = net.NetMesh("127.0.0.1:0", PSK)
    say(public_key=mesh.public_key, node_id=mesh.node_id, addr=address_of(mesh))
    peer = mesh.accept(sender_node_id())
    mesh.start()
    if args.role == "echo":
        answered, poll = 0, waiting_poll(mesh)
        while answered < args.events:
            for event in poll(64):
                mesh.push_to(peer, event.raw)
                answered += 1
        say(answered=answered)
    else:
        received, first, last, cpu0 = 0, None, None, cpu_seconds()
        deadline = time.monotonic() + args.timeout
        while received < args.events and time.monotonic() < deadline:
            events = mesh.poll(65536)
            if events:
                last = time.perf_counter()
                first = first or last
                received += len(events)
            elif last is not None and time.perf_counter() - last > 1.0:
                break  # the rest was lost
            else:
                time.sleep(0.0002)
        elapsed = last - first if first else 0.0
        say(received=received, seconds=elapsed, cpu=cpu_seconds() - cpu0)
    sys.stdin.readline()
    mesh.shutdown()


def connect(args):
    mesh = net.NetMesh("127.0.0.1:0", PSK, identity_seed=SENDER_SEED)
    mesh.connect(args.peer, args.key, args.node_id)
    mesh.start()
    return mesh


def send(args):
    mesh = connect(args)
    stream = mesh.open_stream(args.node_id, 0, window_bytes=args.window)
    event = (b'{"p":"' + b"x" * max(0, args.size - 8) + b'"}')[: args.size]
    # One call stays within half the window: the original re-sends the whole call when a later
    # packet of it does not fit, so larger calls would duplicate events there.
    per_call = (
        SEND_BATCH
        if args.window == 0
        else max(1, min(SEND_BATCH, args.window // 2 // (args.size + 4)))
    )
    batch = [event] * per_call
    sys.stdin.readline()  # "go": the receiver is polling
    cpu0, start = cpu_seconds(), time.perf_counter()
    for first in range(0, args.events, per_call):
        mesh.send_blocking(stream, batch[: min(per_call, args.events - first)])
    say(seconds=time.perf_counter() - start, cpu=cpu_seconds() - cpu0)
    sys.stdin.readline()
    mesh.shutdown()


def ping(args):
    mesh = connect(args)
    time.sleep(0.2)
    rtts, poll = [], waiting_poll(mesh)
    for i in range(args.events):
        start = time.perf_counter()
        mesh.push_to(args.peer, f'{{"ping":{i}}}')
        poll(1)
        rtts.append(time.perf_counter() - start)
    rtts.sort()
    say(p50_us=rtts[len(rtts) // 2] * 1e6, p99_us=rtts[int(len(rtts) * 0.99)] * 1e6)
    sys.stdin.readline()
    mesh.shutdown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["receive", "echo", "send", "ping"])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=120)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument(
        "--window", type=int, default=65536, help="stream credit window, 0 = unbounded"
    )
    parser.add_argument("--peer")
    parser.add_argument("--key")
    parser.add_argument("--node-id", type=int)
    args = parser.parse_args()
    {"receive": serve, "echo": serve, "send": send, "ping": ping}[args.role](args)


if __name__ == "__main__":
    main()
