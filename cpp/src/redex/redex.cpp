#include "net/redex/redex.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "net/core/chunk_pool.hpp"
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

constexpr std::size_t kFirstChunkBytes = 64 << 10;              ///< small payloads share chunks, from this size
constexpr std::size_t kLastChunkBytes = ChunkPool::kChunkSize;  ///< doubling up to this (then pooled chunks)
constexpr std::size_t kOwnAllocationBytes = 32 << 10;           ///< payloads above it are not packed

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
// chunk, not per event), large ones in a chunk of their own. Events name
// their chunk by serial, and a chunk is dropped once no retained event is in
// it; a reader's payload is a shared_ptr aliasing its chunk, so bytes that a
// reader holds outlive their eviction. Packing chunks double as the file
// grows, so a small file stays small and a large one takes 2 MiB chunks
// from the ChunkPool (faulted in ahead, reused when let go).
class PayloadArena {
 public:
  struct Placed {
    std::uint64_t chunk;
    std::uint32_t offset;
  };

  Placed copy(ByteView payload) {
    if (payload.size() > kOwnAllocationBytes) {
      auto data = std::make_shared_for_overwrite<std::uint8_t[]>(payload.size());
      std::memcpy(data.get(), payload.data(), payload.size());
      chunks_.push_back({std::move(data), 1});
      return {end_serial() - 1, 0};
    }
    if (packing_ == nullptr || packing_bytes_ - used_ < payload.size()) next_chunk();
    if (!payload.empty()) std::memcpy(packing_ + used_, payload.data(), payload.size());
    ++*packing_events_;
    const Placed placed{packing_serial_, static_cast<std::uint32_t>(used_)};
    used_ += payload.size();
    return placed;
  }

  Payload payload(std::uint64_t chunk, std::uint32_t offset, std::uint32_t size) const {
    const std::shared_ptr<std::uint8_t[]>& data = chunks_[chunk - first_serial_].data;
    return {std::shared_ptr<const std::uint8_t[]>(data, data.get() + offset), size};
  }

  // An event in `chunk` is evicted: the chunk's bytes go once it holds no
  // retained event and no longer packs new ones.
  void release(std::uint64_t chunk) {
    if (--chunks_[chunk - first_serial_].events == 0 && chunk != packing_serial_) drop(chunk);
  }

 private:
  struct Chunk {
    std::shared_ptr<std::uint8_t[]> data;
    std::uint64_t events;  ///< retained events in it
  };

  std::uint64_t end_serial() const noexcept { return first_serial_ + chunks_.size(); }

  void next_chunk() {
    packing_bytes_ = packing_ != nullptr ? std::min(packing_bytes_ * 2, kLastChunkBytes) : kFirstChunkBytes;
    std::shared_ptr<std::uint8_t[]> data = packing_bytes_ < ChunkPool::kChunkSize
                                               ? std::make_shared_for_overwrite<std::uint8_t[]>(packing_bytes_)
                                               : ChunkPool::instance().acquire_shared();
    packing_ = data.get();
    chunks_.push_back({std::move(data), 0});
    packing_events_ = &chunks_.back().events;  // a deque's elements stay put as it grows and shrinks
    const std::uint64_t previous = std::exchange(packing_serial_, end_serial() - 1);
    used_ = 0;
    if (previous != kNoChunk && chunks_[previous - first_serial_].events == 0) drop(previous);
  }

  // Frees a chunk's bytes (readers' references keep them alive); its entry
  // goes when the entries before it have gone, so serials stay positions.
  void drop(std::uint64_t chunk) {
    chunks_[chunk - first_serial_].data.reset();
    while (!chunks_.empty() && chunks_.front().data == nullptr) {
      chunks_.pop_front();
      ++first_serial_;
    }
  }

  static constexpr std::uint64_t kNoChunk = ~std::uint64_t{0};
  std::deque<Chunk> chunks_;  ///< serials first_serial_ on
  std::uint64_t first_serial_ = 0;
  std::uint64_t packing_serial_ = kNoChunk;
  std::uint8_t* packing_ = nullptr;
  std::uint64_t* packing_events_ = nullptr;
  std::size_t packing_bytes_ = 0;
  std::size_t used_ = 0;
};

