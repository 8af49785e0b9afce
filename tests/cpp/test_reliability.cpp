// Loss recovery: the retransmit queue and reorder buffer on their own, then
// 100,000 events on a reliable stream through a proxy that drops 10%,
// duplicates and reorders: every event arrives exactly once, in order.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <thread>

#include "chaos_proxy.hpp"
#include "eventually.hpp"
#include "mesh/reliable_stream.hpp"
#include "mesh_nodes.hpp"
#include "net/core/error.hpp"
#include "net/mesh/mesh_node.hpp"

using namespace net;
using namespace net::mesh;
using namespace std::chrono_literals;

namespace {

ReceivedPacket packet(std::uint64_t seq) {
  ReceivedPacket p;
  p.header.sequence = seq;
  return p;
}

SharedPacket planned(std::uint64_t seq) {
  auto p = std::make_shared<PlannedPacket>();
  p->header.sequence = seq;
  return p;
}

std::vector<std::uint64_t> sequences(const std::vector<ReceivedPacket>& packets) {
  std::vector<std::uint64_t> out;
  for (const auto& p : packets) out.push_back(p.header.sequence);
  return out;
}

// Nodes for the chaos proxy tests: patient handshakes, small datagrams (many
// packets, so many losses to recover).
MeshConfig lossy_link_config(std::size_t max_datagram) {
  MeshConfig config;
  config.bind_address = SocketAddress::parse("127.0.0.1:0");
  config.psk.fill(3);
  config.handshake_timeout = 200ms;
  config.handshake_attempts = 10;
  config.max_datagram_loopback = max_datagram;
  return config;
}

// A sender and a receiver on the default timing, started, the sender going
// through a chaos proxy that loses nothing until told to.
struct ProxiedPair {
  static MeshConfig config(std::uint8_t psk_byte) {
    MeshConfig config;
    config.bind_address = SocketAddress::parse("127.0.0.1:0");
    config.psk.fill(psk_byte);
    return config;
  }
  explicit ProxiedPair(std::uint8_t psk_byte)
      : sender(config(psk_byte)),
        receiver(config(psk_byte)),
        proxy(receiver.local_address(), {0.0, 0.0, std::chrono::microseconds(0)}) {
    test::handshake(sender, receiver, proxy.address());
    sender.start();
    receiver.start();
  }
  MeshNode sender;
  MeshNode receiver;
  test::ChaosProxy proxy;
};

// Polls `receiver` on a thread of its own into `received` until `count`
// events came (or a minute passed); join it before reading `received`.
std::thread collect(MeshNode& receiver, std::vector<std::string>& received, std::size_t count) {
  received.reserve(count);
  return std::thread([&receiver, &received, count] {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (received.size() < count && std::chrono::steady_clock::now() < deadline) {
      const auto events = receiver.poll(4096);
      for (const auto& event : events) received.emplace_back(event.raw);
      if (events.empty()) std::this_thread::sleep_for(1ms);
    }
  });
}

}  // namespace

TEST_CASE("reorder buffer: ordered release, duplicates, gap reports", "[reliability]") {
  ReorderBuffer buffer(true);
  std::vector<ReceivedPacket> release;
  CHECK(buffer.receive(packet(0), 0, release) == ReorderBuffer::Verdict::Accepted);
  CHECK(buffer.receive(packet(2), 0, release) == ReorderBuffer::Verdict::Accepted);
  CHECK(buffer.receive(packet(4), 0, release) == ReorderBuffer::Verdict::Accepted);
  CHECK(sequences(release) == std::vector<std::uint64_t>{0});
  CHECK(buffer.receive(packet(2), 0, release) == ReorderBuffer::Verdict::Duplicate);
  CHECK(buffer.receive(packet(0), 0, release) == ReorderBuffer::Verdict::Duplicate);
  const auto ack = buffer.ack();
  CHECK(ack.next_expected == 1);
  CHECK(ack.highest_received == 5);
  CHECK(ack.missing_bitmap == 0b10);  // bit i is next_expected + 1 + i: 2 held, 3 missing, 4 held
  CHECK(buffer.receive(packet(1), 0, release) == ReorderBuffer::Verdict::Accepted);
  CHECK(sequences(release) == std::vector<std::uint64_t>{0, 1, 2});
  CHECK(buffer.receive(packet(3), 0, release) == ReorderBuffer::Verdict::Accepted);
  CHECK(sequences(release) == std::vector<std::uint64_t>{0, 1, 2, 3, 4});
  CHECK_FALSE(buffer.has_gap());
}

