"""Fixtures for interoperability tests: peers running the ORIGINAL `net` 0.12.0 out of process.

`original_peer` gives one peer; `original_peers()` makes as many as a test needs (all closed after).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .peer_client import OriginalPeer, OriginalUnavailable, ensure_original_python


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interop: talks to the original ai2070-net 0.12.0 package")


@pytest.fixture(scope="session")
def original_python() -> str:
    try:
        return ensure_original_python()
    except OriginalUnavailable as e:
        pytest.skip(f"original ai2070-net 0.12.0 unavailable: {e}")


@pytest.fixture
def original_peers(original_python: str) -> Iterator[Callable[..., OriginalPeer]]:
    peers: list[OriginalPeer] = []

    def make(name: str | None = None, default_timeout_s: float = 30.0) -> OriginalPeer:
        peer = OriginalPeer(original_python, default_timeout_s, name or f"peer{len(peers)}")
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


@pytest.fixture
def original_peer(original_peers: Callable[..., OriginalPeer]) -> OriginalPeer:
    return original_peers("original")
