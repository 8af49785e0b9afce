// An IPv4 or IPv6 UDP address as the API spells it ("ip:port", "[v6]:port"),
// hashable so sessions and pacers can be keyed by the sender's address.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace net::transport {

class SocketAddress {
 public:
  SocketAddress() = default;

  // "ip:port"; throws Error(InvalidArgument, "invalid socket address syntax") otherwise.
  static SocketAddress parse(std::string_view text);
  static SocketAddress from_sockaddr(const sockaddr* address, socklen_t length) noexcept;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return length_; }
  int family() const noexcept { return storage_.ss_family; }
  std::uint16_t port() const noexcept;
  bool is_loopback() const noexcept;
  bool empty() const noexcept { return length_ == 0; }
  std::string to_string() const;

  bool operator==(const SocketAddress& other) const noexcept;
  std::size_t hash() const noexcept;

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

struct SocketAddressHash {
  std::size_t operator()(const SocketAddress& address) const noexcept { return address.hash(); }
};

}  // namespace net::transport
