// Channel names (API.md §5.4), shared by channels, tokens, RedEX and nRPC,
// and their 16-bit hash (REFERENCE §4.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace net::identity {

// Why `name` is not a channel name (the original's text, checked in its
// order), or nullopt if it is one. Callers add their area's prefix.
std::optional<std::string> channel_name_error(std::string_view name);

// The low 16 bits of XXH3-64 (seed 0) of the name's bytes.
std::uint16_t channel_hash(std::string_view name) noexcept;

}  // namespace net::identity
