// The only translation unit that includes Boost.Asio: an io_context on one
// thread, a non-blocking UDP socket drained with recvmmsg when readable, and
// steady timers. Runs of equal-size datagrams to one destination leave in
// one UDP GSO message, and the socket takes GRO-coalesced runs (split here):
// on loopback the kernel then moves a run as one buffer, 3.5-4x the bytes
// per CPU second of one datagram at a time (8 KiB datagrams, this VM).
#include <utility>  // before Boost.Asio in C++20 (TOOLCHAIN.md)

#include "net/transport/udp_reactor.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <optional>
#include <thread>
#include <vector>

#include "net/core/error.hpp"

namespace asio = boost::asio;

namespace net::transport {
namespace {

constexpr std::size_t kReceiveBatch = 64;
constexpr std::size_t kReceiveBufferSize = 65536;  ///< larger datagrams are truncated and dropped
constexpr int kSocketBufferBytes = 8 << 20;
constexpr int kSendWaitMs = 50;
constexpr std::size_t kSendBatch = 64;        ///< messages per sendmmsg
constexpr std::size_t kSendDatagrams = 256;   ///< datagrams per sendmmsg
constexpr std::size_t kMaxGsoSegments = 64;   ///< the kernel's UDP_MAX_SEGMENTS
constexpr std::size_t kMaxGsoBytes = 65'000;  ///< a GSO message's payload: one IP packet, under 64 KiB

struct alignas(cmsghdr) SegmentControl {
  char bytes[CMSG_SPACE(sizeof(std::uint16_t))];
};

// The segment size of a GRO-coalesced run (a UDP_GRO control message), or 0.
std::size_t gro_segment_size(msghdr& header) {
  for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr; control = CMSG_NXTHDR(&header, control)) {
    if (control->cmsg_level == SOL_UDP && control->cmsg_type == UDP_GRO) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(control), sizeof size);
      return size > 0 ? static_cast<std::size_t>(size) : 0;
    }
  }
  return 0;
}

// How many datagrams from `first` on can leave as one GSO message: same
// destination, each the size of the first but the last, which may be
// shorter (not empty: it would vanish in the run); limited to segments of at
// most `max_segment` bytes.
std::size_t gso_run(std::span<const Datagram> datagrams, std::size_t first, std::size_t max_segment) {
  const std::size_t segment = datagrams[first].bytes.size();
  if (segment == 0 || segment > max_segment) return 1;
  std::size_t count = 1;
  std::size_t bytes = segment;
  while (first + count < datagrams.size() && count < kMaxGsoSegments) {
    const Datagram& next = datagrams[first + count];
    if (next.bytes.empty() || next.bytes.size() > segment || bytes + next.bytes.size() > kMaxGsoBytes ||
        !(next.address == datagrams[first].address)) {
      break;
    }
    bytes += next.bytes.size();
    ++count;
    if (next.bytes.size() < segment) break;  // a short one ends the run
  }
  return count;
}

// Makes `header` send `run` (one destination) as one message: with a
// UDP_SEGMENT control when it holds more than one datagram.
void fill_message(msghdr& header, std::span<const Datagram> run, iovec* vectors, SegmentControl& control) {
  header = {};
  for (std::size_t i = 0; i < run.size(); ++i) {
    vectors[i] = {const_cast<std::uint8_t*>(run[i].bytes.data()), run[i].bytes.size()};
  }
  header.msg_iov = vectors;
  header.msg_iovlen = run.size();
  header.msg_name = const_cast<sockaddr*>(run.front().address.data());
  header.msg_namelen = run.front().address.size();
  if (run.size() == 1) return;
  header.msg_control = control.bytes;
  header.msg_controllen = sizeof control.bytes;
  cmsghdr* segment = CMSG_FIRSTHDR(&header);
  segment->cmsg_level = SOL_UDP;
  segment->cmsg_type = UDP_SEGMENT;
  segment->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const auto size = static_cast<std::uint16_t>(run.front().bytes.size());
  std::memcpy(CMSG_DATA(segment), &size, sizeof size);
}

}  // namespace

struct UdpReactor::Impl {
  asio::io_context io;
  asio::ip::udp::socket socket{io};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::list<asio::steady_timer> timers;  ///< touched only on the reactor thread
  ReceiveHandler on_receive;
  std::thread thread;
  std::atomic<std::thread::id> thread_id{};
  std::atomic<bool> stopped{false};
  std::atomic<int> send_error{0};

