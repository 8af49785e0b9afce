// The 64-byte Net packet header (REFERENCE §2.4, integers little-endian) and
// the 52 bytes of it that packets authenticate: the header without the nonce
// and without hop_count, which relays rewrite.
#pragma once

#include <optional>

#include "net/core/bytes.hpp"

namespace net::wire {

inline constexpr std::uint16_t kPacketMagic = 0x4E45;  ///< wire bytes 45 4E
inline constexpr std::uint8_t kPacketVersion = 1;
inline constexpr std::size_t kHeaderSize = 64;
inline constexpr std::size_t kAadSize = 52;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kMaxPacketSize = 8192;  ///< the original's receive buffer
inline constexpr std::size_t kMaxPayloadSize = kMaxPacketSize - kHeaderSize - kTagSize;  // 8112
inline constexpr std::size_t kMaxEventsPerPacket = kMaxPayloadSize / 4;                  // 2028

namespace flags {
inline constexpr std::uint8_t kReliable = 0x01;
inline constexpr std::uint8_t kNack = 0x02;
inline constexpr std::uint8_t kPriority = 0x04;
inline constexpr std::uint8_t kFin = 0x08;
inline constexpr std::uint8_t kHandshake = 0x10;
inline constexpr std::uint8_t kHeartbeat = 0x20;
}  // namespace flags

// frag_flags: ours, for events larger than one packet. Each piece is a packet
// with event_count 0 (so the original's nodes deliver nothing from it),
// fragment_id naming the event and fragment_offset the piece's index.
namespace frag {
inline constexpr std::uint8_t kFragment = 0x01;
inline constexpr std::uint8_t kLastFragment = 0x02;
}  // namespace frag

namespace subprotocol {
inline constexpr std::uint16_t kEvents = 0x0000;
inline constexpr std::uint16_t kMigration = 0x0500;
inline constexpr std::uint16_t kMembership = 0x0A00;
inline constexpr std::uint16_t kStreamWindow = 0x0B00;
inline constexpr std::uint16_t kCapabilities = 0x0C00;
inline constexpr std::uint16_t kReflex = 0x0D00;
inline constexpr std::uint16_t kRendezvous = 0x0D01;
}  // namespace subprotocol

// Stream id that StreamWindow grants ride (u64::MAX), unlike other control messages.
inline constexpr std::uint64_t kGrantStreamId = ~std::uint64_t{0};

struct PacketHeader {
  std::uint8_t flags = 0;
  std::uint8_t priority = 0;
  std::uint8_t hop_ttl = 0;
  std::uint8_t hop_count = 0;
  std::uint8_t frag_flags = 0;
  std::uint16_t subprotocol_id = 0;
  std::uint16_t channel_hash = 0;
  std::array<std::uint8_t, 12> nonce{};
  std::uint64_t session_id = 0;
  std::uint64_t stream_id = 0;
  std::uint64_t sequence = 0;
  std::uint32_t subnet_id = 0;
  std::uint32_t origin_hash = 0;
  std::uint16_t fragment_id = 0;
  std::uint16_t fragment_offset = 0;
  std::uint16_t payload_len = 0;  ///< plaintext length
  std::uint16_t event_count = 0;

  bool has(std::uint8_t flag) const noexcept { return (flags & flag) != 0; }
  std::uint64_t counter() const noexcept { return load_le<std::uint64_t>(nonce.data() + 4); }

  void encode(std::uint8_t* out) const noexcept;  ///< writes kHeaderSize bytes
  std::array<std::uint8_t, kAadSize> aad() const noexcept;

  // The header of a datagram: magic, version 1, payload_len <= 8112,
  // event_count <= 2028, and for packets other than handshakes and heartbeats
  // the datagram must hold exactly payload_len + 16 bytes after the header.
  static std::optional<PacketHeader> decode(ByteView datagram) noexcept;
};

// AAD straight from the bytes of an encoded header (byte 6 zeroed, nonce dropped).
std::array<std::uint8_t, kAadSize> packet_aad(const std::uint8_t* header) noexcept;

}  // namespace net::wire
