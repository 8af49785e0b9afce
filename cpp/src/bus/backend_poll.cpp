// Page selection shared by the rings and by backends with their own ids.
#include "bus/backend_poll.hpp"

#include <algorithm>
#include <queue>

namespace net::bus {

std::vector<std::size_t> fair_share(const std::vector<std::size_t>& available, std::size_t limit) {
  std::vector<std::size_t> share(available.size(), 0);
  std::size_t remaining = limit;
  while (remaining > 0) {
    std::size_t hungry = 0;
    for (std::size_t s = 0; s < available.size(); ++s) hungry += share[s] < available[s];
    if (hungry == 0) break;
    const std::size_t each = std::max<std::size_t>(1, remaining / hungry);
    for (std::size_t s = 0; s < available.size() && remaining > 0; ++s) {
      const std::size_t give = std::min({each, available[s] - share[s], remaining});
      share[s] += give;
      remaining -= give;
    }
  }
  return share;
}

std::vector<StoredEvent> select_events(std::vector<std::vector<StoredEvent>>& windows, std::size_t limit,
                                       Ordering ordering, std::vector<std::size_t>& taken,
                                       const std::vector<bool>* cut_short) {
  const std::size_t num_shards = windows.size();
  std::vector<StoredEvent> events;
  if (ordering == Ordering::None) {
    std::vector<std::size_t> sizes(num_shards);
    for (std::size_t s = 0; s < num_shards; ++s) sizes[s] = windows[s].size();
    taken = fair_share(sizes, limit);
    std::size_t total = 0;
    for (std::size_t n : taken) total += n;
    events.reserve(total);
    for (std::size_t s = 0; s < num_shards; ++s) {
      std::move(windows[s].begin(), windows[s].begin() + static_cast<std::ptrdiff_t>(taken[s]),
                std::back_inserter(events));
    }
    return events;
  }
  taken.assign(num_shards, 0);
  using Head = std::pair<std::uint64_t, std::size_t>;  // (insertion_ts, shard)
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
  for (std::size_t s = 0; s < num_shards; ++s)
    if (!windows[s].empty()) heads.emplace(windows[s].front().insertion_ts, s);
  while (!heads.empty() && events.size() < limit) {
    const std::size_t s = heads.top().second;
    heads.pop();
    events.push_back(std::move(windows[s][taken[s]++]));
    if (taken[s] < windows[s].size()) {
      heads.emplace(windows[s][taken[s]].insertion_ts, s);
    } else if (cut_short != nullptr && (*cut_short)[s]) {
      break;
    }
  }
  return events;
}

PollResult poll_backend(const PollRequest& request, const BackendPoll& backend) {
  if (request.limit == 0) return PollResult{{}, request.cursor, false};
  CursorIds positions = request.cursor ? decode_cursor_ids(*request.cursor, backend.num_shards, backend.valid_id)
                                       : CursorIds(backend.num_shards);
  // An even share of the limit, over-fetched as the original does to leave
  // room for a merge (x2) or a filter (x3), at most 10,000 entries per shard.
  // A plain page takes no more than the share from any shard, so it reads
  // nothing it would throw away.
  const std::size_t share =
      std::max<std::size_t>(1, request.limit / backend.num_shards + (request.limit % backend.num_shards != 0 ? 1 : 0));
  const std::size_t factor = request.filter != nullptr ? 3 : request.ordering == Ordering::InsertionTs ? 2 : 1;
  const std::size_t count = std::min<std::size_t>(share * factor, 10000);
  std::vector<ShardPage> pages = backend.fetch(positions, count);

  std::vector<std::vector<StoredEvent>> windows(backend.num_shards);
  std::vector<bool> cut_short(backend.num_shards);
  for (std::size_t s = 0; s < backend.num_shards; ++s) {
    windows[s] = std::move(pages[s].events);
    if (request.filter != nullptr) request.filter->retain_matching(windows[s]);
    cut_short[s] = pages[s].has_more;
  }
  std::vector<std::size_t> taken;
  PollResult result;
  result.events = select_events(windows, request.limit, request.ordering, taken, &cut_short);

  // Past what was delivered; past the whole window when all of it was
  // (skipped entries included), so a filtered-out range is not read again.
  bool moved = !result.events.empty();
  for (std::size_t s = 0; s < backend.num_shards; ++s) {
    std::optional<std::string> position = positions[s];
    if (taken[s] == windows[s].size()) {
      if (pages[s].last_examined) position = pages[s].last_examined;
      result.has_more |= pages[s].has_more;
    } else {
      if (taken[s] > 0) position = windows[s][taken[s] - 1].id();
      result.has_more = true;
    }
    if (position != positions[s]) {
      positions[s] = std::move(position);
      moved = true;
    }
  }
  result.has_more &= moved;
  result.next_id = moved ? std::optional<std::string>(encode_cursor_ids(positions)) : request.cursor;
  return result;
}

}  // namespace net::bus
