// Address parsing and printing with inet_pton/inet_ntop.
#include "net/transport/socket_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "net/core/error.hpp"
#include "net/core/hash.hpp"

namespace net::transport {
namespace {

[[noreturn]] void bad_syntax() { throw Error(ErrorKind::InvalidArgument, "invalid socket address syntax"); }

std::uint16_t parse_port(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > 0xFFFF) bad_syntax();
  return static_cast<std::uint16_t>(value);
}

}  // namespace

SocketAddress SocketAddress::parse(std::string_view text) {
  SocketAddress result;
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') bad_syntax();
    host.assign(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) != 1) bad_syntax();
    v6.sin6_port = htons(parse_port(port_text));
    std::memcpy(&result.storage_, &v6, sizeof v6);
    result.length_ = sizeof v6;
    return result;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) bad_syntax();
  host.assign(text.substr(0, colon));
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) != 1) bad_syntax();
  v4.sin_port = htons(parse_port(text.substr(colon + 1)));
  std::memcpy(&result.storage_, &v4, sizeof v4);
  result.length_ = sizeof v4;
  return result;
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr* address, socklen_t length) noexcept {
  SocketAddress result;
  if (length > sizeof result.storage_) length = sizeof result.storage_;
  std::memcpy(&result.storage_, address, length);
  result.length_ = length;
  return result;
}

std::uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

bool SocketAddress::is_loopback() const noexcept {
  if (family() == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr) >> 24) == 127;
  }
  if (family() == AF_INET6) {
    const auto& address = reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&address) != 0;
  }
  return false;
}

std::string SocketAddress::to_string() const {
  // Appended piece by piece: GCC 12's -Wrestrict misfires on chains of operator+ at -O3.
  char host[INET6_ADDRSTRLEN] = {};
  std::string text;
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, host, sizeof host);
    text.append(host);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, host, sizeof host);
    text.append("[").append(host).append("]");
  } else {
    return "<unbound>";
  }
  text.append(":").append(std::to_string(port()));
  return text;
}

bool SocketAddress::operator==(const SocketAddress& other) const noexcept {
  if (family() != other.family()) return false;
  if (family() == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage_);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (family() == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage_);
    return a->sin6_port == b->sin6_port && a->sin6_scope_id == b->sin6_scope_id &&
           std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
  }
  return length_ == other.length_;
}

std::size_t SocketAddress::hash() const noexcept {
  std::uint8_t key[18] = {};
  if (family() == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    std::memcpy(key, &a->sin_addr, 4);
    std::memcpy(key + 16, &a->sin_port, 2);
  } else if (family() == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    std::memcpy(key, &a->sin6_addr, 16);
    std::memcpy(key + 16, &a->sin6_port, 2);
  }
  return static_cast<std::size_t>(xxh3_64(key, sizeof key));
}

}  // namespace net::transport
