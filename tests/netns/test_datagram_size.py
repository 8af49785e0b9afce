"""The largest datagram to a non-loopback peer: 1,472 bytes of UDP payload by default (nothing
is IP-fragmented on a 1,500-byte path), and what max_datagram says when it is given. Counted by
nftables on the receiving side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Namespaces, sh

NODE = str(Path(__file__).with_name("datagram_size_process.py"))
SECOND_ADDR = "10.77.0.3"
UDP_HEADER = 8


def run_meshes(namespaces: Namespaces, run_args: list[str]) -> None:
    """Runs the two meshes; asserts that every event arrived."""
    out = subprocess.run(
        [*namespaces.exec_args(namespaces.a), sys.executable, NODE, *run_args],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert json.loads(out) == {"events": 1001, "big_intact": True}


def count_larger_than(namespaces: Namespaces, payload: int, run_args: list[str]) -> int:
    """Runs the two meshes; returns how many datagrams with more than `payload` bytes of UDP
    payload arrived."""
    nft = [*namespaces.exec_args(namespaces.a), "nft"]
    sh(*nft, "add", "table", "inet", "sizes")
    sh(*nft, "add", "chain", "inet", "sizes", "input", "{ type filter hook input priority 0 ; }")
    sh(*nft, "add", "rule", "inet", "sizes", "input", "udp", "dport", "7501",
       "udp", "length", ">", str(payload + UDP_HEADER), "counter")  # fmt: skip
    try:
        run_meshes(namespaces, run_args)
        rules = subprocess.run(
            [*nft, "list", "chain", "inet", "sizes", "input"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return int(rules.split("counter packets ")[1].split()[0])
    finally:
        sh(*nft, "delete", "table", "inet", "sizes")


@pytest.fixture
def two_addresses(namespaces: Namespaces) -> Namespaces:
    veth = subprocess.run(
        [*namespaces.exec_args(namespaces.a), "ip", "-o", "link", "show", "type", "veth"],
        capture_output=True, text=True, check=True,
    ).stdout.split(":")[1].strip().split("@")[0]  # fmt: skip
    sh("ip", "-n", namespaces.a, "addr", "add", f"{SECOND_ADDR}/24", "dev", veth)
    return namespaces


def test_default_largest_datagram_fits_a_1500_byte_path(two_addresses: Namespaces) -> None:
    args = [two_addresses.addr_a, SECOND_ADDR]
    assert count_larger_than(two_addresses, 1472, args) == 0
    assert count_larger_than(two_addresses, 1200, args) > 0  # the 100 KB event fills datagrams


def test_max_datagram_sets_the_largest_datagram(two_addresses: Namespaces) -> None:
    args = [two_addresses.addr_a, SECOND_ADDR, "1000"]
    assert count_larger_than(two_addresses, 1000, args) == 0
    assert count_larger_than(two_addresses, 900, args) > 0


def test_datagrams_larger_than_the_path_mtu_still_arrive(two_addresses: Namespaces) -> None:
    """The kernel refuses a UDP GSO run whose datagrams exceed the path MTU (EINVAL); the reactor
    then sends them one by one, and the kernel fragments each."""
    sh("ip", "-n", two_addresses.a, "link", "set", "dev", "lo", "mtu", "1500")
    run_meshes(two_addresses, [two_addresses.addr_a, SECOND_ADDR, "8000"])
