// Hash functions shared by every subsystem: XXH3-64 with seed 0 (shard
// selection, channel hashes, checksums), from Debian's libxxhash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace net {

std::uint64_t xxh3_64(const void* data, std::size_t size) noexcept;

inline std::uint64_t xxh3_64(std::string_view bytes) noexcept { return xxh3_64(bytes.data(), bytes.size()); }

}  // namespace net
