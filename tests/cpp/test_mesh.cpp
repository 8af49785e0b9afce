// mesh/: real nodes on 127.0.0.1 in one process: handshakes, push_to/poll,
// streams and credit, fragmentation, relayed handshakes and forwarding,
// tampered, replayed and unauthenticated datagrams.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <unistd.h>

#include <atomic>

#include "chaos_proxy.hpp"
#include "eventually.hpp"
#include "mesh_nodes.hpp"
#include "net/core/error.hpp"
#include "net/identity/node_ids.hpp"
#include "net/mesh/mesh_node.hpp"
#include "net/wire/packet_header.hpp"
#include "net/wire/routing_header.hpp"

using namespace net;
using namespace net::mesh;
using namespace std::chrono_literals;
using net::test::config_for;
using net::test::eventually;
using net::test::handshake;

namespace {

std::vector<std::string> drain(MeshNode& node, std::size_t count) {
  std::vector<std::string> out;
  eventually([&] {
    for (const auto& event : node.poll(1000)) out.emplace_back(event.raw);
    return out.size() >= count;
  });
  return out;
}

ByteView view(std::string_view text) { return as_bytes(text); }

// Keeps a started node's reactor in a tick until released (at the latest
// when destroyed, which must come before the node's shutdown): events held
// by coalescing sends meanwhile are then flushed in one go.
class ReactorHold {
 public:
  explicit ReactorHold(MeshNode& node) {
    node.every(1ms, [holding = holding_, released = released_] {
      if (!holding->exchange(true)) released.wait();
    });
    REQUIRE(eventually([&] { return holding_->load(); }));
  }
  ReactorHold(const ReactorHold&) = delete;
  ReactorHold& operator=(const ReactorHold&) = delete;
  ~ReactorHold() { release(); }
  void release() {
    if (!std::exchange(released_once_, true)) release_.set_value();
  }

 private:
  std::shared_ptr<std::atomic<bool>> holding_ = std::make_shared<std::atomic<bool>>(false);
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  bool released_once_ = false;
};

// a - relay - c, all started; the relay knows static routes to both ends.
void behind_relay(MeshNode& a, MeshNode& relay, MeshNode& c) {
  handshake(a, relay);
  handshake(relay, c);
  for (MeshNode* node : {&a, &relay, &c}) node->start();
  relay.add_route(c.node_id(), c.local_address());
  relay.add_route(a.node_id(), a.local_address());
}

}  // namespace

TEST_CASE("two nodes handshake and exchange events both ways", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  handshake(a, b);
  a.start();
  b.start();
  REQUIRE(a.peer_count() == 1);
  REQUIRE(b.peer_count() == 1);
  a.push_to(b.local_address(), view("{\"n\":1}"));
  b.push_to(a.local_address(), view("from b"));
  CHECK(drain(b, 1) == std::vector<std::string>{"{\"n\":1}"});
  CHECK(drain(a, 1) == std::vector<std::string>{"from b"});
  CHECK_THROWS_WITH(a.push_to(SocketAddress::parse("127.0.0.1:9"), view("x")), "connection error: unknown peer");
}

TEST_CASE("poll drains every inbound shard, ids are <seq>:<i>", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  handshake(a, b);
  std::vector<std::string> sent;
  for (std::uint64_t stream_id = 1; stream_id <= 6; ++stream_id) {
    const auto stream = a.open_stream(b.node_id(), stream_id, {});
    const std::string event = "stream " + std::to_string(stream_id);
    const ByteView events[] = {view(event), view(event)};
    a.send_on_stream(stream, events);
    sent.push_back(event);
    sent.push_back(event);
  }
  auto received = drain(b, sent.size());
  std::sort(received.begin(), received.end());
  CHECK(received == sent);
  const auto more = std::vector<std::string>{};
  a.push_to(b.local_address(), view("last"));
  std::vector<bus::StoredEvent> events;
  eventually([&] {
    events = b.poll(10);
    return !events.empty();
  });
  REQUIRE(events.size() == 1);
  CHECK(events[0].id() == "0:0");
  CHECK(events[0].shard_id == 0);
}

