// UdpReactor: batches of datagrams out (runs of equal size leave as one GSO
// message) and in (GRO-coalesced runs split back), over real sockets on
// 127.0.0.1.
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <mutex>
#include <vector>

#include "eventually.hpp"
#include "net/transport/udp_reactor.hpp"

using net::Bytes;
using net::transport::Datagram;
using net::transport::SocketAddress;
using net::transport::UdpReactor;

namespace {

const SocketAddress kLoopback = SocketAddress::parse("127.0.0.1:0");

// A reactor that keeps what it receives.
struct Collector {
  UdpReactor reactor{kLoopback};
  std::mutex mutex;
  std::vector<Bytes> received;

  Collector() {
    reactor.start([this](std::span<const Datagram> batch) {
      std::lock_guard lock(mutex);
      for (const Datagram& datagram : batch) received.emplace_back(datagram.bytes.begin(), datagram.bytes.end());
    });
  }

  std::size_t count() {
    std::lock_guard lock(mutex);
    return received.size();
  }
};

// `size` bytes that name their datagram: its number, then a pattern.
Bytes numbered(std::uint32_t number, std::size_t size) {
  Bytes bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(number * 31 + i);
  if (size >= sizeof number) std::memcpy(bytes.data(), &number, sizeof number);
  return bytes;
}

}  // namespace

TEST_CASE("udp reactor: runs of equal-size datagrams arrive whole and in order, split where they change",
          "[transport]") {
  Collector a;
  Collector b;
  UdpReactor sender(kLoopback);
  sender.start([](std::span<const Datagram>) {});

  struct Planned {
    Collector* to;
    std::size_t size;
    std::size_t count;
  };
  // Runs of one size, a shorter one ending a run, a change of destination,
  // a run longer than a GSO message takes (64), and an empty datagram after
  // a run (which a GSO message would lose).
  const std::vector<Planned> plan = {{&a, 1000, 20}, {&a, 300, 1}, {&b, 1000, 5}, {&a, 2000, 3},
                                     {&a, 100, 70},  {&a, 0, 1},   {&b, 8000, 7}, {&b, 7000, 1}};
  std::vector<Bytes> payloads;
  std::vector<Datagram> datagrams;
  std::vector<Bytes> expected_a;
  std::vector<Bytes> expected_b;
  std::uint32_t number = 0;
  for (const Planned& run : plan) {
    for (std::size_t i = 0; i < run.count; ++i) {
      payloads.push_back(numbered(number++, run.size));
      (run.to == &a ? expected_a : expected_b).push_back(payloads.back());
    }
  }
  std::size_t at = 0;
  for (const Planned& run : plan) {
    for (std::size_t i = 0; i < run.count; ++i, ++at)
      datagrams.push_back({payloads[at], run.to->reactor.local_address()});
  }

  CHECK(sender.send(datagrams) == datagrams.size());
  net::test::eventually([&] { return a.count() == expected_a.size() && b.count() == expected_b.size(); });
  CHECK(a.count() == expected_a.size());
  CHECK(b.count() == expected_b.size());
  std::lock_guard lock_a(a.mutex);
  std::lock_guard lock_b(b.mutex);
  CHECK(a.received == expected_a);
  CHECK(b.received == expected_b);
}

TEST_CASE("udp reactor: a run leaves as one GSO message and stays one to a GRO socket", "[transport]") {
  // A plain socket that takes coalesced runs shows what went on the wire.
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int on = 1;
  REQUIRE(setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0);

  UdpReactor sender(kLoopback);
  sender.start([](std::span<const Datagram>) {});
  std::vector<Bytes> payloads;
  std::vector<Datagram> datagrams;
  for (std::uint32_t i = 0; i < 10; ++i) payloads.push_back(numbered(i, i < 9 ? 1200 : 500));
  const SocketAddress to = SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&address), length);
  for (const Bytes& payload : payloads) datagrams.push_back({payload, to});
  REQUIRE(sender.send(datagrams) == datagrams.size());

  std::vector<std::uint8_t> buffer(65536);
  iovec vector{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const ssize_t received = recvmsg(fd, &message, 0);
  close(fd);
  REQUIRE(received == 9 * 1200 + 500);  // one receive: the whole run
  int segment = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
  }
  CHECK(segment == 1200);
  Bytes expected;
  for (const Bytes& payload : payloads) expected.insert(expected.end(), payload.begin(), payload.end());
  CHECK(Bytes(buffer.begin(), buffer.begin() + received) == expected);
}
