// JSON text output matching CPython's json encoder (c_encode_basestring_ascii
// and float.__repr__).
#include "net/core/json_writer.hpp"

#include <charconv>
#include <cstring>

namespace net::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_unicode_escape(std::string& out, std::uint32_t unit) {
  char buf[6] = {'\\', 'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF], kHex[(unit >> 4) & 0xF],
                 kHex[unit & 0xF]};
  out.append(buf, sizeof buf);
}

void append_escaped(std::string& out, std::uint32_t c) {
  switch (c) {
    case '"': out.append("\\\"", 2); return;
    case '\\': out.append("\\\\", 2); return;
    case '\n': out.append("\\n", 2); return;
    case '\r': out.append("\\r", 2); return;
    case '\t': out.append("\\t", 2); return;
    case '\b': out.append("\\b", 2); return;
    case '\f': out.append("\\f", 2); return;
    default: break;
  }
  if (c >= 0x10000) {
    const std::uint32_t v = c - 0x10000;
    append_unicode_escape(out, 0xD800 | (v >> 10));
    append_unicode_escape(out, 0xDC00 | (v & 0x3FF));
  } else {
    append_unicode_escape(out, c);
  }
}

// Printable ASCII other than '"' and '\\' is written as is; DEL (0x7F) is
// escaped, as CPython's S_CHAR does.
inline bool needs_escape(std::uint32_t c) { return c < 0x20 || c > 0x7E || c == '"' || c == '\\'; }

}  // namespace

template <class CodeUnit>
void append_string(std::string& out, const CodeUnit* text, std::size_t length) {
  // Fast path: most strings need no escape, so copy optimistically.
  const std::size_t start = out.size();
  out.resize(start + length + 2);
  char* dst = out.data() + start + 1;
  dst[-1] = '"';
  std::size_t i = 0;
  for (; i < length; ++i) {
    const std::uint32_t c = text[i];
    if (needs_escape(c)) break;
    dst[i] = static_cast<char>(c);
  }
  if (i == length) {
    dst[length] = '"';
    return;
  }
  out.resize(start + 1 + i);
  for (; i < length; ++i) {
    const std::uint32_t c = text[i];
    if (needs_escape(c)) {
      append_escaped(out, c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

template void append_string<std::uint8_t>(std::string&, const std::uint8_t*, std::size_t);
template void append_string<std::uint16_t>(std::string&, const std::uint16_t*, std::size_t);
template void append_string<std::uint32_t>(std::string&, const std::uint32_t*, std::size_t);

bool append_double(std::string& out, double value) {
  if (value != value || value - value != 0.0) return false;  // NaN or +-inf
  // Shortest round-trip digits in scientific form: "-d.ddde[+-]xx".
  char sci[32];
  const auto [end, ec] = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific);
  (void)ec;
  const char* p = sci;
  if (*p == '-') out.push_back(*p++);
  const char* e = static_cast<const char*>(std::memchr(p, 'e', static_cast<std::size_t>(end - p)));
  char digits[24];
  std::size_t ndigits = 0;
  for (const char* q = p; q < e; ++q)
    if (*q != '.') digits[ndigits++] = *q;
  int exponent = 0;
  std::from_chars(e + 1 + (e[1] == '+'), end, exponent);

  // CPython's repr switches to exponent notation when the decimal point would
  // sit more than 16 places right or 4+ places left of the first digit.
  const int decpt = exponent + 1;
  if (decpt > 16 || decpt < -3) {
    out.push_back(digits[0]);
    if (ndigits > 1) {
      out.push_back('.');
      out.append(digits + 1, ndigits - 1);
    }
    out.push_back('e');
    out.push_back(exponent < 0 ? '-' : '+');
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out.push_back('0');
    char exp_text[8];
    const auto r = std::to_chars(exp_text, exp_text + sizeof exp_text, magnitude);
    out.append(exp_text, r.ptr);
  } else if (decpt <= 0) {
    out.append("0.", 2);
    out.append(static_cast<std::size_t>(-decpt), '0');
    out.append(digits, ndigits);
  } else if (static_cast<std::size_t>(decpt) >= ndigits) {
    out.append(digits, ndigits);
    out.append(static_cast<std::size_t>(decpt) - ndigits, '0');
    out.append(".0", 2);
  } else {
    out.append(digits, static_cast<std::size_t>(decpt));
    out.push_back('.');
    out.append(digits + decpt, ndigits - static_cast<std::size_t>(decpt));
  }
  return true;
}

void append_int(std::string& out, std::int64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

}  // namespace net::json
