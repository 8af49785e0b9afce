// Appends JSON text to a Buffer byte for byte as Python's
// json.dumps(obj) writes it (ensure_ascii=True, float repr), so events built
// in C++ and events built by json.dumps are the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace net::json {

// A growable byte buffer whose appends inline to a bounds check and a store
// (std::string's are out-of-line calls: libstdc++ declares it extern template).
class Buffer {
 public:
  void clear() noexcept { size_ = 0; }
  std::size_t size() const noexcept { return size_; }
  std::string_view view() const noexcept { return {data_.get(), size_}; }

  void push(char c) {
    if (size_ == capacity_) grow(1);
    data_[size_++] = c;
  }
  void append(const char* bytes, std::size_t n) {
    if (capacity_ - size_ < n) grow(n);
    std::memcpy(data_.get() + size_, bytes, n);
    size_ += n;
  }
  void append(std::string_view bytes) { append(bytes.data(), bytes.size()); }
  void fill(std::size_t n, char c) {
    if (capacity_ - size_ < n) grow(n);
    std::memset(data_.get() + size_, c, n);
    size_ += n;
  }

 private:
  void grow(std::size_t extra);  ///< room for `extra` more bytes, at least doubling

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// A string literal with its quotes. CodeUnit is the storage of the text:
// uint8_t (Latin-1), uint16_t (UCS-2) or uint32_t (UCS-4) code points, which is
// how CPython stores str. Non-ASCII is written as \uXXXX (surrogate pairs above
// U+FFFF), control characters as \n, \t, ... or \u00XX.
template <class CodeUnit>
void append_string(Buffer& out, const CodeUnit* text, std::size_t length);

extern template void append_string<std::uint8_t>(Buffer&, const std::uint8_t*, std::size_t);
extern template void append_string<std::uint16_t>(Buffer&, const std::uint16_t*, std::size_t);
extern template void append_string<std::uint32_t>(Buffer&, const std::uint32_t*, std::size_t);

// A finite double in Python's repr() form: shortest round-trip digits,
// "1.0", "1e-05", "1e+16", "-0.0". Returns false (and writes nothing) for NaN
// and infinities, which are not JSON.
bool append_double(Buffer& out, double value);

void append_int(Buffer& out, std::int64_t value);

}  // namespace net::json
