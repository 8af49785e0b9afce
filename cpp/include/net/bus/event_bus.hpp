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

#include "net/bus/adapter.hpp"
#include "net/bus/config.hpp"
#include "net/bus/event.hpp"
#include "net/bus/poll.hpp"

namespace net::bus {

class EventBus {
 public:
  // With an adapter, a drain thread hands what producers ingest to it (in
  // per-shard order, once it is ready()), and poll reads from the adapter
  // when it serves polls. Throws Error(InvalidConfig).
  explicit EventBus(const EventBusConfig& config, std::unique_ptr<Adapter> adapter = nullptr);
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

  Adapter* adapter() const noexcept;
  // Idempotent; hands what it can to the adapter, shuts it down, releases
  // the rings and joins the drain thread. Every other call then throws Error(ShutDown).
  void shutdown();
  bool is_shut_down() const noexcept;

 private:
  PollResult poll_rings(const PollRequest& request);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace net::bus
