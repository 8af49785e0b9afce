#include "net/channel/rate_limits.hpp"

#include <algorithm>

namespace net::channel {

bool AuthThrottle::throttled(std::uint64_t peer, std::int64_t now_ns) {
  const auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.throttled_until_ns == 0) return false;
  if (now_ns < it->second.throttled_until_ns) return true;
  peers_.erase(it);  // served its time: counting starts again
  return false;
}

void AuthThrottle::record_failure(std::uint64_t peer, std::int64_t now_ns) {
  State& state = peers_[peer];
  if (state.failures == 0 || now_ns - state.window_start_ns > kWindowNs) state = {now_ns, 0, 0};
  if (++state.failures >= kMaxFailures) state.throttled_until_ns = now_ns + kThrottleNs;
}

bool TokenBucket::take(std::int64_t now_ns) {
  if (rate_ == 0) return true;
  if (refilled_ns_ != 0) {
    tokens_ = std::min<double>(rate_, tokens_ + static_cast<double>(now_ns - refilled_ns_) * 1e-9 * rate_);
  }
  refilled_ns_ = now_ns;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace net::channel
