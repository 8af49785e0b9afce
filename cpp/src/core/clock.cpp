// fast_monotonic_ns: CLOCK_MONOTONIC extrapolated from the TSC. One anchor
// (tsc, ns) and a rate are shared by all threads behind a seqlock; the first
// reader to find the anchor stale re-reads the kernel clock and publishes a
// new one, and readers that race with it use the kernel clock themselves.
#include "net/core/clock.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace net {

#if defined(__x86_64__)
namespace {

constexpr std::uint64_t kAnchorTicks = 1ull << 22;  // about 1.4 ms at 3 GHz
constexpr unsigned kRateShift = 32;                 // ns per tick, 32.32 fixed point
constexpr std::uint64_t kPairTicks = 1ull << 14;    // about 5 us: a (tsc, ns) pair read further apart is refused
constexpr int kPairAttempts = 4;

bool kernel_uses_tsc() {
  std::ifstream source("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string name;
  return source >> name && name == "tsc";
}

struct TscClock {
  std::atomic<std::uint64_t> version{0};  // odd while a writer republishes
  std::atomic<std::uint64_t> anchor_tsc{0};
  std::atomic<std::uint64_t> anchor_ns{0};
  std::atomic<std::uint64_t> rate{0};  // 0 until calibrated
  std::uint64_t first_tsc = 0;         // calibration baseline, written once under the seqlock
  std::uint64_t first_ns = 0;

  std::uint64_t now() noexcept {
    const std::uint64_t v = version.load(std::memory_order_acquire);
    const std::uint64_t tsc = __rdtsc();
    // Acquire loads keep the second version read after them (no fences:
    // TSan does not model them); a writer stores these with release.
    const std::uint64_t a_tsc = anchor_tsc.load(std::memory_order_acquire);
    const std::uint64_t a_ns = anchor_ns.load(std::memory_order_acquire);
    const std::uint64_t r = rate.load(std::memory_order_acquire);
    const bool consistent = (v & 1) == 0 && version.load(std::memory_order_relaxed) == v;
    if (consistent && r != 0 && tsc >= a_tsc && tsc - a_tsc < kAnchorTicks) {
      return a_ns + static_cast<std::uint64_t>((static_cast<unsigned __int128>(tsc - a_tsc) * r) >> kRateShift);
    }
    return reanchor(v);
  }

  // The TSC and the kernel clock at one moment: the TSC is read on both
  // sides of the kernel clock, and a pair that a preemption pulled apart is
  // refused. It would skew the anchor, and the rate calibrated from it, by
  // as long as the thread was off the CPU (a 143 us error seen under load).
  static bool read_pair(std::uint64_t& tsc, std::uint64_t& ns) noexcept {
    for (int attempt = 0; attempt < kPairAttempts; ++attempt) {
      const std::uint64_t before = __rdtsc();
      ns = monotonic_ns();
      const std::uint64_t after = __rdtsc();
      if (after >= before && after - before < kPairTicks) {
        tsc = before + (after - before) / 2;
        return true;
      }
    }
    return false;
  }

  std::uint64_t reanchor(std::uint64_t seen) noexcept {
    std::uint64_t tsc = 0;
    std::uint64_t ns = 0;
    const bool paired = read_pair(tsc, ns);
    std::uint64_t expected = seen;
    if (!paired || (seen & 1) != 0 || !version.compare_exchange_strong(expected, seen + 1, std::memory_order_acq_rel)) {
      // No tight pair (the kernel clock alone answers), or another thread is
      // publishing; never below what it may have handed out.
      return std::max(ns, anchor_ns.load(std::memory_order_acquire));
    }
    // The furthest any reader can have extrapolated the old anchor (readers
    // stop at kAnchorTicks), with the rate they used: a floor for the new one.
    const std::uint64_t old_tsc = anchor_tsc.load(std::memory_order_relaxed);
    const std::uint64_t old_rate = rate.load(std::memory_order_relaxed);
    std::uint64_t floor_ns = 0;
    if (old_rate != 0 && tsc >= old_tsc) {
      const std::uint64_t ticks = std::min<std::uint64_t>(tsc - old_tsc, kAnchorTicks);
      floor_ns = anchor_ns.load(std::memory_order_relaxed) +
                 static_cast<std::uint64_t>((static_cast<unsigned __int128>(ticks) * old_rate) >> kRateShift);
    }
    if (first_tsc == 0) {
      first_tsc = tsc;
      first_ns = ns;
    } else if (tsc - first_tsc >= kAnchorTicks && ns > first_ns) {
      rate.store(
          static_cast<std::uint64_t>((static_cast<unsigned __int128>(ns - first_ns) << kRateShift) / (tsc - first_tsc)),
          std::memory_order_release);
    }
    // Never step back (a rate slightly too fast would otherwise make time
    // jump back here, and a merge by insertion time misorder one producer).
    const std::uint64_t start = std::max(ns, floor_ns);
    anchor_tsc.store(tsc, std::memory_order_release);
    anchor_ns.store(start, std::memory_order_release);
    version.store(seen + 2, std::memory_order_release);
    return start;
  }
};

}  // namespace

std::uint64_t fast_monotonic_ns() noexcept {
  static TscClock* const clock = kernel_uses_tsc() ? new TscClock : nullptr;  // lives as long as the process
  return clock != nullptr ? clock->now() : monotonic_ns();
}

#else

std::uint64_t fast_monotonic_ns() noexcept { return monotonic_ns(); }

#endif

}  // namespace net
