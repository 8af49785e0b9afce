// Bit c % 1024 stands for the one counter c of the window that can occupy it;
// advancing the highest counter clears the slots it passes over.
#include "net/crypto/replay_window.hpp"

#include <limits>

namespace net::crypto {

bool ReplayWindow::seen(std::uint64_t counter) const noexcept {
  const std::uint64_t slot = counter % kSize;
  return (bits_[slot / 64] >> (slot % 64)) & 1u;
}

bool ReplayWindow::check(std::uint64_t counter) const noexcept {
  if (counter == std::numeric_limits<std::uint64_t>::max()) return false;
  if (!any_) return counter <= kSize;
  if (counter > highest_) return counter - highest_ - 1 <= kSize;  // counter <= next + 1024
  return highest_ - counter < kSize && !seen(counter);
}

bool ReplayWindow::commit(std::uint64_t counter) noexcept {
  if (!check(counter)) return false;
  if (!any_ || counter > highest_) {
    const std::uint64_t advance = any_ ? counter - highest_ : kSize;
    if (advance >= kSize) {
      bits_.fill(0);
    } else {
      for (std::uint64_t c = highest_ + 1; c <= counter; ++c) {
        const std::uint64_t slot = c % kSize;
        bits_[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
      }
    }
    highest_ = counter;
    any_ = true;
  }
  const std::uint64_t slot = counter % kSize;
  bits_[slot / 64] |= std::uint64_t{1} << (slot % 64);
  return true;
}

}  // namespace net::crypto
