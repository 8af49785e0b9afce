// One UDP socket and the thread that serves it (Boost.Asio underneath):
// datagrams arrive in recvmmsg batches on that thread, timers and posted work
// run there too, and any thread may send batches with sendmmsg.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>

#include "net/core/bytes.hpp"
#include "net/transport/socket_address.hpp"

namespace net::transport {

struct Datagram {
  ByteView bytes;
  SocketAddress address;  ///< source on receive, destination on send
};

class UdpReactor {
 public:
  // Called on the reactor thread with each batch of received datagrams; the
  // bytes are valid only during the call.
  using ReceiveHandler = std::function<void(std::span<const Datagram>)>;

  // Binds the socket (errors: Error(Connection, "bind: ...")). Nothing runs until start().
  explicit UdpReactor(const SocketAddress& bind_address);
  ~UdpReactor();
  UdpReactor(const UdpReactor&) = delete;
  UdpReactor& operator=(const UdpReactor&) = delete;

  SocketAddress local_address() const;

  void start(ReceiveHandler on_receive);
  // Runs `tick` on the reactor thread every `interval` until stop().
  void every(std::chrono::nanoseconds interval, std::function<void()> tick);
  void post(std::function<void()> work);
  // Idempotent; joins the thread. Handlers never run after it returns.
  void stop();
  bool on_reactor_thread() const noexcept;

  // Sends every datagram (sendmmsg in batches), waiting briefly while the
  // socket buffer is full. Returns how many the kernel accepted; the first
  // failure stops the batch and leaves its errno in last_send_error().
  std::size_t send(std::span<const Datagram> datagrams) noexcept;
  int last_send_error() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace net::transport