TEST_CASE("reorder buffer: unordered releases at once, a stale gap is skipped", "[reliability]") {
  ReorderBuffer unordered(false);
  std::vector<ReceivedPacket> release;
  unordered.receive(packet(3), 0, release);
  unordered.receive(packet(1), 0, release);
  CHECK(sequences(release) == std::vector<std::uint64_t>{3, 1});
  CHECK(unordered.receive(packet(3), 0, release) == ReorderBuffer::Verdict::Duplicate);

  ReorderBuffer ordered(true);
  release.clear();
  ordered.receive(packet(1), 100, release);
  ordered.receive(packet(2), 100, release);
  ordered.skip_stale_gap(150, 100, release);
  CHECK(release.empty());
  ordered.skip_stale_gap(200, 100, release);
  CHECK(sequences(release) == std::vector<std::uint64_t>{1, 2});
  CHECK(ordered.next_expected() == 3);
}

TEST_CASE("retransmit queue: acks free, gaps and timeouts resend", "[reliability]") {
  RetransmitQueue queue;
  for (std::uint64_t seq = 0; seq < 6; ++seq) queue.add(planned(seq), 0);
  // Receiver has 0, 1, 3, 5: next_expected 2, 4 missing (bit 1), highest 6.
  const auto resent = queue.on_ack({2, 0b10, 6}, 20'000'000);
  REQUIRE(resent.size() == 2);
  CHECK(resent[0]->header.sequence == 2);
  CHECK(resent[1]->header.sequence == 4);
  CHECK(queue.size() == 4);
  CHECK(queue.on_ack({2, 0b10, 6}, 21'000'000).empty());  // within the hold-off
  const auto overdue = queue.overdue(45'000'000);
  REQUIRE(overdue.size() == 2);  // 3 and 5, first sent at 0
  CHECK(overdue[0]->header.sequence == 3);
  CHECK(queue.on_ack({6, 0, 6}, 50'000'000).empty());
  CHECK(queue.size() == 0);
}

TEST_CASE("100,000 events through a lossy, duplicating, reordering proxy arrive once and in order",
          "[reliability][chaos]") {
  const MeshConfig config = lossy_link_config(1472);
  MeshNode sender(config), receiver(config);
  test::ChaosProxy proxy(receiver.local_address(), {});
  test::handshake(sender, receiver, proxy.address());

  constexpr int kEvents = 100'000;
  constexpr int kPerSend = 50;
  const auto stream = sender.open_stream(receiver.node_id(), 1, {StreamReliability::Reliable, 65536, 1});
  std::vector<std::string> received;
  std::thread consumer = collect(receiver, received, kEvents);
  char text[16];
  std::vector<std::string> batch(kPerSend);
  std::vector<ByteView> views(kPerSend);
  for (int first = 0; first < kEvents; first += kPerSend) {
    for (int i = 0; i < kPerSend; ++i) {
      std::snprintf(text, sizeof text, "%08d", first + i);
      batch[i] = std::string(text) + std::string(100, 'p');
      views[i] = as_bytes(batch[i]);
    }
    for (;;) {
      try {
        sender.send_on_stream(stream, views);
        break;
      } catch (const Error& e) {
        REQUIRE(e.kind() == ErrorKind::Backpressure);
        std::this_thread::sleep_for(200us);
      }
    }
  }
  consumer.join();
  REQUIRE(received.size() == kEvents);
  for (int i = 0; i < kEvents; ++i) {
    std::snprintf(text, sizeof text, "%08d", i);
    if (received[i] != std::string(text) + std::string(100, 'p')) FAIL("event " << i << " is " << received[i]);
  }
  CHECK(proxy.dropped() > 100);
  CHECK(proxy.duplicated() > 50);
  CHECK(sender.counters().retransmissions >= proxy.dropped() / 2);
}

TEST_CASE("held (coalesced) sends on a reliable stream through a lossy proxy arrive once and in order",
          "[reliability][chaos]") {
  MeshConfig config = lossy_link_config(400);  // about 20 events a packet: a thousand packets to lose some of
  config.burst_gap = 10s;                      // every send after the first is held and flushed by the reactor
  MeshNode sender(config), receiver(config);
  test::ChaosProxy proxy(receiver.local_address(), {});
  test::handshake(sender, receiver, proxy.address());
  sender.start();
  receiver.start();

  constexpr int kEvents = 20'000;
  const std::uint64_t peer = receiver.node_id();
  const StreamOptions options{StreamReliability::Reliable, 65536, 1};
  std::vector<std::string> received;
  std::thread consumer = collect(receiver, received, kEvents);
  char text[16];
  for (int i = 0; i < kEvents; ++i) {
    std::snprintf(text, sizeof text, "%08d", i);
    for (;;) {
      const auto result =
          sender.send_to_each({&peer, 1}, 1, options, as_bytes(std::string_view(text)), {.coalesce = true}).front();
      if (!result) break;
      REQUIRE(result->kind() == ErrorKind::Backpressure);
      std::this_thread::sleep_for(200us);
    }
  }
  consumer.join();
  REQUIRE(received.size() == kEvents);
  for (int i = 0; i < kEvents; ++i) {
    std::snprintf(text, sizeof text, "%08d", i);
    if (received[i] != text) FAIL("event " << i << " is " << received[i]);
  }
  CHECK(proxy.dropped() > 20);
  CHECK(sender.counters().retransmissions > 0);
}

