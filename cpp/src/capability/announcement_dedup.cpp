// Announcement dedup: a hash map from (node_id, version) to when it was recorded.
#include "net/capability/announcement_dedup.hpp"

#include "net/core/hash.hpp"

namespace net::capability {

std::size_t AnnouncementDedup::KeyHash::operator()(const Key& key) const noexcept {
  const std::uint64_t words[2] = {key.first, key.second};
  return static_cast<std::size_t>(xxh3_64(words, sizeof words));
}

bool AnnouncementDedup::contains(std::uint64_t node_id, std::uint64_t version) const {
  return recorded_at_.contains({node_id, version});
}

void AnnouncementDedup::record(std::uint64_t node_id, std::uint64_t version, std::uint64_t now_ns) {
  recorded_at_.insert_or_assign({node_id, version}, now_ns);
}

void AnnouncementDedup::prune(std::uint64_t now_ns) {
  std::erase_if(recorded_at_,
                [&](const auto& item) { return now_ns >= item.second && now_ns - item.second >= kRetentionNs; });
}

}  // namespace net::capability
