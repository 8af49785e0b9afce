#include "net/cortex/query.hpp"

#include <utf8proc.h>

#include <array>

namespace net::cortex {

std::optional<OrderBy> parse_order_by(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, OrderBy>, 6> kNames{{
      {"id_asc", OrderBy::IdAsc},
      {"id_desc", OrderBy::IdDesc},
      {"created_asc", OrderBy::CreatedAsc},
      {"created_desc", OrderBy::CreatedDesc},
      {"updated_asc", OrderBy::UpdatedAsc},
      {"updated_desc", OrderBy::UpdatedDesc},
  }};
  const std::string lower = lowercase(text);
  for (const auto& [name, order] : kNames) {
    if (lower == name) return order;
  }
  return std::nullopt;
}

std::string lowercase(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  std::size_t at = 0;
  while (at < utf8.size()) {
    if (p[at] < 0x80) {
      const char c = utf8[at++];
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
      continue;
    }
    utf8proc_int32_t code = 0;
    const auto used = utf8proc_iterate(p + at, static_cast<utf8proc_ssize_t>(utf8.size() - at), &code);
    if (used <= 0) {  // not UTF-8: the byte as it is
      out.push_back(utf8[at++]);
      continue;
    }
    utf8proc_uint8_t encoded[4];
    const auto size = utf8proc_encode_char(utf8proc_tolower(code), encoded);
    out.append(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(size));
    at += static_cast<std::size_t>(used);
  }
  return out;
}

bool contains_lowercase(std::string_view haystack, std::string_view lowercase_needle) {
  if (lowercase_needle.empty()) return true;
  return lowercase(haystack).find(lowercase_needle) != std::string::npos;
}

}  // namespace net::cortex
