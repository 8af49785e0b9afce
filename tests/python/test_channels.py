"""Channels (API.md §4.6; REFERENCE.md §4, §7.3): registration errors, subscribe accepted and
refused for each reason, publish reports and on_failure policies, tokens rooted at the
publisher, subnet visibility, and our receivers, on real NetMesh nodes over 127.0.0.1."""

from __future__ import annotations

import gc
import threading
import time

import net
import pytest
from conftest import handshake, wait_until

OPEN = "chan/open"


@pytest.fixture
def star(make_mesh):
    """A publisher with `count` subscribers connected to it, all started."""

    def build(
        count: int = 1, publisher_kwargs: dict | None = None, subscriber_kwargs: list | None = None
    ):
        publisher = make_mesh(**(publisher_kwargs or {}))
        subscribers = [make_mesh(**((subscriber_kwargs or [{}] * count)[i])) for i in range(count)]
        for subscriber in subscribers:
            handshake(subscriber, publisher)
        for mesh in [publisher, *subscribers]:
            mesh.start()
        return publisher, subscribers

    return build


def announced(subscriber: net.NetMesh, publisher: net.NetMesh, caps: dict | None = None) -> None:
    """Announces `caps` and waits until the publisher indexed them."""
    subscriber.announce_capabilities(caps or {})
    wait_until(lambda: subscriber.node_id in publisher.find_nodes({}), what="announcement indexed")


def root_of(seed: bytes) -> net.Identity:
    return net.Identity.from_seed(seed)


# --- argument errors ---------------------------------------------------------------------------


def test_channel_errors_form_the_original_hierarchy():
    assert issubclass(net.ChannelAuthError, net.ChannelError)
    assert issubclass(net.ChannelError, Exception)
    assert not issubclass(net.ChannelError, RuntimeError)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "channel name is empty"),
        ("/a", "invalid channel name format: must not start or end with '/'"),
        ("a//b", "invalid channel name format: must not contain '//'"),
        ("a b", "invalid character ' ' in channel name"),
        ("a/../b", 'invalid channel name format: segment ".." is reserved'),
        ("x" * 256, "channel name too long (256 > 255)"),
    ],
)
def test_bad_names_are_channel_errors_everywhere(make_mesh, name, reason):
    mesh = make_mesh()
    message = f"channel: invalid name: {reason}"
    with pytest.raises(net.ChannelError) as info:
        mesh.register_channel(name)
    assert str(info.value) == message
    with pytest.raises(net.ChannelError, match="^channel: invalid name: "):
        mesh.subscribe_channel(1, name)
    with pytest.raises(net.ChannelError, match="^channel: invalid name: "):
        mesh.publish(name, b"x")


def test_register_and_publish_vocabularies(make_mesh):
    mesh = make_mesh()
    with pytest.raises(net.ChannelError) as info:
        mesh.register_channel("c", visibility="galaxy")
    assert str(info.value) == (
        'channel: invalid visibility "galaxy" (expected subnet-local | parent-visible | exported | global)'
    )
    for visibility in ["subnet-local", "parent-visible", "exported", "global"]:
        mesh.register_channel("c", visibility=visibility)
    with pytest.raises(net.ChannelError) as info:
        mesh.publish("c", b"x", reliability="sometimes")
    assert str(info.value) == 'channel: invalid reliability "sometimes"'
    with pytest.raises(net.ChannelError) as info:
        mesh.publish("c", b"x", on_failure="panic")
    assert str(info.value) == 'channel: invalid on_failure "panic"'
    with pytest.raises(OverflowError):
        mesh.register_channel("c", priority=256)
    with pytest.raises(OverflowError):
        mesh.register_channel("c", max_rate_pps=-1)
    with pytest.raises(TypeError):
        mesh.register_channel("c", publish_caps=["not", "a", "dict"])
    with pytest.raises(TypeError):
        mesh.publish("c", "text is not bytes")
    with pytest.raises(TypeError):
        mesh.register_channel("c", "global")  # keyword-only


