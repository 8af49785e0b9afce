// The poll cursor: standard base64 of a JSON object mapping decimal shard ids
// to the id of the last event delivered from that shard, e.g. {"0":"41"}
// (the original's composite-cursor format, REFERENCE.md §1.9).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace net::bus {

// positions[shard] = sequence of the last event delivered; nullopt = none yet.
using CursorPositions = std::vector<std::optional<std::uint64_t>>;

std::string encode_cursor(const CursorPositions& positions);

// Throws Error(InvalidCursor, "invalid cursor: <detail>") for bad base64, bad
// JSON, non-canonical or duplicate shard keys, shards >= num_shards and
// positions that are not canonical decimal u64.
CursorPositions decode_cursor(std::string_view cursor, std::uint16_t num_shards);

}  // namespace net::bus
