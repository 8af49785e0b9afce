// Event framing inside a packet payload: [u32 LE length][bytes] per event
// (REFERENCE §2.5). Readers stop at event_count or at the first truncated frame.
#pragma once

#include <string_view>
#include <vector>

#include "net/core/bytes.hpp"

namespace net::wire {

inline constexpr std::size_t kFrameOverhead = 4;

inline std::size_t framed_size(std::size_t event_size) noexcept { return kFrameOverhead + event_size; }

// Appends one frame to `out`.
void append_frame(Bytes& out, ByteView event);

// Writes one frame at `out` (framed_size(event.size()) bytes); returns the end.
std::uint8_t* write_frame(std::uint8_t* out, ByteView event) noexcept;

// Up to `event_count` events, as views into `payload`.
std::vector<ByteView> read_frames(ByteView payload, std::size_t event_count);

}  // namespace net::wire