TEST_CASE("a wrong PSK never yields a session", "[mesh]") {
  MeshNode a(config_for(1)), b(config_for(2));
  std::thread acceptor([&] { CHECK_THROWS_WITH(b.accept(a.node_id()), "connection error: handshake timeout"); });
  CHECK_THROWS_WITH(a.connect(b.local_address(), b.public_key(), b.node_id()), "connection error: handshake timeout");
  acceptor.join();
  CHECK(a.peer_count() == 0);
  CHECK(b.peer_count() == 0);
  CHECK(b.counters().datagrams_dropped >= 1);
}

TEST_CASE("a wrong peer node id fails the prologue", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  std::thread acceptor([&] { CHECK_THROWS(b.accept(a.node_id() ^ 1)); });
  CHECK_THROWS(a.connect(b.local_address(), b.public_key(), b.node_id()));
  acceptor.join();
  CHECK(b.peer_count() == 0);
}

TEST_CASE("stream credit: grants from the receiver refill the window", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  handshake(a, b);
  const auto stream = a.open_stream(b.node_id(), 4, {StreamReliability::FireAndForget, 1000, 1});
  const std::string event(500, 'x');
  const ByteView one[] = {view(event)};
  a.send_on_stream(stream, one);
  REQUIRE(eventually([&] { return a.stream_stats(b.node_id(), 4)->tx_credit_remaining == 1000; }));
  CHECK(a.stream_stats(b.node_id(), 4)->credit_grants_received == 1);
  CHECK(b.stream_stats(a.node_id(), 4)->credit_grants_sent == 1);
  a.send_on_stream(stream, one);
  CHECK(drain(b, 2).size() == 2);
}

TEST_CASE("stream credit: a waiting sender sees a grant that came before it began to wait", "[mesh]") {
  MeshConfig config = config_for();
  MeshNode a(config), b(config);
  test::ChaosProxy proxy(b.local_address(), {0.0, 0.0, std::chrono::microseconds(0)});
  test::handshake(a, b, proxy.address());
  a.start();
  b.start();
  const auto stream = a.open_stream(b.node_id(), 4, {StreamReliability::FireAndForget, 1000, 1});
  const std::string event(500, 'x');
  const ByteView one[] = {view(event)};
  proxy.block_return_path(true);  // the grant for this send is lost
  a.send_on_stream(stream, one);
  CHECK_THROWS_AS(a.send_on_stream(stream, one), Error);  // refused: 416 left, 584 needed
  // try_send_on_stream refuses the same way, without an exception, and sends nothing.
  const auto before = *a.stream_stats(b.node_id(), 4);
  CHECK_FALSE(a.try_send_on_stream(stream, one));
  const auto after = *a.stream_stats(b.node_id(), 4);
  CHECK(after.tx_seq == before.tx_seq);
  CHECK(after.tx_credit_remaining == 1000 - 584);
  CHECK(after.backpressure_events == before.backpressure_events + 1);
  proxy.block_return_path(false);  // the starved sender's probe now brings a grant back
  REQUIRE(eventually([&] { return a.stream_stats(b.node_id(), 4)->tx_credit_remaining == 1000; }));
  // The credit is already there: waiting for it to change would sleep the whole timeout.
  const auto start = std::chrono::steady_clock::now();
  a.wait_for_credit(stream, 5s);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  const std::uint64_t sent_before = a.stream_stats(b.node_id(), 4)->tx_seq;
  CHECK(a.try_send_on_stream(stream, one));
  CHECK(a.stream_stats(b.node_id(), 4)->tx_seq == sent_before + 1);
  CHECK(drain(b, 2).size() == 2);
}

