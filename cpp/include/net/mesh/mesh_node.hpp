// MeshNode: one encrypted UDP node of the mesh (REFERENCE §3). It owns a
// socket and its reactor thread, Noise handshakes (direct and relayed),
// sessions, heartbeats, the failure detector, the routing table fed by
// pingwaves, streams with credit windows, and the inbound event queues.
// Every method is thread-safe; connect() and accept() block.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/bus/event.hpp"
#include "net/core/bytes.hpp"
#include "net/core/error.hpp"
#include "net/crypto/ed25519.hpp"
#include "net/identity/subnet.hpp"
#include "net/transport/socket_address.hpp"

namespace net::mesh {

using transport::SocketAddress;

struct MeshConfig {
  SocketAddress bind_address;
  Key32 psk{};
  std::chrono::milliseconds heartbeat_interval{5000};
  std::chrono::milliseconds session_timeout{30000};
  std::uint16_t num_shards = 4;          ///< inbound queues (stream_id % num_shards)
  std::optional<Key32> identity_seed;    ///< Ed25519 seed; random when absent
  identity::SubnetId subnet;             ///< this node's subnet (global by default)
  identity::SubnetPolicy subnet_policy;  ///< derives peers' subnets from their capability tags
  std::chrono::milliseconds handshake_timeout{5000};
  unsigned handshake_attempts = 3;
  // Largest UDP payload sent to a peer: loopback peers get the original's
  // 8192, others the path-safe 1472 (1500 MTU - IPv4 - UDP headers).
  std::size_t max_datagram_loopback = 8192;
  std::size_t max_datagram_remote = 1472;
  std::optional<Key32> static_secret;  ///< the X25519 Noise key; fresh when absent
  bool ordered_reliable = true;        ///< reliable streams deliver in sequence, not as packets arrive
  // Coalescing sends (channel publishes) closer together than this are a
  // burst: held and sent by the reactor many to a datagram.
  std::chrono::microseconds burst_gap{200};
  // The two-node Net's dialect (REFERENCE §2): empty prologue, the responder
  // answers any initiator at any time, the one peer has node id 0, no
  // pingwaves, and received streams send no grants (that peer reads none).
  bool two_node = false;
  // When set, received events go here (on the reactor thread) instead of to poll().
  std::function<void(std::span<const bus::StoredEvent>)> event_sink;
};

enum class StreamReliability { FireAndForget, Reliable };

struct StreamOptions {
  StreamReliability reliability = StreamReliability::FireAndForget;
  std::uint32_t window_bytes = 65536;  ///< send credit; 0 = unbounded
  std::uint8_t fairness_weight = 1;
  std::uint16_t subprotocol_id = 0;  ///< stamped on every packet of the stream
  std::uint16_t channel_hash = 0;    ///< likewise (channel publishes carry it)
  std::uint8_t priority = 0;         ///< likewise, the header's priority field
};

// How MeshNode::send_to_each() sends.
struct EachSend {
  // An event that comes during a burst (another such send less than
  // MeshConfig::burst_gap before, or some still held) is held and sent by
  // the reactor with the rest of the burst, many to a datagram; it takes its
  // credit now, so the result still says whether it was accepted.
  bool coalesce = false;
  bool stop_at_first_failure = false;  ///< the peers after it are not tried
};

// What open_stream() hands out; sends check that the stream is still the one
// opened (same epoch), so a handle outlives close_stream() harmlessly.
struct StreamHandle {
  std::uint64_t peer_node_id = 0;
  std::uint64_t stream_id = 0;
  std::uint64_t epoch = 0;
};

struct StreamStats {
  std::uint64_t tx_seq = 0;
  std::uint64_t rx_seq = 0;
  std::uint64_t inbound_pending = 0;
  std::uint64_t last_activity_ns = 0;
  bool active = false;
  std::uint64_t backpressure_events = 0;
  std::uint32_t tx_credit_remaining = 0;
  std::uint32_t tx_window = 0;
  std::uint64_t credit_grants_received = 0;
  std::uint64_t credit_grants_sent = 0;
};

// Counters for what the node refused or lost on receive.
struct MeshCounters {
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_dropped = 0;  ///< malformed, unauthenticated, replayed or unroutable
  std::uint64_t packets_forwarded = 0;
  std::uint64_t retransmissions = 0;
};

class MeshNode {
 public:
  explicit MeshNode(const MeshConfig& config);  ///< binds the socket; throws Error
  ~MeshNode();
  MeshNode(const MeshNode&) = delete;
  MeshNode& operator=(const MeshNode&) = delete;

  const Key32& public_key() const noexcept;  ///< the X25519 Noise static key
  const Key32& entity_id() const noexcept;   ///< the Ed25519 identity key
  std::uint64_t node_id() const noexcept;
  SocketAddress local_address() const;

