// One shard of the bus: a power-of-two ring of event slots whose bytes live in
// large shared chunks, guarded by one mutex. Positions are sequence numbers:
// [tail, head) is retained; [polled, head) has not been handed to a poller yet,
// and only those count against the capacity for backpressure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "net/bus/config.hpp"
#include "net/bus/event.hpp"
#include "net/core/hash.hpp"
#include "net/core/page_buffer.hpp"

namespace net::bus {

// The original's equal-weight mapping of an event to one of num_shards:
// Lemire's multiply-shift of the xxh3 of its bytes.
inline std::uint16_t shard_of(std::string_view event, std::size_t num_shards) noexcept {
  if (num_shards == 1) return 0;
  return static_cast<std::uint16_t>((static_cast<unsigned __int128>(xxh3_64(event)) * num_shards) >> 64);
}

class Shard {
 public:
  Shard(std::uint16_t id, std::size_t capacity, BackpressureMode mode);

  // nullopt: dropped (DropNewest). Throws Error(Backpressure) (FailProducer)
  // or Error(ShutDown) after close().
  std::optional<std::uint64_t> push(std::string_view event, std::uint64_t now_ns);

  // Pushes each event to the shard the original's mapping picks (shard_of),
  // in order; returns how many were accepted. The events are hashed first,
  // without a lock; then each shard takes its own under its lock alone.
  static std::size_t push_batch(std::span<const std::unique_ptr<Shard>> shards,
                                std::span<const std::string_view> events, std::uint64_t now_ns);

  struct Bounds {
    std::uint64_t tail;  ///< oldest retained sequence
    std::uint64_t head;  ///< next sequence to be assigned
  };
  Bounds bounds() const;

  // Appends up to max_count events starting at max(from, tail). With
  // mark_polled, they count as polled from this moment (under the same lock,
  // so a producer can never evict them as unpolled and count a drop for events
  // this read delivers). Without it the read is a reservation that
  // finish_read() must end: until then an unpolled event evicted by
  // drop_oldest is held back rather than counted, since the reader may still
  // deliver it. Returns the bounds seen under the lock.
  Bounds read(std::uint64_t from, std::size_t max_count, bool mark_polled, std::vector<StoredEvent>& out);

  // Ends a reservation that read from `start`: what it consumed, [start,
  // resume), counts as polled; evictions held back are counted as drops
  // unless a reader consumed them.
  void finish_read(std::uint64_t start, std::uint64_t resume);

  // Everything before `end` has been handed to a poller.
  void mark_polled(std::uint64_t end);

  // Counts the events from `from` on (those an adapter never took) as dropped.
  void drop_from(std::uint64_t from);

  Stats counters() const;
  void close();  ///< frees the ring; later calls throw Error(ShutDown)

 private:
  struct Chunk;
  struct Slot {
    const char* data;
    std::uint32_t size;
    std::uint32_t chunk_serial;
    std::uint64_t insertion_ts;
  };

  bool admit_locked(bool batch);  ///< applies backpressure; false if the event is refused
  bool admit_full_locked(bool batch);
  void append_locked(std::string_view event, std::uint64_t ts);
  Chunk& new_chunk_locked(std::size_t size);  ///< a chunk for an event the open chunk cannot take
  void evict_tail_locked();
  void check_open_locked() const;

  const std::uint16_t id_;
  const std::size_t capacity_;
  const std::uint64_t mask_;
  const BackpressureMode mode_;

  mutable std::mutex mutex_;
  bool closed_ = false;
  PageBuffer slot_storage_;
  Slot* slots_;
  std::deque<std::shared_ptr<Chunk>> chunks_;  ///< chunks_[i] has serial first_chunk_serial_ + i
  std::uint32_t first_chunk_serial_ = 0;
  Chunk* open_chunk_ = nullptr;  ///< where small events are appended
  std::uint32_t open_chunk_serial_ = 0;
  std::uint64_t head_ = 0;
  std::uint64_t tail_ = 0;
  std::uint64_t polled_ = 0;
  std::uint32_t readers_ = 0;                    ///< reservations in progress
  std::vector<std::uint64_t> evicted_unpolled_;  ///< evicted during them, not yet counted
  std::uint64_t last_ts_ = 0;
  Stats stats_;
};

}  // namespace net::bus
