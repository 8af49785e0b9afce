// AuthGuard (REFERENCE §4.6): which subscriber may receive which channel.
// A 2^15-bit bloom filter (k = 2) over (node id, channel hash) answers the
// common "no" at once; an exact set of (node id, channel name) decides.
// Revoking clears the exact tiers; bloom bits stay (a bloom hit is only a
// "maybe").
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

namespace net::channel {

class AuthGuard {
 public:
  enum class Fast { Denied, Allowed, NeedsFullCheck };

  void allow(std::uint64_t node_id, const std::string& channel);
  void revoke(std::uint64_t node_id, const std::string& channel);
  Fast check_fast(std::uint64_t node_id, std::uint16_t channel_hash) const noexcept;
  bool allowed(std::uint64_t node_id, const std::string& channel) const;  ///< both tiers

 private:
  static std::pair<std::uint32_t, std::uint32_t> bits(std::uint64_t node_id, std::uint16_t channel_hash) noexcept;
  void set_bits(std::uint64_t node_id, std::uint16_t channel_hash) noexcept;

  std::array<std::uint8_t, 4096> bloom_{};
  std::set<std::pair<std::uint64_t, std::uint16_t>> verified_;
  std::set<std::pair<std::uint64_t, std::string>> exact_;
};

}  // namespace net::channel