  // Initiator handshake with the node at `address`; blocks until the session
  // is up (throws Error(Connection, "connection error: handshake timeout")).
  void connect(const SocketAddress& address, const Key32& peer_public_key, std::uint64_t peer_node_id);
  // Handshake with a node reachable only through `relay` (already a peer):
  // the messages travel in routing headers, and so does all later traffic.
  void connect_via(const SocketAddress& relay, const Key32& peer_public_key, std::uint64_t peer_node_id);
  // Responder handshake: waits for one initiator; returns its address. Only before start().
  SocketAddress accept(std::uint64_t peer_node_id);
  // Heartbeats, pingwaves, failure detection and route sweeps; idempotent.
  void start();

  // One event on stream 0 to the peer at `address`.
  void push_to(const SocketAddress& address, ByteView event);
  // Removes and returns up to `limit` received events, from every inbound
  // shard; when there are none, waits up to `wait` for the first to arrive.
  std::vector<bus::StoredEvent> poll(std::size_t limit, std::chrono::nanoseconds wait = {});
  void add_route(std::uint64_t dest_node_id, const SocketAddress& next_hop);
  std::size_t peer_count() const;
  std::size_t discovered_nodes() const;

  StreamHandle open_stream(std::uint64_t peer_node_id, std::uint64_t stream_id, const StreamOptions& options);
  void close_stream(std::uint64_t peer_node_id, std::uint64_t stream_id);
  // All events or none: Error(Backpressure) when the credit window is short,
  // Error(NotConnected) when the stream or its session is gone.
  void send_on_stream(const StreamHandle& stream, std::span<const ByteView> events);
  // The same, but false (nothing sent) when the credit window is short: for
  // senders that wait and retry, without an exception per refusal.
  bool try_send_on_stream(const StreamHandle& stream, std::span<const ByteView> events);
  // One event to each peer on its stream `stream_id` (opened with `options`
  // if needed), all sent in one batch: per peer tried, nullopt or why it failed.
  std::vector<std::optional<Error>> send_to_each(std::span<const std::uint64_t> peers, std::uint64_t stream_id,
                                                 const StreamOptions& options, ByteView event, EachSend how = {});
  // Waits until the stream has the credit its last refused send needed (or
  // `timeout` passes, or the stream is gone): what a sender refused for
  // credit does before it tries again.
  void wait_for_credit(const StreamHandle& stream, std::chrono::nanoseconds timeout) const;
  std::optional<StreamStats> stream_stats(std::uint64_t peer_node_id, std::uint64_t stream_id) const;

  MeshCounters counters() const;

  // ---- for the layers above the transport (discovery, channels) ----------
  // Handlers run on the reactor thread after each received batch, outside
  // the node's lock, so they may call the methods above. Register them
  // before traffic for them can arrive.

  // Events of packets with this subprotocol id (whole, after reassembly).
  using MessageHandler = std::function<void(std::uint64_t peer_node_id, ByteView body)>;
  void on_message(std::uint16_t subprotocol_id, MessageHandler handler);
  // A session came up (a new peer or a new handshake) or failed. Handlers add up.
  using PeerHandler = std::function<void(std::uint64_t peer_node_id, bool up)>;
  void on_peer(PeerHandler handler);
  // Events of channel publish streams (2^48 | channel hash). Runs under the
  // node's lock and must not call the node; returns whether it took the
  // event (otherwise poll() gets it).
  using ChannelTap = std::function<bool(std::uint64_t peer_node_id, std::uint16_t channel_hash, bus::StoredEvent&)>;
  void set_channel_tap(ChannelTap tap);
  // Runs `tick` on the reactor thread every `interval` until shutdown.
  void every(std::chrono::nanoseconds interval, std::function<void()> tick);
  // One event on `subprotocol_id`'s own stream (id = subprotocol id) to a
  // peer, fragmented when larger than a packet.
  void send_message(std::uint64_t peer_node_id, std::uint16_t subprotocol_id, ByteView body);
  std::vector<std::uint64_t> direct_peers() const;
  bool has_session(std::uint64_t peer_node_id) const;
  // The next hop toward `node_id` is the direct peer `via` (learned, with a
  // metric, refreshed like routes from pingwaves).
  void learn_route(std::uint64_t node_id, std::uint64_t via, std::uint32_t metric);
  std::optional<std::uint64_t> next_hop_peer(std::uint64_t node_id) const;  ///< the direct peer toward it
  const crypto::Ed25519Keypair& identity() const noexcept;
  const MeshConfig& config() const noexcept;
  // Idempotent: stops the reactor, joins its thread, drops every session.
  // Afterwards every call throws Error(ShutDown, "MeshNode has been shut down").
  void shutdown();
  bool is_shut_down() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace net::mesh
