// Process-wide supply of the 2 MiB chunks that hold event bytes. Fresh memory
// costs a page fault per 4 KiB on first write, which on a VM is slower than
// copying the events themselves; so a background thread keeps a few chunks
// faulted in ahead of demand, and chunks the rings let go of are kept for
// reuse (up to a cap) instead of being unmapped.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "net/core/page_buffer.hpp"

namespace net::bus {

class ChunkPool {
 public:
  static constexpr std::size_t kChunkSize = std::size_t{2} << 20;

  static ChunkPool& instance();

  PageBuffer acquire();                     ///< a kChunkSize buffer, faulted in
  void release(PageBuffer chunk) noexcept;  ///< kept for reuse or unmapped

  ~ChunkPool();

 private:
  ChunkPool() = default;
  void refill_loop();

  static constexpr std::size_t kReadyTarget = 4;  ///< faulted-in chunks kept ahead
  static constexpr std::size_t kMaxKept = 32;     ///< 64 MiB of released chunks at most

  std::mutex mutex_;
  std::condition_variable wake_refill_;
  std::vector<PageBuffer> ready_;
  bool stopping_ = false;
  std::thread refill_thread_;
};

}  // namespace net::bus
