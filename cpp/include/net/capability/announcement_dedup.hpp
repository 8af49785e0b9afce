// The (node_id, version) pairs of announcements already accepted
// (REFERENCE §6.4 steps 4 and 8), so a copy arriving over another path is
// neither processed nor forwarded twice. Kept 600 s (twice the announce
// TTL). Checking and recording are separate steps because a pair may only be
// recorded once its announcement has passed the signature checks: recording
// a forgery would shut out the genuine announcement. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>

namespace net::capability {

class AnnouncementDedup {
 public:
  static constexpr std::uint64_t kRetentionNs = 600'000'000'000;

  bool contains(std::uint64_t node_id, std::uint64_t version) const;
  void record(std::uint64_t node_id, std::uint64_t version, std::uint64_t now_ns);
  // Forgets pairs recorded kRetentionNs or longer before now_ns.
  void prune(std::uint64_t now_ns);
  std::size_t size() const noexcept { return recorded_at_.size(); }

 private:
  using Key = std::pair<std::uint64_t, std::uint64_t>;
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  std::unordered_map<Key, std::uint64_t, KeyHash> recorded_at_;
};

}  // namespace net::capability
