// The 72-byte plaintext pingwave a node sends each peer every heartbeat tick
// and peers forward within its ttl (REFERENCE §3.6): distance-vector routing
// and discovery.
#pragma once

#include <optional>

#include "net/core/bytes.hpp"

namespace net::wire {

inline constexpr std::size_t kPingwaveSize = 72;
inline constexpr std::uint8_t kDefaultPingwaveTtl = 3;

enum class Health : std::uint8_t { Healthy = 0, Degraded = 1, Unhealthy = 2, Unknown = 3 };

struct Pingwave {
  std::uint64_t origin_node_id = 0;  ///< bytes 0..8 of the 32-byte origin id; the rest are zero
  std::uint64_t seq = 0;
  std::uint8_t ttl = kDefaultPingwaveTtl;
  std::uint8_t hop_count = 0;
  std::uint64_t origin_timestamp_us = 0;  ///< wall clock, µs since the Unix epoch
  std::uint64_t capability_hash = 0;
  std::uint32_t capability_version = 0;
  std::uint8_t load_level = 0;
  Health health = Health::Healthy;
  std::uint8_t gpu = 0;
  std::uint8_t model_slots = 0;
  std::uint8_t memory_tier = 0;
  std::uint8_t tools_bitmap = 0;
  std::uint32_t capability_flags = 0;

  std::array<std::uint8_t, kPingwaveSize> encode() const noexcept;
  // Exactly 72 bytes with a health byte of 0..3.
  static std::optional<Pingwave> decode(ByteView datagram) noexcept;
};

}  // namespace net::wire
