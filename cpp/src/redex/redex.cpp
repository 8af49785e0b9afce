#include "net/redex/redex.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "net/core/clock.hpp"
#include "net/core/error.hpp"
#include "net/core/hash.hpp"
#include "net/core/page_buffer.hpp"
#include "net/core/spin_lock.hpp"
#include "net/identity/channel_name.hpp"
#include "segment_log.hpp"

namespace net::redex {
namespace {

constexpr std::uint64_t kIndexRecordBytes = 20;  ///< what retention counts per event besides its payload

constexpr std::size_t kFirstChunkBytes = 64 << 10;      ///< small payloads share chunks, from this size
constexpr std::size_t kLastChunkBytes = kHugePageSize;  ///< doubling up to this (then one huge page each)
constexpr std::size_t kOwnAllocationBytes = 32 << 10;   ///< payloads above it are not packed

// Unix time for append stamps and age retention, read at the cost of the
// TSC: the wall clock's offset from the monotonic clock is taken once.
std::uint64_t unix_ns() {
  static const std::uint64_t offset =
      static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count()) -
      monotonic_ns();
  return offset + fast_monotonic_ns();
}

// Payload bytes: small ones packed into shared chunks (one allocation per
// chunk, not per event); an event keeps its chunk alive through an aliasing
// shared_ptr, so evicted or read events need no bookkeeping. Chunks double
// as the file grows, so a small file stays small and a large one gets huge
// pages (a page fault per 2 MiB, not per 4 KiB).
class PayloadArena {
 public:
  Payload copy(ByteView payload) {
    if (payload.size() > kOwnAllocationBytes) {
      auto data = std::make_shared_for_overwrite<std::uint8_t[]>(payload.size());
      std::memcpy(data.get(), payload.data(), payload.size());
      return {std::move(data), payload.size()};
    }
    if (!chunk_ || chunk_bytes_ - used_ < payload.size()) next_chunk();
    std::uint8_t* at = chunk_.get() + used_;
    if (!payload.empty()) std::memcpy(at, payload.data(), payload.size());
    used_ += payload.size();
    return {std::shared_ptr<const std::uint8_t[]>(chunk_, at), payload.size()};
  }

 private:
  void next_chunk() {
    chunk_bytes_ = chunk_ ? std::min(chunk_bytes_ * 2, kLastChunkBytes) : kFirstChunkBytes;
    if (chunk_bytes_ < kHugePageSize) {
      chunk_ = std::make_shared_for_overwrite<std::uint8_t[]>(chunk_bytes_);
    } else {
      PageBuffer pages = allocate_pages(chunk_bytes_, false);
      const PageBufferDeleter unmap = pages.get_deleter();
      // Released first: should the shared_ptr fail to allocate, it unmaps.
      chunk_ = std::shared_ptr<std::uint8_t[]>(reinterpret_cast<std::uint8_t*>(pages.release()),
                                               [unmap](std::uint8_t* data) { unmap(reinterpret_cast<char*>(data)); });
    }
    used_ = 0;
  }

