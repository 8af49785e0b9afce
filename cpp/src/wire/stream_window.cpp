// Grant layout: stream_id u64 LE, total_consumed u64 LE.
#include "net/wire/stream_window.hpp"

namespace net::wire {

std::array<std::uint8_t, kGrantSize> StreamWindowGrant::encode() const noexcept {
  std::array<std::uint8_t, kGrantSize> out;
  store_le(out.data(), stream_id);
  store_le(out.data() + 8, total_consumed);
  return out;
}

std::optional<StreamWindowGrant> StreamWindowGrant::decode(ByteView body) noexcept {
  if (body.size() != kGrantSize) return std::nullopt;
  return StreamWindowGrant{load_le<std::uint64_t>(body.data()), load_le<std::uint64_t>(body.data() + 8)};
}

}  // namespace net::wire
