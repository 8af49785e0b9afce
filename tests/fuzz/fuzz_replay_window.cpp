// Replay window against a model: a counter is accepted at most once, and
// accepted exactly when the original's rule says so.
#include <cstdlib>
#include <limits>
#include <set>

#include "net/core/bytes.hpp"
#include "net/crypto/replay_window.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  net::crypto::ReplayWindow window;
  std::set<std::uint64_t> accepted;
  std::uint64_t highest = 0;
  bool any = false;
  // Counters as u16 deltas around a moving base keep collisions likely.
  std::uint64_t base = 0;
  for (std::size_t i = 0; i + 3 <= size; i += 3) {
    const std::uint64_t counter =
        data[i] == 0xFF ? std::numeric_limits<std::uint64_t>::max() : base + net::load_le<std::uint16_t>(data + i + 1);
    const std::uint64_t next = any ? highest + 1 : 0;
    const bool expected = counter != std::numeric_limits<std::uint64_t>::max() && counter <= next + 1024 &&
                          (!any || counter > highest || highest - counter < 1024) && !accepted.count(counter);
    if (window.commit(counter) != expected) std::abort();
    if (expected) {
      accepted.insert(counter);
      if (!any || counter > highest) highest = counter;
      any = true;
    }
    if (data[i] == 0x80) base += 4096;
  }
  return 0;
}
