// JSON text output matching CPython's json encoder (c_encode_basestring_ascii
// and float.__repr__).
#include "net/core/json_writer.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace net::json {

void Buffer::grow(std::size_t extra) {
  std::size_t capacity = capacity_ == 0 ? 256 : capacity_ * 2;
  while (capacity - size_ < extra) capacity *= 2;
  auto data = std::make_unique_for_overwrite<char[]>(capacity);
  if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
  data_ = std::move(data);
  capacity_ = capacity;
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_unicode_escape(Buffer& out, std::uint32_t unit) {
  char buf[6] = {
      '\\', 'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF], kHex[(unit >> 4) & 0xF], kHex[unit & 0xF]};
  out.append(buf, sizeof buf);
}

void append_escaped(Buffer& out, std::uint32_t c) {
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

// How many leading code units need no escape.
template <class CodeUnit>
std::size_t plain_prefix(const CodeUnit* text, std::size_t length) {
  std::size_t i = 0;
  while (i < length && !needs_escape(text[i])) ++i;
  return i;
}

#if defined(__SSE2__)
// Latin-1 text, 16 bytes at a time: control bytes, '"', '\\' and 0x7F and up.
template <>
std::size_t plain_prefix(const std::uint8_t* text, std::size_t length) {
  const __m128i last_control = _mm_set1_epi8(0x1F);
  const __m128i del = _mm_set1_epi8(0x7F);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  std::size_t i = 0;
  for (; i + 16 <= length; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i));
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, last_control), last_control);  // v <= 0x1F
    const __m128i high = _mm_cmpeq_epi8(_mm_max_epu8(v, del), v);                         // v >= 0x7F
    const __m128i special = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
    const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(control, high), special));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
  while (i < length && !needs_escape(text[i])) ++i;
  return i;
}
#endif

}  // namespace

template <class CodeUnit>
void append_string(Buffer& out, const CodeUnit* text, std::size_t length) {
  std::size_t i = plain_prefix(text, length);
  out.push('"');
  if constexpr (sizeof(CodeUnit) == 1) {
    out.append(reinterpret_cast<const char*>(text), i);
  } else {
    for (std::size_t k = 0; k < i; ++k) out.push(static_cast<char>(text[k]));
  }
  for (; i < length; ++i) {
    const std::uint32_t c = text[i];
    if (needs_escape(c)) {
      append_escaped(out, c);
    } else {
      out.push(static_cast<char>(c));
    }
  }
  out.push('"');
}

template void append_string<std::uint8_t>(Buffer&, const std::uint8_t*, std::size_t);
template void append_string<std::uint16_t>(Buffer&, const std::uint16_t*, std::size_t);
template void append_string<std::uint32_t>(Buffer&, const std::uint32_t*, std::size_t);

namespace {

// Most doubles in events are short decimals (0.25, 19.99, -3.5): when
// m / 10^k == value for an integer m and the smallest k <= kShortDecimals,
// that decimal is repr's, found without the general shortest-digits search
// (about 60 ns). It is the only k-place decimal that reads back as value
// while value * 10^k < 2^52: the doubles there are less than 10^-k apart
// (beyond that two candidates can read back, and repr takes the nearer,
// which the rounded product does not always find). Only for values that
// repr writes without exponent.
constexpr int kShortDecimals = 6;
constexpr double kPowersOfTen[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};

bool append_short_decimal(Buffer& out, double value) {
  const double magnitude = value < 0 ? -value : value;
  if (!(magnitude >= 1e-4 && magnitude < 1e15)) return false;  // zero, exponent notation, or digits past 2^53
  for (int k = 0; k <= kShortDecimals; ++k) {
    const double scaled = magnitude * kPowersOfTen[k];
    if (scaled >= 0x1p52) return false;
    const auto m = static_cast<std::uint64_t>(scaled + 0.5);
    if (static_cast<double>(m) / kPowersOfTen[k] != magnitude) continue;  // m, k does not read back as value
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, m).ptr;
    const auto count = static_cast<std::size_t>(end - digits);
    if (value < 0) out.push('-');
    if (k == 0) {
      out.append(digits, count);
      out.append(".0", 2);
    } else if (count > static_cast<std::size_t>(k)) {
      out.append(digits, count - k);
      out.push('.');
      out.append(end - k, static_cast<std::size_t>(k));
    } else {
      out.append("0.", 2);
      out.fill(static_cast<std::size_t>(k) - count, '0');
      out.append(digits, count);
    }
    return true;
  }
  return false;
}

}  // namespace

bool append_double(Buffer& out, double value) {
  if (value != value || value - value != 0.0) return false;  // NaN or +-inf
  if (append_short_decimal(out, value)) return true;
  // Shortest round-trip digits in scientific form: "-d.ddde[+-]xx".
  char sci[32];
  const auto [end, ec] = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific);
  (void)ec;
  const char* p = sci;
  if (*p == '-') out.push(*p++);
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
    out.push(digits[0]);
    if (ndigits > 1) {
      out.push('.');
      out.append(digits + 1, ndigits - 1);
    }
    out.push('e');
    out.push(exponent < 0 ? '-' : '+');
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out.push('0');
    char exp_text[8];
    const auto r = std::to_chars(exp_text, exp_text + sizeof exp_text, magnitude);
    out.append(exp_text, static_cast<std::size_t>(r.ptr - exp_text));
  } else if (decpt <= 0) {
    out.append("0.", 2);
    out.fill(static_cast<std::size_t>(-decpt), '0');
    out.append(digits, ndigits);
  } else if (static_cast<std::size_t>(decpt) >= ndigits) {
    out.append(digits, ndigits);
    out.fill(static_cast<std::size_t>(decpt) - ndigits, '0');
    out.append(".0", 2);
  } else {
    out.append(digits, static_cast<std::size_t>(decpt));
    out.push('.');
    out.append(digits + decpt, ndigits - static_cast<std::size_t>(decpt));
  }
  return true;
}

void append_int(Buffer& out, std::int64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace net::json
