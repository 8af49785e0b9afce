// Waiting in tests: true as soon as `condition()` holds (it is called once
// per try, so a condition that consumes, like a poll, is safe), false when
// `limit` passes first.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace net::test {

inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  for (const auto deadline = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < deadline;) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

}  // namespace net::test
