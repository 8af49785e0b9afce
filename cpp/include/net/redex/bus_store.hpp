// The event bus's durable store (Net(persistent_dir=...), ours): each shard's
// events go to a persistent RedEX file "bus/shard/<id>" under the directory,
// written by the bus's drain thread and read back by poll, also after a
// restart. A RedEX payload is the event's insertion time (u64 LE) followed by
// its bytes; an event's id is its RedEX sequence number. Each shard keeps the
// newest `retained_per_shard` events, as a ring of that capacity would.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "net/bus/adapter.hpp"
#include "net/redex/redex.hpp"

namespace net::redex {

class BusStore : public bus::Adapter {
 public:
  // Opens (recovering) the shard files; errors are Error(Redex, ...).
  BusStore(const std::filesystem::path& directory, std::uint16_t num_shards, std::uint64_t retained_per_shard);
  ~BusStore() override;

  std::string_view name() const noexcept override { return "redex"; }
  bool ready() const override { return true; }
  std::size_t on_batch(std::span<const bus::StoredEvent> events) override;
  std::optional<bus::PollResult> poll(const bus::PollRequest& request) override;
  bool is_healthy() const override { return healthy_.load(); }
  std::size_t max_event_size() const override { return RedexFile::kMaxPayload - 8; }
  bool concurrent_shards() const override { return true; }
  void shutdown() override;  ///< syncs and closes the files

 private:
  Redex redex_;
  std::vector<std::shared_ptr<RedexFile>> shards_;
  std::atomic<bool> healthy_{true};
};

}  // namespace net::redex
