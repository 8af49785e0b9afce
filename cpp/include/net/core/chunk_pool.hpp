// Process-wide supply of 2 MiB chunks for event bytes and index blocks. Fresh
// memory costs a page fault and a kernel zero-fill on first write, which on a
// VM is slower than copying the events themselves; so a background thread
// keeps a few chunks faulted in ahead of demand, and chunks let go of are kept
// for reuse (up to a cap) instead of being unmapped.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/core/page_buffer.hpp"

namespace net {

class ChunkPool {
 public:
  static constexpr std::size_t kChunkSize = kHugePageSize;

  static ChunkPool& instance();  ///< the process's pool

  ChunkPool() = default;
  ~ChunkPool();  ///< stops
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  PageBuffer acquire();                     ///< a kChunkSize buffer, faulted in (not zeroed if reused)
  void release(PageBuffer chunk) noexcept;  ///< kept for reuse or unmapped

  // A chunk that goes back to this pool when its last owner lets go (the
  // pool must outlive it; the process's pool lives until exit).
  std::shared_ptr<std::uint8_t[]> acquire_shared();

  // Joins the refill thread and unmaps the kept chunks; from then on chunks
  // are mapped on demand and unmapped when released. Idempotent.
  void stop() noexcept;

 private:
  void refill_loop();

  static constexpr std::size_t kReadyTarget = 4;  ///< faulted-in chunks kept ahead
  static constexpr std::size_t kMaxKept = 32;     ///< 64 MiB of released chunks at most

  std::mutex mutex_;
  std::condition_variable wake_refill_;
  std::vector<PageBuffer> ready_;
  bool stopping_ = false;
  std::thread refill_thread_;
};

}  // namespace net
