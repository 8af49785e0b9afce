"""Identity, permission tokens, channel_hash and normalize_gpu_vendor (API.md §5, contracts 24-29)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import net
import pytest

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "wire_vectors.json").read_text())
SEED_A = bytes(range(32))
SEED_B = bytes(range(32, 64))
SCOPE_ERROR = 'identity: unknown scope "{}"; expected publish | subscribe | admin | delegate'


def token_kind(error: pytest.ExceptionInfo) -> str:
    return str(error.value).removeprefix("token: ")


def test_reference_identities():
    zero = net.Identity.from_seed(bytes(32))
    assert (
        zero.entity_id.hex() == "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
    )
    assert zero.origin_hash == 0x87482E2F287F5D52
    assert zero.node_id == 0x2A22743FEE3E433D
    assert zero.sign(b"hello").hex() == (
        "e25c8723d039fe8f45d6c9d6a8917fa91bc754913cd596fd358a493a21a3cb59"
        "0a6537babc7df0400ab61a05589c9c36b65a143878cb0341d4e9e48419c4370d"
    )
    a = net.Identity.from_bytes(SEED_A)
    assert a.node_id == 0xBD826A5D0A6394F5 and a.origin_hash == 0x782A3238801976BF
    assert repr(a) == f"Identity(entity_id=0x{a.entity_id.hex()}, node_id=0xbd826a5d0a6394f5)"
    assert a.to_bytes() == SEED_A
    assert net.NetMesh("127.0.0.1:0", "42" * 32, identity_seed=SEED_A).node_id == a.node_id


def test_generate_and_seed_errors():
    one, two = net.Identity.generate(), net.Identity.generate()
    assert one.entity_id != two.entity_id and len(one.to_bytes()) == 32
    assert net.Identity.from_seed(one.to_bytes()).entity_id == one.entity_id
    with pytest.raises(net.IdentityError, match=r"^identity: seed must be 32 bytes, got 31$"):
        net.Identity.from_seed(bytes(31))
    with pytest.raises(net.IdentityError, match="got 33"):
        net.Identity.from_bytes(bytes=bytes(33))
    with pytest.raises(TypeError, match="not an instance of 'bytes'"):
        net.Identity.from_seed(bytearray(32))
    with pytest.raises(TypeError):
        one.sign("text")


def test_the_wire_vector_token():
    vector = VECTORS["permission_token"]
    token = bytes.fromhex(vector["token"])
    fields = net.parse_token(token)
    assert list(fields) == [
        "issuer", "subject", "scope", "channel_hash", "not_before", "not_after",
        "delegation_depth", "nonce", "signature",
    ]  # fmt: skip
    assert fields["issuer"].hex() == vector["fields"]["issuer"]
    assert fields["subject"].hex() == vector["fields"]["subject"]
    assert fields["scope"] == ["publish", "subscribe"]
    assert fields["channel_hash"] == net.channel_hash("chan/a") == 28571
    assert (fields["not_before"], fields["not_after"]) == (1700000000, 1700003600)
    assert fields["nonce"] == 0x0123456789ABCDEF
    assert fields["signature"].hex() == vector["signature"]
    assert net.verify_token(token) is True
    assert net.token_is_expired(token) is True


def test_issue_parse_verify_and_tampering():
    issuer, subject = net.Identity.from_seed(SEED_A), net.Identity.from_seed(SEED_B)
    before = int(time.time())
    token = issuer.issue_token(subject.entity_id, ["subscribe", "publish", "publish"], "chan/a", 60)
    fields = net.parse_token(token)
    assert len(token) == 159
    assert fields["issuer"] == issuer.entity_id and fields["subject"] == subject.entity_id
    assert fields["scope"] == ["publish", "subscribe"]  # canonical order, duplicates folded
    assert before <= fields["not_before"] <= int(time.time())
    assert fields["not_after"] == fields["not_before"] + 60
    assert fields["delegation_depth"] == 0
    assert net.verify_token(token) and not net.token_is_expired(token)
    tampered = bytearray(token)
    tampered[70] ^= 1  # not_before
    assert net.verify_token(bytes(tampered)) is False
    assert net.token_is_expired(bytes(tampered)) is False  # expiry ignores the signature
    assert net.parse_token(issuer.issue_token(subject.entity_id, [], "x", 1))["scope"] == []
    other = issuer.issue_token(subject.entity_id, ["admin"], "x", 5, delegation_depth=7)
    assert net.parse_token(other)["nonce"] != fields["nonce"]
    assert net.parse_token(other)["delegation_depth"] == 7


def test_issue_token_errors_in_the_originals_order():
    me = net.Identity.generate()
    with pytest.raises(net.IdentityError, match=r"^identity: entity_id must be 32 bytes, got 1$"):
        me.issue_token(b"x", ["bogus"], "", 0)
    with pytest.raises(net.IdentityError) as info:
        me.issue_token(bytes(32), ["bogus"], "", 0)
    assert str(info.value) == SCOPE_ERROR.format("bogus")
    with pytest.raises(
        net.IdentityError, match=r"^identity: invalid channel name: channel name is empty$"
    ):
        me.issue_token(bytes(32), [], "", 0)
    with pytest.raises(net.TokenError) as info:
        me.issue_token(bytes(32), [], "a", 0)
    assert str(info.value) == "token: zero_ttl" and token_kind(info) == "zero_ttl"
    with pytest.raises(OverflowError):
        me.issue_token(bytes(32), [], "a", 2**32)
    with pytest.raises(OverflowError):
        me.issue_token(bytes(32), [], "a", 5, 256)
    with pytest.raises(TypeError, match="not an instance of 'bytes'"):
        me.issue_token(bytearray(32), [], "a", 5)
    with pytest.raises(TypeError, match="Can't extract `str` to `Vec`"):
        me.issue_token(bytes(32), "publish", "a", 5)


def test_malformed_tokens():
    for bad in (b"", b"x", bytes(158), bytes(160)):
        for function in (net.parse_token, net.verify_token, net.token_is_expired):
            with pytest.raises(net.TokenError, match=r"^token: invalid_format$"):
                function(bad)
    with pytest.raises(TypeError, match="not an instance of 'bytes'"):
        net.parse_token("x" * 159)
    assert net.verify_token(bytes(159)) is False  # all zero: parses, never verifies


def test_delegation_contract():
    root, middle, leaf = (net.Identity.generate() for _ in range(3))
    parent = root.issue_token(
        middle.entity_id, ["publish", "subscribe", "delegate"], "jobs", 100, delegation_depth=2
    )
    child = net.delegate_token(middle, parent, leaf.entity_id, ["subscribe", "admin"])
    fields, parent_fields = net.parse_token(child), net.parse_token(parent)
    assert fields["issuer"] == middle.entity_id and fields["subject"] == leaf.entity_id
    assert fields["scope"] == ["subscribe"]  # intersected, never widened
    assert fields["channel_hash"] == parent_fields["channel_hash"]
    assert fields["not_after"] == parent_fields["not_after"]
    assert fields["delegation_depth"] == 1
    assert net.verify_token(child)
    assert net.parse_token(net.delegate_token(middle, parent, leaf.entity_id, []))["scope"] == []

    def kind(*args) -> str:
        with pytest.raises(net.TokenError) as info:
            net.delegate_token(*args)
        return token_kind(info)

    exhausted = root.issue_token(middle.entity_id, ["publish"], "jobs", 100)  # depth 0, no delegate
    assert (
        kind(middle, exhausted, leaf.entity_id, []) == "delegation_exhausted"
    )  # depth before scope
    no_delegate = root.issue_token(middle.entity_id, ["publish"], "jobs", 100, delegation_depth=1)
    assert (
        kind(leaf, no_delegate, leaf.entity_id, []) == "delegation_not_allowed"
    )  # scope before signer
    assert kind(leaf, parent, leaf.entity_id, []) == "not_authorized"
    tampered = bytearray(parent)
    tampered[64] |= 0x04
    assert kind(middle, bytes(tampered), leaf.entity_id, []) == "invalid_signature"
    with pytest.raises(net.TokenError, match="invalid_format"):
        net.delegate_token(middle, b"short", b"x", ["bogus"])  # the parent is checked first
    with pytest.raises(net.IdentityError, match="entity_id must be 32 bytes"):
        net.delegate_token(middle, parent, b"x", ["bogus"])
    with pytest.raises(net.IdentityError, match="unknown scope"):
        net.delegate_token(middle, parent, leaf.entity_id, ["bogus"])


def test_token_cache():
    issuer, subject = net.Identity.generate(), net.Identity.generate()
    holder = net.Identity.generate()
    assert holder.token_cache_len == 0
    assert holder.lookup_token(subject.entity_id, "chan/a") is None
    publish = issuer.issue_token(subject.entity_id, ["publish"], "chan/a", 60)
    holder.install_token(publish)  # any subject is accepted; only the signature is checked
    assert holder.token_cache_len == 1
    assert holder.lookup_token(subject.entity_id, "chan/a") == publish
    assert holder.lookup_token(subject.entity_id, "chan/b") is None
    again = issuer.issue_token(subject.entity_id, ["publish"], "chan/a", 120)
    holder.install_token(again)  # same scope: replaces
    assert holder.token_cache_len == 1 and holder.lookup_token(subject.entity_id, "chan/a") == again
    holder.install_token(issuer.issue_token(subject.entity_id, ["subscribe"], "chan/a", 60))
    assert holder.token_cache_len == 2
    bad = bytearray(publish)
    bad[100] ^= 1
    with pytest.raises(net.TokenError, match=r"^token: invalid_signature$"):
        holder.install_token(bytes(bad))
    with pytest.raises(net.TokenError, match=r"^token: invalid_format$"):
        holder.install_token(b"x")
    with pytest.raises(net.IdentityError, match="got 31"):
        holder.lookup_token(bytes(31), "chan/a")
    with pytest.raises(net.IdentityError, match="invalid channel name"):
        holder.lookup_token(subject.entity_id, "a//b")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "channel name is empty"),
        ("a" * 256, "channel name too long (256 > 255)"),
        ("/a!", "invalid channel name format: must not start or end with '/'"),
        ("!a//b", "invalid channel name format: must not contain '//'"),
        ("a/../b!", "invalid character '!' in channel name"),
        ("a/..", 'invalid channel name format: segment ".." is reserved'),
        ("./a", 'invalid channel name format: segment "." is reserved'),
        ("é", "invalid character 'é' in channel name"),
    ],
)
def test_channel_hash_rejects_invalid_names(name, reason):
    with pytest.raises(net.IdentityError) as info:
        net.channel_hash(name)
    assert str(info.value) == f"identity: invalid channel name: {reason}"


def test_channel_hash_vectors():
    expected = {
        "a": 19999, "x": 52497, "A": 13445, "0": 4181, "a/b": 1540, "a.b": 758, "a-b": 48671,
        "a_b": 28013, ".a": 60391, "sensors/temp": 5933, "gpu/jobs": 45884, "nrpc": 21451,
        "cross_lang_echo_sum": 10460,
    }  # fmt: skip
    assert {name: net.channel_hash(name) for name in expected} == expected
    assert net.channel_hash("a" * 255) == 35913  # the longest name; value from the original
    with pytest.raises(TypeError, match="not an instance of 'str'"):
        net.channel_hash(5)


def test_normalize_gpu_vendor():
    for vendor in ("nvidia", "NVIDIA", "Amd", "intel", "APPLE", "QualComm"):
        assert net.normalize_gpu_vendor(vendor) == vendor.lower()
    for other in ("", " amd", "amd ", "nvidia-corp", "arm", "ÄMD"):
        assert net.normalize_gpu_vendor(other) == "unknown"


def test_exception_classes():
    assert net.TokenError.__mro__[1] is Exception
    assert net.IdentityError.__mro__[1] is Exception
    assert not issubclass(net.TokenError, net.IdentityError)
