// Event bus configuration parsing and validation (messages as the original's).
#include "net/bus/config.hpp"

#include <thread>

#include "net/core/error.hpp"

namespace net::bus {

std::optional<BackpressureMode> parse_backpressure_mode(std::string_view name) noexcept {
  if (name == "drop_oldest") return BackpressureMode::DropOldest;
  if (name == "drop_newest") return BackpressureMode::DropNewest;
  if (name == "fail_producer") return BackpressureMode::FailProducer;
  return std::nullopt;
}

std::uint16_t default_num_shards() noexcept {
  const unsigned cpus = std::thread::hardware_concurrency();
  return static_cast<std::uint16_t>(cpus == 0 ? 1 : (cpus > 0xFFFF ? 0xFFFF : cpus));
}

void EventBusConfig::validate() const {
  auto fail = [](const char* reason) {
    throw Error(ErrorKind::InvalidConfig, std::string("invalid configuration: ") + reason);
  };
  if (num_shards == 0) fail("num_shards must be > 0");
  if (ring_buffer_capacity == 0 || (ring_buffer_capacity & (ring_buffer_capacity - 1)) != 0) {
    fail("ring_buffer_capacity must be a power of 2");
  }
  if (ring_buffer_capacity < 1024) fail("ring_buffer_capacity must be >= 1024");
  if (ring_buffer_capacity > (std::size_t{1} << 40)) fail("ring_buffer_capacity must be <= 2^40");
}

}  // namespace net::bus
