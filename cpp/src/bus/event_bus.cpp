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
#include <thread>
#include <tuple>

#include "bus/backend_poll.hpp"
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

void check_event_size(std::string_view event, std::size_t max_size, const Adapter* adapter) {
  if (event.size() <= max_size) return;
  std::string message = "event too large: " + std::to_string(event.size()) + " bytes";
  if (adapter != nullptr)
    message += " (the " + std::string(adapter->name()) + " adapter carries at most " + std::to_string(max_size) + ")";
  throw Error(ErrorKind::InvalidArgument, message);
}

}  // namespace

Ordering parse_ordering(std::string_view name) {
  if (name == "none") return Ordering::None;
  if (name == "insertion_ts") return Ordering::InsertionTs;
  throw Error(ErrorKind::InvalidArgument, "Invalid ordering: " + std::string(name) + ". Use 'none' or 'insertion_ts'");
}

// How often the drain thread looks for new events when it found none; how
// long it waits after the adapter refused a batch (doubling up to the max).
constexpr auto kDrainIdle = std::chrono::microseconds(500);
constexpr auto kDrainRetryMin = std::chrono::milliseconds(5);
constexpr auto kDrainRetryMax = std::chrono::milliseconds(500);
constexpr std::size_t kDrainBatch = 4096;
// Drain threads for an adapter that takes shards concurrently.
constexpr std::size_t kMaxDrainThreads = 8;
// After shutdown(), how long the drain keeps trying without progress.
constexpr auto kFinalFlush = std::chrono::seconds(2);

struct EventBus::Impl {
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<bool> shut_down{false};
  std::unique_ptr<Adapter> adapter;
  std::size_t max_event_size = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint64_t> undelivered;  ///< per shard: the next sequence the adapter has not taken
  std::vector<std::thread> drain_threads;
  std::mutex drain_mu;
  std::condition_variable drain_wake;
  bool drain_stop = false;

  void check_open() const {
    if (shut_down.load(std::memory_order_acquire)) throw Error(ErrorKind::ShutDown, "EventBus has been shut down");
  }

  // Offers each shard's next events to the adapter. The read is a
  // reservation, so what the adapter has not taken still counts against the
  // ring's capacity (backpressure applies) and an eviction is counted as a
  // drop. Returns whether anything was taken, and whether anything was
  // refused. Past `give_up` (shutting down) with nothing taken yet, the
  // remaining shards are not tried: each try may wait for a broker's timeout.
  std::pair<bool, bool> drain_once(std::vector<StoredEvent>& batch, std::size_t first, std::size_t step,
                                   std::optional<std::chrono::steady_clock::time_point> give_up) {
    bool progress = false;
    bool refused = false;
    for (std::size_t s = first; s < shards.size(); s += step) {
      if (give_up && !progress && std::chrono::steady_clock::now() >= *give_up) return {false, true};
      batch.clear();
      Shard& shard = *shards[s];
      shard.read(undelivered[s], kDrainBatch, false, batch);
      if (batch.empty()) {
        shard.finish_read(undelivered[s], undelivered[s]);
        continue;
      }
      std::size_t taken = 0;
      try {
        taken = std::min(adapter->on_batch(batch), batch.size());
      } catch (const std::exception&) {
        taken = 0;  // the adapter's own state says why; retried like a refusal
      }
      const std::uint64_t start = batch.front().sequence;
      undelivered[s] = taken == batch.size() ? batch.back().sequence + 1 : batch[taken].sequence;
      shard.finish_read(start, undelivered[s]);
      progress |= taken > 0;
      refused |= taken < batch.size();
    }
    return {progress, refused};
  }

  // Whether shards first, first + step, ... hold events the adapter has not taken.
  bool has_undelivered(std::size_t first, std::size_t step) const {
    for (std::size_t s = first; s < shards.size(); s += step) {
      if (shards[s]->bounds().head > undelivered[s]) return true;
    }
    return false;
  }

