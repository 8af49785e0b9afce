// The only translation unit that includes Boost.Asio: an io_context on one
// thread, a non-blocking UDP socket drained with recvmmsg when readable, and
// steady timers.
#include <utility>  // before Boost.Asio in C++20 (TOOLCHAIN.md)

#include "net/transport/udp_reactor.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <list>
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
  std::vector<Datagram> batch;

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
      }
      const int received = recvmmsg(fd, headers.data(), kReceiveBatch, MSG_DONTWAIT, nullptr);
      if (received <= 0) return;
      batch.clear();
      for (int i = 0; i < received; ++i) {
        if (headers[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
        batch.push_back({ByteView(buffers.data() + i * kReceiveBufferSize, headers[i].msg_len),
                         SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&sources[i]),
                                                      headers[i].msg_hdr.msg_namelen)});
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
  constexpr std::size_t kSendBatch = 64;
  std::array<mmsghdr, kSendBatch> headers{};
  std::array<iovec, kSendBatch> vectors{};
  const int fd = impl_->socket.native_handle();
  std::size_t sent = 0;
  while (sent < datagrams.size()) {
    const std::size_t count = std::min(kSendBatch, datagrams.size() - sent);
    for (std::size_t i = 0; i < count; ++i) {
      const Datagram& datagram = datagrams[sent + i];
      vectors[i] = {const_cast<std::uint8_t*>(datagram.bytes.data()), datagram.bytes.size()};
      headers[i].msg_hdr = {};
      headers[i].msg_hdr.msg_iov = &vectors[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_name = const_cast<sockaddr*>(datagram.address.data());
      headers[i].msg_hdr.msg_namelen = datagram.address.size();
    }
    const int accepted = sendmmsg(fd, headers.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
    if (accepted > 0) {
      sent += static_cast<std::size_t>(accepted);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      pollfd writable{fd, POLLOUT, 0};
      if (::poll(&writable, 1, kSendWaitMs) > 0) continue;
    }
    if (errno == EINTR) continue;
    impl_->send_error = errno;
    break;
  }
  return sent;
}

int UdpReactor::last_send_error() const noexcept { return impl_->send_error.load(); }

}  // namespace net::transport
