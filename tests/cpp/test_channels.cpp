// channel/: the membership codec against the original's bytes, AuthGuard,
// the limiters, and publishers and subscribers on real loopback nodes:
// authorization for every reason, token roots, the expiry sweep, fan-out,
// inboxes and rate limits.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "eventually.hpp"
#include "mesh_nodes.hpp"
#include "net/capability/discovery.hpp"
#include "net/channel/auth_guard.hpp"
#include "net/channel/channels.hpp"
#include "net/channel/membership.hpp"
#include "net/channel/rate_limits.hpp"
#include "net/core/error.hpp"
#include "net/identity/channel_name.hpp"
#include "vectors.hpp"

using namespace net;
using namespace net::channel;
using namespace std::chrono_literals;
using net::test::eventually;
using Node = net::test::FullNode;

namespace {

simdjson::dom::element membership_vector(const char* key) { return test_vectors::root()["membership"][key]; }

ChannelConfig named(const std::string& name, const std::function<void(ChannelConfig&)>& set = {}) {
  ChannelConfig config;
  config.name = name;
  if (set) set(config);
  return config;
}

// publisher <-> each subscriber, all started.
void connect_all(Node& publisher, std::initializer_list<Node*> subscribers) {
  for (Node* subscriber : subscribers) net::test::handshake(subscriber->mesh, publisher.mesh);
  publisher.mesh.start();
  for (Node* subscriber : subscribers) subscriber->mesh.start();
}

ErrorKind refusal(Node& subscriber, Node& publisher, const std::string& channel,
                  const std::optional<identity::PermissionToken>& token = std::nullopt) {
  try {
    subscriber.channels.subscribe(publisher.mesh.node_id(), channel, token);
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("subscribe was accepted");
  return ErrorKind::Internal;
}

std::string refusal_text(Node& subscriber, Node& publisher, const std::string& channel) {
  try {
    subscriber.channels.subscribe(publisher.mesh.node_id(), channel);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

// Announces empty capabilities and waits until the publisher bound the node's identity.
void announce_to(Node& node, Node& publisher) {
  node.discovery.announce({});
  REQUIRE(eventually([&] { return publisher.discovery.entity_of(node.mesh.node_id()).has_value(); }));
}

identity::PermissionToken grant(const crypto::Ed25519Keypair& issuer, const Node& subject, const std::string& channel,
                                std::uint32_t scope, std::uint32_t ttl = 60, std::uint8_t depth = 0) {
  return identity::PermissionToken::issue(issuer, subject.mesh.entity_id(), scope, identity::channel_hash(channel), ttl,
                                          depth, identity::unix_seconds_now());
}

std::vector<std::string> received(Node& node, const std::string& channel, std::size_t count) {
  std::vector<std::string> out;
  eventually([&] {
    for (const auto& message : node.channels.receive(channel, 1000, 10ms)) out.emplace_back(message.event.raw);
    return out.size() >= count;
  });
  return out;
}

}  // namespace

TEST_CASE("membership: the original's bodies encode and decode byte for byte", "[channel]") {
  const auto with_token = membership_vector("subscribe_with_token");
  const Subscribe subscribe{
      test_vectors::u64(with_token["nonce"]), "chan/a", test_vectors::hex(with_token["token"]), {}};
  CHECK(encode_membership(subscribe) == test_vectors::hex(with_token["body"]));
  const auto decoded = decode_membership(test_vectors::hex(with_token["body"]));
  REQUIRE(decoded);
  CHECK(std::get<Subscribe>(*decoded).token == subscribe.token);

  CHECK(encode_membership(Subscribe{1, "chan/a", {}, {}}) ==
        test_vectors::hex(membership_vector("subscribe_without_token")["body"]));
  const auto legacy = decode_membership(test_vectors::hex(membership_vector("subscribe_legacy_no_token_len")["body"]));
  REQUIRE(legacy);
  CHECK(std::get<Subscribe>(*legacy).nonce == 2);
  CHECK(std::get<Subscribe>(*legacy).token.empty());
  const Subscribe grouped{3, "chan/a", {}, "workers"};
  CHECK(encode_membership(grouped) == test_vectors::hex(membership_vector("subscribe_queue_group")["body"]));
  CHECK(std::get<Subscribe>(*decode_membership(encode_membership(grouped))).queue_group == "workers");
  CHECK(encode_membership(Unsubscribe{8, "chan/a"}) == test_vectors::hex(membership_vector("unsubscribe")["body"]));
  CHECK(encode_membership(Ack{8, true, AckReason::None}) ==
        test_vectors::hex(membership_vector("ack_accepted")["body"]));
  const std::pair<const char*, AckReason> rejections[] = {
      {"ack_rejected_unauthorized", AckReason::Unauthorized},
      {"ack_rejected_unknown_channel", AckReason::UnknownChannel},
      {"ack_rejected_rate_limited", AckReason::RateLimited},
      {"ack_rejected_too_many_channels", AckReason::TooManyChannels}};
  for (const auto& [key, reason] : rejections) {
    const auto ack = decode_membership(test_vectors::hex(membership_vector(key)["body"]));
    REQUIRE(ack);
    CHECK(std::get<Ack>(*ack).reason == reason);
    CHECK_FALSE(std::get<Ack>(*ack).accepted);
    CHECK(encode_membership(*ack) == test_vectors::hex(membership_vector(key)["body"]));
  }
}

TEST_CASE("membership: every body the original drops decodes to nothing", "[channel]") {
  for (const auto reject : membership_vector("decoder_rejects").get_array()) {
    INFO(std::string(reject["why"].get_string().value()));
    CHECK_FALSE(decode_membership(test_vectors::hex(reject["body"])));
  }
  CHECK_FALSE(decode_membership({}));
  CHECK_FALSE(decode_membership(test_vectors::hex(membership_vector("ack_accepted")["body"])).value().index() != 2);
  Bytes bad_accept = encode_membership(Ack{1, true, AckReason::None});
  bad_accept[9] = 2;
  CHECK_FALSE(decode_membership(bad_accept));
  Bytes bad_reason = encode_membership(Ack{1, false, AckReason::None});
  bad_reason[10] = 5;
  CHECK_FALSE(decode_membership(bad_reason));
  Bytes unnamed = encode_membership(Unsubscribe{1, "x"});
  unnamed[9] = 0;
  unnamed.pop_back();
  CHECK_FALSE(decode_membership(unnamed));
  CHECK_FALSE(decode_membership(encode_membership(Subscribe{1, "a b", {}, {}})));
  Bytes bad_group = encode_membership(Subscribe{1, "chan", {}, "g"});
  bad_group.back() = 0xFF;  // not UTF-8
  CHECK_FALSE(decode_membership(bad_group));
}

TEST_CASE("auth guard: bloom miss denies, exact pairs allow, revocation is exact", "[channel]") {
  AuthGuard guard;
  const std::uint16_t hash = identity::channel_hash("chan/a");
  CHECK(guard.check_fast(1, hash) == AuthGuard::Fast::Denied);
  guard.allow(1, "chan/a");
  CHECK(guard.check_fast(1, hash) == AuthGuard::Fast::Allowed);
  CHECK(guard.allowed(1, "chan/a"));
  CHECK_FALSE(guard.allowed(2, "chan/a"));
  CHECK_FALSE(guard.allowed(1, "chan/b"));
  guard.revoke(1, "chan/a");
  CHECK(guard.check_fast(1, hash) == AuthGuard::Fast::NeedsFullCheck);  // bloom bits stay
  CHECK_FALSE(guard.allowed(1, "chan/a"));
  guard.allow(1, "chan/a");
  CHECK(guard.allowed(1, "chan/a"));
}

TEST_CASE("limiters: 16 failures throttle a peer for 30 s, a token bucket refills at its rate", "[channel]") {
  AuthThrottle throttle;
  constexpr std::int64_t s = 1'000'000'000;
  for (int i = 0; i < 15; ++i) throttle.record_failure(7, 1 * s);
  CHECK_FALSE(throttle.throttled(7, 2 * s));
  throttle.record_failure(7, 2 * s);
  CHECK(throttle.throttled(7, 3 * s));
  CHECK_FALSE(throttle.throttled(8, 3 * s));
  CHECK(throttle.throttled(7, 31 * s));
  CHECK_FALSE(throttle.throttled(7, 33 * s));
  for (int i = 0; i < 15; ++i) throttle.record_failure(9, 0);
  throttle.record_failure(9, 61 * s);  // the window ran out: counting starts again
  CHECK_FALSE(throttle.throttled(9, 62 * s));

  TokenBucket bucket(10);
  int taken = 0;
  for (int i = 0; i < 20; ++i) taken += bucket.take(5 * s) ? 1 : 0;
  CHECK(taken == 10);
  CHECK(bucket.take(5 * s + 100'000'000));
  CHECK_FALSE(bucket.take(5 * s + 100'000'000));
  CHECK(TokenBucket(0).take(0));
}

TEST_CASE("channels: subscribe, publish to every subscriber, receive, unsubscribe", "[channel][mesh]") {
  Node publisher, first, second;
  connect_all(publisher, {&first, &second});
  publisher.channels.register_channel(named("chan/a"));
  for (Node* node : {&first, &second}) {
    node->channels.open_inbox("chan/a");
    node->channels.subscribe(publisher.mesh.node_id(), "chan/a");
  }
  CHECK(publisher.channels.subscribers("chan/a").size() == 2);
  const auto report = publisher.channels.publish("chan/a", as_bytes(std::string_view("hello")));
  CHECK(report.attempted == 2);
  CHECK(report.delivered == 2);
  CHECK(report.errors.empty());
  CHECK(received(first, "chan/a", 1) == std::vector<std::string>{"hello"});
  CHECK(received(second, "chan/a", 1) == std::vector<std::string>{"hello"});
  const std::uint64_t publish_stream = (std::uint64_t{1} << 48) | identity::channel_hash("chan/a");
  CHECK(publisher.mesh.stream_stats(first.mesh.node_id(), publish_stream)->tx_window == 1 << 20);  // 16 x default

  first.channels.unsubscribe(publisher.mesh.node_id(), "chan/a");
  CHECK(publisher.channels.publish("chan/a", as_bytes(std::string_view("again"))).attempted == 1);
  CHECK(received(second, "chan/a", 1) == std::vector<std::string>{"again"});
}

TEST_CASE("channels: inbox opens are counted, and after the last close messages go to poll()", "[channel][mesh]") {
  Node publisher, subscriber;
  connect_all(publisher, {&subscriber});
  publisher.channels.register_channel(named("shared"));
  subscriber.channels.open_inbox("shared");
  subscriber.channels.open_inbox("shared");
  subscriber.channels.subscribe(publisher.mesh.node_id(), "shared");
  subscriber.channels.close_inbox("shared");  // one opener left: the inbox stays
  publisher.channels.publish("shared", as_bytes(std::string_view("kept")));
  CHECK(received(subscriber, "shared", 1) == std::vector<std::string>{"kept"});
  CHECK(subscriber.mesh.poll(10).empty());
  subscriber.channels.close_inbox("shared");                       // the last
  subscriber.channels.close_inbox("shared");                       // nothing left to close
  CHECK(subscriber.channels.receive("shared", 10, 50ms).empty());  // opens nothing (it once did, with no opener)
  publisher.channels.publish("shared", as_bytes(std::string_view("polled")));
  std::vector<std::string> polled;
  CHECK(eventually([&] {
    for (const auto& event : subscriber.mesh.poll(10)) polled.emplace_back(event.raw);
    return !polled.empty();
  }));
  CHECK(polled == std::vector<std::string>{"polled"});
}

TEST_CASE("channels: refusals carry the original's reasons", "[channel][mesh]") {
  ChannelsConfig limited = Node::fast_channels();
  limited.max_channels_per_peer = 2;
  Node publisher(limited), subscriber;
  connect_all(publisher, {&subscriber});
  CHECK(refusal_text(subscriber, publisher, "nope") == "channel: unknown channel");
  publisher.channels.register_channel(
      named("exported", [&](ChannelConfig& c) { c.visibility = Visibility::Exported; }));
  CHECK(refusal(subscriber, publisher, "exported") == ErrorKind::ChannelAuth);
  CHECK(refusal_text(subscriber, publisher, "exported") == "channel: unauthorized");

  for (const char* name : {"one", "two", "three"}) publisher.channels.register_channel(named(name));
  subscriber.channels.subscribe(publisher.mesh.node_id(), "one");
  subscriber.channels.subscribe(publisher.mesh.node_id(), "two");
  subscriber.channels.subscribe(publisher.mesh.node_id(), "two");  // held already: accepted at the cap
  CHECK(refusal_text(subscriber, publisher, "three") == "channel: too many channels");

  CHECK_THROWS_WITH(subscriber.channels.subscribe(publisher.mesh.node_id(), "bad name"),
                    "channel: invalid name: invalid character ' ' in channel name");
  CHECK_THROWS_WITH(subscriber.channels.subscribe(12345, "one"),
                    "channel: connection error: no session to publisher 0x3039");
}

TEST_CASE("channels: a storm of bad requests is throttled, even for open channels", "[channel][mesh]") {
  Node publisher, subscriber;
  connect_all(publisher, {&subscriber});
  publisher.channels.register_channel(named("open"));
  publisher.channels.register_channel(named("secret", [&](ChannelConfig& c) { c.require_token = true; }));
  for (int i = 0; i < 16; ++i) CHECK(refusal(subscriber, publisher, "secret") == ErrorKind::ChannelAuth);
  CHECK(refusal_text(subscriber, publisher, "open") == "channel: rate limited");
  subscriber.channels.unsubscribe(publisher.mesh.node_id(), "open");  // never throttled
}

TEST_CASE("channels: tokens must be rooted at the publisher", "[channel][mesh][token]") {
  Node publisher, subscriber, stranger;
  connect_all(publisher, {&subscriber, &stranger});
  publisher.channels.register_channel(named("secret", [&](ChannelConfig& c) { c.require_token = true; }));
  const auto& root = publisher.mesh.identity();
  const auto token = grant(root, subscriber, "secret", identity::scope::kSubscribe);

  // No signed announcement yet: the publisher cannot tell who holds the token.
  CHECK(refusal(subscriber, publisher, "secret", token) == ErrorKind::ChannelAuth);
  announce_to(subscriber, publisher);
  CHECK(refusal(subscriber, publisher, "secret") == ErrorKind::ChannelAuth);
  const auto self_issued = grant(subscriber.mesh.identity(), subscriber, "secret", identity::scope::kSubscribe);
  CHECK(refusal(subscriber, publisher, "secret", self_issued) == ErrorKind::ChannelAuth);
  CHECK(refusal(subscriber, publisher, "secret", grant(root, subscriber, "other", identity::scope::kSubscribe)) ==
        ErrorKind::ChannelAuth);
  CHECK(refusal(subscriber, publisher, "secret", grant(root, subscriber, "secret", identity::scope::kPublish)) ==
        ErrorKind::ChannelAuth);
  subscriber.channels.subscribe(publisher.mesh.node_id(), "secret", token);
  // The accepted token stays: the next subscribe needs none.
  subscriber.channels.subscribe(publisher.mesh.node_id(), "secret");

  // Delegated from a token the publisher issued: accepted once the parent is trusted there.
  announce_to(stranger, publisher);
  const auto parent =
      grant(root, subscriber, "secret", identity::scope::kSubscribe | identity::scope::kDelegate, 60, 2);
  const auto child = parent.delegate(subscriber.mesh.identity(), stranger.mesh.entity_id(), identity::scope::kSubscribe,
                                     identity::unix_seconds_now());
  CHECK(refusal(stranger, publisher, "secret", child) == ErrorKind::ChannelAuth);
  publisher.channels.install_token(parent);
  stranger.channels.subscribe(publisher.mesh.node_id(), "secret", child);
}

TEST_CASE("channels: a presented token is kept only when it authorized its subscriber", "[channel][mesh][token]") {
  Node publisher, subscriber, other;
  connect_all(publisher, {&subscriber, &other});
  publisher.channels.register_channel(named("open"));
  publisher.channels.register_channel(named("secret", [&](ChannelConfig& c) { c.require_token = true; }));
  announce_to(subscriber, publisher);
  announce_to(other, publisher);
  // A token for `other` on "secret", presented by `subscriber` on an open channel, is not kept.
  const auto for_other = grant(publisher.mesh.identity(), other, "secret", identity::scope::kSubscribe);
  subscriber.channels.subscribe(publisher.mesh.node_id(), "open", for_other);
  CHECK(refusal(other, publisher, "secret") == ErrorKind::ChannelAuth);
}

TEST_CASE("channels: the sweep evicts a subscriber whose token expired", "[channel][mesh][token]") {
  ChannelsConfig sweeping = Node::fast_channels();
  sweeping.token_sweep_interval = 100ms;
  Node publisher(sweeping), subscriber;
  connect_all(publisher, {&subscriber});
  publisher.channels.register_channel(named("secret", [&](ChannelConfig& c) { c.require_token = true; }));
  announce_to(subscriber, publisher);
  subscriber.channels.subscribe(publisher.mesh.node_id(), "secret",
                                grant(publisher.mesh.identity(), subscriber, "secret", identity::scope::kSubscribe, 1));
  CHECK(publisher.channels.subscribers("secret").size() == 1);
  CHECK(eventually([&] { return publisher.channels.subscribers("secret").empty(); }, 4000ms));
  CHECK(publisher.channels.publish("secret", as_bytes(std::string_view("x"))).attempted == 0);
}

TEST_CASE("channels: subscribe_caps and publish_caps are checked against announced capabilities",
          "[channel][mesh][capability]") {
  Node publisher, subscriber;
  connect_all(publisher, {&subscriber});
  capability::CapabilityFilter needs_gpu_tag;
  needs_gpu_tag.require_tags = {"gpu"};
  publisher.channels.register_channel(named("gpu-only", [&](ChannelConfig& c) { c.subscribe_caps = needs_gpu_tag; }));
  CHECK(refusal(subscriber, publisher, "gpu-only") == ErrorKind::ChannelAuth);
  capability::CapabilitySet tagged;
  tagged.tags = {"gpu"};
  subscriber.discovery.announce(tagged);
  CHECK(eventually([&] {
    try {
      subscriber.channels.subscribe(publisher.mesh.node_id(), "gpu-only");
      return true;
    } catch (const Error&) {
      return false;
    }
  }));

  publisher.channels.register_channel(named("locked", [&](ChannelConfig& c) { c.publish_caps = needs_gpu_tag; }));
  CHECK_THROWS_WITH(publisher.channels.publish("locked", as_bytes(std::string_view("x"))),
                    "channel: connection error: channel: publish denied by channel ACL");
  publisher.discovery.announce(tagged);
  CHECK(publisher.channels.publish("locked", as_bytes(std::string_view("x"))).attempted == 0);
}

TEST_CASE("channels: max_rate_pps refuses and counts the excess, on_failure policies", "[channel][mesh]") {
  Node publisher, subscriber;
  connect_all(publisher, {&subscriber});
  publisher.channels.register_channel(named("slow", [&](ChannelConfig& c) { c.max_rate_pps = 5; }));
  subscriber.channels.open_inbox("slow");
  subscriber.channels.subscribe(publisher.mesh.node_id(), "slow");
  int sent = 0;
  for (int i = 0; i < 8; ++i) {
    try {
      publisher.channels.publish("slow", as_bytes(std::string_view("m")));
      ++sent;
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Channel);
      CHECK(std::string(e.what()) == "channel: rate limited: max_rate_pps 5 exceeded");
    }
  }
  CHECK(sent == 5);
  CHECK(publisher.channels.counters().rate_limited == 3);
  CHECK(received(subscriber, "slow", 5).size() == 5);

  // A subscriber whose session is gone: best_effort raises, collect reports.
  publisher.channels.register_channel(named("gone"));
  subscriber.channels.subscribe(publisher.mesh.node_id(), "gone");
  subscriber.mesh.shutdown();
  REQUIRE(eventually([&] { return !publisher.mesh.has_session(subscriber.mesh.node_id()); }, 3000ms));
  PublishOptions collect;
  collect.on_failure = OnFailure::Collect;
  const auto report = publisher.channels.publish("gone", as_bytes(std::string_view("m")), collect);
  CHECK(report.attempted == 1);
  CHECK(report.delivered == 0);
  CHECK(report.errors.size() == 1);
  CHECK_THROWS_WITH(publisher.channels.publish("gone", as_bytes(std::string_view("m"))),
                    Catch::StartsWith("channel: connection error: all 1 peers failed (first: 0x"));
}

TEST_CASE("channels: a lone publish reaches every subscriber at once, fail_fast stops at the first failure",
          "[channel][mesh]") {
  Node publisher, first, second, third;
  connect_all(publisher, {&first, &second, &third});
  publisher.channels.register_channel(named("ff"));
  for (Node* node : {&first, &second, &third}) {
    node->channels.open_inbox("ff");
    node->channels.subscribe(publisher.mesh.node_id(), "ff");
  }
  PublishOptions fail_fast;
  fail_fast.on_failure = OnFailure::FailFast;
  const auto all = publisher.channels.publish("ff", as_bytes(std::string_view("one")), fail_fast);
  CHECK(all.attempted == 3);
  CHECK(all.delivered == 3);
  const std::uint64_t publish_stream = (std::uint64_t{1} << 48) | identity::channel_hash("ff");
  for (Node* node : {&first, &second, &third}) {  // sent by the call, none held for the reactor
    CHECK(publisher.mesh.stream_stats(node->mesh.node_id(), publish_stream)->tx_seq == 1);
  }
  second.mesh.shutdown();
  REQUIRE(eventually([&] { return !publisher.mesh.has_session(second.mesh.node_id()); }, 3000ms));
  const auto partial = publisher.channels.publish("ff", as_bytes(std::string_view("two")), fail_fast);
  REQUIRE(partial.errors.size() == 1);
  CHECK(partial.errors.front().first == second.mesh.node_id());
  CHECK(partial.attempted == partial.delivered + 1);
  // Exactly the subscribers counted as delivered got "two": none after the
  // failure was tried. A third publish to everyone marks the end of each inbox.
  PublishOptions collect;
  collect.on_failure = OnFailure::Collect;
  publisher.channels.publish("ff", as_bytes(std::string_view("three")), collect);
  std::size_t got_two = 0;
  for (Node* node : {&first, &third}) {
    std::vector<std::string> inbox = received(*node, "ff", 2);
    REQUIRE(!inbox.empty());
    while (inbox.back() != "three") {
      const std::vector<std::string> more = received(*node, "ff", 1);
      REQUIRE(!more.empty());
      inbox.insert(inbox.end(), more.begin(), more.end());
    }
    got_two += static_cast<std::size_t>(std::count(inbox.begin(), inbox.end(), "two"));
  }
  CHECK(got_two == partial.delivered);
}

TEST_CASE("channels: a subscribe waiting for an Ack ends when its node shuts down", "[channel][mesh]") {
  ChannelsConfig patient = Node::fast_channels();
  patient.ack_timeout = 30s;
  Node subscriber(patient);
  mesh::MeshNode silent(net::test::config_for());  // a peer with no channel layer: it never answers
  net::test::handshake(subscriber.mesh, silent);
  subscriber.mesh.start();
  silent.start();
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    subscriber.mesh.shutdown();
  });
  const auto started = std::chrono::steady_clock::now();
  try {
    subscriber.channels.subscribe(silent.node_id(), "chan/a");
    FAIL("subscribe returned");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::ShutDown);
  }
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  stopper.join();
}