// One retained event: its payload is named by chunk serial and offset, so
// the index is plain data (no reference count touched per append).
struct Stored {
  std::uint64_t seq;
  std::uint64_t timestamp_ns;
  std::uint64_t chunk;
  std::uint32_t offset;
  std::uint32_t size;
};
static_assert(std::is_trivially_copyable_v<Stored> && sizeof(Stored) == 32);
static_assert(RedexFile::kMaxPayload <= UINT32_MAX);

// The retained events in seq order, by position from the oldest. Past the
// first 2 MiB they live in 2 MiB blocks from the ChunkPool: growing never
// copies the index or holds it twice, and eviction hands whole blocks back
// (so a file at its retention limit maps nothing new).
class Retained {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  const Stored& operator[](std::size_t i) const noexcept {
    const std::size_t at = head_ + i;
    return blocks_[at / kPerBlock][at % kPerBlock];
  }
  const Stored& front() const noexcept { return (*this)[0]; }

  void push_back(const Stored& stored) {
    if (back_ == nullptr || back_->size() == kPerBlock) {
      back_ = &blocks_.emplace_back();                    // a deque's elements stay put as it grows and shrinks
      if (blocks_.size() > 1) back_->reserve(kPerBlock);  // a pool chunk; the first block grows from small
    }
    back_->push_back(stored);
    ++size_;
  }

  void pop_front() {
    ++head_;
    --size_;
    if (head_ == kPerBlock) {
      if (&blocks_.front() == back_) back_ = nullptr;
      blocks_.pop_front();  // back to the pool
      head_ = 0;
    } else if (size_ == 0 && blocks_.size() == 1) {  // all gone from a partial block: start it over
      blocks_.front().clear();
      head_ = 0;
    }
  }

  // The position of the first event with seq >= `seq`, or size().
  std::size_t first_at_or_after(std::uint64_t seq) const noexcept {
    if (empty() || seq <= front().seq) return 0;
    const std::uint64_t guess = seq - front().seq;  // seqs are contiguous but where recovery skipped damage
    if (guess < size_ && (*this)[guess].seq == seq) return guess;
    std::size_t low = 0;
    std::size_t high = size_;
    while (low < high) {
      const std::size_t middle = low + (high - low) / 2;
      if ((*this)[middle].seq < seq) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

 private:
  using Block = std::vector<Stored, PageAllocator<Stored>>;
  static constexpr std::size_t kPerBlock = ChunkPool::kChunkSize / sizeof(Stored);
  std::deque<Block> blocks_;
  Block* back_ = nullptr;  ///< where the next event goes, unless full
  std::size_t head_ = 0;   ///< the oldest event's place in blocks_.front()
  std::size_t size_ = 0;
};

[[noreturn]] void throw_closed() { throw Error(ErrorKind::Redex, "file closed"); }

}  // namespace

struct RedexFile::State {
  FileOptions options;
  std::mutex mu;
  std::mutex closing;               ///< held through close()
  std::condition_variable changed;  ///< appends and closes, for tails
  std::uint32_t tail_waiters = 0;   ///< tails blocked on `changed`: appends notify only when there are some
  std::atomic<std::uint64_t> appended_through{0};  ///< next_seq after the last append, for spinning tails
  Retained events;                                 ///< seq increasing (gaps only where recovery skipped damage)
  PayloadArena arena;
  std::uint64_t next_seq = 0;
  std::uint64_t evicted_through = 0;  ///< every seq below it is gone for good
  std::uint64_t retained_bytes = 0;
  std::unique_ptr<SegmentLog> log;
  std::uint64_t unsynced = 0;
  bool dirty = false;
  int detached_syncs = 0;  ///< fdatasyncs running without `mu`
  std::condition_variable detached_done;
  bool closed = false;
  std::uint64_t corrupt = 0;
  std::thread syncer;               ///< fsync_interval: fdatasync when dirty
  std::optional<Error> sync_error;  ///< a background fdatasync failed: the next append or sync reports it
  std::condition_variable stop_syncer;

  // The time to stamp appends with and to age events by: read only where
  // something uses it (the log's records, age retention), for it costs more
  // than the rest of a small append.
  std::uint64_t stamp_ns() const { return log || options.retention_max_age_ns ? unix_ns() : 0; }

  bool retains_all() const noexcept {
    return !options.retention_max_events && !options.retention_max_bytes && !options.retention_max_age_ns;
  }

