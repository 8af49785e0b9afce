// Two limiters of the channel layer. AuthThrottle: a peer with 16
// authorization failures within 60 s is refused (RateLimited) for 30 s
// (REFERENCE §4.4). TokenBucket: a publisher's max_rate_pps, with a one-second
// burst; what exceeds it is refused and counted.
#pragma once

#include <cstdint>
#include <unordered_map>

namespace net::channel {

class AuthThrottle {
 public:
  static constexpr std::int64_t kWindowNs = 60'000'000'000;
  static constexpr std::int64_t kThrottleNs = 30'000'000'000;
  static constexpr std::uint32_t kMaxFailures = 16;

  bool throttled(std::uint64_t peer, std::int64_t now_ns);
  void record_failure(std::uint64_t peer, std::int64_t now_ns);
  void clear(std::uint64_t peer) { peers_.erase(peer); }

 private:
  struct State {
    std::int64_t window_start_ns = 0;
    std::uint32_t failures = 0;
    std::int64_t throttled_until_ns = 0;
  };
  std::unordered_map<std::uint64_t, State> peers_;
};

class TokenBucket {
 public:
  explicit TokenBucket(std::uint32_t rate_per_second = 0) : rate_(rate_per_second), tokens_(rate_per_second) {}
  // Takes one token; false when the rate is exceeded. A rate of 0 never limits.
  bool take(std::int64_t now_ns);
  std::uint32_t rate() const noexcept { return rate_; }

 private:
  std::uint32_t rate_;
  double tokens_;
  std::int64_t refilled_ns_ = 0;
};

}  // namespace net::channel
