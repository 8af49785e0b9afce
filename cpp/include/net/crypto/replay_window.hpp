// Receive-side replay protection: a 1024-counter sliding bitmap with the
// original's exact boundaries (REFERENCE §2.5). With next = highest + 1
// (0 before any packet), a counter is fresh iff it is not u64::MAX, at most
// next + 1024, less than 1024 behind the highest, and not seen before.
// check() before decrypting, commit() only once the tag verified.
#pragma once

#include <array>
#include <cstdint>

namespace net::crypto {

class ReplayWindow {
 public:
  static constexpr std::uint64_t kSize = 1024;

  bool check(std::uint64_t counter) const noexcept;
  // Records `counter` (which must have passed check()); false if it no longer does.
  bool commit(std::uint64_t counter) noexcept;

 private:
  bool seen(std::uint64_t counter) const noexcept;

  std::array<std::uint64_t, kSize / 64> bits_{};  ///< bit (c % kSize) set: counter c seen
  std::uint64_t highest_ = 0;
  bool any_ = false;
};

}  // namespace net::crypto