  // Drops what retention no longer keeps (mu held).
  void evict(std::uint64_t now_ns) {
    if (retains_all()) return;
    const auto& o = options;
    const std::uint64_t age_floor =
        o.retention_max_age_ns && now_ns > *o.retention_max_age_ns ? now_ns - *o.retention_max_age_ns : 0;
    bool evicted = false;
    while (!events.empty() && ((o.retention_max_events && events.size() > *o.retention_max_events) ||
                               (o.retention_max_bytes && retained_bytes > *o.retention_max_bytes) ||
                               (o.retention_max_age_ns && events.front().timestamp_ns < age_floor))) {
      retained_bytes -= kIndexRecordBytes + events.front().size;
      evicted_through = events.front().seq + 1;
      arena.release(events.front().chunk);
      events.pop_front();
      evicted = true;
    }
    if (evicted && log) log->drop_before(events.empty() ? next_seq : events.front().seq);
  }

  void keep(std::uint64_t seq, std::uint64_t timestamp_ns, ByteView payload) {
    retained_bytes += kIndexRecordBytes + payload.size();
    const PayloadArena::Placed placed = arena.copy(payload);
    events.push_back({seq, timestamp_ns, placed.chunk, placed.offset, static_cast<std::uint32_t>(payload.size())});
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
    const std::uint64_t now = stamp_ns();
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
    appended_through.store(next_seq, std::memory_order_release);
    if (tail_waiters > 0) changed.notify_all();
    return first;
  }

  void raise_sync_error() {
    if (!sync_error) return;
    const Error error = *sync_error;
    sync_error.reset();
    throw error;
  }

  // What was written so far made durable in the syncer's thread without
  // holding `mu` (held by `lock` on entry and on return): appends go on
  // meanwhile and mark the file dirty again.
  void sync_detached(std::unique_lock<std::mutex>& lock) {
    SegmentLog::DetachedSync sync = log->detach_sync();
    dirty = false;
    unsynced = 0;
    detached_syncs += 1;
    lock.unlock();
    std::optional<Error> failure;
    try {
      sync.run();
    } catch (const Error& e) {
      failure = e;
    }
    lock.lock();
    detached_syncs -= 1;
    if (failure) {
      dirty = true;
      sync_error = *failure;
    }
    detached_done.notify_all();
  }

  // sync() and close(): fdatasync under `mu` (held by `lock`), after any
  // detached sync in flight has ended: the data that one covered is on disk,
  // or its error (or an earlier one) raised here.
  void sync_now(std::unique_lock<std::mutex>& lock) {
    detached_done.wait(lock, [&] { return detached_syncs == 0; });
    raise_sync_error();
    sync_now();
  }

  void sync_now() {  // no detached sync can be in flight (fsync_every_n excludes the interval thread)
    if (!log || !dirty) return;
    log->sync();
    dirty = false;
    unsynced = 0;
  }