TEST_CASE("stream credit: backpressure while no grant comes back", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  handshake(a, b);
  b.shutdown();  // a keeps its session but will hear nothing more
  const auto stream = a.open_stream(b.node_id(), 4, {StreamReliability::FireAndForget, 1000, 1});
  const std::string event(500, 'x');
  const ByteView one[] = {view(event)};
  a.send_on_stream(stream, one);
  CHECK(a.stream_stats(b.node_id(), 4)->tx_credit_remaining == 1000 - 584);
  try {
    a.send_on_stream(stream, one);
    FAIL("no backpressure");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Backpressure);
    CHECK(std::string(e.what()) == "stream would block (queue full)");
  }
  const auto stats = a.stream_stats(b.node_id(), 4);
  CHECK(stats->backpressure_events == 1);
  CHECK(stats->tx_seq == 1);  // the refused send took no sequence number
  // One packet larger than the window never fits; a batch of packets that
  // each fit goes out whole on an idle window.
  const auto small_window = a.open_stream(b.node_id(), 5, {StreamReliability::FireAndForget, 1000, 1});
  const std::string too_big(1000, 'y');
  const ByteView oversized[] = {view(too_big)};
  CHECK_THROWS_AS(a.send_on_stream(small_window, oversized), Error);
  const ByteView batch[] = {view(event), view(event), view(event), view(event)};
  a.send_on_stream(small_window, batch);
  const auto after = a.stream_stats(b.node_id(), 5);
  CHECK(after->tx_seq == 4);  // one 584-byte packet per event
  CHECK(after->tx_credit_remaining == 0);
  CHECK_THROWS_AS(a.send_on_stream(small_window, one), Error);
}

TEST_CASE("coalescing sends: a lone one goes at once, a burst shares datagrams, nothing is lost", "[mesh]") {
  MeshConfig config = config_for();
  config.burst_gap = 10s;  // every coalescing send after the first is part of the burst
  MeshNode a(config), b(config_for());
  handshake(a, b);
  a.start();
  b.start();
  const std::uint64_t peer = b.node_id();
  const StreamOptions options{StreamReliability::FireAndForget, 65536, 1};
  ReactorHold hold(a);
  CHECK_FALSE(a.send_to_each({&peer, 1}, 9, options, view("lone"), {.coalesce = true}).front());
  CHECK(a.stream_stats(peer, 9)->tx_seq == 1);  // sent by the call itself
  std::vector<std::string> burst;
  for (int i = 0; i < 200; ++i) burst.push_back("burst " + std::to_string(i));
  for (const auto& event : burst)
    CHECK_FALSE(a.send_to_each({&peer, 1}, 9, options, view(event), {.coalesce = true}).front());
  CHECK(a.stream_stats(peer, 9)->tx_seq == 1);  // all held
  hold.release();
  auto got = drain(b, 201);
  std::sort(got.begin(), got.end());
  burst.push_back("lone");
  std::sort(burst.begin(), burst.end());
  CHECK(got == burst);
  CHECK(a.stream_stats(peer, 9)->tx_seq == 2);  // the 200 held events shared one datagram
  REQUIRE(eventually([&] { return a.stream_stats(peer, 9)->tx_credit_remaining == 65536; }));  // all granted back
  for (int i = 0; i < 50; ++i)
    CHECK_FALSE(a.send_to_each({&peer, 1}, 9, options, view("last"), {.coalesce = true}).front());
  a.shutdown();  // what is still held goes out first
  CHECK(drain(b, 50).size() == 50);
}

TEST_CASE("coalescing sends: held events take the credit of their packets, refusals are reported", "[mesh]") {
  MeshConfig config = config_for();
  config.burst_gap = 10s;
  MeshNode a(config), b(config_for());
  test::ChaosProxy proxy(b.local_address(), {0.0, 0.0, std::chrono::microseconds(0)});
  test::handshake(a, b, proxy.address());
  a.start();
  b.start();
  proxy.block_return_path(true);  // no grant comes back: the window is all there is
  const std::uint64_t peer = b.node_id();
  const StreamOptions options{StreamReliability::FireAndForget, 3000, 1};
  const std::string event(500, 'x');  // 584 bytes of credit as a packet of its own
  std::size_t accepted = 0;
  ReactorHold hold(a);
  for (int i = 0; i < 20; ++i) {
    const auto result = a.send_to_each({&peer, 1}, 9, options, view(event), {.coalesce = true}).front();
    if (!result) {
      ++accepted;
    } else {
      CHECK(result->kind() == ErrorKind::Backpressure);
    }
  }
  // The first is sent alone (504 + 80 bytes of credit); the next four are
  // held and share one packet (4 x 504 + 80): the fifth would need 504 of the 320 left.
  CHECK(accepted == 5);
  // The flush's packet takes exactly the credit the held events took.
  hold.release();
  REQUIRE(eventually([&] { return a.stream_stats(peer, 9)->tx_seq == 2; }));
  CHECK(a.stream_stats(peer, 9)->tx_credit_remaining == 3000 - 584 - (4 * 504 + 80));
  a.shutdown();
  CHECK(drain(b, accepted).size() == accepted);
}