def test_publish_with_no_subscribers_reports_nothing(make_mesh):
    mesh = make_mesh()
    assert mesh.publish("never/registered", b"x") == {"attempted": 0, "delivered": 0, "errors": []}
    mesh.register_channel(OPEN)
    assert mesh.publish(
        OPEN, b"x", reliability="reliable", on_failure="collect", max_inflight=0
    ) == {
        "attempted": 0,
        "delivered": 0,
        "errors": [],
    }


def test_subscribe_token_must_be_a_structurally_valid_token(star):
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN)
    with pytest.raises(TypeError):
        subscriber.subscribe_channel(publisher.node_id, OPEN, token=bytearray(159))
    with pytest.raises(net.TokenError) as info:
        subscriber.subscribe_channel(publisher.node_id, OPEN, token=bytes(158))
    assert str(info.value) == "token: invalid_format"


def test_subscribe_without_a_session_names_the_publisher(make_mesh):
    mesh = make_mesh()
    with pytest.raises(net.ChannelError) as info:
        mesh.subscribe_channel(0xABC, OPEN)
    assert str(info.value) == "channel: connection error: no session to publisher 0xabc"


# --- subscribe and publish ---------------------------------------------------------------------


def test_every_subscriber_receives_every_message_whatever_the_channel_hash(star):
    publisher, subscribers = star(3)
    names = [f"sensors/{i}" for i in range(8)]  # hashes of every residue mod 4
    assert {net.channel_hash(name) % 4 for name in names} == {0, 1, 2, 3}
    receivers = {}
    for name in names:
        publisher.register_channel(name)
        for subscriber in subscribers:
            receivers[(subscriber.node_id, name)] = subscriber.channel(name)
            subscriber.subscribe_channel(publisher.node_id, name)
    for name in names:
        report = publisher.publish(name, name.encode())
        assert report == {"attempted": 3, "delivered": 3, "errors": []}
    for (node_id, name), receiver in receivers.items():
        message = receiver.receive(timeout=2.0)
        assert message is not None, (node_id, name)
        assert (message.channel, message.publisher, message.payload) == (
            name,
            publisher.node_id,
            name.encode(),
        )
        assert receiver.receive(timeout=0) is None
    for subscriber in subscribers:
        assert subscriber.poll(100) == []  # taken by the receivers, not left for poll()


def test_a_receiver_iterates_until_the_mesh_shuts_down(star):
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN, reliable=True)
    receiver = subscriber.channel(OPEN)
    subscriber.subscribe_channel(publisher.node_id, OPEN)
    got: list[bytes] = []

    def consume() -> None:
        got.extend(message.payload for message in receiver)

    thread = threading.Thread(target=consume)
    thread.start()
    for i in range(100):
        publisher.publish(OPEN, b"%d" % i)
    wait_until(lambda: len(got) == 100, what="100 messages")
    subscriber.shutdown()
    thread.join(5)
    assert not thread.is_alive()
    assert got == [b"%d" % i for i in range(100)]


def test_without_a_receiver_channel_messages_go_to_poll(star):
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN)
    subscriber.subscribe_channel(publisher.node_id, OPEN)
    publisher.publish(OPEN, b"to poll")
    wait_until(lambda: [e.raw for e in subscriber.poll(10)] == ["to poll"], what="polled")
    with subscriber.channel(OPEN) as receiver:
        publisher.publish(OPEN, b"to receiver")
        assert receiver.receive(timeout=2.0).payload == b"to receiver"
    publisher.publish(OPEN, b"to poll again")
    wait_until(
        lambda: [e.raw for e in subscriber.poll(10)] == ["to poll again"], what="polled again"
    )


def test_receivers_share_the_inbox_until_the_last_one_is_closed_or_collected(star):
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN, reliable=True)
    first, second = subscriber.channel(OPEN), subscriber.channel(OPEN)
    subscriber.subscribe_channel(publisher.node_id, OPEN)
    first.close()  # the other receiver still holds the inbox
    publisher.publish(OPEN, b"kept")
    assert second.receive(timeout=2.0).payload == b"kept"
    assert first.receive(timeout=0) is None
    assert subscriber.poll(10) == []
    third = subscriber.channel(OPEN)
    del second, third  # never closed: collected
    gc.collect()
    publisher.publish(OPEN, b"to poll")
    wait_until(lambda: [e.raw for e in subscriber.poll(10)] == ["to poll"], what="polled")


