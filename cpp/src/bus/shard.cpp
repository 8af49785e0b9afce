// Ring storage of one shard. Event bytes are copied once into 2 MiB chunks
// from the ChunkPool; a chunk goes back to the pool when the ring has moved
// past its last event and no StoredEvent still refers to it.
#include "bus/shard.hpp"

#include <algorithm>
#include <cstring>

#include "net/core/chunk_pool.hpp"
#include "net/core/error.hpp"
#include "net/core/page_buffer.hpp"

namespace net::bus {

namespace {
constexpr std::size_t kChunkSize = ChunkPool::kChunkSize;
}  // namespace

struct Shard::Chunk {
  explicit Chunk(std::size_t size)
      : capacity(size), data(size == kChunkSize ? ChunkPool::instance().acquire() : allocate_pages(size, true)) {}
  ~Chunk() {
    if (capacity == kChunkSize) ChunkPool::instance().release(std::move(data));
  }
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  std::size_t capacity;
  std::size_t used = 0;
  std::uint64_t end_sequence = 0;  ///< one past the last event stored here
  PageBuffer data;
};

Shard::Shard(std::uint16_t id, std::size_t capacity, BackpressureMode mode)
    : id_(id),
      capacity_(capacity),
      mask_(capacity - 1),
      mode_(mode),
      slot_storage_(allocate_pages(capacity * sizeof(Slot), false)),
      slots_(reinterpret_cast<Slot*>(slot_storage_.get())) {}

void Shard::check_open_locked() const {
  if (closed_) throw Error(ErrorKind::ShutDown, "EventBus has been shut down");
}

void Shard::evict_tail_locked() {
  ++tail_;
  if (polled_ < tail_) polled_ = tail_;
  while (chunks_.size() > 1 && chunks_.front().get() != open_chunk_ && chunks_.front()->end_sequence <= tail_) {
    chunks_.pop_front();
    ++first_chunk_serial_;
  }
}

// Out of line: only a full ring gets here.
bool Shard::admit_full_locked(bool batch) {
  if (head_ - polled_ >= capacity_) {
    if (mode_ == BackpressureMode::DropOldest && readers_ > 0) {
      evicted_unpolled_.push_back(tail_);  // a reader may deliver it: decided in finish_read()
    } else {
      ++stats_.events_dropped;
    }
    if (mode_ == BackpressureMode::DropNewest) return false;
    if (mode_ == BackpressureMode::FailProducer) {
      if (batch) return false;  // batches report a short count instead
      throw Error(ErrorKind::Backpressure, "backpressure: ring buffer full");
    }
  }
  // DropOldest, or the slot is needed and its event was already polled.
  evict_tail_locked();
  return true;
}

inline bool Shard::admit_locked(bool batch) {
  // tail_ <= polled_, so a ring with a free slot has room for an unpolled event.
  return head_ - tail_ < capacity_ || admit_full_locked(batch);
}

Shard::Chunk& Shard::new_chunk_locked(std::size_t size) {
  if (size > kChunkSize / 4) {  // large events get a chunk of their own
    chunks_.push_back(std::make_shared<Chunk>(size));
    return *chunks_.back();
  }
  chunks_.push_back(std::make_shared<Chunk>(kChunkSize));
  open_chunk_ = chunks_.back().get();
  open_chunk_serial_ = first_chunk_serial_ + static_cast<std::uint32_t>(chunks_.size() - 1);
  return *open_chunk_;
}

inline void Shard::append_locked(std::string_view event, std::uint64_t ts) {
  const std::size_t size = event.size();
  const bool fits_open =
      size <= kChunkSize / 4 && open_chunk_ != nullptr && open_chunk_->capacity - open_chunk_->used >= size;
  Chunk& chunk = fits_open ? *open_chunk_ : new_chunk_locked(size);
  const std::uint32_t serial =
      &chunk == open_chunk_ ? open_chunk_serial_ : first_chunk_serial_ + static_cast<std::uint32_t>(chunks_.size() - 1);
  char* dst = chunk.data.get() + chunk.used;
  std::memcpy(dst, event.data(), size);
  chunk.used += size;
  chunk.end_sequence = head_ + 1;
  slots_[head_ & mask_] = Slot{dst, static_cast<std::uint32_t>(size), serial, ts};
  ++head_;
  ++stats_.events_ingested;
}

std::optional<std::uint64_t> Shard::push(std::string_view event, std::uint64_t now_ns) {
  std::lock_guard lock(mutex_);
  check_open_locked();
  if (!admit_locked(false)) return std::nullopt;
  last_ts_ = std::max(now_ns, last_ts_ + 1);
  append_locked(event, last_ts_);
  return last_ts_;
}

std::size_t Shard::push_batch(std::span<const std::unique_ptr<Shard>> shards, std::span<const std::string_view> events,
                              std::uint64_t now_ns) {
  const std::size_t num_shards = shards.size();
  const auto fill = [&](Shard& shard, auto&& takes) {
    std::lock_guard lock(shard.mutex_);
    shard.check_open_locked();
    std::size_t accepted = 0;
    std::uint64_t ts = std::max(now_ns, shard.last_ts_ + 1);
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (!takes(i) || !shard.admit_locked(true)) continue;
      shard.append_locked(events[i], ts);
      shard.last_ts_ = ts++;
      ++accepted;
    }
    return accepted;
  };
  if (num_shards == 1) return fill(*shards[0], [](std::size_t) { return true; });
  // Hashing, the costly part, holds no lock; then each shard takes its events under its own.
  std::vector<std::uint16_t> shard_index(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) shard_index[i] = shard_of(events[i], num_shards);
  std::size_t accepted = 0;
  for (std::size_t s = 0; s < num_shards; ++s) {
    accepted += fill(*shards[s], [&](std::size_t i) { return shard_index[i] == s; });
  }
  return accepted;
}