TEST_CASE("coalescing sends: the streams of a burst go out by priority", "[mesh]") {
  MeshConfig config = config_for();
  config.burst_gap = 10s;
  std::mutex seen_mutex;
  std::vector<std::string> seen;
  MeshConfig receiver = config_for();
  receiver.event_sink = [&](std::span<const bus::StoredEvent> events) {
    std::lock_guard lock(seen_mutex);
    for (const auto& event : events) seen.emplace_back(event.raw);
  };
  MeshNode a(config), b(receiver);
  handshake(a, b);
  a.start();
  b.start();
  ReactorHold hold(a);  // the whole burst is held and flushed at once
  const std::uint64_t peer = b.node_id();
  StreamOptions low;
  StreamOptions high;
  high.priority = 7;
  CHECK_FALSE(a.send_to_each({&peer, 1}, 1, low, view("lone"), {.coalesce = true}).front());  // not held: the first
  std::vector<std::string> expected = {"lone"};
  for (int i = 0; i < 20; ++i) {
    const std::string low_event = "low " + std::to_string(i);
    const std::string high_event = "high " + std::to_string(i);
    CHECK_FALSE(a.send_to_each({&peer, 1}, 1, low, view(low_event), {.coalesce = true}).front());
    CHECK_FALSE(a.send_to_each({&peer, 1}, 2, high, view(high_event), {.coalesce = true}).front());
    expected.insert(expected.begin() + 1 + i, high_event);
    expected.push_back(low_event);
  }
  hold.release();
  REQUIRE(eventually([&] {
    std::lock_guard lock(seen_mutex);
    return seen.size() == expected.size();
  }));
  std::lock_guard lock(seen_mutex);
  CHECK(seen == expected);
}

TEST_CASE("closed streams refuse sends, reopening gives a new epoch", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  handshake(a, b);
  const auto stream = a.open_stream(b.node_id(), 8, {});
  a.close_stream(b.node_id(), 8);
  a.close_stream(b.node_id(), 8);
  CHECK_FALSE(a.stream_stats(b.node_id(), 8));
  const ByteView one[] = {view("x")};
  try {
    a.send_on_stream(stream, one);
    FAIL("sent on a closed stream");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::NotConnected);
  }
  const auto reopened = a.open_stream(b.node_id(), 8, {});
  CHECK(reopened.epoch != stream.epoch);
  a.send_on_stream(reopened, one);
  CHECK_THROWS_WITH(a.open_stream(12345, 1, {}), Catch::Contains("no session for peer 0x0000000000003039"));
}

TEST_CASE("events larger than a packet are fragmented and reassembled", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  handshake(a, b);
  const auto stream = a.open_stream(b.node_id(), 0, {StreamReliability::FireAndForget, 0, 1});
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + i / 977);
  const std::string small = "small";
  const ByteView events[] = {view(small), view(big), view(small)};
  a.send_on_stream(stream, events);
  const auto received = drain(b, 3);
  REQUIRE(received.size() == 3);
  CHECK(received[1] == big);
  CHECK(received[0] == small);
}

TEST_CASE("tampered and replayed datagrams are dropped and counted", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  handshake(a, b);
  const int raw = ::socket(AF_INET, SOCK_DGRAM, 0);
  const SocketAddress target = b.local_address();
  const std::uint8_t junk[] = {0x45, 0x4E, 1, 0, 0, 0, 0, 0};
  ::sendto(raw, junk, sizeof junk, 0, target.data(), target.size());
  std::vector<std::uint8_t> forged(100, 0);
  forged[0] = 0x45;
  forged[1] = 0x4E;
  forged[2] = 1;
  forged[60] = 20;
  ::sendto(raw, forged.data(), forged.size(), 0, target.data(), target.size());
  ::close(raw);
  REQUIRE(eventually([&] { return b.counters().datagrams_dropped >= 2; }));
  a.push_to(b.local_address(), view("still fine"));
  CHECK(drain(b, 1) == std::vector<std::string>{"still fine"});
}

