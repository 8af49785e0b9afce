#include "net/cortex/postcard.hpp"

#include <simdjson.h>

#include <algorithm>

#include "net/core/error.hpp"

namespace net::cortex {
namespace {

constexpr std::size_t kShortText = 64;

[[noreturn]] void fail(const std::string& what, const char* field) {
  throw Error(ErrorKind::Cortex, what + " at " + field);
}

}  // namespace

void PostcardWriter::long_varint(std::uint64_t value) {
  const std::size_t at = out_.size();
  out_.resize(at + kMaxVarintBytes);  // written in place, then trimmed
  const std::uint8_t* end = put_varint(out_.data() + at, value);
  out_.resize(static_cast<std::size_t>(end - out_.data()));
}

void PostcardWriter::bytes(ByteView value) {
  varint(value.size());
  out_.insert(out_.end(), value.begin(), value.end());
}

std::uint8_t PostcardReader::byte(const char* field) {
  if (at_ >= in_.size()) fail("truncated", field);
  return in_[at_++];
}

std::uint64_t PostcardReader::checked_varint(const char* field) {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const std::uint8_t b = byte(field);
    if (shift == 63 && b > 1) fail("varint overflow", field);
    value |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return value;
  }
  fail("varint overflow", field);
}

bool PostcardReader::boolean(const char* field) {
  const std::uint8_t b = byte(field);
  if (b > 1) fail("invalid bool " + std::to_string(b), field);
  return b == 1;
}

ByteView PostcardReader::bytes(const char* field) {
  const std::uint64_t size = varint(field);
  if (size > in_.size() - at_) fail("length " + std::to_string(size) + " past the end", field);
  const ByteView out = in_.subspan(at_, size);
  at_ += size;
  return out;
}

std::string PostcardReader::string(const char* field) {
  const ByteView raw = bytes(field);
  const auto* text = reinterpret_cast<const char*>(raw.data());
  // Short ASCII (most titles and tags) needs no call into simdjson's dispatch.
  const bool short_ascii =
      raw.size() <= kShortText && std::all_of(raw.begin(), raw.end(), [](std::uint8_t c) { return c < 0x80; });
  if (!short_ascii && !simdjson::validate_utf8(text, raw.size())) fail("invalid UTF-8", field);
  return {text, raw.size()};
}

bool PostcardReader::option(const char* field) {
  const std::uint8_t tag = byte(field);
  if (tag > 1) fail("invalid Option tag " + std::to_string(tag), field);
  return tag == 1;
}

std::size_t PostcardReader::count(const char* field) {
  const std::uint64_t n = varint(field);
  if (n > in_.size() - at_) fail("count " + std::to_string(n) + " past the end", field);
  return n;
}

void PostcardReader::expect_end(const char* what) const {
  if (at_ != in_.size()) {
    throw Error(ErrorKind::Cortex, std::to_string(in_.size() - at_) + " trailing bytes after " + what);
  }
}

}  // namespace net::cortex
