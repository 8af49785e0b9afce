// The poll cursor: standard base64 of a JSON object mapping decimal shard ids
// to the id of the last event delivered from that shard, e.g. {"0":"41"} for
// the rings or {"0":"1700000000000-0"} for Redis (the original's
// composite-cursor format, REFERENCE.md §1.9).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace net::bus {

// ids[shard] = the backend's id of the last event delivered; nullopt = none yet.
using CursorIds = std::vector<std::optional<std::string>>;

std::string encode_cursor_ids(const CursorIds& ids);

// Throws Error(InvalidCursor, "invalid cursor: <detail>") for bad base64, bad
// JSON, non-canonical or duplicate shard keys, shards >= num_shards and ids
// that `valid_id` refuses.
CursorIds decode_cursor_ids(std::string_view cursor, std::uint16_t num_shards,
                            const std::function<bool(std::string_view)>& valid_id);

// Canonical decimal: digits only, no sign, no leading zero unless "0".
std::optional<std::uint64_t> parse_canonical_u64(std::string_view text);

// The rings' form: positions[shard] = sequence of the last event delivered.
using CursorPositions = std::vector<std::optional<std::uint64_t>>;

std::string encode_cursor(const CursorPositions& positions);

// Throws Error(InvalidCursor, "invalid cursor: <detail>") for bad base64, bad
// JSON, non-canonical or duplicate shard keys, shards >= num_shards and
// positions that are not canonical decimal u64.
CursorPositions decode_cursor(std::string_view cursor, std::uint16_t num_shards);

}  // namespace net::bus
