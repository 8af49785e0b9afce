// EventBus: shard selection, batch grouping and the poll algorithm (fair
// share across shards or a merge by insertion time, optional filter, cursor
// advance that delivers every event exactly once to a paging consumer).
#include "net/bus/event_bus.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <queue>
#include <thread>

#include "bus/cursor.hpp"
#include "bus/shard.hpp"
#include "net/core/clock.hpp"
#include "net/core/error.hpp"
#include "net/core/hash.hpp"

namespace net::bus {
namespace {

// Most events a filtered poll examines per shard beyond its limit; a poll
// whose window matched nothing still advances the cursor past it.
constexpr std::size_t kFilterScanPerShard = 16384;

void check_event_size(std::string_view event) {
  if (event.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw Error(ErrorKind::InvalidArgument, "event too large: " + std::to_string(event.size()) + " bytes");
  }
}

// Splits `limit` across shards as evenly as their sizes allow.
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

struct BatchScratch {
  std::vector<std::uint16_t> shard_of;
  std::vector<std::uint32_t> order;
  std::vector<std::size_t> offsets;
  std::vector<std::size_t> next;
};

// Per thread, and out of line: inside a shared object every thread_local
// access is a __tls_get_addr call, which GCC repeats after each opaque call
// in a loop; a returned reference is fetched once.
[[gnu::noinline]] BatchScratch& batch_scratch() {
  thread_local BatchScratch scratch;
  return scratch;
}

}  // namespace

Ordering parse_ordering(std::string_view name) {
  if (name == "none") return Ordering::None;
  if (name == "insertion_ts") return Ordering::InsertionTs;
  throw Error(ErrorKind::InvalidArgument, "Invalid ordering: " + std::string(name) + ". Use 'none' or 'insertion_ts'");
}

// How often the drain thread looks for new events when it found none, and
// how long it waits after the adapter refused a batch.
constexpr auto kDrainIdle = std::chrono::microseconds(500);
constexpr auto kDrainRetry = std::chrono::milliseconds(5);
constexpr std::size_t kDrainBatch = 4096;
constexpr auto kFinalFlush = std::chrono::seconds(2);

struct EventBus::Impl {
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<bool> shut_down{false};
  std::unique_ptr<Adapter> adapter;
  std::thread drain_thread;
  std::mutex drain_mu;
  std::condition_variable drain_wake;
  bool drain_stop = false;

  void check_open() const {
    if (shut_down.load(std::memory_order_acquire)) throw Error(ErrorKind::ShutDown, "EventBus has been shut down");
  }

  // The cursor past `delivered` (a prefix of a page read from `cursor`).
  std::optional<std::string> advance(const std::optional<std::string>& cursor,
                                     std::span<const StoredEvent> delivered) const {
    if (delivered.empty()) return cursor;
    const auto num_shards = static_cast<std::uint16_t>(shards.size());
    CursorPositions positions = cursor ? decode_cursor(*cursor, num_shards) : CursorPositions(num_shards);
    for (const StoredEvent& event : delivered) positions[event.shard_id] = event.sequence;
    return encode_cursor(positions);
  }