def test_receive_timeout_nan_is_refused_and_infinite_waits(star):
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN, reliable=True)
    receiver = subscriber.channel(OPEN)
    subscriber.subscribe_channel(publisher.node_id, OPEN)
    with pytest.raises(ValueError, match="NaN"):
        receiver.receive(timeout=float("nan"))
    for endless in (float("inf"), 1e300, 1e10):
        sender = threading.Timer(0.3, lambda: publisher.publish(OPEN, b"late"))
        sender.start()
        message = receiver.receive(timeout=endless)  # once returned None at once
        sender.join()
        assert message is not None and message.payload == b"late"


def test_unsubscribe_stops_delivery_at_once(star):
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN)
    subscriber.subscribe_channel(publisher.node_id, OPEN)
    assert publisher.publish(OPEN, b"x")["delivered"] == 1
    subscriber.unsubscribe_channel(publisher.node_id, OPEN)
    subscriber.unsubscribe_channel(publisher.node_id, OPEN)  # idempotent
    assert publisher.publish(OPEN, b"x") == {"attempted": 0, "delivered": 0, "errors": []}


def test_subscribe_from_a_python_thread_while_this_thread_publishes(star):
    """subscribe_channel releases the GIL while it waits (the original holds it)."""
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN)
    done = threading.Event()
    thread = threading.Thread(
        target=lambda: (subscriber.subscribe_channel(publisher.node_id, OPEN), done.set())
    )
    thread.start()
    while not done.is_set():
        publisher.publish(OPEN, b"spin")  # needs the GIL meanwhile
    thread.join()
    assert publisher.publish(OPEN, b"x")["delivered"] == 1


def test_refusals_for_each_reason(star):
    publisher, (subscriber,) = star()
    with pytest.raises(net.ChannelError) as info:
        subscriber.subscribe_channel(publisher.node_id, "not/registered")
    assert str(info.value) == "channel: unknown channel"
    assert type(info.value) is net.ChannelError
    publisher.register_channel("Case/Sensitive")
    with pytest.raises(net.ChannelError, match="^channel: unknown channel$"):
        subscriber.subscribe_channel(publisher.node_id, "case/sensitive")
    publisher.register_channel("exported", visibility="exported")
    with pytest.raises(net.ChannelAuthError) as info:
        subscriber.subscribe_channel(publisher.node_id, "exported")
    assert str(info.value) == "channel: unauthorized"


def test_a_storm_of_bad_subscribes_is_throttled(star):
    publisher, (subscriber,) = star()
    publisher.register_channel("secret", require_token=True)
    publisher.register_channel(OPEN)
    for _ in range(16):
        with pytest.raises(net.ChannelAuthError):
            subscriber.subscribe_channel(publisher.node_id, "secret")
    with pytest.raises(net.ChannelError) as info:
        subscriber.subscribe_channel(publisher.node_id, OPEN)
    assert str(info.value) == "channel: rate limited"
    subscriber.unsubscribe_channel(publisher.node_id, OPEN)  # not throttled


def test_at_most_1024_channels_per_subscriber(star):
    publisher, (subscriber,) = star()
    for i in range(1025):
        publisher.register_channel(f"many/{i}")
    for i in range(1024):
        subscriber.subscribe_channel(publisher.node_id, f"many/{i}")
    subscriber.subscribe_channel(publisher.node_id, "many/0")  # one it holds: still fine
    with pytest.raises(net.ChannelError) as info:
        subscriber.subscribe_channel(publisher.node_id, "many/1024")
    assert str(info.value) == "channel: too many channels"