  std::shared_ptr<std::uint8_t[]> chunk_;
  std::size_t chunk_bytes_ = 0;
  std::size_t used_ = 0;
};

std::uint32_t checksum_of(ByteView payload) {
  return static_cast<std::uint32_t>(xxh3_64(payload.data(), payload.size()) & 0x0FFFFFFF);
}

struct Stored {
  std::uint64_t seq;
  std::uint64_t timestamp_ns;
  Payload payload;
  std::uint32_t checksum;
};

// The retained events: a vector whose evicted front is skipped by an index
// and erased in bulk (a deque allocates every 512 bytes; this amortizes).
class Retained {
 public:
  using Events = std::vector<Stored, PageAllocator<Stored>>;  // grows without a page fault per 4 KiB
  using iterator = Events::iterator;
  iterator begin() { return events_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return events_.end(); }
  bool empty() const noexcept { return head_ == events_.size(); }
  std::size_t size() const noexcept { return events_.size() - head_; }
  const Stored& front() const { return events_[head_]; }
  void push_back(Stored stored) { events_.push_back(std::move(stored)); }
  void pop_front() {
    events_[head_++].payload = {};  // frees its bytes now
    if (head_ >= 4096 && head_ * 2 >= events_.size()) {
      events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

 private:
  Events events_;
  std::size_t head_ = 0;
};

[[noreturn]] void throw_closed() { throw Error(ErrorKind::Redex, "file closed"); }

}  // namespace

struct RedexFile::State {
  FileOptions options;
  std::mutex mu;
  std::condition_variable changed;  ///< appends and closes, for tails
  std::uint32_t tail_waiters = 0;   ///< tails blocked on `changed`: appends notify only when there are some
  Retained events;                  ///< seq increasing (gaps only where recovery skipped damage)
  PayloadArena arena;
  std::uint64_t next_seq = 0;
  std::uint64_t evicted_through = 0;  ///< every seq below it is gone for good
  std::uint64_t retained_bytes = 0;
  std::unique_ptr<SegmentLog> log;
  std::uint64_t unsynced = 0;
  bool dirty = false;
  bool closed = false;
  std::uint64_t corrupt = 0;
  std::thread syncer;               ///< fsync_interval: fdatasync when dirty
  std::optional<Error> sync_error;  ///< a background fdatasync failed: the next append or sync reports it
  std::condition_variable stop_syncer;

  // Drops what retention no longer keeps (mu held).
  void evict(std::uint64_t now_ns) {
    const auto& o = options;
    const std::uint64_t age_floor =
        o.retention_max_age_ns && now_ns > *o.retention_max_age_ns ? now_ns - *o.retention_max_age_ns : 0;
    bool evicted = false;
    while (!events.empty() && ((o.retention_max_events && events.size() > *o.retention_max_events) ||
                               (o.retention_max_bytes && retained_bytes > *o.retention_max_bytes) ||
                               (o.retention_max_age_ns && events.front().timestamp_ns < age_floor))) {
      retained_bytes -= kIndexRecordBytes + events.front().payload.size;
      evicted_through = events.front().seq + 1;
      events.pop_front();
      evicted = true;
    }
    if (evicted && log) log->drop_before(events.empty() ? next_seq : events.front().seq);
  }

  void keep(std::uint64_t seq, std::uint64_t timestamp_ns, ByteView payload) {
    retained_bytes += kIndexRecordBytes + payload.size();
    events.push_back({seq, timestamp_ns, arena.copy(payload), checksum_of(payload)});
  }

  // Stores and logs a run of payloads (mu held); the first seq.
  std::uint64_t append(std::span<const ByteView> payloads) {
    if (closed) throw_closed();
    raise_sync_error();
    for (const ByteView payload : payloads) {
      if (payload.size() > kMaxPayload) {
        throw Error(ErrorKind::Redex, "payload too large: " + std::to_string(payload.size()) + " bytes (max " +
                                          std::to_string(kMaxPayload) + ")");
      }
    }
    const std::uint64_t first = next_seq;
    const std::uint64_t now = unix_ns();
    if (log) {
      std::vector<RecordView> records;
      records.reserve(payloads.size());
      for (std::size_t i = 0; i < payloads.size(); ++i) records.push_back({first + i, now, payloads[i]});
      log->append(records);
    }
    for (const ByteView payload : payloads) keep(next_seq++, now, payload);
    evict(now);
    if (log) {
      unsynced += payloads.size();
      dirty = true;
      if (options.fsync_every_n && unsynced >= *options.fsync_every_n) sync_now();
    }
    if (tail_waiters > 0) changed.notify_all();
    return first;
  }

  void raise_sync_error() {
    if (!sync_error) return;
    const Error error = *sync_error;
    sync_error.reset();
    throw error;
  }

