// The poll algorithm over a backend that pages each shard by its own ids
// (Redis Streams, JetStream): fetch a window per shard from the cursor, filter,
// pick a fair share (or merge by insertion time), and advance the cursor past
// what was delivered and past entries that were examined and skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/cursor.hpp"
#include "net/bus/poll.hpp"

namespace net::bus {

// Splits `limit` across shards as evenly as their sizes allow.
std::vector<std::size_t> fair_share(const std::vector<std::size_t>& available, std::size_t limit);

// Moves up to `limit` events out of per-shard windows: a fair share of each
// (Ordering::None) or a merge by insertion time. taken[s] = how many leading
// events of windows[s] were chosen. A merge stops when it has used up a
// window that `cut_short` says the shard continues beyond: what follows in
// that shard could be older than the other shards' next events.
std::vector<StoredEvent> select_events(std::vector<std::vector<StoredEvent>>& windows, std::size_t limit,
                                       Ordering ordering, std::vector<std::size_t>& taken,
                                       const std::vector<bool>* cut_short = nullptr);

// One shard's window, as the backend returned it.
struct ShardPage {
  std::vector<StoredEvent> events;           ///< in the shard's order
  std::optional<std::string> last_examined;  ///< id of the last entry read, parsable or not
  bool has_more = false;                     ///< entries remain after last_examined
};

struct BackendPoll {
  std::uint16_t num_shards = 1;
  std::function<bool(std::string_view)> valid_id;  ///< an id this backend could have produced
  // Reads up to `count` entries per shard after positions[shard] (from the
  // start if nullopt); one page per shard.
  std::function<std::vector<ShardPage>(const CursorIds& positions, std::size_t count)> fetch;
};

// Throws Error(InvalidCursor) for a cursor whose ids `valid_id` refuses.
PollResult poll_backend(const PollRequest& request, const BackendPoll& backend);

}  // namespace net::bus
