// What list_* and watch_* share across models: the six orders, inclusive
// time bounds, Unicode case-insensitive substring matching, and ordering
// with a limit. Records have id, created_ns and updated_ns.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace net::cortex {

enum class OrderBy { IdAsc, IdDesc, CreatedAsc, CreatedDesc, UpdatedAsc, UpdatedDesc };

// "id_asc" ... "updated_desc", any case; nullopt otherwise.
std::optional<OrderBy> parse_order_by(std::string_view text);

// Lowercase, code point by code point (utf8proc), for case-insensitive matches.
std::string lowercase(std::string_view utf8);

// Whether lowercase(haystack) contains `lowercase_needle`.
bool contains_lowercase(std::string_view haystack, std::string_view lowercase_needle);

struct TimeBounds {
  std::optional<std::uint64_t> created_after_ns;  ///< all inclusive
  std::optional<std::uint64_t> created_before_ns;
  std::optional<std::uint64_t> updated_after_ns;
  std::optional<std::uint64_t> updated_before_ns;

  template <class Record>
  bool admits(const Record& r) const noexcept {
    return (!created_after_ns || r.created_ns >= *created_after_ns) &&
           (!created_before_ns || r.created_ns <= *created_before_ns) &&
           (!updated_after_ns || r.updated_ns >= *updated_after_ns) &&
           (!updated_before_ns || r.updated_ns <= *updated_before_ns);
  }
};

// Sorts matches by `order` (ties by id ascending) and keeps the first `limit`.
template <class Record>
std::vector<Record> ordered(std::vector<const Record*> matches, OrderBy order, std::optional<std::uint32_t> limit) {
  const auto key = [order](const Record* r) {
    switch (order) {
      case OrderBy::CreatedAsc:
      case OrderBy::CreatedDesc: return r->created_ns;
      case OrderBy::UpdatedAsc:
      case OrderBy::UpdatedDesc: return r->updated_ns;
      default: return r->id;
    }
  };
  const bool descending = order == OrderBy::IdDesc || order == OrderBy::CreatedDesc || order == OrderBy::UpdatedDesc;
  const auto before = [&](const Record* a, const Record* b) {
    const auto ka = key(a), kb = key(b);
    if (ka != kb) return descending ? ka > kb : ka < kb;
    return a->id < b->id;
  };
  const std::size_t keep = limit ? std::min<std::size_t>(*limit, matches.size()) : matches.size();
  std::partial_sort(matches.begin(), matches.begin() + static_cast<std::ptrdiff_t>(keep), matches.end(), before);
  std::vector<Record> out;
  out.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) out.push_back(*matches[i]);
  return out;
}

}  // namespace net::cortex
