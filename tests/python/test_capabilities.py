"""Capabilities and discovery (API.md §4.7; REFERENCE.md §6): the dict shapes and their errors,
every filter key, every scope shape, and announcements travelling between real NetMesh nodes
on 127.0.0.1."""

from __future__ import annotations

import itertools

import net
import pytest
from conftest import handshake, wait_until

GPU_NODE = {
    "hardware": {
        "cpu_cores": 16,
        "memory_mb": 65536,
        "gpu": {"vendor": "NVIDIA", "model": "RTX 4090", "vram_mb": 24576},
        "additional_gpus": [{"vendor": "amd", "vram_mb": 16384}],
    },
    "models": [
        {"model_id": "llama-3.1-8b", "context_length": 131072, "modalities": ["code", "tool-use"]},
        {"model_id": "clip", "modalities": ["image"]},
    ],
    "tools": [{"tool_id": "search"}],
    "tags": ["gpu", "region:eu"],
}


@pytest.fixture
def mesh(make_mesh) -> net.NetMesh:
    return make_mesh()


def test_nothing_is_found_before_the_first_announcement(mesh):
    assert mesh.find_nodes({}) == []
    mesh.announce_capabilities({})
    assert mesh.find_nodes({}) == [mesh.node_id]


@pytest.mark.parametrize(
    ("filter_", "matches"),
    [
        ({}, True),
        ({"require_tags": ["gpu"]}, True),
        ({"require_tags": ["gpu", "region:eu"]}, True),
        ({"require_tags": ["gpu", "region:us"]}, False),
        ({"require_models": ["nope", "clip"]}, True),
        ({"require_models": ["nope"]}, False),
        ({"require_tools": ["search"]}, True),
        ({"require_tools": ["fetch"]}, False),
        ({"min_memory_mb": 65536}, True),
        ({"min_memory_mb": 65537}, False),
        ({"require_gpu": True}, True),
        ({"require_gpu": False}, True),
        ({"gpu_vendor": "nvidia"}, True),
        ({"gpu_vendor": "Nvidia"}, True),
        ({"gpu_vendor": "amd"}, False),  # only the primary GPU counts
        ({"min_vram_mb": 24576 + 16384}, True),  # primary + additional
        ({"min_vram_mb": 24576 + 16385}, False),
        ({"min_context_length": 131072}, True),
        ({"min_context_length": 131073}, False),
        ({"require_modalities": ["text", "code", "ToolUse", "image"]}, True),
        ({"require_modalities": ["audio"]}, False),
        ({"require_modalities": ["bogus"]}, True),  # unknown reads as text, which every model has
        ({"require_tags": None, "min_memory_mb": None, "unknown_key": 1}, True),
    ],
)
def test_every_filter_key(mesh, filter_, matches):
    mesh.announce_capabilities(GPU_NODE)
    assert mesh.find_nodes(filter_) == ([mesh.node_id] if matches else [])


def test_a_node_without_gpu_fails_gpu_filters(mesh):
    mesh.announce_capabilities(
        {"hardware": {"additional_gpus": [{"vendor": "nvidia", "vram_mb": 100}]}}
    )
    assert mesh.find_nodes({"require_gpu": True}) == []
    assert mesh.find_nodes({"gpu_vendor": "nvidia"}) == []
    assert mesh.find_nodes({"min_vram_mb": 100}) == [mesh.node_id]


def test_each_announcement_replaces_the_last(mesh):
    mesh.announce_capabilities({"tags": ["a"]})
    mesh.announce_capabilities({"tags": ["b"]})
    assert mesh.find_nodes({"require_tags": ["a"]}) == []
    assert mesh.find_nodes({"require_tags": ["b"]}) == [mesh.node_id]


def test_sixteen_bit_fields_saturate_and_wider_values_overflow(mesh):
    mesh.announce_capabilities(
        {"hardware": {"cpu_cores": 70000, "gpu": {"compute_units": 4294967295}}}
    )
    with pytest.raises(OverflowError):
        mesh.announce_capabilities({"hardware": {"cpu_cores": 2**32}})
    with pytest.raises(OverflowError):
        mesh.announce_capabilities({"hardware": {"memory_mb": -1}})
    with pytest.raises(OverflowError):
        mesh.find_nodes({"min_memory_mb": 2**32})


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ({"hardware": []}, 'field "hardware" must be a dict'),
        ({"software": "linux"}, 'field "software" must be a dict'),
        ({"models": {"model_id": "x"}}, 'field "models" must be a list'),
        ({"models": ({"model_id": "x"},)}, 'field "models" must be a list'),
        ({"models": ["x"]}, "models items must be dicts"),
        ({"tools": [1]}, "tools items must be dicts"),
        ({"hardware": {"additional_gpus": ["x"]}}, "additional_gpus items must be dicts"),
        ({"hardware": {"accelerators": [None]}}, "accelerators items must be dicts"),
    ],
)
def test_shape_errors_are_type_errors(mesh, caps, message):
    with pytest.raises(TypeError) as info:
        mesh.announce_capabilities(caps)
    assert str(info.value) == message


