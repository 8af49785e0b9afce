// The monotonic clock every timestamp in libnet is read from: nanoseconds of
// CLOCK_MONOTONIC, the same clock as Python's time.monotonic_ns().
#pragma once

#include <cstdint>
#include <ctime>

namespace net {

// Exact: one clock_gettime (about 30 ns through the vDSO on a VM).
inline std::uint64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// The same clock for hot paths that stamp every event: extrapolated from the
// CPU's invariant TSC between anchors re-read from CLOCK_MONOTONIC about
// every millisecond, so it stays within a microsecond of monotonic_ns().
// Falls back to monotonic_ns() where the kernel does not itself trust the TSC.
// Not strictly monotonic across anchors: callers that need order enforce it.
std::uint64_t fast_monotonic_ns() noexcept;

}  // namespace net
