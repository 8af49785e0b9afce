// Configuration of the in-process event bus: shard count, ring capacity and
// what happens when a shard's ring is full of events nobody has polled yet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace net::bus {

enum class BackpressureMode {
  DropOldest,    ///< evict the oldest unpolled event to admit the new one
  DropNewest,    ///< discard the new event
  FailProducer,  ///< refuse the new event with an ErrorKind::Backpressure error
};

// "drop_oldest" | "drop_newest" | "fail_producer"; nullopt for anything else.
std::optional<BackpressureMode> parse_backpressure_mode(std::string_view name) noexcept;

std::uint16_t default_num_shards() noexcept;  ///< logical CPUs, at least 1

struct EventBusConfig {
  std::uint16_t num_shards = default_num_shards();
  std::size_t ring_buffer_capacity = std::size_t{1} << 20;  ///< events per shard
  BackpressureMode backpressure_mode = BackpressureMode::DropOldest;

  // Throws Error(InvalidConfig, "invalid configuration: <reason>").
  void validate() const;
};

}  // namespace net::bus