def test_max_rate_pps_refuses_the_excess(star):
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN, max_rate_pps=10)
    subscriber.subscribe_channel(publisher.node_id, OPEN)
    outcomes = []
    for _ in range(15):
        try:
            outcomes.append(publisher.publish(OPEN, b"x")["delivered"])
        except net.ChannelError as error:
            assert str(error) == "channel: rate limited: max_rate_pps 10 exceeded"
            outcomes.append("limited")
    assert outcomes.count(1) == 10
    assert outcomes.count("limited") == 5
    time.sleep(0.25)
    assert publisher.publish(OPEN, b"x")["delivered"] == 1


def test_on_failure_policies_when_a_subscriber_is_gone(star):
    fast = {"session_timeout_ms": 300, "heartbeat_interval_ms": 50}
    publisher, subscribers = star(2, publisher_kwargs=fast, subscriber_kwargs=[fast, fast])
    publisher.register_channel(OPEN)
    for subscriber in subscribers:
        subscriber.subscribe_channel(publisher.node_id, OPEN)
    gone = subscribers[0]
    gone_id = gone.node_id
    gone.shutdown()
    wait_until(lambda: publisher.peer_count() == 1, timeout=5, what="failure detected")
    report = publisher.publish(OPEN, b"x", on_failure="collect")
    assert report["attempted"] == 2
    assert report["delivered"] == 1
    assert [error["node_id"] for error in report["errors"]] == [gone_id]
    assert isinstance(report["errors"][0]["message"], str)
    assert publisher.publish(OPEN, b"x")["delivered"] == 1  # best_effort: one failure is no error
    subscribers[1].unsubscribe_channel(publisher.node_id, OPEN)
    with pytest.raises(
        net.ChannelError, match=r"^channel: connection error: all 1 peers failed \(first: 0x"
    ):
        publisher.publish(OPEN, b"x")
    partial = publisher.publish(OPEN, b"x", on_failure="fail_fast")
    assert (partial["attempted"], partial["delivered"], len(partial["errors"])) == (1, 0, 1)


# --- tokens ------------------------------------------------------------------------------------


def test_require_token_accepts_tokens_issued_by_the_publisher(star):
    seed = bytes(range(32))
    publisher, (subscriber,) = star(publisher_kwargs={"identity_seed": seed})
    root = root_of(seed)
    publisher.register_channel("secret", require_token=True)
    token = root.issue_token(subscriber.entity_id, ["subscribe"], "secret", 60)
    with pytest.raises(net.ChannelAuthError):  # no signed announcement binds the subscriber yet
        subscriber.subscribe_channel(publisher.node_id, "secret", token=token)
    announced(subscriber, publisher)
    with pytest.raises(net.ChannelAuthError):
        subscriber.subscribe_channel(publisher.node_id, "secret")
    self_issued = net.Identity.generate().issue_token(
        subscriber.entity_id, ["subscribe"], "secret", 60
    )
    with pytest.raises(net.ChannelAuthError):  # the original accepts this: a hole
        subscriber.subscribe_channel(publisher.node_id, "secret", token=self_issued)
    with pytest.raises(net.ChannelAuthError):
        subscriber.subscribe_channel(
            publisher.node_id,
            "secret",
            token=root.issue_token(subscriber.entity_id, ["publish"], "secret", 60),
        )
    subscriber.subscribe_channel(publisher.node_id, "secret", token=token)
    receiver = subscriber.channel("secret")
    assert publisher.publish("secret", b"classified")["delivered"] == 1
    assert receiver.receive(timeout=2.0).payload == b"classified"


def test_delegated_tokens_verify_back_to_the_publisher(star):
    seed = bytes(range(32))
    publisher, (worker,) = star(publisher_kwargs={"identity_seed": seed})
    publisher.register_channel("secret", require_token=True)
    announced(worker, publisher)
    manager_identity = net.Identity.generate()
    parent = root_of(seed).issue_token(
        manager_identity.entity_id, ["subscribe", "delegate"], "secret", 60, delegation_depth=1
    )
    child = net.delegate_token(manager_identity, parent, worker.entity_id, ["subscribe"])
    with pytest.raises(net.ChannelAuthError):  # the publisher does not know the parent yet
        worker.subscribe_channel(publisher.node_id, "secret", token=child)
    publisher.install_token(parent)
    worker.subscribe_channel(publisher.node_id, "secret", token=child)