  // Hands ring contents to the adapter; a refused batch is offered again
  // from the same cursor, so nothing is skipped. After shutdown() it keeps
  // going until the rings are empty, the adapter is not ready, or kFinalFlush passed.
  void drain(EventBus& bus) {
    std::optional<std::string> cursor;
    std::optional<std::chrono::steady_clock::time_point> give_up;
    for (;;) {
      bool idle = true;
      auto wait = kDrainIdle;
      if (adapter->ready()) {
        PollResult page = bus.poll_rings(PollRequest{kDrainBatch, cursor, nullptr, Ordering::None});
        if (!page.events.empty()) {
          idle = false;
          const std::size_t taken = adapter->on_batch(page.events);
          if (taken == page.events.size()) {
            cursor = page.next_id;
            wait = std::chrono::microseconds(0);
          } else {
            cursor = advance(cursor, std::span(page.events).first(taken));
            wait = kDrainRetry;
          }
        }
      }
      std::unique_lock lock(drain_mu);
      if (drain_stop) {
        const auto now = std::chrono::steady_clock::now();
        if (!give_up) give_up = now + kFinalFlush;
        if (idle || now >= *give_up) return;
      }
      if (wait.count() > 0) drain_wake.wait_for(lock, wait, [&] { return drain_stop && !give_up; });
    }
  }
};

EventBus::EventBus(const EventBusConfig& config, std::unique_ptr<Adapter> adapter) : impl_(std::make_unique<Impl>()) {
  config.validate();
  impl_->shards.reserve(config.num_shards);
  for (std::uint16_t s = 0; s < config.num_shards; ++s) {
    impl_->shards.push_back(std::make_unique<Shard>(s, config.ring_buffer_capacity, config.backpressure_mode));
  }
  impl_->adapter = std::move(adapter);
  if (impl_->adapter) impl_->drain_thread = std::thread([this] { impl_->drain(*this); });
}

EventBus::~EventBus() { shutdown(); }

Adapter* EventBus::adapter() const noexcept { return impl_->adapter.get(); }

std::uint16_t EventBus::num_shards() const noexcept { return static_cast<std::uint16_t>(impl_->shards.size()); }

std::uint16_t EventBus::shard_for(std::string_view event) const noexcept {
  // The original's equal-weight mapper: Lemire's multiply-shift of the xxh3.
  const unsigned __int128 product = static_cast<unsigned __int128>(xxh3_64(event)) * impl_->shards.size();
  return static_cast<std::uint16_t>(product >> 64);
}

std::optional<IngestResult> EventBus::ingest(std::string_view event) {
  impl_->check_open();
  check_event_size(event);
  const std::uint16_t shard = shard_for(event);
  const auto ts = impl_->shards[shard]->push(event, fast_monotonic_ns());
  if (!ts) return std::nullopt;
  return IngestResult{shard, *ts};
}

std::size_t EventBus::ingest_batch(std::span<const std::string_view> events) {
  impl_->check_open();
  for (std::string_view event : events) check_event_size(event);
  const std::size_t num_shards = impl_->shards.size();

  // Counting sort of event indices by shard, keeping each shard's input order.
  BatchScratch& scratch = batch_scratch();
  std::vector<std::uint16_t>& shard_of = scratch.shard_of;
  std::vector<std::uint32_t>& order = scratch.order;
  std::vector<std::size_t>& offsets = scratch.offsets;
  std::vector<std::size_t>& next = scratch.next;
  shard_of.resize(events.size());
  order.resize(events.size());
  offsets.assign(num_shards + 1, 0);
  for (std::size_t i = 0; i < events.size(); ++i) {
    shard_of[i] = shard_for(events[i]);
    ++offsets[shard_of[i] + 1];
  }
  for (std::size_t s = 0; s < num_shards; ++s) offsets[s + 1] += offsets[s];
  next.assign(offsets.begin(), offsets.end() - 1);
  for (std::size_t i = 0; i < events.size(); ++i) order[next[shard_of[i]]++] = static_cast<std::uint32_t>(i);

  const std::uint64_t now = fast_monotonic_ns();
  std::size_t accepted = 0;
  for (std::size_t s = 0; s < num_shards; ++s) {
    const std::size_t count = offsets[s + 1] - offsets[s];
    if (count > 0) accepted += impl_->shards[s]->push_batch(events.data(), order.data() + offsets[s], count, now);
  }
  return accepted;
}

PollResult EventBus::poll(const PollRequest& request) {
  impl_->check_open();
  if (impl_->adapter) {
    if (auto served = impl_->adapter->poll(request)) return std::move(*served);
  }
  return poll_rings(request);
}

PollResult EventBus::poll_rings(const PollRequest& request) {
  const std::size_t num_shards = impl_->shards.size();
  if (request.limit == 0) return PollResult{{}, request.cursor, false};

  CursorPositions positions = request.cursor ? decode_cursor(*request.cursor, static_cast<std::uint16_t>(num_shards))
                                             : CursorPositions(num_shards);

  // Where each shard resumes, and how much it holds from there.
  std::vector<std::uint64_t> start(num_shards);
  std::vector<std::size_t> available(num_shards);
  for (std::size_t s = 0; s < num_shards; ++s) {
    const Shard::Bounds bounds = impl_->shards[s]->bounds();
    if (positions[s] && *positions[s] >= bounds.head) {
      throw Error(ErrorKind::InvalidCursor, "invalid cursor: shard " + std::to_string(s) + " position " +
                                                std::to_string(*positions[s]) + " is ahead of the stream");
    }
    start[s] = std::max(positions[s] ? *positions[s] + 1 : 0, bounds.tail);
    available[s] = static_cast<std::size_t>(bounds.head - start[s]);
  }

  // Read each shard's window of candidates. Without a filter or a merge the
  // fair share is known up front, so only what will be returned is read.
  const bool direct = request.filter == nullptr && request.ordering == Ordering::None;
  const std::vector<std::size_t> direct_share =
      direct ? fair_share(available, request.limit) : std::vector<std::size_t>{};
  std::vector<std::vector<StoredEvent>> windows(num_shards);
  std::vector<std::uint64_t> scanned_end(num_shards);
  std::vector<std::uint64_t> head(num_shards);
  // Filtered and merged reads are reservations: each ends in finish_read(),
  // also when this poll throws.
  std::vector<bool> reserved(num_shards, false);
  struct EndReservations {
    const std::vector<std::unique_ptr<Shard>>& shards;
    std::vector<bool>& reserved;
    const std::vector<std::uint64_t>& start;
    ~EndReservations() {
      for (std::size_t s = 0; s < reserved.size(); ++s)
        if (reserved[s]) shards[s]->finish_read(start[s], start[s]);
    }
  } end_reservations{impl_->shards, reserved, start};
  for (std::size_t s = 0; s < num_shards; ++s) {
    const std::size_t want = direct                      ? direct_share[s]
                             : request.filter != nullptr ? std::max(request.limit, kFilterScanPerShard)
                                                         : std::min(request.limit, available[s]);
    if (want == 0) {
      scanned_end[s] = start[s];
      head[s] = start[s] + available[s];
      continue;
    }
    // The direct path returns everything it reads, so it marks it polled at once.
    const Shard::Bounds bounds = impl_->shards[s]->read(start[s], want, direct, windows[s]);
    reserved[s] = !direct;
    head[s] = bounds.head;
    scanned_end[s] = windows[s].empty() ? start[s] : windows[s].back().sequence + 1;
    if (request.filter != nullptr) request.filter->retain_matching(windows[s]);
  }

  // Choose what to return.
  std::vector<std::size_t> taken(num_shards, 0);
  PollResult result;
  if (request.ordering == Ordering::None) {
    std::vector<std::size_t> sizes(num_shards);
    for (std::size_t s = 0; s < num_shards; ++s) sizes[s] = windows[s].size();
    taken = fair_share(sizes, request.limit);
    std::size_t total = 0;
    for (std::size_t n : taken) total += n;
    result.events.reserve(total);
    for (std::size_t s = 0; s < num_shards; ++s) {
      std::move(windows[s].begin(), windows[s].begin() + static_cast<std::ptrdiff_t>(taken[s]),
                std::back_inserter(result.events));
    }
  } else {
    using Head = std::pair<std::uint64_t, std::size_t>;  // (insertion_ts, shard)
    std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
    for (std::size_t s = 0; s < num_shards; ++s)
      if (!windows[s].empty()) heads.emplace(windows[s].front().insertion_ts, s);
    while (!heads.empty() && result.events.size() < request.limit) {
      const std::size_t s = heads.top().second;
      heads.pop();
      result.events.push_back(std::move(windows[s][taken[s]++]));
      if (taken[s] < windows[s].size()) heads.emplace(windows[s][taken[s]].insertion_ts, s);
    }
  }

  // Advance each shard past what was delivered (and past scanned non-matches).
  bool moved = !result.events.empty();
  for (std::size_t s = 0; s < num_shards; ++s) {
    const std::uint64_t resume = taken[s] < windows[s].size() ? windows[s][taken[s]].sequence : scanned_end[s];
    if (resume > start[s]) {  // start > any previous position, so this moves forward
      positions[s] = resume - 1;
      moved = true;
      if (!reserved[s]) impl_->shards[s]->mark_polled(resume);
    }
    if (reserved[s]) {
      reserved[s] = false;
      impl_->shards[s]->finish_read(start[s], resume);
    }
    if (head[s] > resume) result.has_more = true;
  }
  result.next_id = moved ? std::optional<std::string>(encode_cursor(positions)) : request.cursor;
  return result;
}

Stats EventBus::stats() const {
  impl_->check_open();
  Stats total;
  for (const auto& shard : impl_->shards) {
    const Stats s = shard->counters();
    total.events_ingested += s.events_ingested;
    total.events_dropped += s.events_dropped;
  }
  return total;
}

void EventBus::shutdown() {
  if (impl_->shut_down.exchange(true, std::memory_order_acq_rel)) return;
  if (impl_->adapter) {
    {
      std::lock_guard lock(impl_->drain_mu);
      impl_->drain_stop = true;
    }
    impl_->drain_wake.notify_all();
    impl_->drain_thread.join();
    impl_->adapter->shutdown();
  }
  for (auto& shard : impl_->shards) shard->close();
}

bool EventBus::is_shut_down() const noexcept { return impl_->shut_down.load(std::memory_order_acquire); }

}  // namespace net::bus