TEST_CASE("replayed datagrams are rejected by the replay window", "[reliability]") {
  MeshConfig config;
  config.bind_address = SocketAddress::parse("127.0.0.1:0");
  config.psk.fill(4);
  MeshNode sender(config), receiver(config);
  test::ChaosProxy proxy(receiver.local_address(), {0.0, 1.0, std::chrono::microseconds(0)});  // every datagram twice
  test::handshake(sender, receiver, proxy.address());
  // Fire and forget: nothing but the replay window stands between a copy and a second delivery.
  const auto stream = sender.open_stream(receiver.node_id(), 2, {StreamReliability::FireAndForget, 0, 1});
  constexpr int kEvents = 500;
  for (int i = 0; i < kEvents; ++i) {
    const std::string event = "event " + std::to_string(i);
    const ByteView one[] = {as_bytes(event)};
    sender.send_on_stream(stream, one);
    std::this_thread::sleep_for(50us);  // fire and forget: do not overrun the proxy's socket
  }
  std::vector<std::string> received;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (received.size() < kEvents && std::chrono::steady_clock::now() < deadline) {
    for (const auto& event : receiver.poll(1000)) received.emplace_back(event.raw);
  }
  std::this_thread::sleep_for(50ms);
  for (const auto& event : receiver.poll(1000)) received.emplace_back(event.raw);
  std::sort(received.begin(), received.end());
  CHECK(std::adjacent_find(received.begin(), received.end()) == received.end());  // no event twice
  CHECK(received.size() >= kEvents * 9 / 10);
  CHECK(receiver.counters().datagrams_dropped >= received.size());  // each copy refused
}

TEST_CASE("after a partition both sides drop the session, then handshake again when it heals", "[reliability]") {
  MeshConfig config;
  config.bind_address = SocketAddress::parse("127.0.0.1:0");
  config.psk.fill(5);
  config.heartbeat_interval = 20ms;
  config.session_timeout = 60ms;
  MeshNode a(config), b(config);
  test::ChaosProxy proxy(b.local_address(), {0.0, 0.0, std::chrono::microseconds(0)});
  test::handshake(a, b, proxy.address());
  a.start();
  b.start();
  proxy.partition(true);

  REQUIRE(test::eventually([&] { return a.peer_count() == 0 && b.peer_count() == 0; }));
  proxy.partition(false);
  REQUIRE(test::eventually([&] { return a.peer_count() == 1 && b.peer_count() == 1; }));
  const auto stream = a.open_stream(b.node_id(), 1, {});
  const std::string event = "after the partition";
  const ByteView one[] = {as_bytes(event)};
  a.send_on_stream(stream, one);
  CHECK(test::eventually([&] {
    const auto events = b.poll(10);
    return events.size() == 1 && events[0].raw == event;
  }));
}

TEST_CASE("a peer that never acknowledges (the original's nodes) gets no endless resends", "[reliability]") {
  ProxiedPair pair(6);
  auto& [sender, receiver, proxy] = pair;
  proxy.block_acks(true);  // it receives, grants and beats, and no ack ever comes back
  const auto stream = sender.open_stream(receiver.node_id(), 1, {StreamReliability::Reliable, 65536, 1});
  const std::string event = "unacknowledged";
  const ByteView one[] = {as_bytes(event)};
  for (int i = 0; i < 10; ++i) sender.send_on_stream(stream, one);
  std::this_thread::sleep_for(1500ms);
  const auto resent = sender.counters().retransmissions;
  CHECK(resent > 0);  // it did try while the peer might still have acked
  std::this_thread::sleep_for(600ms);
  CHECK(sender.counters().retransmissions == resent);  // then gave up on a peer that never acks
  for (int i = 0; i < 10; ++i) sender.send_on_stream(stream, one);
  std::this_thread::sleep_for(300ms);
  CHECK(sender.counters().retransmissions == resent);  // and keeps nothing to resend
}

TEST_CASE("an outage right after the handshake does not make a peer that acks look like one that never does",
          "[reliability]") {
  ProxiedPair pair(7);
  auto& [sender, receiver, proxy] = pair;
  const auto stream = sender.open_stream(receiver.node_id(), 1, {StreamReliability::Reliable, 65536, 1});
  proxy.partition(true);  // nothing either way for 1.5 s: no ack, and nothing heard
  const std::string during = "during the outage";
  const ByteView one[] = {as_bytes(during)};
  sender.send_on_stream(stream, one);
  std::this_thread::sleep_for(1500ms);
  proxy.partition(false);
  const std::string after = "after it";
  const ByteView two[] = {as_bytes(after)};
  sender.send_on_stream(stream, two);
  std::vector<std::string> received;
  // Resent, in order, well before the 10 s after which a receiver skips a gap it gave up on.
  CHECK(test::eventually(
      [&] {
        for (const auto& event : receiver.poll(10)) received.emplace_back(event.raw);
        return received.size() >= 2;
      },
      3000ms));
  CHECK(received == std::vector<std::string>{during, after});
}
