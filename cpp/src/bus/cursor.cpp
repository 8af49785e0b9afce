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

// Canonical decimal: digits only, no sign, no leading zero unless "0".
std::optional<std::uint64_t> parse_canonical_u64(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string encode_cursor(const CursorPositions& positions) {
  std::string json = "{";
  for (std::size_t shard = 0; shard < positions.size(); ++shard) {
    if (!positions[shard]) continue;
    if (json.size() > 1) json += ',';
    json += '"' + std::to_string(shard) + "\":\"" + std::to_string(*positions[shard]) + '"';
  }
  json += '}';
  std::string out(sodium_base64_encoded_len(json.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(json.data()), json.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

CursorPositions decode_cursor(std::string_view cursor, std::uint16_t num_shards) {
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

  CursorPositions positions(num_shards);
  for (auto [key, value] : object) {
    const auto shard = parse_canonical_u64(key);
    if (!shard || *shard > 0xFFFF) fail("invalid shard key \"" + std::string(key) + '"');
    if (*shard >= num_shards) fail("unknown shard " + std::to_string(*shard));
    std::string_view position_text;
    if (value.get_string().get(position_text) != simdjson::SUCCESS) fail("position is not a string");
    const auto position = parse_canonical_u64(position_text);
    if (!position) fail("invalid position \"" + std::string(position_text) + '"');
    if (positions[*shard]) fail("duplicate shard " + std::to_string(*shard));
    positions[*shard] = *position;
  }
  return positions;
}

}  // namespace net::bus
