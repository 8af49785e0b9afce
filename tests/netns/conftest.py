"""Two network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2), optionally with an
nftables input rule in each that drops a share of the UDP datagrams at random. Root only."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


@dataclass
class Namespaces:
    a: str
    b: str
    addr_a: str = "10.77.0.1"
    addr_b: str = "10.77.0.2"

    def exec_args(self, namespace: str) -> list[str]:
        return ["ip", "netns", "exec", namespace]

    def drop_udp(self, one_in: int) -> None:
        """Drop one UDP datagram in `one_in` at random on input, in both namespaces."""
        for ns in (self.a, self.b):
            nft = ["ip", "netns", "exec", ns, "nft"]
            sh(*nft, "add", "table", "inet", "chaos")
            sh(
                *nft,
                "add",
                "chain",
                "inet",
                "chaos",
                "input",
                "{ type filter hook input priority 0 ; }",
            )
            sh(
                *nft,
                "add",
                "rule",
                "inet",
                "chaos",
                "input",
                "meta",
                "l4proto",
                "udp",
                "numgen",
                "random",
                "mod",
                str(one_in),
                "0",
                "drop",
            )


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt install iproute2 nftables)")
    tag = str(os.getpid() % 100000)
    ns = Namespaces(f"neta{tag}", f"netb{tag}")
    veth_a, veth_b = f"va{tag}", f"vb{tag}"
    try:
        sh("ip", "netns", "add", ns.a)
        sh("ip", "netns", "add", ns.b)
        sh("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b)
        sh("ip", "link", "set", veth_a, "netns", ns.a)
        sh("ip", "link", "set", veth_b, "netns", ns.b)
        for name, veth, addr in ((ns.a, veth_a, ns.addr_a), (ns.b, veth_b, ns.addr_b)):
            sh("ip", "-n", name, "addr", "add", f"{addr}/24", "dev", veth)
            # Virtual links pass a run of datagrams sent with UDP GSO on whole; a NIC puts them
            # on the wire one by one. One segment per packet makes the kernel split runs before
            # these links, so nftables rules count and drop datagrams, as on a wire.
            for link in (veth, "lo"):
                sh("ip", "-n", name, "link", "set", "dev", link, "gso_max_segs", "1")
            sh("ip", "-n", name, "link", "set", veth, "up")
            sh("ip", "-n", name, "link", "set", "lo", "up")
        yield ns
    finally:
        for name in (ns.a, ns.b):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