  // Receive buffers, used only on the reactor thread.
  std::vector<std::uint8_t> buffers = std::vector<std::uint8_t>(kReceiveBatch * kReceiveBufferSize);
  std::array<mmsghdr, kReceiveBatch> headers{};
  std::array<iovec, kReceiveBatch> vectors{};
  std::array<sockaddr_storage, kReceiveBatch> sources{};
  struct alignas(cmsghdr) Control {
    char bytes[CMSG_SPACE(sizeof(int))];
  };
  std::array<Control, kReceiveBatch> controls{};
  std::vector<Datagram> batch;

  // Segments of at least this size are not sent with GSO: a path refused
  // them. Any thread; only ever lowered.
  std::atomic<std::size_t> gso_refused_from{SIZE_MAX};

  void refuse_gso_from(std::size_t size) noexcept {
    std::size_t current = gso_refused_from.load(std::memory_order_relaxed);
    while (size < current && !gso_refused_from.compare_exchange_weak(current, size, std::memory_order_relaxed)) {
    }
  }

  void arm_receive() {
    socket.async_wait(asio::ip::udp::socket::wait_read, [this](const boost::system::error_code& error) {
      if (error) return;  // cancelled by stop()
      drain();
      arm_receive();
    });
  }

  void drain() {
    const int fd = socket.native_handle();
    for (int round = 0; round < 16; ++round) {  // then yield to timers and posted work
      for (std::size_t i = 0; i < kReceiveBatch; ++i) {
        vectors[i] = {buffers.data() + i * kReceiveBufferSize, kReceiveBufferSize};
        headers[i].msg_hdr = {};
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_name = &sources[i];
        headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        headers[i].msg_hdr.msg_control = controls[i].bytes;
        headers[i].msg_hdr.msg_controllen = sizeof controls[i].bytes;
      }
      const int received = recvmmsg(fd, headers.data(), kReceiveBatch, MSG_DONTWAIT, nullptr);
      if (received <= 0) return;
      batch.clear();
      for (int i = 0; i < received; ++i) {
        msghdr& header = headers[i].msg_hdr;
        if (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) continue;  // cut short, or its run's segment size lost
        const SocketAddress source =
            SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&sources[i]), header.msg_namelen);
        const std::uint8_t* bytes = buffers.data() + i * kReceiveBufferSize;
        const std::size_t length = headers[i].msg_len;
        const std::size_t segment = gro_segment_size(header);
        if (segment == 0) {
          batch.push_back({ByteView(bytes, length), source});
          continue;
        }
        for (std::size_t at = 0; at < length; at += segment) {  // a GRO run: its datagrams
          batch.push_back({ByteView(bytes + at, std::min(segment, length - at)), source});
        }
      }
      if (!batch.empty()) on_receive(batch);
      if (static_cast<std::size_t>(received) < kReceiveBatch) return;
    }
  }

  void arm_timer(asio::steady_timer& timer, std::chrono::nanoseconds interval, std::function<void()> tick) {
    timer.expires_after(interval);
    timer.async_wait([this, &timer, interval, tick = std::move(tick)](const boost::system::error_code& error) {
      if (error) return;
      tick();
      arm_timer(timer, interval, tick);
    });
  }
};

UdpReactor::UdpReactor(const SocketAddress& bind_address) : impl_(std::make_unique<Impl>()) {
  boost::system::error_code error;
  const auto protocol = bind_address.family() == AF_INET6 ? asio::ip::udp::v6() : asio::ip::udp::v4();
  impl_->socket.open(protocol, error);
  if (!error) {
    const int fd = impl_->socket.native_handle();
    for (const int option : {SO_RCVBUFFORCE, SO_SNDBUFFORCE}) {
      if (setsockopt(fd, SOL_SOCKET, option, &kSocketBufferBytes, sizeof kSocketBufferBytes) != 0) {
        const int fallback = option == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF;
        setsockopt(fd, SOL_SOCKET, fallback, &kSocketBufferBytes, sizeof kSocketBufferBytes);
      }
    }
    const int on = 1;
    setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);  // without it (old kernels) datagrams come one by one
    // Before Linux 4.18 a UDP_SEGMENT control message is ignored, and a run
    // would leave as one datagram of their joined bytes: no GSO there.
    const int no_segment = 0;
    if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &no_segment, sizeof no_segment) != 0) impl_->refuse_gso_from(1);
    impl_->socket.non_blocking(true, error);
  }
  if (!error && ::bind(impl_->socket.native_handle(), bind_address.data(), bind_address.size()) != 0) {
    error.assign(errno, boost::system::system_category());
  }
  if (error) throw Error(ErrorKind::Connection, "bind " + bind_address.to_string() + ": " + error.message());
}

