// The value the original stores per event in Redis and JetStream (REFERENCE
// §14.2): {"r":<the raw event bytes verbatim>,"t":<insertion_ts>,"s":<shard>},
// no whitespace; and the dedup id each entry carries.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/bus/event.hpp"

namespace net::brokers {

void append_envelope(std::string& out, std::string_view raw, std::uint64_t insertion_ts, std::uint16_t shard_id);

struct Envelope {
  std::string_view verbatim;             ///< `r` as it appears in the parsed value, when in the exact form above
  std::optional<std::string> rewritten;  ///< `r` re-serialized, for other JSON objects
  std::uint64_t insertion_ts = 0;
  std::uint16_t shard_id = 0;

  std::string_view raw() const { return rewritten ? std::string_view(*rewritten) : verbatim; }
};

// nullopt when the value is not a JSON object with an "r" member ("t" and "s"
// default to 0, as the original reads them).
std::optional<Envelope> parse_envelope(std::string_view value);

// The event an envelope carries, its bytes kept alive by `owner` (what the
// envelope was read from) or, when `r` was re-serialized, by a string of its own.
bus::StoredEvent stored_event(Envelope envelope, std::shared_ptr<const void> owner, std::uint64_t sequence,
                              std::uint64_t minor, bus::StoredEvent::IdForm id_form);

// "{nonce:x}:{shard}:{sequence_start}:{i}": lowercase hex without padding,
// then decimals. Stable across retries of the same batch.
void append_dedup_id(std::string& out, std::uint64_t producer_nonce, std::uint16_t shard_id,
                     std::uint64_t sequence_start, std::uint64_t index);

// The id of the event at `position` in its shard (its sequence plus the
// producer's base), in groups of `group`: sequence_start is the group's first
// position, so an event's id never depends on where a batch or retry began.
inline void append_dedup_id_at(std::string& out, std::uint64_t producer_nonce, std::uint16_t shard_id,
                               std::uint64_t position, std::uint64_t group) {
  append_dedup_id(out, producer_nonce, shard_id, position / group * group, position % group);
}

}  // namespace net::brokers
