// Ack layout: next_expected u64 LE, missing_bitmap u64 LE, highest_received u64 LE.
#include "net/wire/reliability_ack.hpp"

namespace net::wire {

std::array<std::uint8_t, kReliabilityAckSize> ReliabilityAck::encode() const noexcept {
  std::array<std::uint8_t, kReliabilityAckSize> out;
  store_le(out.data(), next_expected);
  store_le(out.data() + 8, missing_bitmap);
  store_le(out.data() + 16, highest_received);
  return out;
}

std::optional<ReliabilityAck> ReliabilityAck::decode(ByteView body) noexcept {
  if (body.size() != kReliabilityAckSize) return std::nullopt;
  ReliabilityAck ack{load_le<std::uint64_t>(body.data()), load_le<std::uint64_t>(body.data() + 8),
                     load_le<std::uint64_t>(body.data() + 16)};
  if (ack.highest_received != 0 && ack.highest_received < ack.next_expected) return std::nullopt;
  return ack;
}

}  // namespace net::wire
