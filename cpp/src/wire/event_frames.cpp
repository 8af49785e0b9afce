// Event frames.
#include "net/wire/event_frames.hpp"

#include <cstring>

namespace net::wire {

std::uint8_t* write_frame(std::uint8_t* out, ByteView event) noexcept {
  store_le(out, static_cast<std::uint32_t>(event.size()));
  if (!event.empty()) std::memcpy(out + kFrameOverhead, event.data(), event.size());
  return out + framed_size(event.size());
}

void append_frame(Bytes& out, ByteView event) {
  std::uint8_t length[kFrameOverhead];
  store_le(length, static_cast<std::uint32_t>(event.size()));
  out.insert(out.end(), length, length + kFrameOverhead);  // no zero-fill first, as resize would do
  out.insert(out.end(), event.begin(), event.end());
}

std::vector<ByteView> read_frames(ByteView payload, std::size_t event_count) {
  std::vector<ByteView> events;
  std::size_t at = 0;
  while (events.size() < event_count && payload.size() - at >= kFrameOverhead) {
    const std::size_t size = load_le<std::uint32_t>(payload.data() + at);
    at += kFrameOverhead;
    if (payload.size() - at < size) break;
    events.push_back(payload.subspan(at, size));
    at += size;
  }
  return events;
}

}  // namespace net::wire
