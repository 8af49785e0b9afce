#include "net/brokers/stream_dedup.hpp"

#include <algorithm>

namespace net::brokers {

StreamDedup::StreamDedup(std::size_t capacity) : capacity_(std::clamp<std::size_t>(capacity, 1, kMaxCapacity)) {}

bool StreamDedup::is_duplicate(std::string_view dedup_id) {
  std::lock_guard lock(mutex_);
  if (seen_.contains(dedup_id)) return true;
  if (order_.size() == capacity_) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
  // A deque never moves its elements on push_back/pop_front, so the views stay valid.
  seen_.insert(order_.emplace_back(dedup_id));
  return false;
}

std::size_t StreamDedup::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

void StreamDedup::clear() {
  std::lock_guard lock(mutex_);
  seen_.clear();
  order_.clear();
}

}  // namespace net::brokers
