// EventBus: sharded in-memory rings that producers ingest into and consumers
// page through with opaque cursors. The embedded store of `Net()`; usable from
// C++ on its own (see cpp/examples/embed_bus.cpp).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/bus/config.hpp"
#include "net/bus/event.hpp"
#include "net/bus/filter.hpp"

namespace net::bus {

enum class Ordering {
  None,         ///< shard by shard, each in its own order
  InsertionTs,  ///< merged across shards by insertion timestamp
};

// "none" | "insertion_ts"; throws Error(InvalidArgument) otherwise.
Ordering parse_ordering(std::string_view name);

struct PollRequest {
  std::size_t limit = 0;
  std::optional<std::string> cursor;  ///< a previous PollResult::next_id
  const Filter* filter = nullptr;
  Ordering ordering = Ordering::None;
};

struct PollResult {
  std::vector<StoredEvent> events;
  std::optional<std::string> next_id;  ///< resume here; the request's cursor if nothing moved
  bool has_more = false;               ///< events remain past next_id
};

class EventBus {
 public:
  explicit EventBus(const EventBusConfig& config);  // throws Error(InvalidConfig)
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // Stores the bytes as given. nullopt when DropNewest discarded the event;
  // throws Error(Backpressure) under FailProducer and Error(ShutDown).
  std::optional<IngestResult> ingest(std::string_view event);

  // Takes each shard's lock once; returns how many events were accepted and
  // never throws for backpressure.
  std::size_t ingest_batch(std::span<const std::string_view> events);

  // Throws Error(InvalidCursor) for a cursor this bus did not produce.
  PollResult poll(const PollRequest& request);

  Stats stats() const;
  std::uint16_t num_shards() const noexcept;
  std::uint16_t shard_for(std::string_view event) const noexcept;

  // Idempotent; releases the rings. Every other call then throws Error(ShutDown).
  void shutdown();
  bool is_shut_down() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace net::bus
