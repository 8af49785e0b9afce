// The monotonic clock every timestamp in libnet is read from: nanoseconds of
// CLOCK_MONOTONIC, the same clock as Python's time.monotonic_ns().
#pragma once

#include <cstdint>
#include <ctime>

namespace net {

inline std::uint64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace net