  // Hands ring contents to the adapter, backing off while it refuses. After
  // shutdown() it keeps going until the rings are empty or kFinalFlush passed
  // without progress. Serves shards first, first + step, ...
  void drain(std::size_t first, std::size_t step) {
    std::vector<StoredEvent> batch;
    auto backoff = kDrainRetryMin;
    std::optional<std::chrono::steady_clock::time_point> give_up;
    for (;;) {
      bool progress = false;
      bool refused = false;
      if (adapter->ready()) {
        std::tie(progress, refused) = drain_once(batch, first, step, give_up);
      } else {
        refused = has_undelivered(first, step);  // with nothing waiting, a shutdown need not wait for it
      }
      batch.clear();  // releases the chunks
      std::chrono::microseconds wait = kDrainIdle;
      if (refused) {
        wait = backoff;
        backoff = std::min(backoff * 2, kDrainRetryMax);
      } else if (progress) {
        backoff = kDrainRetryMin;
        wait = std::chrono::microseconds(0);
      }
      std::unique_lock lock(drain_mu);
      if (drain_stop) {
        const auto now = std::chrono::steady_clock::now();
        if (!give_up || progress) give_up = now + kFinalFlush;
        if ((!progress && !refused) || now >= *give_up) return;
        wait = std::min<std::chrono::microseconds>(wait, kDrainRetryMin);
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
  if (impl_->adapter) impl_->max_event_size = std::min(impl_->max_event_size, impl_->adapter->max_event_size());
  impl_->undelivered.assign(config.num_shards, 0);
  if (impl_->adapter) {
    const std::size_t threads =
        impl_->adapter->concurrent_shards() ? std::min<std::size_t>(config.num_shards, kMaxDrainThreads) : 1;
    try {
      for (std::size_t t = 0; t < threads; ++t) {
        impl_->drain_threads.emplace_back([this, t, threads] { impl_->drain(t, threads); });
      }
    } catch (...) {  // no thread to start: stop and join those that did
      shutdown();
      throw;
    }
  }
}

EventBus::~EventBus() { shutdown(); }

Adapter* EventBus::adapter() const noexcept { return impl_->adapter.get(); }

std::uint16_t EventBus::num_shards() const noexcept { return static_cast<std::uint16_t>(impl_->shards.size()); }

std::uint16_t EventBus::shard_for(std::string_view event) const noexcept {
  return shard_of(event, impl_->shards.size());
}

std::optional<IngestResult> EventBus::ingest(std::string_view event) {
  impl_->check_open();
  check_event_size(event, impl_->max_event_size, impl_->adapter.get());
  const std::uint16_t shard = shard_for(event);
  const auto ts = impl_->shards[shard]->push(event, fast_monotonic_ns());
  if (!ts) return std::nullopt;
  return IngestResult{shard, *ts};
}

std::size_t EventBus::ingest_batch(std::span<const std::string_view> events) {
  impl_->check_open();
  std::size_t largest = 0;
  for (std::string_view event : events) largest = std::max(largest, event.size());
  if (largest > impl_->max_event_size) {
    for (std::string_view event : events) check_event_size(event, impl_->max_event_size, impl_->adapter.get());
  }
  return Shard::push_batch(impl_->shards, events, fast_monotonic_ns());
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
  std::vector<std::size_t> taken;
  PollResult result;
  result.events = select_events(windows, request.limit, request.ordering, taken);

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
    for (auto& thread : impl_->drain_threads) thread.join();
    impl_->adapter->shutdown();
    // What the adapter never took is lost with the rings: counted as dropped.
    for (std::size_t s = 0; s < impl_->shards.size(); ++s) impl_->shards[s]->drop_from(impl_->undelivered[s]);
  }
  for (auto& shard : impl_->shards) shard->close();
}

bool EventBus::is_shut_down() const noexcept { return impl_->shut_down.load(std::memory_order_acquire); }

}  // namespace net::bus
