// The chunk pool and its refill thread.
#include "net/core/chunk_pool.hpp"

namespace net {

ChunkPool& ChunkPool::instance() {
  // Never destroyed, so a ring or file that outlives static destruction (a
  // bus with static storage, say) can still hand its chunks back; its thread
  // is stopped at exit, in the order of a static of its own.
  static ChunkPool* const pool = new ChunkPool;
  static const struct Stopper {
    ~Stopper() { pool->stop(); }
  } stopper;
  return *pool;
}

ChunkPool::~ChunkPool() { stop(); }

void ChunkPool::stop() noexcept {
  std::vector<PageBuffer> kept;
  std::thread refill;  // taken under the lock: a second stop() finds nothing to join
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    kept.swap(ready_);
    refill.swap(refill_thread_);
  }
  wake_refill_.notify_one();
  if (refill.joinable()) refill.join();
}  // `kept` is unmapped here

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
  return {reinterpret_cast<std::uint8_t*>(chunk.release()), [this](std::uint8_t* data) {
            release(PageBuffer(reinterpret_cast<char*>(data), PageBufferDeleter{kChunkSize}));
          }};
}

void ChunkPool::release(PageBuffer chunk) noexcept {
  std::lock_guard lock(mutex_);
  if (ready_.size() < kMaxKept && !stopping_) ready_.push_back(std::move(chunk));
}  // or `chunk` is unmapped here

void ChunkPool::refill_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_refill_.wait(lock, [this] { return stopping_ || ready_.size() < kReadyTarget; });
    if (stopping_) return;
    lock.unlock();
    PageBuffer chunk = allocate_pages(kChunkSize, true);  // the slow part, outside the lock
    lock.lock();
    if (stopping_) return;  // stop() has unmapped the kept ones: this one goes too
    ready_.push_back(std::move(chunk));
  }
}

}  // namespace net
