"""Reliable streams across a real (virtual) network that loses 10% of the datagrams: two
processes in two network namespaces; nftables drops at random on input in both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import Namespaces

NODE = str(Path(__file__).with_name("mesh_node_process.py"))
EVENTS = 100_000


def test_reliable_stream_survives_ten_percent_loss(namespaces: Namespaces) -> None:
    namespaces.drop_udp(one_in=10)
    receiver = subprocess.Popen(
        [
            *namespaces.exec_args(namespaces.b),
            sys.executable,
            NODE,
            "receive",
            f"{namespaces.addr_b}:7400",
            str(EVENTS),
            "90",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    sender = None
    try:
        assert receiver.stdout is not None
        keys = json.loads(receiver.stdout.readline())
        sender = subprocess.Popen(
            [
                *namespaces.exec_args(namespaces.a),
                sys.executable,
                NODE,
                "send",
                f"{namespaces.addr_a}:7401",
                f"{namespaces.addr_b}:7400",
                keys["public_key"],
                str(keys["node_id"]),
                str(EVENTS),
                "120",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        result = json.loads(receiver.stdout.readline())
        assert result == {"received": EVENTS, "unique": EVENTS, "in_order": True}
    finally:
        for process in (sender, receiver):
            if process is not None:
                process.kill()
                process.wait()
