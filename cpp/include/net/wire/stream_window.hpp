// StreamWindow credit grant (subprotocol 0x0B00, REFERENCE §3.7): the
// receiver's cumulative consumed bytes of one stream, 16 bytes exactly.
#pragma once

#include <optional>

#include "net/core/bytes.hpp"

namespace net::wire {

inline constexpr std::size_t kGrantSize = 16;

struct StreamWindowGrant {
  std::uint64_t stream_id = 0;
  std::uint64_t total_consumed = 0;  ///< Σ (payload_len + 80) over accepted packets

  std::array<std::uint8_t, kGrantSize> encode() const noexcept;
  static std::optional<StreamWindowGrant> decode(ByteView body) noexcept;
};

}  // namespace net::wire
