// The chunk pool and its refill thread.
#include "net/core/chunk_pool.hpp"

namespace net {

ChunkPool& ChunkPool::instance() {
  static ChunkPool pool;
  return pool;
}

ChunkPool::~ChunkPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_refill_.notify_one();
  if (refill_thread_.joinable()) refill_thread_.join();
}

PageBuffer ChunkPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!refill_thread_.joinable() && !stopping_) refill_thread_ = std::thread([this] { refill_loop(); });
    if (!ready_.empty()) {
      PageBuffer chunk = std::move(ready_.back());
      ready_.pop_back();
      if (ready_.size() < kReadyTarget) wake_refill_.notify_one();
      return chunk;
    }
  }
  wake_refill_.notify_one();
  return allocate_pages(kChunkSize, true);
}

std::shared_ptr<std::uint8_t[]> ChunkPool::acquire_shared() {
  PageBuffer chunk = acquire();
  // Released first: should the shared_ptr fail to allocate, it hands the chunk back.
  return {reinterpret_cast<std::uint8_t*>(chunk.release()), [](std::uint8_t* data) {
            instance().release(PageBuffer(reinterpret_cast<char*>(data), PageBufferDeleter{kChunkSize}));
          }};
}

void ChunkPool::release(PageBuffer chunk) noexcept {
  std::lock_guard lock(mutex_);
  if (ready_.size() < kMaxKept && !stopping_) ready_.push_back(std::move(chunk));
}

void ChunkPool::refill_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_refill_.wait(lock, [this] { return stopping_ || ready_.size() < kReadyTarget; });
    if (stopping_) return;
    lock.unlock();
    PageBuffer chunk = allocate_pages(kChunkSize, true);  // the slow part, outside the lock
    lock.lock();
    ready_.push_back(std::move(chunk));
  }
}

}  // namespace net
