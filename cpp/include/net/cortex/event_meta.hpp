// The 24-byte EventMeta that starts every CortEX event (and nRPC frame),
// little-endian: dispatch u8, flags u8, 2 bytes zero, origin_hash u64,
// seq_or_ts u64, checksum u32 (REFERENCE §9.2, §11.2). CortEX checksums
// are v2, (u32) xxh3_64(meta with the checksum zeroed ‖ tail); readers also
// accept the legacy v1, (u32) xxh3_64(tail).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/core/bytes.hpp"

namespace net::cortex {

inline constexpr std::size_t kEventMetaSize = 24;

struct EventMeta {
  std::uint8_t dispatch = 0;
  std::uint8_t flags = 0;
  std::uint64_t origin_hash = 0;
  std::uint64_t seq_or_ts = 0;
};

// Starts an event in `out`: room for the meta, then the caller writes the tail.
void begin_event(Bytes& out);

// Fills in the meta of an event begun with begin_event, with a v2 checksum.
void seal_event(Bytes& event, const EventMeta& meta);

struct OpenedEvent {
  EventMeta meta;
  ByteView tail;
};

// Parses an event and checks its checksum (v2, else v1); Error(Cortex,
// "short event" | "checksum mismatch") otherwise.
OpenedEvent open_event(ByteView event);

}  // namespace net::cortex
