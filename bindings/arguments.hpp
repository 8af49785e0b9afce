// Binds a call's positional and keyword arguments to a fixed list of
// parameter names (all defaulting to None), as PyO3 signatures do, and
// converts them with the original's errors: OverflowError for integers out of
// range, TypeError for wrong types.
#pragma once

#include <nanobind/nanobind.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/core/bytes.hpp"

namespace net::python {

class Arguments {
 public:
  Arguments(const char* function, std::span<const char* const> names, nanobind::args args, nanobind::kwargs kwargs);

  // The argument, or nullopt when it was omitted or None.
  std::optional<nanobind::handle> get(const char* name) const;
  std::optional<std::uint64_t> get_unsigned(const char* name, std::uint64_t max) const;
  std::optional<std::int64_t> get_signed(const char* name) const;
  std::optional<std::string> get_str(const char* name) const;
  std::optional<bool> get_bool(const char* name) const;
  const char* function() const noexcept { return function_; }

 private:
  const char* function_;
  std::span<const char* const> names_;
  std::vector<nanobind::handle> values_;
};

// TypeError("<function>() argument '<name>' must be <expected>, not <type>").
[[noreturn]] void raise_type_error(const char* function, const char* name, const char* expected,
                                   nanobind::handle value);

// An int argument as u64 <= max: OverflowError when negative or too large,
// TypeError when not an int.
std::uint64_t to_unsigned(nanobind::handle value, const char* function, const char* name, std::uint64_t max);

// An int object as u64 <= max: OverflowError when negative or too large.
std::uint64_t int_in_range(nanobind::handle integer, std::uint64_t max);

// A duration given in milliseconds as u64, capped at 2^40 ms (about 35
// years, "never" in practice): a clock reading plus it, in nanoseconds, must
// not overflow, nor may the signed count of milliseconds.
inline std::chrono::milliseconds capped_milliseconds(std::uint64_t ms) {
  constexpr std::uint64_t kLongest = std::uint64_t{1} << 40;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(ms, kLongest)));
}

// A bytes argument read in place (bytes only, not bytearray): TypeError otherwise.
ByteView bytes_argument(nanobind::handle value, const char* name);

// A str argument as UTF-8: TypeError when not a str.
std::string to_str(nanobind::handle value, const char* function, const char* name);
// The same without a copy: the str's own UTF-8, valid while `value` lives.
std::string_view to_str_view(nanobind::handle value, const char* function, const char* name);

}  // namespace net::python

namespace net::python {

// Hex text to bytes, or ValueError(prefix + the Rust hex crate's detail:
// "Invalid character 'z' at position 0", "Odd number of digits").
std::vector<std::uint8_t> parse_hex(std::string_view text, const std::string& prefix);

}  // namespace net::python
