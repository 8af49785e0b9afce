// The two-node Net adapter ("Net L0", REFERENCE §2): a bus that sends what
// it ingests to one encrypted peer and polls what that peer sent. Unlike the
// original, construction never waits for the handshake: the initiator keeps
// handshaking in the background (and again whenever the session is lost),
// and events ingested meanwhile wait in the rings until the session is up.
#pragma once

#include <chrono>
#include <memory>

#include "net/bus/adapter.hpp"
#include "net/bus/config.hpp"
#include "net/core/bytes.hpp"
#include "net/transport/socket_address.hpp"

namespace net::mesh {

enum class TwoNodeRole { Initiator, Responder };
enum class TwoNodeReliability { None, Light, Full };  ///< light: recovered loss; full: also in order

struct TwoNodeConfig {
  transport::SocketAddress bind_address;
  transport::SocketAddress peer_address;  ///< the responder answers whoever handshakes instead
  Key32 psk{};
  TwoNodeRole role = TwoNodeRole::Initiator;
  Key32 peer_public_key{};  ///< initiator: the responder's X25519 key
  Key32 secret_key{};       ///< responder: its X25519 secret
  TwoNodeReliability reliability = TwoNodeReliability::None;
  std::chrono::milliseconds heartbeat_interval{5000};
  std::chrono::milliseconds session_timeout{30000};
  // Where received events wait for poll(): shards, capacity and backpressure as the bus's own.
  bus::EventBusConfig inbound;

  // Throws Error(InvalidConfig, "invalid configuration: ...").
  void validate() const;
};

class TwoNodeAdapter final : public bus::Adapter {
 public:
  explicit TwoNodeAdapter(const TwoNodeConfig& config);  ///< binds and starts; never blocks on the peer
  ~TwoNodeAdapter() override;

  std::string_view name() const noexcept override { return "net"; }
  bool ready() const override;  ///< a session with the peer is up
  std::size_t on_batch(std::span<const bus::StoredEvent> events) override;
  std::optional<bus::PollResult> poll(const bus::PollRequest& request) override;
  bool is_healthy() const override { return ready(); }
  void shutdown() override;

  transport::SocketAddress local_address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace net::mesh
