// Ours: the acknowledgement a receiver of a reliable stream sends back so the
// sender can free and retransmit packets (REFERENCE §2.8 reserves the NACK
// flag but the original never sends one). It rides an encrypted packet with
// flags NACK, the stream's id, event_count 0 (so the original's nodes deliver
// nothing from it) and this 24-byte body.
#pragma once

#include <optional>

#include "net/core/bytes.hpp"

namespace net::wire {

inline constexpr std::size_t kReliabilityAckSize = 24;

struct ReliabilityAck {
  std::uint64_t next_expected = 0;     ///< every sequence below it arrived
  std::uint64_t missing_bitmap = 0;    ///< bit i: next_expected + 1 + i has not arrived
  std::uint64_t highest_received = 0;  ///< highest sequence seen + 1; above next_expected means a gap

  bool has_gap() const noexcept { return highest_received > next_expected; }

  std::array<std::uint8_t, kReliabilityAckSize> encode() const noexcept;
  // Exactly 24 bytes with next_expected <= highest_received or highest_received == 0.
  static std::optional<ReliabilityAck> decode(ByteView body) noexcept;
};

}  // namespace net::wire