def test_string_lists_and_pairs(mesh):
    with pytest.raises(TypeError):
        mesh.announce_capabilities({"tags": "gpu"})  # a bare str is not a list of tags
    with pytest.raises(TypeError):
        mesh.announce_capabilities({"software": {"runtimes": ["python"]}})
    mesh.announce_capabilities(
        {"tags": ("a", "b"), "software": {"runtimes": [["python"], ["node", "20", "x"]]}}
    )
    assert mesh.find_nodes({"require_tags": ("a", "b")}) == [mesh.node_id]
    with pytest.raises(TypeError):
        mesh.find_nodes({"require_tags": "a"})


# --- scopes ------------------------------------------------------------------------------------


@pytest.fixture
def scoped_nodes(make_mesh):
    """Five nodes announcing different scope tags, all connected to `hub` (which announces none)."""
    hub = make_mesh()
    tags = {
        "global": [],
        "tenant": ["scope:tenant:acme"],
        "region": ["scope:region:eu"],
        "both": ["scope:tenant:acme", "scope:region:us"],
        "local": ["scope:subnet-local", "scope:tenant:acme"],
    }
    nodes = {}
    for name in tags:
        node = make_mesh()
        handshake(node, hub)
        nodes[name] = node
    hub.start()
    for name, node in nodes.items():
        node.start()
        node.announce_capabilities({"tags": tags[name]})
    wait_until(lambda: len(hub.find_nodes({})) == 5, what="five announcements")
    return hub, {name: node.node_id for name, node in nodes.items()}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"kind": "any"}, {"global", "tenant", "region", "both"}),
        ({}, {"global", "tenant", "region", "both"}),
        ({"kind": "bogus"}, {"global", "tenant", "region", "both"}),
        ({"kind": None}, {"global", "tenant", "region", "both"}),
        ({"kind": "global_only"}, {"global"}),
        ({"kind": "globalOnly"}, {"global"}),
        ({"kind": "tenant", "tenant": "acme"}, {"global", "tenant", "both"}),
        ({"kind": "tenant", "tenant": ""}, {"global", "tenant", "region", "both"}),
        ({"kind": "tenants", "tenants": ["other", "acme"]}, {"global", "tenant", "both"}),
        ({"kind": "tenants", "tenants": ["", ""]}, {"global", "tenant", "region", "both"}),
        ({"kind": "region", "region": "eu"}, {"global", "region"}),
        ({"kind": "regions", "regions": ["us"]}, {"global", "both"}),
        # No subnet policy on the hub: peers without a recorded subnet are not in its subnet.
        ({"kind": "same_subnet"}, set()),
        ({"kind": "sameSubnet"}, set()),
    ],
)
def test_every_scope_shape(scoped_nodes, scope, expected):
    hub, ids = scoped_nodes
    found = set(hub.find_nodes_scoped({}, scope))
    assert found == {ids[name] for name in expected}


def test_scope_kind_must_be_a_string(mesh):
    with pytest.raises(TypeError):
        mesh.find_nodes_scoped({}, {"kind": 3})


def test_same_subnet_admits_subnet_local_nodes_of_the_policy_subnet(make_mesh):
    policy = {"rules": [{"tag_prefix": "zone:", "level": 0, "values": {"a": 1, "b": 2}}]}
    hub = make_mesh(subnet=[1], subnet_policy=policy)
    near, far = make_mesh(), make_mesh()
    for node in (near, far):
        handshake(node, hub)
    for node in (hub, near, far):
        node.start()
    near.announce_capabilities({"tags": ["zone:a", "scope:subnet-local"]})
    far.announce_capabilities({"tags": ["zone:b", "scope:subnet-local"]})
    hub.announce_capabilities({})
    wait_until(lambda: len(hub.find_nodes({})) == 3, what="three announcements")
    assert set(hub.find_nodes_scoped({}, {"kind": "same_subnet"})) == {hub.node_id, near.node_id}
    assert hub.find_nodes_scoped({}, {"kind": "any"}) == [hub.node_id]


# --- propagation -------------------------------------------------------------------------------


def test_announcements_travel_several_hops(make_mesh):
    chain = [make_mesh() for _ in range(5)]
    for left, right in itertools.pairwise(chain):
        handshake(left, right)
    for node in chain:
        node.start()
    chain[0].announce_capabilities(GPU_NODE)
    for node in chain[1:]:
        wait_until(
            lambda node=node: chain[0].node_id in node.find_nodes({"require_gpu": True}), timeout=5
        )


def test_a_second_announcement_within_ten_seconds_reaches_peers_when_they_end(make_mesh):
    a, b = make_mesh(), make_mesh()
    handshake(a, b)
    a.start()
    b.start()
    b.announce_capabilities({"tags": ["b"]})
    wait_until(lambda: b.node_id in a.find_nodes({"require_tags": ["b"]}))
    # Announcing again within 10 s is indexed locally at once and sent to peers when the interval ends.
    b.announce_capabilities({"tags": ["b2"]})
    assert b.find_nodes({"require_tags": ["b2"]}) == [b.node_id]
    wait_until(lambda: b.node_id in a.find_nodes({"require_tags": ["b2"]}), timeout=12)