Shard::Bounds Shard::bounds() const {
  std::lock_guard lock(mutex_);
  check_open_locked();
  return {tail_, head_};
}

Shard::Bounds Shard::read(std::uint64_t from, std::size_t max_count, bool mark_polled, std::vector<StoredEvent>& out) {
  std::lock_guard lock(mutex_);
  check_open_locked();
  const std::uint64_t start = std::max(from, tail_);
  const std::uint64_t end = start + std::min<std::uint64_t>(max_count, head_ > start ? head_ - start : 0);
  for (std::uint64_t seq = start; seq < end; ++seq) {
    const Slot& slot = slots_[seq & mask_];
    out.push_back(StoredEvent{
        chunks_[slot.chunk_serial - first_chunk_serial_], {slot.data, slot.size}, seq, slot.insertion_ts, id_});
  }
  if (mark_polled && end > polled_) polled_ = end;
  if (!mark_polled) ++readers_;
  return {tail_, head_};
}

void Shard::finish_read(std::uint64_t start, std::uint64_t resume) {
  std::lock_guard lock(mutex_);
  std::erase_if(evicted_unpolled_, [&](std::uint64_t seq) { return seq >= start && seq < resume; });
  if (resume > polled_) polled_ = std::min(resume, head_);
  if (readers_ > 0 && --readers_ == 0) {
    stats_.events_dropped += evicted_unpolled_.size();
    evicted_unpolled_.clear();
  }
}

void Shard::mark_polled(std::uint64_t end) {
  std::lock_guard lock(mutex_);
  if (end > polled_) polled_ = std::min(end, head_);
}

void Shard::drop_from(std::uint64_t from) {
  std::lock_guard lock(mutex_);
  const std::uint64_t start = std::max(from, tail_);
  if (head_ > start) stats_.events_dropped += head_ - start;
}

Stats Shard::counters() const {
  std::lock_guard lock(mutex_);
  check_open_locked();
  return stats_;
}

void Shard::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  slot_storage_.reset();
  slots_ = nullptr;
  chunks_.clear();
  open_chunk_ = nullptr;
}

}  // namespace net::bus
