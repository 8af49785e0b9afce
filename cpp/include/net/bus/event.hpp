// What the bus hands out: an event's bytes (kept alive by a shared owner, no
// copy), its per-shard sequence number and its insertion timestamp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace net::bus {

struct StoredEvent {
  std::shared_ptr<const void> owner;  ///< keeps `raw` alive after the ring moves on
  std::string_view raw;               ///< the bytes exactly as ingested
  // In the rings: the position in its shard, from 0. From a broker: the
  // Redis id's first half (ms) or the JetStream stream sequence.
  std::uint64_t sequence = 0;
  // CLOCK_MONOTONIC ns of the ingesting process, strictly increasing per
  // shard; events read from a broker carry their producer's clock.
  std::uint64_t insertion_ts = 0;
  std::uint16_t shard_id = 0;
  // Mesh events: the position in their packet, id "<sequence>:<minor>".
  // Redis entries: the id's second half, id "<sequence>-<minor>".
  std::uint64_t minor = 0;
  enum class IdForm : std::uint8_t { Sequence, PacketIndex, StreamPair } id_form = IdForm::Sequence;

  std::string id() const {
    switch (id_form) {
      case IdForm::Sequence: return std::to_string(sequence);
      case IdForm::PacketIndex: return std::to_string(sequence) + ":" + std::to_string(minor);
      case IdForm::StreamPair: return std::to_string(sequence) + "-" + std::to_string(minor);
    }
    return {};
  }
};

struct IngestResult {
  std::uint16_t shard_id = 0;
  std::uint64_t timestamp = 0;  ///< the event's insertion_ts
};

struct Stats {
  std::uint64_t events_ingested = 0;  ///< events accepted into a ring
  std::uint64_t events_dropped = 0;   ///< rejected new events plus evicted unpolled ones
};

}  // namespace net::bus
