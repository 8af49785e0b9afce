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
// The sort runs on (key, id) copies, not through the pointers: contiguous
// keys instead of a cache miss per comparison.
template <class Record>
std::vector<const Record*> ordered(const std::vector<const Record*>& matches, OrderBy order,
                                   std::optional<std::uint32_t> limit) {
  struct Entry {
    std::uint64_t key;
    std::uint64_t id;
    const Record* record;
  };
  const bool by_created = order == OrderBy::CreatedAsc || order == OrderBy::CreatedDesc;
  const bool by_updated = order == OrderBy::UpdatedAsc || order == OrderBy::UpdatedDesc;
  std::vector<Entry> entries;
  entries.reserve(matches.size());
  for (const Record* r : matches) {
    entries.push_back({by_created ? r->created_ns : by_updated ? r->updated_ns : r->id, r->id, r});
  }
  const bool descending = order == OrderBy::IdDesc || order == OrderBy::CreatedDesc || order == OrderBy::UpdatedDesc;
  const auto before = [descending](const Entry& a, const Entry& b) {
    if (a.key != b.key) return descending ? a.key > b.key : a.key < b.key;
    return a.id < b.id;
  };
  const std::size_t keep = limit ? std::min<std::size_t>(*limit, entries.size()) : entries.size();
  if (keep < entries.size()) {
    std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(keep), entries.end(), before);
  } else {
    std::sort(entries.begin(), entries.end(), before);
  }
  std::vector<const Record*> out(keep);
  for (std::size_t i = 0; i < keep; ++i) out[i] = entries[i].record;
  return out;
}

}  // namespace net::cortex
