// bench/udp_ceiling: the raw ceiling of an encrypted stream on this machine,
// for bench/mesh.py: one thread seals full 8192-byte datagrams with
// ChaCha20-Poly1305 (libsodium) and sends them with sendmmsg on loopback, one
// thread receives them with recvmmsg and opens them. Prints
// {"ev_per_s": ...} for framed events of the size given (argv[1], with their 4-byte frame).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "net/core/bytes.hpp"
#include "net/crypto/aead.hpp"
#include "net/wire/packet_header.hpp"

namespace {

constexpr std::size_t kDatagram = net::wire::kMaxPacketSize;
constexpr std::size_t kPayload = net::wire::kMaxPayloadSize;
constexpr std::size_t kBatch = 32;
constexpr auto kDuration = std::chrono::seconds(1);

int bound_socket(sockaddr_in& address) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int buffer = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
  address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t framed = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 124;
  const std::size_t events_per_packet = kPayload / (framed ? framed : 1);
  const net::Key32 key = net::random_key32();
  sockaddr_in receiver_address, sender_address;
  const int receiver = bound_socket(receiver_address);
  const int sender = bound_socket(sender_address);
  timeval poll_timeout{0, 100'000};
  setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &poll_timeout, sizeof poll_timeout);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> opened{0};

  std::thread receiving([&] {
    std::vector<std::uint8_t> buffers(kBatch * kDatagram), plain(kPayload);
    std::array<mmsghdr, kBatch> headers{};
    std::array<iovec, kBatch> vectors{};
    std::uint64_t count = 0;
    while (!stop) {
      for (std::size_t i = 0; i < kBatch; ++i) {
        vectors[i] = {buffers.data() + i * kDatagram, kDatagram};
        headers[i].msg_hdr = {};
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
      }
      const int received = recvmmsg(receiver, headers.data(), kBatch, MSG_WAITFORONE, nullptr);
      for (int i = 0; i < received; ++i) {
        const std::uint8_t* datagram = buffers.data() + i * kDatagram;
        net::crypto::Nonce nonce{};
        std::copy_n(datagram + 12, nonce.size(), nonce.begin());
        if (net::crypto::open(key, nonce, {datagram, net::wire::kAadSize}, {datagram + 64, kPayload},
                              datagram + 64 + kPayload, plain.data())) {
          ++count;
        }
      }
      opened = count;
    }
  });

  std::vector<std::uint8_t> packets(kBatch * kDatagram, 0x42);
  std::array<mmsghdr, kBatch> headers{};
  std::array<iovec, kBatch> vectors{};
  std::uint64_t counter = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < kDuration) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      std::uint8_t* datagram = packets.data() + i * kDatagram;
      net::crypto::Nonce nonce{};
      net::store_le(nonce.data() + 4, counter++);
      std::copy(nonce.begin(), nonce.end(), datagram + 12);
      net::crypto::seal(key, nonce, {datagram, net::wire::kAadSize}, {datagram + 64, kPayload}, datagram + 64,
                        datagram + 64 + kPayload);
      vectors[i] = {datagram, kDatagram};
      headers[i].msg_hdr = {};
      headers[i].msg_hdr.msg_iov = &vectors[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_name = &receiver_address;
      headers[i].msg_hdr.msg_namelen = sizeof receiver_address;
    }
    sendmmsg(sender, headers.data(), kBatch, 0);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  receiving.join();
  ::close(sender);
  ::close(receiver);
  std::printf("{\"ev_per_s\": %.0f, \"packets_opened\": %llu}\n",
              static_cast<double>(opened.load()) * static_cast<double>(events_per_packet) / seconds,
              static_cast<unsigned long long>(opened.load()));
  return 0;
}