def test_an_expired_token_stops_delivery(star):
    seed = bytes(range(32))
    publisher, (subscriber,) = star(publisher_kwargs={"identity_seed": seed})
    publisher.register_channel("secret", require_token=True)
    announced(subscriber, publisher)
    token = root_of(seed).issue_token(subscriber.entity_id, ["subscribe"], "secret", 1)
    subscriber.subscribe_channel(publisher.node_id, "secret", token=token)
    assert publisher.publish("secret", b"x")["delivered"] == 1
    time.sleep(1.1 + (1 - time.time() % 1))  # past the token's whole-second expiry
    assert publisher.publish("secret", b"x") == {"attempted": 0, "delivered": 0, "errors": []}


def test_a_planted_token_cannot_change_the_publishers_own_acl(star):
    """The original caches any token a subscriber presents; a PUBLISH token naming the publisher
    flips the publisher's own ACL there. Here the publisher's own ACL is its publish_caps alone."""
    publisher, (subscriber,) = star()
    publisher.register_channel(OPEN, subscribe_caps={})
    publisher.register_channel(
        "locked", publish_caps={"require_tags": ["never"]}, require_token=True
    )
    with pytest.raises(net.ChannelError, match="publish denied by channel ACL"):
        publisher.publish("locked", b"x")
    announced(subscriber, publisher)
    planted = net.Identity.generate().issue_token(publisher.entity_id, ["publish"], "locked", 60)
    subscriber.subscribe_channel(publisher.node_id, OPEN, token=planted)
    with pytest.raises(net.ChannelError) as info:
        publisher.publish("locked", b"x")
    assert str(info.value) == "channel: connection error: channel: publish denied by channel ACL"


def test_capability_filters_on_channels(star):
    publisher, (subscriber,) = star()
    publisher.register_channel("gpu", subscribe_caps={"require_gpu": True})
    with pytest.raises(net.ChannelAuthError):
        subscriber.subscribe_channel(publisher.node_id, "gpu")
    announced(subscriber, publisher, {"hardware": {"gpu": {"vendor": "nvidia", "vram_mb": 8192}}})
    subscriber.subscribe_channel(publisher.node_id, "gpu")
    publisher.register_channel("gpu-out", publish_caps={"require_gpu": True})
    with pytest.raises(net.ChannelError, match="publish denied by channel ACL"):
        publisher.publish("gpu-out", b"x")
    publisher.announce_capabilities({"hardware": {"gpu": {"vendor": "amd"}}})
    assert publisher.publish("gpu-out", b"x") == {"attempted": 0, "delivered": 0, "errors": []}


# --- subnets -----------------------------------------------------------------------------------

POLICY = {
    "rules": [
        {"tag_prefix": "zone:", "level": 0, "values": {"a": 1}},
        {"tag_prefix": "rack:", "level": 1, "values": {"x": 2, "y": 3}},
    ]
}


def test_subnet_visibility_of_channels(star):
    publisher, (same, sibling, parent, unknown) = star(
        4, publisher_kwargs={"subnet": [1, 2], "subnet_policy": POLICY}
    )
    announced(same, publisher, {"tags": ["zone:a", "rack:x"]})  # 1.2
    announced(sibling, publisher, {"tags": ["zone:a", "rack:y"]})  # 1.3
    announced(parent, publisher, {"tags": ["zone:a"]})  # 1
    # `unknown` never announces: global.
    publisher.register_channel("local", visibility="subnet-local")
    publisher.register_channel("up", visibility="parent-visible")
    publisher.register_channel("everyone")
    expected = {
        "local": {same},
        "up": {same, parent, unknown},
        "everyone": {same, sibling, parent, unknown},
    }
    for channel, admitted in expected.items():
        for mesh in (same, sibling, parent, unknown):
            if mesh in admitted:
                mesh.subscribe_channel(publisher.node_id, channel)
            else:
                with pytest.raises(net.ChannelAuthError):
                    mesh.subscribe_channel(publisher.node_id, channel)
        assert publisher.publish(channel, b"x")["delivered"] == len(admitted)
