// The NATS JetStream adapter (REFERENCE §14.6), on the NATS C client: one
// stream per shard, "<prefix>_shard_<id>" on subject "<prefix>.shard.<id>",
// created if missing (limits retention, file storage, discard old, direct
// get allowed, a duplicate window). Each event is published with the
// Redis adapter's envelope and its dedup id as Nats-Msg-Id, so the server
// drops the copies a retried batch sends again; poll reads by stream sequence.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/bus/adapter.hpp"

namespace net::brokers {

struct JetStreamConfig {
  std::string url;
  std::string prefix = "net";
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{5000};
  std::optional<std::int64_t> max_messages;
  std::optional<std::int64_t> max_bytes;
  std::optional<std::chrono::milliseconds> max_age;
  std::int64_t replicas = 1;
  std::chrono::milliseconds duplicate_window{std::chrono::hours(1)};
  std::optional<std::string> producer_nonce_path;

  // Throws Error(InvalidConfig, "invalid configuration: jetstream adapter: invalid configuration: jetstream <what>").
  void validate() const;
};

class JetStreamAdapter final : public bus::Adapter {
 public:
  // Connects and makes sure every shard's stream exists; throws
  // Error(Connection, "connection error: ...").
  JetStreamAdapter(const JetStreamConfig& config, std::uint16_t num_shards);
  ~JetStreamAdapter() override;

  std::string_view name() const noexcept override { return "jetstream"; }
  bool ready() const override;
  std::size_t on_batch(std::span<const bus::StoredEvent> events) override;
  std::optional<bus::PollResult> poll(const bus::PollRequest& request) override;
  bool is_healthy() const override;
  std::size_t max_event_size() const override;  ///< the server's max_payload less the envelope
  void shutdown() override;

  std::string stream_name(std::uint16_t shard_id) const;
  std::string subject(std::uint16_t shard_id) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace net::brokers
