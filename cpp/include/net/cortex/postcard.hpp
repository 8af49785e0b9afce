// Postcard 1.x, the compact serde format CortEX events and snapshots use
// (REFERENCE §11.2): unsigned integers as LEB128 varints, strings and byte
// vectors as a varint length and the bytes, Option as 0x00 | 0x01 value,
// structs as their fields in order. The reader is strict: lengths are
// bounded by what remains, strings must be UTF-8, and every failure is an
// Error(Cortex, "<what> at <field>").
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "net/core/bytes.hpp"

namespace net::cortex {

constexpr std::size_t kMaxVarintBytes = 10;  ///< a u64's LEB128

// Writes `value`'s LEB128 at `out` (at most kMaxVarintBytes); returns the end.
inline std::uint8_t* put_varint(std::uint8_t* out, std::uint64_t value) noexcept {
  while (value >= 0x80) {
    *out++ = static_cast<std::uint8_t>(value | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<std::uint8_t>(value);
  return out;
}

class PostcardWriter {
 public:
  explicit PostcardWriter(Bytes& out) noexcept : out_(out) {}
  void varint(std::uint64_t value) {
    if (value < 0x80) return out_.push_back(static_cast<std::uint8_t>(value));  // lengths, small ids, tags
    long_varint(value);
  }
  void boolean(bool value) { out_.push_back(value ? 1 : 0); }
  void bytes(ByteView value);
  void string(std::string_view value) { bytes(as_bytes(value)); }
  void none() { out_.push_back(0); }
  void some() { out_.push_back(1); }

 private:
  void long_varint(std::uint64_t value);
  Bytes& out_;
};

// The size of what a PostcardWriter would append, counted without writing:
// a snapshot's first pass, so its bytes are written in place in the second.
class PostcardSizer {
 public:
  void varint(std::uint64_t value) noexcept {
    do {
      ++size_;
      value >>= 7;
    } while (value != 0);
  }
  void boolean(bool) noexcept { ++size_; }
  void bytes(ByteView value) noexcept {
    varint(value.size());
    size_ += value.size();
  }
  void string(std::string_view value) noexcept { bytes(as_bytes(value)); }
  void none() noexcept { ++size_; }
  void some() noexcept { ++size_; }
  std::size_t size() const noexcept { return size_; }

 private:
  std::size_t size_ = 0;
};

// Writes what a PostcardSizer counted into the bytes at `out`, which hold
// that many: no bounds checks and no growth, a snapshot's second pass.
class PostcardPlacer {
 public:
  explicit PostcardPlacer(std::uint8_t* out) noexcept : at_(out) {}
  void varint(std::uint64_t value) noexcept { at_ = put_varint(at_, value); }
  void boolean(bool value) noexcept { *at_++ = value ? 1 : 0; }
  void bytes(ByteView value) noexcept {
    varint(value.size());
    if (!value.empty()) std::memcpy(at_, value.data(), value.size());
    at_ += value.size();
  }
  void string(std::string_view value) noexcept { bytes(as_bytes(value)); }
  void none() noexcept { *at_++ = 0; }
  void some() noexcept { *at_++ = 1; }
  const std::uint8_t* end() const noexcept { return at_; }

 private:
  std::uint8_t* at_;
};

class PostcardReader {
 public:
  explicit PostcardReader(ByteView in) noexcept : in_(in) {}
  std::uint64_t varint(const char* field) {
    // Inline while ten bytes remain, so no varint can run past the end;
    // near the end, and on overflow, the checked reader decides.
    if (in_.size() - at_ < kMaxVarintBytes) return checked_varint(field);
    const std::uint8_t* p = in_.data() + at_;
    std::uint64_t value = 0;
    for (std::size_t i = 0; i + 1 < kMaxVarintBytes; ++i) {
      value |= static_cast<std::uint64_t>(p[i] & 0x7F) << (7 * i);
      if (p[i] < 0x80) {
        at_ += i + 1;
        return value;
      }
    }
    return checked_varint(field);
  }
  bool boolean(const char* field);
  ByteView bytes(const char* field);
  std::string string(const char* field);
  bool option(const char* field);  ///< whether a value follows
  // A count of elements that take at least one byte each.
  std::size_t count(const char* field);
  void expect_end(const char* what) const;

 private:
  std::uint64_t checked_varint(const char* field);
  std::uint8_t byte(const char* field);
  ByteView in_;
  std::size_t at_ = 0;
};

}  // namespace net::cortex
