#include "net/cortex/event_meta.hpp"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <array>

#include "net/core/error.hpp"
#include "net/core/hash.hpp"

namespace net::cortex {
namespace {

constexpr std::size_t kChecksumAt = 20;
constexpr std::size_t kCopiedEvent = 256;  ///< events up to this size are checksummed from a copy in one call

// v2: over the meta with its checksum zeroed, then the tail. A small event
// is copied so that one call hashes it (the streaming state costs more).
std::uint32_t checksum_v2(const std::uint8_t* meta, ByteView tail) {
  if (kEventMetaSize + tail.size() <= kCopiedEvent) {
    std::array<std::uint8_t, kCopiedEvent> copy;  // only its first kEventMetaSize + tail bytes are written and read
    std::copy_n(meta, kChecksumAt, copy.begin());
    std::fill_n(copy.begin() + kChecksumAt, kEventMetaSize - kChecksumAt, 0);
    std::copy(tail.begin(), tail.end(), copy.begin() + kEventMetaSize);
    return static_cast<std::uint32_t>(xxh3_64(copy.data(), kEventMetaSize + tail.size()));
  }
  std::array<std::uint8_t, kEventMetaSize> zeroed{};
  std::copy_n(meta, kChecksumAt, zeroed.begin());
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, zeroed.data(), zeroed.size());
  XXH3_64bits_update(&state, tail.data(), tail.size());
  return static_cast<std::uint32_t>(XXH3_64bits_digest(&state));
}

}  // namespace

void begin_event(Bytes& out) { out.assign(kEventMetaSize, 0); }

void seal_event(Bytes& event, const EventMeta& meta) {
  std::uint8_t* p = event.data();
  p[0] = meta.dispatch;
  p[1] = meta.flags;
  p[2] = p[3] = 0;
  store_le<std::uint64_t>(p + 4, meta.origin_hash);
  store_le<std::uint64_t>(p + 12, meta.seq_or_ts);
  store_le<std::uint32_t>(p + kChecksumAt, 0);
  // The zeroed checksum field makes the whole buffer the v2 input.
  store_le<std::uint32_t>(p + kChecksumAt, static_cast<std::uint32_t>(xxh3_64(p, event.size())));
}

OpenedEvent open_event(ByteView event) {
  if (event.size() < kEventMetaSize) throw Error(ErrorKind::Cortex, "short event");
  const std::uint8_t* p = event.data();
  const ByteView tail = event.subspan(kEventMetaSize);
  const auto checksum = load_le<std::uint32_t>(p + kChecksumAt);
  if (checksum != checksum_v2(p, tail) && checksum != static_cast<std::uint32_t>(xxh3_64(tail.data(), tail.size()))) {
    throw Error(ErrorKind::Cortex, "checksum mismatch");
  }
  return {{p[0], p[1], load_le<std::uint64_t>(p + 4), load_le<std::uint64_t>(p + 12)}, tail};
}

}  // namespace net::cortex
