// Appends JSON text to a std::string byte for byte as Python's
// json.dumps(obj) writes it (ensure_ascii=True, float repr), so events built
// in C++ and events built by json.dumps are the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace net::json {

// A string literal with its quotes. CodeUnit is the storage of the text:
// uint8_t (Latin-1), uint16_t (UCS-2) or uint32_t (UCS-4) code points, which is
// how CPython stores str. Non-ASCII is written as \uXXXX (surrogate pairs above
// U+FFFF), control characters as \n, \t, ... or \u00XX.
template <class CodeUnit>
void append_string(std::string& out, const CodeUnit* text, std::size_t length);

extern template void append_string<std::uint8_t>(std::string&, const std::uint8_t*, std::size_t);
extern template void append_string<std::uint16_t>(std::string&, const std::uint16_t*, std::size_t);
extern template void append_string<std::uint32_t>(std::string&, const std::uint32_t*, std::size_t);

// A finite double in Python's repr() form: shortest round-trip digits,
// "1.0", "1e-05", "1e+16", "-0.0". Returns false (and writes nothing) for NaN
// and infinities, which are not JSON.
bool append_double(std::string& out, double value);

void append_int(std::string& out, std::int64_t value);

}  // namespace net::json
