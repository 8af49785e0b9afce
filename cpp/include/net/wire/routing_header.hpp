// The 18-byte routing header in front of relayed datagrams (REFERENCE §3.3):
// magic "RT", ttl, hop_count, flags, reserved, src_id (u32), dest_id (u64).
#pragma once

#include <optional>

#include "net/core/bytes.hpp"

namespace net::wire {

inline constexpr std::uint16_t kRoutingMagic = 0x5452;  ///< wire bytes 52 54
inline constexpr std::size_t kRoutingHeaderSize = 18;
inline constexpr std::uint8_t kDefaultRouteTtl = 16;

struct RoutingHeader {
  std::uint8_t ttl = kDefaultRouteTtl;
  std::uint8_t hop_count = 0;
  std::uint8_t flags = 0;  ///< low nibble: CONTROL 1, REQUIRES_ACK 2, PRIORITY 4, END_OF_STREAM 8
  std::uint32_t src_id = 0;
  std::uint64_t dest_id = 0;

  void encode(std::uint8_t* out) const noexcept;  ///< writes kRoutingHeaderSize bytes
  static std::optional<RoutingHeader> decode(ByteView datagram) noexcept;

  // One hop: ttl - 1 and hop_count + 1 (saturating). False, changing nothing,
  // when the ttl is already 0: the datagram may still be delivered, not relayed.
  bool forward() noexcept;
};

}  // namespace net::wire
