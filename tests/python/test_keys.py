"""generate_net_keypair() and NetKeypair (API.md §3): X25519 keys as hex, a value class."""

from __future__ import annotations

import pickle
import re

import net
import pytest

HEX64 = re.compile(r"[0-9a-f]{64}")


def test_keypairs_are_64_lowercase_hex_and_fresh_each_time():
    first, second = net.generate_net_keypair(), net.generate_net_keypair()
    for pair in (first, second):
        assert isinstance(pair, net.NetKeypair)
        assert HEX64.fullmatch(pair.public_key)
        assert HEX64.fullmatch(pair.secret_key)
        assert pair.public_key != pair.secret_key
    assert first.public_key != second.public_key
    assert first.secret_key != second.secret_key


def test_repr_shows_eight_hex_chars_and_redacts_the_secret():
    pair = net.generate_net_keypair()
    assert (
        repr(pair) == f"NetKeypair(public_key='{pair.public_key[:8]}...', secret_key='[REDACTED]')"
    )
    assert pair.secret_key not in repr(pair)


def test_keypair_is_a_read_only_value_class():
    pair = net.generate_net_keypair()
    with pytest.raises(TypeError):
        net.NetKeypair()
    with pytest.raises(AttributeError):
        pair.public_key = "00" * 32
    with pytest.raises((TypeError, pickle.PicklingError)):
        pickle.dumps(pair)


def test_exported_names():
    assert "NetKeypair" in net.__all__
    assert "generate_net_keypair" in net.__all__
