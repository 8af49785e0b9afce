// Packet header: whatever decodes re-encodes to the same 64 bytes, satisfies
// the receiver's limits, and its AAD is the header minus nonce and hop_count.
#include <cstdlib>
#include <cstring>

#include "net/wire/packet_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::wire;
  const auto header = PacketHeader::decode({data, size});
  if (!header) return 0;
  std::uint8_t encoded[kHeaderSize];
  header->encode(encoded);
  if (std::memcmp(encoded, data, kHeaderSize) != 0) std::abort();
  if (header->payload_len > kMaxPayloadSize || header->event_count > kMaxEventsPerPacket) std::abort();
  const auto aad = header->aad();
  if (std::memcmp(aad.data(), data, 6) != 0 || aad[6] != 0 || std::memcmp(aad.data() + 12, data + 24, 40) != 0) {
    std::abort();
  }
  return 0;
}