  // Up to `max` retained events below seq `end`, from position `from` on, appended to `out`.
  void copy_out(std::size_t from, std::uint64_t end, std::size_t max, std::vector<Event>& out) const {
    for (std::size_t i = from; i < events.size() && max > 0; ++i, --max) {
      const Stored& stored = events[i];
      if (stored.seq >= end) break;
      out.push_back({stored.seq, arena.payload(stored.chunk, stored.offset, stored.size)});
    }
  }
};

std::uint32_t Event::checksum() const noexcept {
  return static_cast<std::uint32_t>(xxh3_64(payload.data.get(), payload.size) & 0x0FFFFFFF);
}

RedexFile::RedexFile(std::string name, const FileOptions& options)
    : name_(std::move(name)), persistent_(options.persistent), state_(std::make_unique<State>()) {
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
    state.evict(state.stamp_ns());
  }
  if (options.persistent && options.fsync_interval) {
    State* raw = &state;
    state.syncer = std::thread([raw, interval = *options.fsync_interval] {
      std::unique_lock lock(raw->mu);
      while (!raw->closed) {
        raw->stop_syncer.wait_for(lock, interval);
        if (raw->closed || !raw->dirty) continue;
        try {
          raw->sync_detached(lock);
        } catch (const Error& e) {  // opening the descriptor failed
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
  state_->evict(state_->stamp_ns());
  std::vector<Event> out;
  state_->copy_out(state_->events.first_at_or_after(start), end, SIZE_MAX, out);
  return out;
}

std::vector<Event> RedexFile::read_from(std::uint64_t start, std::size_t count) {
  std::lock_guard lock(state_->mu);
  state_->evict(state_->stamp_ns());
  std::vector<Event> out;
  state_->copy_out(state_->events.first_at_or_after(start), UINT64_MAX, count, out);
  return out;
}

std::size_t RedexFile::size() {
  std::lock_guard lock(state_->mu);
  state_->evict(state_->stamp_ns());
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
  std::unique_lock lock(state_->mu);
  if (state_->closed) throw_closed();
  state_->sync_now(lock);
}

void RedexFile::close() {
  const std::lock_guard closing(state_->closing);  // a second close() returns when the first is done
  {
    std::lock_guard lock(state_->mu);
    if (state_->closed) return;
    state_->closed = true;  // first: whatever the sync below does, the file is closed and its thread stops
    closed_ = true;
    state_->changed.notify_all();
    state_->stop_syncer.notify_all();
  }
  if (state_->syncer.joinable()) state_->syncer.join();  // after the sync it may have in flight, and its error
  std::unique_lock lock(state_->mu);
  state_->sync_now(lock);
}

bool RedexFile::closed() const noexcept { return closed_.load(); }

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

// A tail about to sleep first spins for the next append when the last event
// it waited for came within kTailSpin: the next is then likely that close,
// and a sleeping thread takes 40-50 us to wake on this VM (the tail latency
// of one event at a time drops from that to a few microseconds). A tail
// whose spin runs out sleeps until its next event; so a tail spins only
// while events keep coming at least every kTailSpin, and never on a single
// CPU, where the appender would wait for the spinner's time slice.
namespace {
constexpr auto kTailSpin = std::chrono::microseconds(100);
const bool kTailMaySpin = std::thread::hardware_concurrency() > 1;
}  // namespace

void Tail::spin_for_append(std::uint64_t next_seq, std::chrono::steady_clock::time_point until) const {
  const RedexFile::State& state = *file_->state_;
  do {
    for (int i = 0; i < 64; ++i) {
      if (state.appended_through.load(std::memory_order_acquire) > next_seq || file_->closed()) return;
      cpu_relax();
    }
  } while (std::chrono::steady_clock::now() < until);
}

Tail::Status Tail::next_batch(std::vector<Event>& out, std::size_t max, std::chrono::nanoseconds wait) {
  RedexFile::State& state = *file_->state_;
  std::unique_lock lock(state.mu);
  const auto since = std::chrono::steady_clock::now();
  const auto deadline = since + wait;
  bool waited = false;
  out.clear();
  for (;;) {
    if (closed_ || state.closed) return Status::Ended;
    state.evict(state.stamp_ns());
    if (next_seq_ < state.evicted_through) {
      closed_ = true;
      throw Error(ErrorKind::Redex, "tail subscriber lagged; stream disconnected");
    }
    if (const std::size_t at = state.events.first_at_or_after(next_seq_); at < state.events.size()) {
      state.copy_out(at, UINT64_MAX, max, out);
      if (!out.empty()) next_seq_ = out.back().seq + 1;
      if (waited) hot_ = std::chrono::steady_clock::now() - since < kTailSpin;
      return Status::Event;
    }
    if (wait <= std::chrono::nanoseconds::zero()) return Status::Timeout;
    waited = true;
    // Only a reader of events spins: a wait for more (max 0, the CortEX
    // fold) lets appends gather.
    if (hot_ && max > 0 && kTailMaySpin) {
      hot_ = false;                              // until an event comes soon again
      const std::uint64_t next_seq = next_seq_;  // another thread may move it, under the lock
      lock.unlock();
      spin_for_append(next_seq, std::min(deadline, std::chrono::steady_clock::now() + kTailSpin));
      lock.lock();
      continue;  // look again under the lock, appended or not: an append during the spin notified no one
    }
    ++state.tail_waiters;
    const auto woke = state.changed.wait_until(lock, deadline);
    --state.tail_waiters;
    if (woke == std::cv_status::timeout) {
      if (closed_ || state.closed) return Status::Ended;
      if (state.events.first_at_or_after(next_seq_) == state.events.size()) return Status::Timeout;
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
  std::vector<std::shared_ptr<RedexFile>> let_go;  // freed after the lock: a large file takes a while
  std::lock_guard lock(mutex_);
  for (auto it = files_.begin(); it != files_.end();) {  // closed files are theirs to hold, not ours
    if (it->second->closed()) {
      let_go.push_back(std::move(it->second));
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  if (const auto open = files_.find(name); open != files_.end()) return open->second;
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