TEST_CASE("two nodes that connect to each other at the same moment both succeed", "[mesh]") {
  for (int round = 0; round < 20; ++round) {
    MeshNode a(config_for()), b(config_for());
    a.start();  // started: neither side waits in accept()
    b.start();
    std::thread other([&] { b.connect(a.local_address(), a.public_key(), a.node_id()); });
    a.connect(b.local_address(), b.public_key(), b.node_id());
    other.join();
    a.push_to(b.local_address(), view("a->b"));
    b.push_to(a.local_address(), view("b->a"));
    CHECK(drain(b, 1) == std::vector<std::string>{"a->b"});
    CHECK(drain(a, 1) == std::vector<std::string>{"b->a"});
  }
}

TEST_CASE("two nodes behind a relay that connect_via each other at once both succeed", "[mesh]") {
  MeshNode a(config_for()), relay(config_for()), c(config_for());
  behind_relay(a, relay, c);
  std::thread other([&] { c.connect_via(relay.local_address(), a.public_key(), a.node_id()); });
  a.connect_via(relay.local_address(), c.public_key(), c.node_id());
  other.join();
  const auto to_c = a.open_stream(c.node_id(), 9, {});
  const ByteView hello = view("through the relay");
  a.send_on_stream(to_c, {&hello, 1});
  CHECK(drain(c, 1) == std::vector<std::string>{"through the relay"});
}

TEST_CASE("a relay forwards a routed handshake and traffic both ways", "[mesh]") {
  MeshNode a(config_for()), relay(config_for()), c(config_for());
  behind_relay(a, relay, c);
  a.connect_via(relay.local_address(), c.public_key(), c.node_id());
  CHECK(a.peer_count() == 2);
  REQUIRE(eventually([&] { return c.peer_count() == 2; }));
  const auto to_c = a.open_stream(c.node_id(), 0, {});
  const ByteView hello[] = {view("a to c")};
  a.send_on_stream(to_c, hello);
  CHECK(drain(c, 1) == std::vector<std::string>{"a to c"});
  const auto to_a = c.open_stream(a.node_id(), 0, {});
  const ByteView back[] = {view("c to a")};
  c.send_on_stream(to_a, back);
  CHECK(drain(a, 1) == std::vector<std::string>{"c to a"});
  CHECK(relay.counters().packets_forwarded >= 4);
}

TEST_CASE("pingwaves spread routes, discovered_nodes counts them", "[mesh]") {
  MeshNode a(config_for()), relay(config_for()), c(config_for());
  handshake(a, relay);
  handshake(relay, c);
  a.start();
  relay.start();
  c.start();
  REQUIRE(eventually([&] { return a.discovered_nodes() == 2 && c.discovered_nodes() == 2; }));
  // a learned a route to c through the relay, so a relayed handshake needs no static routes.
  a.connect_via(relay.local_address(), c.public_key(), c.node_id());
  const auto stream = a.open_stream(c.node_id(), 0, {});
  const ByteView hello[] = {view("via pingwave routes")};
  a.send_on_stream(stream, hello);
  CHECK(drain(c, 1) == std::vector<std::string>{"via pingwave routes"});
}

TEST_CASE("a silent peer is declared failed and removed", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  handshake(a, b);
  a.start();
  b.start();
  REQUIRE(a.peer_count() == 1);
  b.shutdown();
  CHECK(eventually([&] { return a.peer_count() == 0; }, 3000ms));
}

TEST_CASE("shutdown is idempotent and later calls throw", "[mesh]") {
  MeshNode a(config_for());
  a.start();
  a.shutdown();
  a.shutdown();
  CHECK(a.is_shut_down());
  CHECK_THROWS_WITH(a.peer_count(), "MeshNode has been shut down");
  CHECK_THROWS_WITH(a.poll(1), "MeshNode has been shut down");
}

TEST_CASE("a msg1 that arrives before accept() is answered by it", "[mesh]") {
  MeshNode a(config_for()), b(config_for());
  std::thread initiator([&] { a.connect(b.local_address(), b.public_key(), b.node_id()); });
  std::this_thread::sleep_for(100ms);  // a's msg1 is already waiting at b
  const auto started = std::chrono::steady_clock::now();
  CHECK(b.accept(a.node_id()) == a.local_address());
  initiator.join();
  // a retry would come 300 ms (timeout) + 100 ms (pause) after the first msg1, i.e. >= 300 ms from here
  CHECK(std::chrono::steady_clock::now() - started < 290ms);
  CHECK(a.peer_count() == 1);
}

