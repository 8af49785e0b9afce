"""Two meshes on two non-loopback addresses of one namespace: the sender (max_datagram from
argv, or the default) sends one 100 KB event and 1,000 small ones on a reliable stream; prints
one JSON line with what the receiver got."""

from __future__ import annotations

import json
import sys
import threading
import time

import net

PSK = "42" * 32


def main(addr_a: str, addr_b: str, max_datagram: int | None) -> None:
    options = {} if max_datagram is None else {"max_datagram": max_datagram}
    sender = net.NetMesh(f"{addr_a}:7500", PSK, **options)
    receiver = net.NetMesh(f"{addr_b}:7501", PSK)
    accept = threading.Thread(target=receiver.accept, args=(sender.node_id,))
    accept.start()
    sender.connect(f"{addr_b}:7501", receiver.public_key, receiver.node_id)
    accept.join()
    sender.start()
    receiver.start()
    stream = sender.open_stream(receiver.node_id, 1, reliability="reliable", window_bytes=0)
    big = b"B" * 100_000
    sender.send_blocking(stream, [big])
    sender.send_blocking(stream, [f"{i:06d}".encode() for i in range(1000)])
    got: list[bytes] = []
    deadline = time.monotonic() + 20
    while len(got) < 1001 and time.monotonic() < deadline:
        got += [e.raw.encode() for e in receiver.poll(2000)]
        time.sleep(0.002)
    print(json.dumps({"events": len(got), "big_intact": big in got}), flush=True)
    sender.shutdown()
    receiver.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
