"""Identities and permission tokens between ours and the original (0.12.0, its own process): the
same seeds give the same ids, tokens issued by either verify and delegate in the other, and
channel_hash and normalize_gpu_vendor agree."""

from __future__ import annotations

import json
import os
import subprocess

import net
import pytest

pytestmark = pytest.mark.interop


def run_original(python: str, code: str, payload: dict) -> dict:
    """Runs `code` in the original's interpreter with `payload` as `data`; returns its `out`."""
    script = f"import json, sys, net\ndata = json.loads(sys.stdin.read())\n{code}\nprint(json.dumps(out))"
    proc = subprocess.run(
        [python, "-I", "-c", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


def test_same_seed_same_ids(original_python: str) -> None:
    seeds = [os.urandom(32) for _ in range(20)] + [bytes(32), b"\xff" * 32]
    theirs = run_original(
        original_python,
        "out = [[i.entity_id.hex(), i.node_id, i.origin_hash, i.sign(b'msg').hex()]"
        " for i in (net.Identity.from_seed(bytes.fromhex(s)) for s in data['seeds'])]",
        {"seeds": [s.hex() for s in seeds]},
    )
    ours = [
        [i.entity_id.hex(), i.node_id, i.origin_hash, i.sign(b"msg").hex()]
        for i in (net.Identity.from_seed(s) for s in seeds)
    ]
    assert ours == theirs


def test_tokens_cross_both_ways(original_python: str) -> None:
    root, middle, leaf = (os.urandom(32) for _ in range(3))
    ours_middle = net.Identity.from_seed(middle)
    ours_leaf = net.Identity.from_seed(leaf)
    # The original issues; ours parses, verifies and delegates from it.
    theirs = run_original(
        original_python,
        "r = net.Identity.from_seed(bytes.fromhex(data['root']))\n"
        "m = net.Identity.from_seed(bytes.fromhex(data['middle']))\n"
        "t = r.issue_token(m.entity_id, ['publish', 'subscribe', 'delegate'], 'jobs/gpu', 300, 2)\n"
        "out = {'token': t.hex(), 'fields': {k: (v.hex() if isinstance(v, bytes) else v)"
        " for k, v in net.parse_token(t).items()}}",
        {"root": root.hex(), "middle": middle.hex()},
    )
    token = bytes.fromhex(theirs["token"])
    fields = {
        k: (v.hex() if isinstance(v, bytes) else v) for k, v in net.parse_token(token).items()
    }
    assert fields == theirs["fields"]
    assert net.verify_token(token) and not net.token_is_expired(token)
    child = net.delegate_token(ours_middle, token, ours_leaf.entity_id, ["subscribe"])
    ours_issued = ours_middle.issue_token(ours_leaf.entity_id, ["admin"], "jobs/gpu", 60)
    holder = net.Identity.generate()
    holder.install_token(token)
    assert holder.lookup_token(ours_middle.entity_id, "jobs/gpu") == token

    # The original verifies, parses, installs and delegates what ours made.
    checked = run_original(
        original_python,
        "child = bytes.fromhex(data['child']); issued = bytes.fromhex(data['issued'])\n"
        "l = net.Identity.from_seed(bytes.fromhex(data['leaf']))\n"
        "h = net.Identity.generate(); h.install_token(child)\n"
        "tampered = bytearray(issued); tampered[80] ^= 1\n"
        "out = {'child': net.verify_token(child), 'issued': net.verify_token(issued),"
        " 'tampered': net.verify_token(bytes(tampered)),"
        " 'scope': net.parse_token(child)['scope'], 'depth': net.parse_token(child)['delegation_depth'],"
        " 'cached': h.lookup_token(l.entity_id, 'jobs/gpu') == child}",
        {"child": child.hex(), "issued": ours_issued.hex(), "leaf": leaf.hex()},
    )
    assert checked == {
        "child": True,
        "issued": True,
        "tampered": False,
        "scope": ["subscribe"],
        "depth": 1,
        "cached": True,
    }


def test_channel_hash_and_vendor_agree(original_python: str) -> None:
    names = ["a", "sensors/temp", "x" * 255, "a.b/c-d_e", "gpu/jobs/0", "A/B/C", "..a", "a..b"]
    names += [os.urandom(8).hex() + "/" + os.urandom(4).hex() for _ in range(50)]
    vendors = ["NVIDIA", "amd", " intel", "Apple", "qualcomm", "", "arm", "Qualcomm "]
    theirs = run_original(
        original_python,
        "out = {'hashes': [net.channel_hash(n) for n in data['names']],"
        " 'vendors': [net.normalize_gpu_vendor(v) for v in data['vendors']]}",
        {"names": names, "vendors": vendors},
    )
    assert theirs == {
        "hashes": [net.channel_hash(n) for n in names],
        "vendors": [net.normalize_gpu_vendor(v) for v in vendors],
    }
