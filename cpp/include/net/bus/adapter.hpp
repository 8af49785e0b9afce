// The interface between a bus and where its events go (REFERENCE §1.11):
// the encrypted two-node peer, Redis Streams, JetStream. The bus's drain
// thread calls on_batch with what producers ingested; an adapter that also
// receives (the two-node peer) serves poll() itself.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "net/bus/event.hpp"
#include "net/bus/poll.hpp"

namespace net::bus {

class Adapter {
 public:
  virtual ~Adapter() = default;

  virtual std::string_view name() const noexcept = 0;  ///< "net", "redis", "jetstream"
  // Whether on_batch can deliver now; until then events wait in the rings.
  virtual bool ready() const = 0;
  // Takes a run of one shard's events in order; returns how many leading
  // events it delivered. The bus offers the rest again later, starting with
  // the same event, and backs off while the adapter refuses.
  virtual std::size_t on_batch(std::span<const StoredEvent> events) = 0;
  // A page of what this adapter received; nullopt: poll reads the bus's rings.
  virtual std::optional<PollResult> poll(const PollRequest& request) = 0;
  virtual bool is_healthy() const = 0;
  // The largest event this adapter can carry; the bus refuses larger ones at
  // ingest (a typed error) rather than stall a shard behind them.
  virtual std::size_t max_event_size() const { return std::numeric_limits<std::uint32_t>::max(); }
  // Whether on_batch may run for different shards at once (each shard's
  // batches still come one at a time, in order): the bus then drains shards
  // on threads of their own.
  virtual bool concurrent_shards() const { return false; }
  // Idempotent; joins the adapter's threads.
  virtual void shutdown() = 0;
};

}  // namespace net::bus