TEST_CASE("a triangle: every node reaches the other two, directly", "[mesh]") {
  MeshNode a(config_for()), b(config_for()), c(config_for());
  handshake(a, b);
  handshake(a, c);
  handshake(b, c);
  for (MeshNode* node : {&a, &b, &c}) node->start();
  REQUIRE(
      eventually([&] { return a.discovered_nodes() == 2 && b.discovered_nodes() == 2 && c.discovered_nodes() == 2; }));
  MeshNode* nodes[] = {&a, &b, &c};
  for (MeshNode* from : nodes) {
    for (MeshNode* to : nodes) {
      if (from == to) continue;
      from->push_to(to->local_address(), view("hello"));
    }
  }
  for (MeshNode* node : nodes) CHECK(drain(*node, 2).size() == 2);
  CHECK(a.peer_count() == 2);
  CHECK(a.counters().packets_forwarded == 0);
}

TEST_CASE("a relayed peer that restarts is handshaken again through the relay", "[mesh]") {
  MeshConfig c_config = config_for();
  c_config.static_secret.emplace();
  c_config.static_secret->fill(0x42);
  c_config.identity_seed.emplace();
  c_config.identity_seed->fill(0x24);
  MeshNode a(config_for()), relay(config_for());
  auto c = std::make_unique<MeshNode>(c_config);
  behind_relay(a, relay, *c);
  a.connect_via(relay.local_address(), c->public_key(), c->node_id());
  REQUIRE(a.peer_count() == 2);

  // c restarts on the same address with the same keys; the relay finds it again, and so must a.
  c_config.bind_address = c->local_address();
  const std::uint64_t c_id = c->node_id();
  c->shutdown();
  c.reset();
  c = std::make_unique<MeshNode>(c_config);
  // The relay re-handshakes once its old session to c has failed (3 timeouts).
  REQUIRE(eventually(
      [&] {
        try {
          c->accept(relay.node_id());
          return true;
        } catch (const Error&) {
          return false;
        }
      },
      5000ms));
  c->start();
  // a's old session times out and is handshaken again through the relay: only a new
  // session's packets can be read by the restarted c.
  const ByteView hello[] = {view("after the restart")};
  std::vector<std::string> received;
  REQUIRE(eventually(
      [&] {
        try {
          a.send_on_stream(a.open_stream(c_id, 0, {}), hello);
        } catch (const Error&) {
          return false;  // no session at the moment
        }
        for (const auto& event : c->poll(10)) received.emplace_back(event.raw);
        return !received.empty();
      },
      8000ms));
  CHECK(received.front() == "after the restart");
  CHECK(a.peer_count() == 2);
}

TEST_CASE("forged routed answers during a connect_via() do not spoil the handshake", "[mesh]") {
  MeshNode a(config_for()), relay(config_for()), c(config_for());
  behind_relay(a, relay, c);
  // Anyone can send a routed msg2 naming c's routing id: a stream of them while a connects.
  Bytes forged(wire::kRoutingHeaderSize + wire::kHeaderSize + 48, 0x5a);
  wire::RoutingHeader route;
  route.src_id = identity::routing_id(c.node_id());
  route.dest_id = a.node_id();
  route.encode(forged.data());
  wire::PacketHeader header;
  header.flags = wire::flags::kHandshake;
  header.payload_len = 48;
  header.encode(forged.data() + wire::kRoutingHeaderSize);
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  const SocketAddress target = a.local_address();
  std::atomic<bool> forging{true};
  std::thread forger([&] {
    while (forging) {
      ::sendto(fd, forged.data(), forged.size(), 0, target.data(), target.size());
      std::this_thread::sleep_for(50us);
    }
  });
  CHECK_NOTHROW(a.connect_via(relay.local_address(), c.public_key(), c.node_id()));
  forging = false;
  forger.join();
  ::close(fd);
  CHECK(a.peer_count() == 2);
}
