// Routing header layout.
#include "net/wire/routing_header.hpp"

namespace net::wire {

void RoutingHeader::encode(std::uint8_t* out) const noexcept {
  store_le(out, kRoutingMagic);
  out[2] = ttl;
  out[3] = hop_count;
  out[4] = flags & 0x0F;
  out[5] = 0;
  store_le(out + 6, src_id);
  store_le(out + 10, dest_id);
}

std::optional<RoutingHeader> RoutingHeader::decode(ByteView datagram) noexcept {
  if (datagram.size() < kRoutingHeaderSize || load_le<std::uint16_t>(datagram.data()) != kRoutingMagic) {
    return std::nullopt;
  }
  const std::uint8_t* in = datagram.data();
  RoutingHeader h;
  h.ttl = in[2];
  h.hop_count = in[3];
  h.flags = in[4] & 0x0F;
  h.src_id = load_le<std::uint32_t>(in + 6);
  h.dest_id = load_le<std::uint64_t>(in + 10);
  return h;
}

bool RoutingHeader::forward() noexcept {
  if (ttl == 0) return false;
  --ttl;
  if (hop_count < 0xFF) ++hop_count;
  return true;
}

}  // namespace net::wire