  void sync_now() {
    if (!log || !dirty) return;
    log->sync();
    dirty = false;
    unsynced = 0;
  }

  Retained::iterator first_at_or_after(std::uint64_t seq) {
    return std::lower_bound(events.begin(), events.end(), seq,
                            [](const Stored& stored, std::uint64_t value) { return stored.seq < value; });
  }
};

RedexFile::RedexFile(std::string name, const FileOptions& options)
    : name_(std::move(name)), state_(std::make_unique<State>()) {
  state_->options = options;
}

std::shared_ptr<RedexFile> RedexFile::open(const std::string& name, const FileOptions& options,
                                           const std::optional<std::filesystem::path>& directory) {
  std::shared_ptr<RedexFile> file(new RedexFile(name, options));
  State& state = *file->state_;
  if (options.persistent) {
    std::vector<Record> recovered;
    state.log = std::make_unique<SegmentLog>(*directory / name, recovered);
    state.corrupt = state.log->corrupt_records();
    state.next_seq = state.log->end_seq();
    state.evicted_through = recovered.empty() ? state.next_seq : recovered.front().seq;
    for (const Record& record : recovered) state.keep(record.seq, record.timestamp_ns, record.payload);
    state.evict(unix_ns());
  }
  if (options.persistent && options.fsync_interval) {
    State* raw = &state;
    state.syncer = std::thread([raw, interval = *options.fsync_interval] {
      std::unique_lock lock(raw->mu);
      while (!raw->closed) {
        raw->stop_syncer.wait_for(lock, interval);
        if (raw->closed) break;
        try {
          raw->sync_now();
        } catch (const Error& e) {
          raw->sync_error = e;
        }
      }
    });
  }
  return file;
}

RedexFile::~RedexFile() {
  try {
    close();
  } catch (const Error&) {
    // Nobody is left to tell: the log keeps what reached it.
  }
}

std::uint64_t RedexFile::append(ByteView payload) {
  const auto lock = lock_spinning(state_->mu);  // a tail may be copying a batch
  return state_->append({&payload, 1});
}

std::optional<std::uint64_t> RedexFile::append_batch(std::span<const ByteView> payloads) {
  const auto lock = lock_spinning(state_->mu);
  if (state_->closed) throw_closed();
  if (payloads.empty()) return std::nullopt;
  return state_->append(payloads);
}

std::vector<Event> RedexFile::read_range(std::uint64_t start, std::uint64_t end) {
  std::lock_guard lock(state_->mu);
  state_->evict(unix_ns());
  std::vector<Event> out;
  for (auto it = state_->first_at_or_after(start); it != state_->events.end() && it->seq < end; ++it) {
    out.push_back({it->seq, it->payload, it->checksum});
  }
  return out;
}

std::vector<Event> RedexFile::read_from(std::uint64_t start, std::size_t count) {
  std::lock_guard lock(state_->mu);
  state_->evict(unix_ns());
  std::vector<Event> out;
  for (auto it = state_->first_at_or_after(start); it != state_->events.end() && out.size() < count; ++it) {
    out.push_back({it->seq, it->payload, it->checksum});
  }
  return out;
}

std::size_t RedexFile::size() {
  std::lock_guard lock(state_->mu);
  state_->evict(unix_ns());
  return state_->events.size();
}

std::uint64_t RedexFile::next_seq() {
  std::lock_guard lock(state_->mu);
  return state_->next_seq;
}

std::unique_ptr<Tail> RedexFile::tail(std::uint64_t from_seq) {
  return std::unique_ptr<Tail>(new Tail(shared_from_this(), from_seq));
}

void RedexFile::sync() {
  std::lock_guard lock(state_->mu);
  if (state_->closed) throw_closed();
  state_->raise_sync_error();
  state_->sync_now();
}

void RedexFile::close() {
  std::optional<Error> failure;
  {
    std::lock_guard lock(state_->mu);
    if (state_->closed) return;
    state_->closed = true;  // first: whatever the sync below does, the file is closed and its thread stops
    try {
      state_->raise_sync_error();
      state_->sync_now();
    } catch (const Error& e) {
      failure = e;
    }
    state_->changed.notify_all();
    state_->stop_syncer.notify_all();
  }
  if (state_->syncer.joinable()) state_->syncer.join();
  if (failure) throw *failure;
}

bool RedexFile::closed() const {
  std::lock_guard lock(state_->mu);
  return state_->closed;
}

std::uint64_t RedexFile::corrupt_records() const {
  std::lock_guard lock(state_->mu);
  return state_->corrupt;
}

Tail::Status Tail::next(Event& out, std::chrono::nanoseconds wait) {
  thread_local std::vector<Event> one;  // keeps its capacity: no allocation per event
  const Status status = next_batch(one, 1, wait);
  if (status == Status::Event) out = std::move(one.front());
  one.clear();
  return status;
}

Tail::Status Tail::next_batch(std::vector<Event>& out, std::size_t max, std::chrono::nanoseconds wait) {
  RedexFile::State& state = *file_->state_;
  std::unique_lock lock(state.mu);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  out.clear();
  for (;;) {
    if (closed_ || state.closed) return Status::Ended;
    state.evict(unix_ns());
    if (next_seq_ < state.evicted_through) {
      closed_ = true;
      throw Error(ErrorKind::Redex, "tail subscriber lagged; stream disconnected");
    }
    auto it = state.first_at_or_after(next_seq_);
    if (it != state.events.end()) {
      for (; it != state.events.end() && out.size() < max; ++it) {
        out.push_back({it->seq, it->payload, it->checksum});
        next_seq_ = it->seq + 1;
      }
      return Status::Event;
    }
    if (wait <= std::chrono::nanoseconds::zero()) return Status::Timeout;
    ++state.tail_waiters;
    const auto woke = state.changed.wait_until(lock, deadline);
    --state.tail_waiters;
    if (woke == std::cv_status::timeout) {
      if (closed_ || state.closed) return Status::Ended;
      if (state.first_at_or_after(next_seq_) == state.events.end()) return Status::Timeout;
    }
  }
}

void Tail::close() {
  std::lock_guard lock(file_->state_->mu);
  closed_ = true;
  file_->state_->changed.notify_all();
}

Redex::Redex(std::optional<std::filesystem::path> persistent_dir) : dir_(std::move(persistent_dir)) {}

Redex::~Redex() = default;

std::shared_ptr<RedexFile> Redex::open_file(const std::string& name, const FileOptions& options) {
  if (const auto reason = identity::channel_name_error(name)) throw Error(ErrorKind::Redex, *reason);
  if (options.fsync_every_n && options.fsync_interval) {
    throw Error(ErrorKind::Redex, "fsync_every_n and fsync_interval_ms are mutually exclusive");
  }
  if (options.fsync_every_n && *options.fsync_every_n == 0) throw Error(ErrorKind::Redex, "fsync_every_n must be > 0");
  if (options.fsync_interval && options.fsync_interval->count() == 0) {
    throw Error(ErrorKind::Redex, "fsync_interval_ms must be > 0");
  }
  std::lock_guard lock(mutex_);
  if (const auto open = files_.find(name); open != files_.end() && !open->second->closed()) return open->second;
  if (options.persistent && !dir_) {
    throw Error(ErrorKind::Redex,
                "open_file: channel error: config.persistent=true requires Redex::with_persistent_dir(...)");
  }
  try {
    auto file = RedexFile::open(name, options, dir_);
    files_[name] = file;
    return file;
  } catch (const Error& e) {
    throw Error(ErrorKind::Redex, std::string("open_file: ") + e.what());
  }
}

}  // namespace net::redex
