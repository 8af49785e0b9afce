// Pingwave layout.
#include "net/wire/pingwave.hpp"

namespace net::wire {

std::array<std::uint8_t, kPingwaveSize> Pingwave::encode() const noexcept {
  std::array<std::uint8_t, kPingwaveSize> out{};
  std::uint8_t* p = out.data();
  store_le(p, origin_node_id);
  store_le(p + 32, seq);
  p[40] = ttl;
  p[41] = hop_count;
  store_le(p + 42, origin_timestamp_us);
  store_le(p + 50, capability_hash);
  store_le(p + 58, capability_version);
  p[62] = load_level;
  p[63] = static_cast<std::uint8_t>(health);
  p[64] = gpu;
  p[65] = model_slots;
  p[66] = memory_tier;
  p[67] = tools_bitmap;
  store_le(p + 68, capability_flags);
  return out;
}

std::optional<Pingwave> Pingwave::decode(ByteView datagram) noexcept {
  if (datagram.size() != kPingwaveSize || datagram[63] > static_cast<std::uint8_t>(Health::Unknown)) {
    return std::nullopt;
  }
  const std::uint8_t* p = datagram.data();
  Pingwave w;
  w.origin_node_id = load_le<std::uint64_t>(p);
  w.seq = load_le<std::uint64_t>(p + 32);
  w.ttl = p[40];
  w.hop_count = p[41];
  w.origin_timestamp_us = load_le<std::uint64_t>(p + 42);
  w.capability_hash = load_le<std::uint64_t>(p + 50);
  w.capability_version = load_le<std::uint32_t>(p + 58);
  w.load_level = p[62];
  w.health = static_cast<Health>(p[63]);
  w.gpu = p[64];
  w.model_slots = p[65];
  w.memory_tier = p[66];
  w.tools_bitmap = p[67];
  w.capability_flags = load_le<std::uint32_t>(p + 68);
  return w;
}

}  // namespace net::wire
