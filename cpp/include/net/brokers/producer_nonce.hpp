// The producer nonce in every dedup id (REFERENCE §1.7, §14.3): per process
// by default; with a path, loaded from (or created in) a 9-byte file,
// version 0x01 then the nonce as u64 little-endian, so ids stay stable
// across restarts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace net::brokers {

std::uint64_t process_nonce();  ///< the same nonzero value for the life of the process

// Throws Error(InvalidConfig, "failed to load/create producer-nonce file at <path>: <why>").
std::uint64_t load_or_create_nonce(const std::string& path);

// What a producer's dedup ids are made of: its nonce, and the base its
// shards' positions count from. With a nonce file the nonce outlives the
// process but the rings do not, so a new run starts its positions at the
// wall clock in ns instead of 0: its new events can never take the ids of
// an earlier run's (JetStream would drop them as duplicates for an hour).
struct ProducerIds {
  std::uint64_t nonce = 0;
  std::uint64_t sequence_base = 0;
};
ProducerIds producer_ids(const std::optional<std::string>& nonce_path);

}  // namespace net::brokers
