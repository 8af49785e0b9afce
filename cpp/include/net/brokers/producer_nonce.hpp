// The producer nonce in every dedup id (REFERENCE §1.7, §14.3): per process
// by default; with a path, loaded from (or created in) a 9-byte file,
// version 0x01 then the nonce as u64 little-endian, so ids stay stable
// across restarts.
#pragma once

#include <cstdint>
#include <string>

namespace net::brokers {

std::uint64_t process_nonce();  ///< the same nonzero value for the life of the process

// Throws Error(InvalidConfig, "failed to load/create producer-nonce file at <path>: <why>").
std::uint64_t load_or_create_nonce(const std::string& path);

}  // namespace net::brokers