UdpReactor::~UdpReactor() { stop(); }

SocketAddress UdpReactor::local_address() const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  getsockname(impl_->socket.native_handle(), reinterpret_cast<sockaddr*>(&address), &length);
  return SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&address), length);
}

void UdpReactor::start(ReceiveHandler on_receive) {
  impl_->on_receive = std::move(on_receive);
  impl_->arm_receive();
  impl_->thread = std::thread([impl = impl_.get()] {
    impl->thread_id = std::this_thread::get_id();
    impl->io.run();
  });
}

void UdpReactor::every(std::chrono::nanoseconds interval, std::function<void()> tick) {
  asio::post(impl_->io, [impl = impl_.get(), interval, tick = std::move(tick)]() mutable {
    auto& timer = impl->timers.emplace_back(impl->io);
    impl->arm_timer(timer, interval, std::move(tick));
  });
}

void UdpReactor::post(std::function<void()> work) { asio::post(impl_->io, std::move(work)); }

void UdpReactor::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
}

bool UdpReactor::on_reactor_thread() const noexcept { return impl_->thread_id.load() == std::this_thread::get_id(); }

std::size_t UdpReactor::send(std::span<const Datagram> datagrams) noexcept {
  std::array<mmsghdr, kSendBatch> headers{};
  std::array<std::size_t, kSendBatch> counts{};  ///< datagrams per message
  std::array<SegmentControl, kSendBatch> controls{};
  std::array<iovec, kSendDatagrams> vectors{};
  const int fd = impl_->socket.native_handle();
  std::size_t sent = 0;
  std::optional<std::chrono::steady_clock::time_point> give_up;  ///< set by the first wait without progress
  while (sent < datagrams.size()) {
    const std::size_t max_segment = impl_->gso_refused_from.load(std::memory_order_relaxed) - 1;
    std::size_t messages = 0;
    std::size_t used = 0;  ///< of vectors
    for (std::size_t next = sent; messages < kSendBatch && next < datagrams.size() && used < vectors.size();) {
      const std::size_t count = std::min(gso_run(datagrams, next, max_segment), vectors.size() - used);
      fill_message(headers[messages].msg_hdr, datagrams.subspan(next, count), &vectors[used], controls[messages]);
      counts[messages++] = count;
      next += count;
      used += count;
    }
    const int accepted = sendmmsg(fd, headers.data(), static_cast<unsigned>(messages), MSG_DONTWAIT);
    const int error = errno;
    if (accepted > 0) {
      for (int i = 0; i < accepted; ++i) sent += counts[i];
      give_up.reset();
      continue;
    }
    // The path refused this GSO run (a segment over its MTU: EMSGSIZE or
    // EINVAL; no checksum offload: EIO): send it, and like ones, plainly.
    if ((error == EMSGSIZE || error == EINVAL || error == EIO) && counts[0] > 1) {
      impl_->refuse_gso_from(datagrams[sent].bytes.size());
      continue;
    }
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      // Wait for room, kSendWaitMs at most without progress. ENOBUFS comes
      // from the device's queue, not the socket's buffer: poll() would say
      // writable at once, so it waits a millisecond instead of spinning.
      const auto now = std::chrono::steady_clock::now();
      if (!give_up) give_up = now + std::chrono::milliseconds(kSendWaitMs);
      if (now < *give_up) {
        if (error == ENOBUFS) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        pollfd writable{fd, POLLOUT, 0};
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*give_up - now).count();
        if (::poll(&writable, 1, static_cast<int>(left)) > 0) continue;
      }
    }
    impl_->send_error = error;
    break;
  }
  return sent;
}

int UdpReactor::last_send_error() const noexcept { return impl_->send_error.load(); }

}  // namespace net::transport
