// The Redis Streams adapter (REFERENCE §14): each shard's events go to the
// stream "<prefix>:shard:<id>" with XADD in MULTI/EXEC transactions of up to
// pipeline_size events, all of a batch pipelined in one round trip, on a
// connection per shard; poll reads them back with XRANGE. A lost connection is re-established on the next batch; the
// bus keeps what was not written in its rings and retries with backoff.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/bus/adapter.hpp"

namespace net::brokers {

struct RedisConfig {
  std::string url;
  std::string prefix = "net";
  std::size_t pipeline_size = 1000;  ///< events per MULTI/EXEC transaction (per dedup-id group)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds command_timeout{1000};
  std::optional<std::uint64_t> max_stream_len;  ///< XADD MAXLEN ~ n
  std::optional<std::string> producer_nonce_path;

  // Throws Error(InvalidConfig, "invalid configuration: redis adapter: invalid configuration: redis <what>").
  void validate() const;
};

class RedisAdapter final : public bus::Adapter {
 public:
  // Connects and sends PING; throws Error(Connection, "connection error: ...").
  RedisAdapter(const RedisConfig& config, std::uint16_t num_shards);
  ~RedisAdapter() override;

  std::string_view name() const noexcept override { return "redis"; }
  bool ready() const override;
  std::size_t on_batch(std::span<const bus::StoredEvent> events) override;
  std::optional<bus::PollResult> poll(const bus::PollRequest& request) override;
  bool is_healthy() const override;
  bool concurrent_shards() const override { return true; }
  std::size_t max_event_size() const override;
  void shutdown() override;

  std::uint64_t producer_nonce() const noexcept;
  std::string stream_key(std::uint16_t shard_id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace net::brokers
