// RedisStreamDedup: the consumer-side filter for entries a retried
// transaction wrote twice. A bounded set of dedup ids; when full, the id
// first seen longest ago is forgotten (a repeat sighting does not refresh it).
// Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace net::brokers {

class StreamDedup {
 public:
  static constexpr std::size_t kDefaultCapacity = 4096;
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 24;

  explicit StreamDedup(std::size_t capacity = kDefaultCapacity);  ///< clamped to [1, kMaxCapacity]

  // True if `dedup_id` is tracked; otherwise records it and returns false.
  bool is_duplicate(std::string_view dedup_id);
  std::size_t size() const;
  std::size_t capacity() const noexcept { return capacity_; }
  void clear();

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_set<std::string_view> seen_;  ///< views into order_
  std::deque<std::string> order_;              ///< first sightings, oldest first
};

}  // namespace net::brokers
