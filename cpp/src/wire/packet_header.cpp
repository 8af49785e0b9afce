// Packet header layout, field by field (offsets in REFERENCE §2.4).
#include "net/wire/packet_header.hpp"

#include <algorithm>

namespace net::wire {

void PacketHeader::encode(std::uint8_t* out) const noexcept {
  store_le(out + 0, kPacketMagic);
  out[2] = kPacketVersion;
  out[3] = flags;
  out[4] = priority;
  out[5] = hop_ttl;
  out[6] = hop_count;
  out[7] = frag_flags;
  store_le(out + 8, subprotocol_id);
  store_le(out + 10, channel_hash);
  std::copy(nonce.begin(), nonce.end(), out + 12);
  store_le(out + 24, session_id);
  store_le(out + 32, stream_id);
  store_le(out + 40, sequence);
  store_le(out + 48, subnet_id);
  store_le(out + 52, origin_hash);
  store_le(out + 56, fragment_id);
  store_le(out + 58, fragment_offset);
  store_le(out + 60, payload_len);
  store_le(out + 62, event_count);
}

std::array<std::uint8_t, kAadSize> packet_aad(const std::uint8_t* header) noexcept {
  std::array<std::uint8_t, kAadSize> aad;
  std::copy_n(header, 12, aad.begin());
  aad[6] = 0;
  std::copy_n(header + 24, kHeaderSize - 24, aad.begin() + 12);
  return aad;
}

std::array<std::uint8_t, kAadSize> PacketHeader::aad() const noexcept {
  std::array<std::uint8_t, kHeaderSize> bytes;
  encode(bytes.data());
  return packet_aad(bytes.data());
}

std::optional<PacketHeader> PacketHeader::decode(ByteView datagram) noexcept {
  if (datagram.size() < kHeaderSize) return std::nullopt;
  const std::uint8_t* in = datagram.data();
  if (load_le<std::uint16_t>(in) != kPacketMagic || in[2] != kPacketVersion) return std::nullopt;
  PacketHeader h;
  h.flags = in[3];
  h.priority = in[4];
  h.hop_ttl = in[5];
  h.hop_count = in[6];
  h.frag_flags = in[7];
  h.subprotocol_id = load_le<std::uint16_t>(in + 8);
  h.channel_hash = load_le<std::uint16_t>(in + 10);
  std::copy_n(in + 12, h.nonce.size(), h.nonce.begin());
  h.session_id = load_le<std::uint64_t>(in + 24);
  h.stream_id = load_le<std::uint64_t>(in + 32);
  h.sequence = load_le<std::uint64_t>(in + 40);
  h.subnet_id = load_le<std::uint32_t>(in + 48);
  h.origin_hash = load_le<std::uint32_t>(in + 52);
  h.fragment_id = load_le<std::uint16_t>(in + 56);
  h.fragment_offset = load_le<std::uint16_t>(in + 58);
  h.payload_len = load_le<std::uint16_t>(in + 60);
  h.event_count = load_le<std::uint16_t>(in + 62);
  if (h.payload_len > kMaxPayloadSize || h.event_count > kMaxEventsPerPacket) return std::nullopt;
  if (!h.has(flags::kHandshake) && !h.has(flags::kHeartbeat) &&
      datagram.size() - kHeaderSize != std::size_t{h.payload_len} + kTagSize) {
    return std::nullopt;
  }
  return h;
}

}  // namespace net::wire
