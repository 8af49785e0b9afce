// A poll request and its page of results: the contract of EventBus::poll
// and of adapters that serve polls themselves.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/bus/event.hpp"
#include "net/bus/filter.hpp"

namespace net::bus {

enum class Ordering {
  None,         ///< shard by shard, each in its own order
  InsertionTs,  ///< merged across shards by insertion timestamp
};

// "none" | "insertion_ts"; throws Error(InvalidArgument) otherwise.
Ordering parse_ordering(std::string_view name);

struct PollRequest {
  std::size_t limit = 0;
  std::optional<std::string> cursor;  ///< a previous PollResult::next_id
  const Filter* filter = nullptr;
  Ordering ordering = Ordering::None;
};

struct PollResult {
  std::vector<StoredEvent> events;
  std::optional<std::string> next_id;  ///< resume here; the request's cursor if nothing moved
  bool has_more = false;               ///< events remain past next_id
};

}  // namespace net::bus
