// The two-node adapter under an EventBus: no blocking constructor, events
// ingested before the handshake are delivered after it, exactly-once paging
// of what arrived, and a new handshake after the peer restarts.
#include <catch2/catch.hpp>

#include <thread>

#include "eventually.hpp"
#include "net/bus/event_bus.hpp"
#include "net/crypto/x25519.hpp"
#include "net/mesh/two_node_adapter.hpp"

using namespace net;
using namespace net::mesh;
using namespace std::chrono_literals;
using net::test::eventually;

namespace {

struct Pair {
  crypto::X25519Keypair responder_keys = crypto::X25519Keypair::generate();
  transport::SocketAddress responder_address = transport::SocketAddress::parse("127.0.0.1:0");

  TwoNodeConfig base(TwoNodeReliability reliability) const {
    TwoNodeConfig config;
    config.psk.fill(9);
    config.reliability = reliability;
    config.heartbeat_interval = 20ms;
    config.session_timeout = 100ms;
    config.inbound.num_shards = 2;
    config.inbound.ring_buffer_capacity = 1024;
    return config;
  }

  std::unique_ptr<bus::EventBus> responder(TwoNodeReliability reliability, const char* bind = "127.0.0.1:0") {
    TwoNodeConfig config = base(reliability);
    config.role = TwoNodeRole::Responder;
    config.secret_key = responder_keys.secret_key;
    config.bind_address = transport::SocketAddress::parse(bind);
    config.peer_address = transport::SocketAddress::parse("127.0.0.1:9");
    auto adapter = std::make_unique<TwoNodeAdapter>(config);
    responder_address = adapter->local_address();
    return std::make_unique<bus::EventBus>(config.inbound, std::move(adapter));
  }

  std::unique_ptr<bus::EventBus> initiator(TwoNodeReliability reliability) const {
    TwoNodeConfig config = base(reliability);
    config.role = TwoNodeRole::Initiator;
    config.peer_public_key = responder_keys.public_key;
    config.bind_address = transport::SocketAddress::parse("127.0.0.1:0");
    config.peer_address = responder_address;
    return std::make_unique<bus::EventBus>(config.inbound, std::make_unique<TwoNodeAdapter>(config));
  }
};

// Pages with small limits until `count` events arrived (or 5 s passed).
std::vector<std::string> page(bus::EventBus& bus, std::size_t count, std::optional<std::string>& cursor) {
  std::vector<std::string> out;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto result = bus.poll({3, cursor, nullptr, bus::Ordering::None});
    for (const auto& event : result.events) out.emplace_back(event.raw);
    cursor = result.next_id;
    if (result.events.empty()) std::this_thread::sleep_for(2ms);
  }
  return out;
}

std::vector<std::string> numbered(const std::string& prefix, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("two-node: both directions, early events, exactly-once paging", "[two_node]") {
  auto reliability = GENERATE(TwoNodeReliability::None, TwoNodeReliability::Light, TwoNodeReliability::Full);
  Pair pair;
  auto responder = pair.responder(reliability);
  auto initiator = pair.initiator(reliability);  // returns at once; the handshake runs in the background
  const auto early = numbered("early ", 50);
  for (const auto& event : early) initiator->ingest(event);
  std::optional<std::string> cursor;
  auto received = page(*responder, early.size(), cursor);
  std::sort(received.begin(), received.end());
  auto expected = early;
  std::sort(expected.begin(), expected.end());
  CHECK(received == expected);
  CHECK(responder->poll({10, cursor, nullptr, bus::Ordering::None}).events.empty());

  const auto back = numbered("back ", 30);
  for (const auto& event : back) responder->ingest(event);
  std::optional<std::string> back_cursor;
  CHECK(page(*initiator, back.size(), back_cursor).size() == back.size());
}

TEST_CASE("two-node: the initiator handshakes again after the responder restarts", "[two_node]") {
  Pair pair;
  auto responder = pair.responder(TwoNodeReliability::Full);
  const std::string bind = pair.responder_address.to_string();
  auto initiator = pair.initiator(TwoNodeReliability::Full);
  REQUIRE(eventually([&] { return initiator->adapter()->ready(); }));
  responder.reset();  // gone: the initiator's session times out (3 x 100 ms of silence)
  REQUIRE(eventually([&] { return !initiator->adapter()->ready(); }));
  const auto during = numbered("while away ", 20);
  for (const auto& event : during) initiator->ingest(event);
  responder = pair.responder(TwoNodeReliability::Full, bind.c_str());
  std::optional<std::string> cursor;
  auto received = page(*responder, during.size(), cursor);
  std::sort(received.begin(), received.end());
  auto expected = during;
  std::sort(expected.begin(), expected.end());
  CHECK(received == expected);
}

TEST_CASE("two-node: shutdown with no peer waits to flush only what is pending", "[two_node]") {
  Pair pair;
  auto idle = pair.responder(TwoNodeReliability::None);
  auto started = std::chrono::steady_clock::now();
  idle->shutdown();  // nothing to hand over: it once waited the whole final flush (2 s)
  CHECK(std::chrono::steady_clock::now() - started < 1s);

  auto pending = pair.responder(TwoNodeReliability::None);
  pending->ingest("never sent");
  started = std::chrono::steady_clock::now();
  pending->shutdown();  // tries for the final flush, then counts it lost
  CHECK(std::chrono::steady_clock::now() - started >= 1s);
}
