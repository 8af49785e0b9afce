// Envelope codec. Values in the exact form we and the original write are cut
// apart from the end without a parse (the outer "t" and "s" come last, so the
// raw event may contain anything); other JSON objects go through simdjson.
#include "net/brokers/envelope.hpp"

#include <simdjson.h>
#include <charconv>

namespace net::brokers {
namespace {

constexpr std::string_view kRawKey = R"({"r":)";
constexpr std::string_view kTsKey = R"(,"t":)";
constexpr std::string_view kShardKey = R"(,"s":)";

void append_decimal(std::string& out, std::uint64_t value) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

// Reads the decimal that ends at `end` (exclusive) and the key before it;
// moves `end` to the key's start.
template <typename T>
std::optional<T> number_before(std::string_view text, std::size_t& end, std::string_view key) {
  std::size_t begin = end;
  while (begin > 0 && text[begin - 1] >= '0' && text[begin - 1] <= '9') --begin;
  if (begin == end || begin < key.size() || text.substr(begin - key.size(), key.size()) != key) return std::nullopt;
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data() + begin, text.data() + end, value);
  if (ec != std::errc() || ptr != text.data() + end) return std::nullopt;
  end = begin - key.size();
  return value;
}

std::optional<Envelope> parse_exact(std::string_view value) {
  if (value.size() < kRawKey.size() + 1 || !value.starts_with(kRawKey) || value.back() != '}') return std::nullopt;
  std::size_t end = value.size() - 1;
  const auto shard = number_before<std::uint16_t>(value, end, kShardKey);
  if (!shard) return std::nullopt;
  const auto ts = number_before<std::uint64_t>(value, end, kTsKey);
  if (!ts || end <= kRawKey.size()) return std::nullopt;
  return Envelope{value.substr(kRawKey.size(), end - kRawKey.size()), std::nullopt, *ts, *shard};
}

std::optional<Envelope> parse_general(std::string_view value) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(value.data(), value.size()).get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::element raw;
  if (object["r"].get(raw) != simdjson::SUCCESS) return std::nullopt;
  // "t" and "s" may be absent (0), but if present they must be a u64 and a u16.
  Envelope envelope;
  simdjson::dom::element member;
  if (object["t"].get(member) == simdjson::SUCCESS && member.get(envelope.insertion_ts) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::uint64_t shard = 0;
  if (object["s"].get(member) == simdjson::SUCCESS && (member.get(shard) != simdjson::SUCCESS || shard > 0xFFFF)) {
    return std::nullopt;
  }
  envelope.shard_id = static_cast<std::uint16_t>(shard);
  envelope.rewritten = simdjson::minify(raw);
  return envelope;
}

}  // namespace

void append_envelope(std::string& out, std::string_view raw, std::uint64_t insertion_ts, std::uint16_t shard_id) {
  out += kRawKey;
  out += raw;
  out += kTsKey;
  append_decimal(out, insertion_ts);
  out += kShardKey;
  append_decimal(out, shard_id);
  out += '}';
}

std::optional<Envelope> parse_envelope(std::string_view value) {
  if (auto exact = parse_exact(value)) return exact;
  return parse_general(value);
}

bus::StoredEvent stored_event(Envelope envelope, std::shared_ptr<const void> owner, std::uint64_t sequence,
                              std::uint64_t minor, bus::StoredEvent::IdForm id_form) {
  std::string_view raw = envelope.verbatim;
  if (envelope.rewritten) {
    auto text = std::make_shared<const std::string>(std::move(*envelope.rewritten));
    raw = *text;
    owner = std::move(text);
  }
  return bus::StoredEvent{std::move(owner), raw, sequence, envelope.insertion_ts, envelope.shard_id, minor, id_form};
}

void append_dedup_id(std::string& out, std::uint64_t producer_nonce, std::uint16_t shard_id,
                     std::uint64_t sequence_start, std::uint64_t index) {
  char hex[16];
  const auto [end, ec] = std::to_chars(hex, hex + sizeof hex, producer_nonce, 16);
  out.append(hex, end);
  out += ':';
  append_decimal(out, shard_id);
  out += ':';
  append_decimal(out, sequence_start);
  out += ':';
  append_decimal(out, index);
}

}  // namespace net::brokers
