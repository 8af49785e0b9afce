// Cursor codec: base64 from libsodium, JSON from simdjson.
#include "bus/cursor.hpp"

#include <sodium.h>

#include <simdjson.h>
#include <charconv>

#include "net/core/error.hpp"

namespace net::bus {
namespace {

constexpr std::size_t kMaxCursorLength = 1 << 20;

[[noreturn]] void fail(const std::string& detail) {
  throw Error(ErrorKind::InvalidCursor, "invalid cursor: " + detail);
}

}  // namespace

std::optional<std::uint64_t> parse_canonical_u64(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string encode_cursor_ids(const CursorIds& ids) {
  std::string json = "{";
  for (std::size_t shard = 0; shard < ids.size(); ++shard) {
    if (!ids[shard]) continue;
    if (json.size() > 1) json += ',';
    json += '"' + std::to_string(shard) + "\":\"" + *ids[shard] + '"';  // ids are digits and '-'
  }
  json += '}';
  std::string out(sodium_base64_encoded_len(json.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(json.data()), json.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

CursorIds decode_cursor_ids(std::string_view cursor, std::uint16_t num_shards,
                            const std::function<bool(std::string_view)>& valid_id) {
  if (cursor.size() > kMaxCursorLength) fail("too long");
  std::string json(cursor.size(), '\0');
  std::size_t json_length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(json.data()), json.size(), cursor.data(), cursor.size(),
                        nullptr, &json_length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != cursor.data() + cursor.size()) {
    fail("not base64");
  }
  json.resize(json_length);

  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(json).get_object().get(object) != simdjson::SUCCESS) fail("not a JSON object");

  CursorIds ids(num_shards);
  for (auto [key, value] : object) {
    const auto shard = parse_canonical_u64(key);
    if (!shard || *shard > 0xFFFF) fail("invalid shard key \"" + std::string(key) + '"');
    if (*shard >= num_shards) fail("unknown shard " + std::to_string(*shard));
    std::string_view id;
    if (value.get_string().get(id) != simdjson::SUCCESS) fail("position is not a string");
    if (!valid_id(id)) fail("invalid position \"" + std::string(id) + '"');
    if (ids[*shard]) fail("duplicate shard " + std::to_string(*shard));
    ids[*shard] = std::string(id);
  }
  return ids;
}

std::string encode_cursor(const CursorPositions& positions) {
  CursorIds ids(positions.size());
  for (std::size_t shard = 0; shard < positions.size(); ++shard)
    if (positions[shard]) ids[shard] = std::to_string(*positions[shard]);
  return encode_cursor_ids(ids);
}

CursorPositions decode_cursor(std::string_view cursor, std::uint16_t num_shards) {
  const CursorIds ids =
      decode_cursor_ids(cursor, num_shards, [](std::string_view id) { return parse_canonical_u64(id).has_value(); });
  CursorPositions positions(num_shards);
  for (std::size_t shard = 0; shard < ids.size(); ++shard)
    if (ids[shard]) positions[shard] = parse_canonical_u64(*ids[shard]);
  return positions;
}

}  // namespace net::bus
