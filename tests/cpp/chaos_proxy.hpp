// A UDP proxy for tests that sits between two nodes and drops, duplicates,
// delays and reorders the datagrams it relays (seeded, so runs repeat).
// Node A talks to the proxy's address; the proxy relays to B and back.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "net/transport/socket_address.hpp"
#include "net/wire/packet_header.hpp"

namespace net::test {

struct ChaosSettings {
  double drop = 0.10;
  double duplicate = 0.05;
  std::chrono::microseconds max_delay{3000};  ///< each datagram waits a random 0..max_delay: reordering
};

class ChaosProxy {
 public:
  ChaosProxy(const transport::SocketAddress& target, ChaosSettings settings, unsigned seed = 1)
      : target_(target), settings_(settings), random_(seed) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    const auto any = transport::SocketAddress::parse("127.0.0.1:0");
    ::bind(fd_, any.data(), any.size());
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    address_ = transport::SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), length);
    thread_ = std::thread([this] { run(); });
  }
  ~ChaosProxy() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  const transport::SocketAddress& address() const { return address_; }
  // Drops everything while set: a network partition.
  void partition(bool on) { partitioned_ = on; }
  // Drops everything from the target back to the client while set.
  void block_return_path(bool on) { return_blocked_ = on; }
  // Drops the target's reliability acks (header flag NACK; the header is not
  // encrypted) while set: the target then looks like the original's nodes,
  // which receive, grant and send heartbeats but never ack.
  void block_acks(bool on) { acks_blocked_ = on; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t duplicated() const { return duplicated_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    std::vector<std::uint8_t> bytes;
    transport::SocketAddress to;
  };

  void schedule(const std::vector<std::uint8_t>& bytes, const transport::SocketAddress& to) {
    std::uniform_int_distribution<long> delay(0, settings_.max_delay.count());
    queue_.emplace(Clock::now() + std::chrono::microseconds(delay(random_)), Pending{bytes, to});
  }

  void run() {
    std::vector<std::uint8_t> buffer(65536);
    std::uniform_real_distribution<double> chance(0, 1);
    while (!stop_) {
      pollfd readable{fd_, POLLIN, 0};
      if (::poll(&readable, 1, queue_.empty() ? 5 : 0) > 0) {
        sockaddr_storage from{};
        socklen_t length = sizeof from;
        const auto size = ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &length);
        if (size > 0) {
          const auto source = transport::SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&from), length);
          if (!(source == target_)) client_ = source;
          const transport::SocketAddress to = source == target_ ? client_ : target_;
          const std::vector<std::uint8_t> bytes(buffer.begin(), buffer.begin() + size);
          const auto header = wire::PacketHeader::decode(ByteView(bytes.data(), bytes.size()));
          const bool ack = header && header->has(wire::flags::kNack);
          if (partitioned_ || (return_blocked_ && source == target_) || (acks_blocked_ && ack && source == target_) ||
              chance(random_) < settings_.drop) {
            ++dropped_;
          } else {
            schedule(bytes, to);
            if (chance(random_) < settings_.duplicate) {
              ++duplicated_;
              schedule(bytes, to);
            }
          }
        }
      }
      const auto now = Clock::now();
      while (!queue_.empty() && queue_.begin()->first <= now) {
        const Pending& next = queue_.begin()->second;
        ::sendto(fd_, next.bytes.data(), next.bytes.size(), 0, next.to.data(), next.to.size());
        queue_.erase(queue_.begin());
      }
    }
  }

  transport::SocketAddress target_, client_, address_;
  ChaosSettings settings_;
  std::mt19937 random_;
  int fd_ = -1;
  std::multimap<Clock::time_point, Pending> queue_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> partitioned_{false};
  std::atomic<bool> return_blocked_{false};
  std::atomic<bool> acks_blocked_{false};
  std::atomic<std::uint64_t> dropped_{0}, duplicated_{0};
  std::thread thread_;
};

}  // namespace net::test
