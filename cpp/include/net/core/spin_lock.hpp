// Locking a std::mutex that another thread holds only briefly. glibc puts a
// contended locker to sleep at once, and on a VM the sleep and wake-up cost
// far more than the microseconds such holders keep the lock; spinning on
// try_lock for a bounded while first avoids both.
#pragma once

#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace net {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins up to about 10 µs (the longest a RedEX tail holds its file's lock
// while copying a batch), then blocks as std::unique_lock would.
inline std::unique_lock<std::mutex> lock_spinning(std::mutex& mutex) {
  constexpr int kSpins = 256;
  for (int i = 0; i < kSpins; ++i) {
    if (mutex.try_lock()) return std::unique_lock<std::mutex>(mutex, std::adopt_lock);
    cpu_relax();
  }
  return std::unique_lock<std::mutex>(mutex);
}

}  // namespace net
