// MeshNode: handshakes, the receive demultiplexer (REFERENCE §3.4), sessions,
// streams with credit, heartbeats, pingwaves and routing. State lives under
// one mutex; the reactor thread receives and runs timers, API threads send
// and encrypt outside the lock.
#include "net/mesh/mesh_node.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "net/core/clock.hpp"
#include "net/core/error.hpp"
#include "net/crypto/ed25519.hpp"
#include "net/crypto/noise.hpp"
#include "net/crypto/x25519.hpp"
#include "net/identity/node_ids.hpp"
#include "net/transport/packet_cipher.hpp"
#include "net/transport/udp_reactor.hpp"
#include "net/wire/event_frames.hpp"
#include "net/wire/packet_header.hpp"
#include "net/wire/pingwave.hpp"
#include "net/wire/reliability_ack.hpp"
#include "net/wire/routing_header.hpp"
#include "net/wire/stream_window.hpp"
#include "routing_table.hpp"
#include "session.hpp"

namespace net::mesh {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kPacketOverhead = wire::kHeaderSize + wire::kTagSize;  // 80, also the credit overhead
constexpr std::int64_t kGrantQuarantineNs = 2'000'000'000;
constexpr std::int64_t kPingwaveDedupNs = 10'000'000'000;
constexpr std::size_t kMaxPingwaveOrigins = 16384;  ///< origins a node keeps routes and proximity for
constexpr std::int64_t kStreamIdleNs = 300'000'000'000;
constexpr int kHandshakesPerSecond = 5;
constexpr std::size_t kRememberedMsg1 = 4096;   ///< answered msg1s whose replay is refused
constexpr std::size_t kMaxPacedSources = 4096;  ///< handshake sources paced at once (a flood's are refused)
constexpr std::size_t kMaxEarlyHandshakes = 16;
constexpr std::size_t kMaxReassemblyBytes = 256u << 20;           ///< per session, incomplete events
constexpr int kFailureMisses = 3;                                 ///< session timeouts of silence -> Failed
constexpr int kSuspicionMisses = 2;                               ///< -> Suspected
constexpr auto kReliabilityTick = std::chrono::milliseconds(10);  ///< acks and overdue resends
constexpr std::int64_t kGapAckHoldoffNs = 2'000'000;              ///< at most one immediate gap report per 2 ms
constexpr std::int64_t kStaleGapNs = 10'000'000'000;              ///< a sender that never resends (the original's)
constexpr std::int64_t kAckSilenceNs = 1'000'000'000;             ///< no ack at all for 1 s: a peer that never acks
constexpr const char* kWouldBlock = "stream would block (queue full)";  ///< the original's backpressure text
constexpr std::size_t kMaxStreams = 4096;                               ///< per session (the original's max_streams)
constexpr std::size_t kSealAhead = 64;  ///< datagrams sealed before they are sent (the replay window is 1024)
constexpr std::int64_t kCreditProbeNs = 50'000'000;  ///< starved and no grant for 50 ms: probe

std::int64_t now_ns() noexcept { return static_cast<std::int64_t>(monotonic_ns()); }

[[noreturn]] void throw_shut_down() { throw Error(ErrorKind::ShutDown, "MeshNode has been shut down"); }

std::string hex_node(std::uint64_t node_id) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(node_id));
  return text;
}

Bytes handshake_datagram(ByteView noise_message, std::size_t headroom = 0) {
  wire::PacketHeader header;
  header.flags = wire::flags::kHandshake;
  header.payload_len = static_cast<std::uint16_t>(noise_message.size());
  Bytes datagram(headroom + wire::kHeaderSize + noise_message.size());
  header.encode(datagram.data() + headroom);
  std::copy(noise_message.begin(), noise_message.end(), datagram.begin() + headroom + wire::kHeaderSize);
  return datagram;
}

std::uint64_t wall_clock_us() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Frames `events` into packets: several events share a packet up to
// `pack_limit` bytes (the stream window's share, so a batch splits into
// packets that each fit the window); an event alone may fill `max_payload`,
// and one larger than that becomes pieces of its own (frag_flags).
void plan_event_packets(std::span<const ByteView> events, std::size_t max_payload, std::size_t pack_limit,
                        StreamState& stream, std::vector<PlannedPacket>& out) {
  const auto fits_alone = [&](ByteView event) { return wire::framed_size(event.size()) <= max_payload; };
  for (std::size_t first = 0; first < events.size();) {
    const ByteView event = events[first];
    if (!fits_alone(event)) {
      const std::size_t pieces = (event.size() + max_payload - 1) / max_payload;
      if (pieces > 0x10000) {
        throw Error(ErrorKind::InvalidArgument, "event of " + std::to_string(event.size()) +
                                                    " bytes exceeds the largest fragmented event (" +
                                                    std::to_string(max_payload * 0x10000) + " bytes)");
      }
      const std::uint16_t fragment_id = stream.next_fragment_id++;
      for (std::size_t i = 0; i < pieces; ++i) {
        PlannedPacket piece;
        const std::size_t begin = i * max_payload;
        const std::size_t size = std::min(max_payload, event.size() - begin);
        piece.plaintext.assign(event.begin() + static_cast<std::ptrdiff_t>(begin),
                               event.begin() + static_cast<std::ptrdiff_t>(begin + size));
        piece.header.frag_flags =
            static_cast<std::uint8_t>(wire::frag::kFragment | (i + 1 == pieces ? wire::frag::kLastFragment : 0));
        piece.header.fragment_id = fragment_id;
        piece.header.fragment_offset = static_cast<std::uint16_t>(i);
        out.push_back(std::move(piece));
      }
      ++first;
      continue;
    }
    // The events that share this packet, then one allocation for them.
    std::size_t bytes = wire::framed_size(event.size());
    std::size_t end = first + 1;
    while (end < events.size() && end - first < wire::kMaxEventsPerPacket && fits_alone(events[end]) &&
           bytes + wire::framed_size(events[end].size()) <= pack_limit) {
      bytes += wire::framed_size(events[end].size());
      ++end;
    }
    PlannedPacket packet;
    packet.plaintext.reserve(bytes);
    for (std::size_t i = first; i < end; ++i) wire::append_frame(packet.plaintext, events[i]);
    packet.header.event_count = static_cast<std::uint16_t>(end - first);
    out.push_back(std::move(packet));
    first = end;
  }
}

}  // namespace

std::size_t Session::max_payload() const noexcept {
  return max_datagram - kPacketOverhead - (routed ? wire::kRoutingHeaderSize : 0);
}

// A connect() or connect_via() waiting for its msg2.
struct PendingInitiator {
  crypto::NoiseInitiator noise;
  std::uint64_t peer_node_id;
  SocketAddress address;  ///< the peer, or the relay
  bool routed;
  bool background = false;  ///< sent by the heartbeat tick, not by a waiting connect()
  std::int64_t sent_ns = 0;
  bool done = false;
};

// An accept() waiting for a msg1.
struct PendingAcceptor {
  std::uint64_t peer_node_id;
  std::optional<SocketAddress> initiator;
};

struct HandshakePacer {
  std::int64_t window_start_ns = 0;
  int count = 0;
};

struct MeshNode::Impl {
  MeshConfig config;
  crypto::X25519Keypair static_keys;
  crypto::Ed25519Keypair identity;
  std::uint64_t node_id = 0;
  std::unique_ptr<transport::UdpReactor> reactor;
  SocketAddress local_address;

  mutable std::mutex mu;
  std::condition_variable handshake_done;
  mutable std::condition_variable credit_granted;
  std::condition_variable events_arrived;  ///< poll() waiting for the inbound queues
  bool started = false;
  std::atomic<bool> shut_down{false};
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions;  ///< by peer node id
  std::unordered_map<SocketAddress, std::uint64_t, transport::SocketAddressHash> peer_by_address;
  std::unordered_map<SocketAddress, std::shared_ptr<PendingInitiator>, transport::SocketAddressHash> direct_initiators;
  std::unordered_map<std::uint32_t, std::shared_ptr<PendingInitiator>> routed_initiators;  ///< by routing id
  // Peers we connect()ed to (directly or through a relay), handshaken again
  // in the background after their session failed; and the addresses of
  // failed peers, whose new msg1 we answer even after start().
  struct Reconnect {
    SocketAddress address;  ///< the peer, or the relay of a connect_via()
    Key32 public_key;
    bool routed = false;
  };
  std::unordered_map<std::uint64_t, Reconnect> reconnects;
  std::unordered_map<SocketAddress, std::uint64_t, transport::SocketAddressHash> former_peers;
  std::shared_ptr<PendingAcceptor> acceptor;
  struct EarlyHandshake {
    Bytes datagram;
    SocketAddress from;
    std::int64_t received_ns;
  };
  std::deque<EarlyHandshake> early_handshakes;  ///< msg1s that came before accept()
  // The ephemeral keys of the last kRememberedMsg1 msg1s this node answered: an
  // old one replayed from a peer's address must not replace its live session
  // (its keys are ones the peer no longer has).
  struct EphemeralHash {
    std::size_t operator()(const Key32& key) const noexcept { return load_le<std::uint64_t>(key.data()); }
  };
  std::unordered_set<Key32, EphemeralHash> answered_ephemerals;
  std::deque<Key32> answered_order;

  void remember_answered(const Key32& ephemeral) {
    if (!answered_ephemerals.insert(ephemeral).second) return;
    answered_order.push_back(ephemeral);
    if (answered_order.size() > kRememberedMsg1) {
      answered_ephemerals.erase(answered_order.front());
      answered_order.pop_front();
    }
  }
  std::unordered_map<SocketAddress, HandshakePacer, transport::SocketAddressHash> pacers;
  RoutingTable routes;
  std::unordered_map<std::uint64_t, std::int64_t> proximity;       ///< origin -> last pingwave
  std::unordered_map<std::uint64_t, std::uint64_t> pingwave_seen;  ///< origin -> highest seq forwarded
  std::unordered_map<std::uint64_t, std::int64_t> pingwave_seen_at;
  std::uint64_t pingwave_seq = 0;
  std::vector<std::deque<bus::StoredEvent>> inbound;
  std::size_t poll_shard = 0;
  MeshCounters counters;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> grants_due;      ///< (peer, stream) accepted data this batch
  std::vector<std::pair<std::uint64_t, std::uint64_t>> corked_streams;  ///< (peer, stream) holding corked events
  std::int64_t last_coalescing_send_ns = std::numeric_limits<std::int64_t>::min() / 2;  ///< long before any
  std::vector<bus::StoredEvent> sink_batch;  ///< events for config.event_sink, handed over after the batch
  // Hooks of the layers above (guarded by mu), and what the reactor collected
  // for them during a batch (reactor thread only).
  std::unordered_map<std::uint16_t, std::shared_ptr<MessageHandler>> message_handlers;
  std::vector<std::shared_ptr<PeerHandler>> peer_handlers;
  ChannelTap channel_tap;
  struct Message {
    std::shared_ptr<MessageHandler> handler;
    std::uint64_t peer_node_id;
    bus::StoredEvent event;
  };
  std::vector<Message> messages;
  std::vector<std::pair<std::uint64_t, bool>> peer_changes;
  bool events_waiting = false;  ///< the reactor queued events since its last flush (reactor thread only)
  std::vector<Bytes> outbox;    ///< datagrams built on the reactor thread, sent after its batch
  std::vector<SocketAddress> outbox_to;

  explicit Impl(const MeshConfig& cfg)
      : config(cfg),
        static_keys(cfg.static_secret ? crypto::X25519Keypair::from_secret(*cfg.static_secret)
                                      : crypto::X25519Keypair::generate()),
        identity(cfg.identity_seed ? crypto::Ed25519Keypair::from_seed(*cfg.identity_seed)
                                   : crypto::Ed25519Keypair::generate()),
        node_id(identity::node_id_of(identity.public_key())),
        inbound(std::max<std::uint16_t>(cfg.num_shards, 1)) {
    reactor = std::make_unique<transport::UdpReactor>(cfg.bind_address);
    local_address = reactor->local_address();
  }

  void check_open() const {
    if (shut_down.load()) throw_shut_down();
  }

  std::size_t max_datagram_for(const SocketAddress& address) const {
    return address.is_loopback() ? config.max_datagram_loopback : config.max_datagram_remote;
  }

  std::int64_t timeout_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(config.session_timeout).count();
  }

  // The mesh binds both routing ids into the handshake; the two-node Net binds nothing.
  Bytes prologue_for(std::uint64_t initiator, std::uint64_t responder) const {
    if (config.two_node) return {};
    const auto prologue = identity::mesh_prologue(initiator, responder);
    return Bytes(prologue.begin(), prologue.end());
  }

  // ---- sending -----------------------------------------------------------

  // The datagram that carries `packet` to `session`'s peer: a routing header
  // when the session is routed, then the sealed packet.
  static std::size_t datagram_size(const Session& session, const PlannedPacket& packet) {
    return (session.routed ? wire::kRoutingHeaderSize : 0) + transport::sealed_size(packet.plaintext.size());
  }

  // Seals `packet` for `session` into the datagram_size() bytes at `out`
  // (any thread; takes the next TX counter).
  static void seal_to(Session& session, std::uint32_t self_routing_id, const PlannedPacket& packet, std::uint8_t* out) {
    wire::PacketHeader header = packet.header;
    header.session_id = session.keys.session_id;
    const std::uint64_t counter = session.tx_counter.fetch_add(1, std::memory_order_relaxed);
    if (session.routed) {
      wire::RoutingHeader route;
      route.src_id = self_routing_id;
      route.dest_id = session.peer_node_id;
      route.encode(out);
      out += wire::kRoutingHeaderSize;
    }
    transport::seal_packet_to(header, session.keys, counter, packet.plaintext, out);
  }

  // The same, as a datagram of its own (control messages, resends).
  static Bytes seal(Session& session, std::uint32_t self_routing_id, const PlannedPacket& packet) {
    Bytes datagram(datagram_size(session, packet));
    seal_to(session, self_routing_id, packet, datagram.data());
    return datagram;
  }

  // Queues a datagram from the reactor thread (flushed after the batch).
  void enqueue(Bytes datagram, const SocketAddress& to) {
    outbox.push_back(std::move(datagram));
    outbox_to.push_back(to);
  }

  void flush_outbox() {
    if (outbox.empty()) return;
    std::vector<transport::Datagram> batch;
    batch.reserve(outbox.size());
    for (std::size_t i = 0; i < outbox.size(); ++i) batch.push_back({outbox[i], outbox_to[i]});
    reactor->send(batch);
    outbox.clear();
    outbox_to.clear();
  }

  void send_now(ByteView datagram, const SocketAddress& to) {
    const transport::Datagram one{datagram, to};
    reactor->send({&one, 1});
  }

  // A one-frame control message (grants...) on the reactor thread.
  void enqueue_control(Session& session, std::uint16_t subprotocol_id, std::uint64_t stream_id, std::uint64_t sequence,
                       ByteView body) {
    PlannedPacket packet;
    packet.header.subprotocol_id = subprotocol_id;
    packet.header.stream_id = stream_id;
    packet.header.sequence = sequence;
    packet.header.event_count = 1;
    wire::append_frame(packet.plaintext, body);
    enqueue(seal(session, identity::routing_id(node_id), packet), next_hop(session));
  }

  // Where a session's datagrams go: the peer itself, or for a routed session
  // the current next hop toward it (so traffic follows a reroute), else the
  // relay the handshake went through.
  SocketAddress next_hop(const Session& session) const {
    if (!session.routed) return session.address;
    const auto hop = routes.lookup(session.peer_node_id);
    return hop ? *hop : session.address;
  }

  // ---- sessions ----------------------------------------------------------

  std::shared_ptr<Session> install_session(std::uint64_t peer_node_id, const SocketAddress& address, bool routed,
                                           const Key32& handshake_hash, crypto::HandshakeRole role) {
    auto session = std::make_shared<Session>();
    session->peer_node_id = peer_node_id;
    session->address = address;
    session->routed = routed;
    session->keys = crypto::SessionKeys::derive(handshake_hash, role);
    session->established_ns = session->last_activity_ns = now_ns();
    session->initiated = role == crypto::HandshakeRole::Initiator;
    session->max_datagram = max_datagram_for(address);
    if (auto old = sessions.find(peer_node_id); old != sessions.end() && !old->second->routed) {
      peer_by_address.erase(old->second->address);
    }
    sessions[peer_node_id] = session;
    peer_changes.emplace_back(peer_node_id, true);
    former_peers.erase(address);
    if (!routed) {
      peer_by_address[address] = peer_node_id;
      routes.add_direct(peer_node_id, address);
    }
    return session;
  }

  void remove_peer(std::uint64_t peer_node_id) {
    const auto it = sessions.find(peer_node_id);
    if (it == sessions.end()) return;
    const SocketAddress address = it->second->address;
    if (!it->second->routed) {
      peer_by_address.erase(address);
      routes.forget_peer(peer_node_id, address);
    }
    sessions.erase(it);
    peer_changes.emplace_back(peer_node_id, false);
    credit_granted.notify_all();  // a sender waiting on it finds its stream gone
  }

  std::shared_ptr<Session> session_for(std::uint64_t session_id, const SocketAddress& from) const {
    if (const auto peer = peer_by_address.find(from); peer != peer_by_address.end()) {
      const auto it = sessions.find(peer->second);
      if (it != sessions.end() && it->second->keys.session_id == session_id) return it->second;
    }
    for (const auto& [id, session] : sessions) {
      if (session->keys.session_id == session_id) return session;
    }
    return nullptr;
  }

  bool pace_handshake(const SocketAddress& from, std::int64_t now) {
    if (pacers.size() >= kMaxPacedSources && !pacers.contains(from)) {
      // A flood from many sources (handshake packets are not authenticated
      // yet): forget the windows that ended, and refuse new sources while it lasts.
      std::erase_if(pacers, [&](const auto& entry) { return now - entry.second.window_start_ns > 1'000'000'000; });
      if (pacers.size() >= kMaxPacedSources) return false;
    }
    HandshakePacer& pacer = pacers[from];
    if (now - pacer.window_start_ns > 1'000'000'000) pacer = {now, 0};
    return ++pacer.count <= kHandshakesPerSecond;
  }

  // ---- receive -----------------------------------------------------------

  void on_receive(std::span<const transport::Datagram> batch) {
    {
      std::lock_guard lock(mu);
      for (const auto& datagram : batch) {
        ++counters.datagrams_received;
        if (!dispatch(datagram.bytes, datagram.address)) ++counters.datagrams_dropped;
      }
      send_due_grants();
    }
    flush();
  }

  bool dispatch(ByteView bytes, const SocketAddress& from) {
    if (bytes.size() < 2) return false;
    const std::uint16_t magic = load_le<std::uint16_t>(bytes.data());
    if (bytes.size() == wire::kPingwaveSize && magic != wire::kPacketMagic) return on_pingwave(bytes, from);
    if (magic == wire::kRoutingMagic && bytes.size() >= wire::kRoutingHeaderSize + wire::kHeaderSize) {
      return on_routed(bytes, from);
    }
    if (magic == wire::kPacketMagic) return on_direct(bytes, from);
    return false;
  }

  bool on_direct(ByteView bytes, const SocketAddress& from) {
    const auto header = wire::PacketHeader::decode(bytes);
    if (!header) return false;
    if (header->has(wire::flags::kHandshake)) return on_direct_handshake(bytes, *header, from);
    const auto session = session_for(header->session_id, from);
    if (!session) return false;
    if (header->has(wire::flags::kHeartbeat)) {
      if (session->address != from || bytes.size() != kPacketOverhead) return false;
    }
    return on_packet(*session, bytes, *header);
  }

  bool on_routed(ByteView bytes, const SocketAddress& from) {
    auto route = wire::RoutingHeader::decode(bytes);
    if (!route) return false;
    if (route->dest_id != node_id) return forward(bytes, *route);
    const ByteView inner = bytes.subspan(wire::kRoutingHeaderSize);
    const auto header = wire::PacketHeader::decode(inner);
    if (!header) return false;
    if (header->has(wire::flags::kHandshake)) return on_routed_handshake(inner, *header, *route, from);
    const auto session = session_for(header->session_id, from);
    if (!session) return false;
    return on_packet(*session, inner, *header);
  }

  bool forward(ByteView bytes, wire::RoutingHeader route) {
    if (!route.forward()) return false;
    const auto next_hop = routes.lookup(route.dest_id);
    if (!next_hop) return false;
    Bytes copy(bytes.begin(), bytes.end());
    route.encode(copy.data());
    enqueue(std::move(copy), *next_hop);
    ++counters.packets_forwarded;
    return true;
  }

  // Replay check, decryption, then heartbeat / grant / event data.
  bool on_packet(Session& session, ByteView packet, const wire::PacketHeader& header) {
    const std::uint64_t counter = header.counter();
    if (!session.replay.check(counter)) return false;
    auto plaintext = transport::open_packet(packet, header, session.keys);
    if (!plaintext || !session.replay.commit(counter)) return false;
    const std::int64_t now = now_ns();
    session.last_activity_ns = now;
    if (header.has(wire::flags::kHeartbeat)) return plaintext->empty();
    if (header.has(wire::flags::kNack)) return on_ack(session, *plaintext, header, now);
    switch (header.subprotocol_id) {
      case wire::subprotocol::kStreamWindow: return on_grant(session, *plaintext, header, now);
      default: return on_event_data(session, std::move(*plaintext), header, now);
    }
  }

  bool on_grant(Session& session, const Bytes& plaintext, const wire::PacketHeader& header, std::int64_t now) {
    const auto frames = wire::read_frames(plaintext, header.event_count);
    if (frames.size() != 1) return false;
    const auto grant = wire::StreamWindowGrant::decode(frames[0]);
    if (!grant) return false;
    if (const auto closed = session.closed_streams.find(grant->stream_id);
        closed != session.closed_streams.end() && now - closed->second < kGrantQuarantineNs) {
      return true;
    }
    const auto it = session.streams.find(grant->stream_id);
    if (it == session.streams.end()) return true;
    StreamState& stream = it->second;
    ++stream.credit_grants_received;
    const std::int64_t previous_grant_ns = std::exchange(stream.last_grant_ns, now);
    const std::uint64_t total = std::min(grant->total_consumed, stream.tx_bytes_sent);
    if (total > stream.highest_grant) {
      stream.tx_credit = std::min<std::int64_t>(
          stream.tx_credit + static_cast<std::int64_t>(total - stream.highest_grant), stream.options.window_bytes);
      stream.highest_grant = total;
      credit_granted.notify_all();
    } else if (stream.credit_starved && stream.last_probe_ns > previous_grant_ns) {
      // The answer to a credit probe, without progress: the receiver has all
      // it will get of what was sent (a fire-and-forget packet was lost) or
      // counts from 0 again (it closed the stream). Either way no grant would
      // ever return the rest: start again from its count with the whole window.
      stream.highest_grant = total;
      stream.tx_credit = stream.options.window_bytes;
      credit_granted.notify_all();
    }
    return true;
  }

  StreamState& inbound_stream(Session& session, std::uint64_t stream_id, std::int64_t now) {
    auto [it, inserted] = session.streams.try_emplace(stream_id);
    if (inserted) {
      if (config.two_node) it->second.options.window_bytes = 0;
      it->second.reorder.set_ordered(config.ordered_reliable);
      it->second.tx_credit = it->second.options.window_bytes;
      it->second.last_activity_ns = now;
      evict_beyond_max_streams(session, stream_id);
    }
    return it->second;
  }

  // A session keeps at most kMaxStreams streams (REFERENCE §3.7): past it,
  // the one idle the longest goes (not `kept`, just created). A peer making
  // up stream ids cannot grow a node's memory, nor its ticks' work, for ever.
  static void evict_beyond_max_streams(Session& session, std::uint64_t kept) {
    if (session.streams.size() <= kMaxStreams) return;
    auto oldest = session.streams.end();
    for (auto it = session.streams.begin(); it != session.streams.end(); ++it) {
      if (it->first != kept &&
          (oldest == session.streams.end() || it->second.last_activity_ns < oldest->second.last_activity_ns)) {
        oldest = it;
      }
    }
    session.streams.erase(oldest);
  }

  bool on_ack(Session& session, const Bytes& plaintext, const wire::PacketHeader& header, std::int64_t now) {
    const auto ack = wire::ReliabilityAck::decode(plaintext);
    if (!ack) return false;
    const auto it = session.streams.find(header.stream_id);
    if (ack->next_expected == 0 && ack->highest_received == 0) {  // a credit probe: grant what we got, 0 if nothing
      if (it != session.streams.end() && it->second.options.window_bytes > 0) {
        send_grant(session, header.stream_id, it->second);
      } else if (it == session.streams.end() && !config.two_node) {
        send_grant(session, header.stream_id, std::uint64_t{0});
      }
      return true;
    }
    if (it == session.streams.end()) return true;
    StreamState& stream = it->second;
    session.peer_acks = true;
    session.peer_never_acks = false;
    resend(session, stream.retransmit.on_ack(*ack, now));
    return true;
  }

  void send_grant(Session& session, std::uint64_t stream_id, std::uint64_t consumed) {
    const auto grant = wire::StreamWindowGrant{stream_id, consumed}.encode();
    enqueue_control(session, wire::subprotocol::kStreamWindow, wire::kGrantStreamId, session.grant_sequence++, grant);
  }

  void send_grant(Session& session, std::uint64_t stream_id, StreamState& stream) {
    send_grant(session, stream_id, stream.rx_consumed);
    ++stream.credit_grants_sent;
  }

  void resend(Session& session, const std::vector<SharedPacket>& packets) {
    for (const auto& packet : packets)
      enqueue(seal(session, identity::routing_id(node_id), *packet), next_hop(session));
    counters.retransmissions += packets.size();
  }

  void enqueue_ack(Session& session, std::uint64_t stream_id, StreamState& stream, std::int64_t now,
                   bool credit_probe = false) {
    PlannedPacket packet;
    packet.header.flags = wire::flags::kNack;
    packet.header.stream_id = stream_id;
    const auto body = (credit_probe ? wire::ReliabilityAck{} : stream.reorder.ack()).encode();
    packet.plaintext.assign(body.begin(), body.end());
    enqueue(seal(session, identity::routing_id(node_id), packet), next_hop(session));
    stream.ack_due = false;
    stream.last_ack_ns = now;
  }

  // Credit accounting for an accepted packet. Grants are cumulative, so one
  // per stream per received batch carries what one per packet would.
  void account(Session& session, std::uint64_t stream_id, StreamState& stream, std::size_t payload_size) {
    stream.rx_consumed += payload_size + kPacketOverhead;
    if (stream.options.window_bytes > 0 && !stream.grant_due) {
      stream.grant_due = true;
      grants_due.emplace_back(session.peer_node_id, stream_id);
    }
  }

  void send_due_grants() {
    for (const auto& [peer, stream_id] : grants_due) {
      const auto session = sessions.find(peer);
      if (session == sessions.end()) continue;
      const auto stream = session->second->streams.find(stream_id);
      if (stream == session->second->streams.end() || !stream->second.grant_due) continue;
      stream->second.grant_due = false;
      send_grant(*session->second, stream_id, stream->second);
    }
    grants_due.clear();
  }

  bool on_event_data(Session& session, Bytes plaintext, const wire::PacketHeader& header, std::int64_t now) {
    StreamState& stream = inbound_stream(session, header.stream_id, now);
    stream.last_activity_ns = now;
    stream.rx_seq = std::max(stream.rx_seq, header.sequence + 1);
    if (!header.has(wire::flags::kReliable)) {
      account(session, header.stream_id, stream, plaintext.size());
      deliver(session.peer_node_id, stream, header, std::move(plaintext), now);
      return true;
    }
    const std::size_t payload_size = plaintext.size();
    std::vector<ReceivedPacket> release;
    switch (stream.reorder.receive({header, std::move(plaintext)}, now, release)) {
      case ReorderBuffer::Verdict::Duplicate: stream.ack_due = true; return true;
      case ReorderBuffer::Verdict::Overflow: return false;
      case ReorderBuffer::Verdict::Accepted: break;
    }
    account(session, header.stream_id, stream, payload_size);
    for (auto& packet : release) deliver(session.peer_node_id, stream, packet.header, std::move(packet.plaintext), now);
    if (stream.reorder.has_gap() && now - stream.last_ack_ns > kGapAckHoldoffNs) {
      enqueue_ack(session, header.stream_id, stream, now);
    } else {
      stream.ack_due = true;
    }
    return true;
  }

  // Hands a packet's events (or a piece of a fragmented one) to the inbound queues.
  void deliver(std::uint64_t peer, StreamState& stream, const wire::PacketHeader& header, Bytes plaintext,
               std::int64_t now) {
    if (header.frag_flags & wire::frag::kFragment) {
      on_fragment(peer, stream, std::move(plaintext), header, now);
      return;
    }
    const auto owner = std::make_shared<Bytes>(std::move(plaintext));
    const auto frames = wire::read_frames(*owner, header.event_count);
    const auto shard = static_cast<std::uint16_t>(header.stream_id % inbound.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
      hand_over(peer, header,
                bus::StoredEvent{owner,
                                 {reinterpret_cast<const char*>(frames[i].data()), frames[i].size()},
                                 header.sequence,
                                 header.sequence,
                                 shard,
                                 i,
                                 bus::StoredEvent::IdForm::PacketIndex});
    }
  }

  void hand_over(std::uint64_t peer, const wire::PacketHeader& header, bus::StoredEvent event) {
    if (header.subprotocol_id != 0) {
      if (const auto it = message_handlers.find(header.subprotocol_id); it != message_handlers.end()) {
        messages.push_back({it->second, peer, std::move(event)});
        return;
      }
    }
    if (channel_tap && header.stream_id >> 16 == std::uint64_t{1} << 32 &&
        channel_tap(peer, static_cast<std::uint16_t>(header.stream_id), event)) {
      return;
    }
    if (config.event_sink) {
      sink_batch.push_back(std::move(event));
    } else {
      inbound[event.shard_id].push_back(std::move(event));
      events_waiting = true;
    }
  }

  // After a batch, outside the lock: wake pollers, events for the sink, then datagrams.
  void flush() {
    if (events_waiting) {
      events_waiting = false;
      events_arrived.notify_all();
    }
    if (!sink_batch.empty()) {
      config.event_sink(sink_batch);
      sink_batch.clear();
    }
    flush_outbox();
    if (!peer_changes.empty() || !messages.empty()) run_hooks();
  }

  // A layer's bug must not take the reactor thread (and the process) down.
  template <class Call>
  static void guarded(Call&& call) noexcept {
    try {
      call();
    } catch (const std::exception&) {
      // Dropped: the handler's own errors are handled inside it.
    }
  }

  void run_hooks() {
    std::vector<std::shared_ptr<PeerHandler>> on_peer;
    {
      std::lock_guard lock(mu);
      on_peer = peer_handlers;
    }
    auto changes = std::move(peer_changes);
    peer_changes.clear();
    for (const auto& change : changes) {
      for (const auto& handler : on_peer) guarded([&] { (*handler)(change.first, change.second); });
    }
    auto delivered = std::move(messages);
    messages.clear();
    for (const auto& message : delivered) {
      const auto& event = message.event;
      guarded([&] {
        (*message.handler)(message.peer_node_id,
                           {reinterpret_cast<const std::uint8_t*>(event.raw.data()), event.raw.size()});
      });
    }
  }

  void on_fragment(std::uint64_t peer, StreamState& stream, Bytes piece, const wire::PacketHeader& header,
                   std::int64_t now) {
    Reassembly& event = stream.reassembly[header.fragment_id];
    if (event.pieces.empty()) event.started_ns = now;
    if (header.frag_flags & wire::frag::kLastFragment) event.total = header.fragment_offset + 1;
    const std::size_t size = piece.size();
    if (event.pieces.emplace(header.fragment_offset, std::move(piece)).second) event.bytes += size;
    std::size_t pending = 0;
    for (const auto& [id, other] : stream.reassembly) pending += other.bytes;
    if (pending > kMaxReassemblyBytes) {
      stream.reassembly.erase(header.fragment_id);
      ++counters.datagrams_dropped;
      return;
    }
    if (event.total < 0 || event.pieces.size() != static_cast<std::size_t>(event.total)) return;
    auto whole = std::make_shared<Bytes>();
    whole->reserve(event.bytes);
    for (const auto& [offset, bytes] : event.pieces) whole->insert(whole->end(), bytes.begin(), bytes.end());
    stream.reassembly.erase(header.fragment_id);
    const auto shard = static_cast<std::uint16_t>(header.stream_id % inbound.size());
    hand_over(peer, header,
              bus::StoredEvent{whole,
                               {reinterpret_cast<const char*>(whole->data()), whole->size()},
                               header.sequence,
                               header.sequence,
                               shard,
                               0,
                               bus::StoredEvent::IdForm::PacketIndex});
  }

  // ---- handshakes --------------------------------------------------------

  bool on_direct_handshake(ByteView bytes, const wire::PacketHeader& header, const SocketAddress& from) {
    const ByteView message = bytes.subspan(wire::kHeaderSize);
    if (message.size() != header.payload_len) return false;
    std::shared_ptr<PendingInitiator> crossed;
    if (const auto it = direct_initiators.find(from); it != direct_initiators.end()) {
      if (finish_initiator(*it->second, message)) return true;
      if (!answers_crossed_msg1(*it->second)) return false;
      crossed = it->second;
    }
    if (!pace_handshake(from, now_ns())) return false;
    if (message.size() < 32) return false;
    Key32 ephemeral;
    std::copy_n(message.begin(), 32, ephemeral.begin());
    // The same msg1 again (our msg2 was lost): answer it the same way.
    if (const auto peer = peer_by_address.find(from); peer != peer_by_address.end()) {
      const auto& session = sessions.at(peer->second);
      if (session->handshake_ephemeral == ephemeral) {
        enqueue(session->handshake_reply, from);
        return true;
      }
    }
    if (answered_ephemerals.contains(ephemeral)) return false;  // an older msg1, replayed
    std::uint64_t peer_node_id;
    if (crossed) {
      peer_node_id = crossed->peer_node_id;
    } else if (acceptor && !acceptor->initiator) {
      peer_node_id = acceptor->peer_node_id;
    } else if (const auto peer = peer_by_address.find(from); peer != peer_by_address.end()) {
      peer_node_id = peer->second;  // a known peer re-handshaking (it restarted or its session timed out)
      if (stale_crossed_msg1(*sessions.at(peer_node_id))) return false;
    } else if (const auto former = former_peers.find(from); former != former_peers.end()) {
      peer_node_id = former->second;  // its session failed; it comes back
    } else if (config.two_node) {
      peer_node_id = 0;
    } else if (!started) {
      // An initiator that is early: keep its msg1 for the accept() about to come.
      if (early_handshakes.size() >= kMaxEarlyHandshakes) early_handshakes.pop_front();
      early_handshakes.push_back({Bytes(bytes.begin(), bytes.end()), from, now_ns()});
      return true;
    } else {
      return false;
    }
    crypto::NoiseResponder noise(config.psk, static_keys, prologue_for(peer_node_id, node_id));
    if (!noise.read_message1(message)) return false;
    const Bytes reply = handshake_datagram(noise.write_message2({}));
    auto session = install_session(peer_node_id, from, false, noise.handshake_hash(), crypto::HandshakeRole::Responder);
    session->handshake_ephemeral = ephemeral;
    session->handshake_reply = reply;
    remember_answered(ephemeral);
    // Now, not with the batch: another thread may send on the new session at
    // once, and its data must not overtake msg2 (the original's initiator
    // discards anything but msg2 while it waits).
    send_now(reply, from);
    if (crossed) complete_crossed(*crossed);
    if (acceptor && acceptor->peer_node_id == peer_node_id && !acceptor->initiator) {
      acceptor->initiator = from;
      handshake_done.notify_all();
    }
    return true;
  }

  // Runs on the reactor thread once accept() waits: answers the msg1s kept
  // for it (those still fresh), newest first.
  void answer_early_handshakes() {
    {
      std::lock_guard lock(mu);
      const std::int64_t now = now_ns();
      const auto max_age = std::chrono::duration_cast<std::chrono::nanoseconds>(config.handshake_timeout).count();
      while (!early_handshakes.empty() && acceptor && !acceptor->initiator) {
        EarlyHandshake early = std::move(early_handshakes.back());
        early_handshakes.pop_back();
        if (now - early.received_ns > max_age) continue;
        if (const auto header = wire::PacketHeader::decode(early.datagram)) {
          on_direct_handshake(early.datagram, *header, early.from);
        }
      }
      early_handshakes.clear();
    }
    flush();
  }

  // Both nodes connect()ing to each other at once: each gets the other's msg1
  // where it waits for a msg2. The node with the lower id answers it as a
  // responder (its connect() completes with that session); the other drops
  // it and completes when the answer to its own msg1 arrives.
  bool answers_crossed_msg1(const PendingInitiator& pending) const {
    return !pending.done && node_id < pending.peer_node_id;
  }

  // The lower id's own msg1 of a crossing, arriving after its answer to ours
  // gave us the session: answering it would replace a session the peer keeps.
  bool stale_crossed_msg1(const Session& session) const {
    const auto window = std::chrono::duration_cast<std::chrono::nanoseconds>(config.handshake_timeout).count();
    return session.initiated && session.peer_node_id < node_id && now_ns() - session.established_ns < window;
  }

  void complete_crossed(PendingInitiator& pending) {
    pending.done = true;
    handshake_done.notify_all();
  }

  bool finish_initiator(PendingInitiator& pending, ByteView message) {
    if (pending.done) return false;
    // On a copy: a msg2 that fails (an answer to an earlier msg1, or a forgery
    // with the right routing id) must not spoil the state the real one needs.
    crypto::NoiseInitiator attempt = pending.noise;
    if (!attempt.read_message2(message)) return false;
    pending.noise = std::move(attempt);
    install_session(pending.peer_node_id, pending.address, pending.routed, pending.noise.handshake_hash(),
                    crypto::HandshakeRole::Initiator);
    pending.done = true;
    handshake_done.notify_all();
    return true;
  }

  bool on_routed_handshake(ByteView inner, const wire::PacketHeader& header, const wire::RoutingHeader& route,
                           const SocketAddress& from) {
    const ByteView message = inner.subspan(wire::kHeaderSize);
    if (message.size() != header.payload_len) return false;
    std::shared_ptr<PendingInitiator> crossed;
    if (const auto it = routed_initiators.find(route.src_id); it != routed_initiators.end()) {
      if (finish_initiator(*it->second, message)) return true;
      if (!answers_crossed_msg1(*it->second)) return false;
      crossed = it->second;
    }
    if (!pace_handshake(from, now_ns()) || message.size() < 32) return false;
    crypto::NoiseResponder noise(config.psk, static_keys, identity::mesh_prologue(route.src_id, node_id));
    const auto payload = noise.read_message1(message);
    if (!payload || payload->size() < 8) return false;
    const auto initiator = load_le<std::uint64_t>(payload->data());
    if (identity::routing_id(initiator) != route.src_id) return false;
    if (crossed && initiator != crossed->peer_node_id) return false;
    Key32 ephemeral;
    std::copy_n(message.begin(), 32, ephemeral.begin());
    if (answered_ephemerals.contains(ephemeral)) return false;  // a replayed msg1
    if (const auto existing = sessions.find(initiator); existing != sessions.end() && !crossed) {
      const Session& old = *existing->second;
      if (stale_crossed_msg1(old)) return false;
      if (old.handshake_ephemeral == ephemeral) return false;  // replayed msg1
      if (now_ns() - old.last_activity_ns < timeout_ns() && !old.routed) return false;
    }
    Bytes reply = handshake_datagram(noise.write_message2({}), wire::kRoutingHeaderSize);
    wire::RoutingHeader back;
    back.src_id = identity::routing_id(node_id);
    back.dest_id = initiator;
    back.encode(reply.data());
    // Unlike the original, answer and keep talking through the relay in routing headers.
    auto session = install_session(initiator, from, true, noise.handshake_hash(), crypto::HandshakeRole::Responder);
    session->handshake_ephemeral = ephemeral;
    remember_answered(ephemeral);
    const auto next_hop = routes.lookup(initiator);
    send_now(reply, next_hop ? *next_hop : from);  // before any data on the new session, as above
    if (crossed) complete_crossed(*crossed);
    return true;
  }

  // ---- pingwaves and the heartbeat tick -----------------------------------

  bool on_pingwave(ByteView bytes, const SocketAddress& from) {
    auto wave = wire::Pingwave::decode(bytes);
    if (!wave || !peer_by_address.contains(from)) return false;
    if (wave->origin_node_id == node_id || wave->hop_count >= 16) return true;
    // Pingwaves are plaintext: a flood of made-up origins stops at the cap
    // (known origins go on; entries expire after 3 session timeouts).
    if (pingwave_seen.size() >= kMaxPingwaveOrigins && !pingwave_seen.contains(wave->origin_node_id)) return true;
    const std::int64_t now = now_ns();
    auto [seen, first] = pingwave_seen.try_emplace(wave->origin_node_id, wave->seq);
    if (!first && wave->seq <= seen->second && now - pingwave_seen_at[wave->origin_node_id] < kPingwaveDedupNs) {
      return true;  // already heard this wave
    }
    seen->second = wave->seq;
    pingwave_seen_at[wave->origin_node_id] = now;
    routes.learn(wave->origin_node_id, from, wave->hop_count + 2u, now);
    proximity[wave->origin_node_id] = now;
    if (wave->ttl <= 1) return true;
    --wave->ttl;
    ++wave->hop_count;
    const auto toward_origin = routes.lookup(wave->origin_node_id);
    const auto encoded = wave->encode();
    for (const auto& [address, peer] : peer_by_address) {
      if (address == from || (toward_origin && address == *toward_origin) || peer == wave->origin_node_id) continue;
      enqueue(Bytes(encoded.begin(), encoded.end()), address);
    }
    return true;
  }

  void on_tick() {
    {
      std::lock_guard lock(mu);
      const std::int64_t now = now_ns();
      std::vector<std::uint64_t> failed;
      wire::Pingwave wave;
      wave.origin_node_id = node_id;
      wave.seq = ++pingwave_seq;
      wave.origin_timestamp_us = wall_clock_us();
      const auto encoded = wave.encode();
      for (auto& [peer, session] : sessions) {
        const std::int64_t silent = now - session->last_activity_ns;
        if (silent >= kFailureMisses * timeout_ns()) {
          failed.push_back(peer);
          continue;
        }
        // Suspected: stop relaying through it now, so routed sessions move to
        // another path (learned from the next pingwaves) before they time out too.
        if (silent >= kSuspicionMisses * timeout_ns() && !session->routed) routes.forget_routes_via(session->address);
        PlannedPacket heartbeat;
        heartbeat.header.flags = wire::flags::kHeartbeat;
        enqueue(seal(*session, identity::routing_id(node_id), heartbeat), next_hop(*session));
        if (!session->routed && !config.two_node) enqueue(Bytes(encoded.begin(), encoded.end()), session->address);
        sweep_streams(*session, now);
      }
      for (const std::uint64_t peer : failed) {
        if (!sessions.at(peer)->routed) former_peers[sessions.at(peer)->address] = peer;
        remove_peer(peer);
      }
      retry_lost_peers(now);
      routes.sweep(now, 3 * timeout_ns());
      std::erase_if(proximity, [&](const auto& entry) { return now - entry.second > 3 * timeout_ns(); });
      std::erase_if(pingwave_seen_at, [&](const auto& entry) {
        if (now - entry.second <= 3 * timeout_ns()) return false;
        pingwave_seen.erase(entry.first);
        return true;
      });
      std::erase_if(pacers, [&](const auto& entry) { return now - entry.second.window_start_ns > 1'000'000'000; });
    }
    flush();
  }

  void on_reliability_tick() {
    {
      std::lock_guard lock(mu);
      const std::int64_t now = now_ns();
      for (auto& [peer, session] : sessions) {
        for (auto& [stream_id, stream] : session->streams) {
          std::vector<ReceivedPacket> release;
          stream.reorder.skip_stale_gap(now, kStaleGapNs, release);
          for (auto& packet : release) deliver(peer, stream, packet.header, std::move(packet.plaintext), now);
          // A gap is reported every tick until it closes: the tail of a burst has no later packets to prompt it.
          if (stream.ack_due || stream.reorder.has_gap()) enqueue_ack(*session, stream_id, stream, now);
          if (stream.retransmit.size() > 0) {
            const std::int64_t oldest = stream.retransmit.oldest_sent_ns();
            // Heard from since (a grant for this stream, or any packet when it has
            // no credit window), yet no ack: it receives and does not ack. An
            // outage (nothing heard) is not that, however long.
            const bool heard_since =
                stream.options.window_bytes > 0 ? stream.last_grant_ns > oldest : session->last_activity_ns > oldest;
            if (!session->peer_acks && heard_since && now - oldest > kAckSilenceNs) {
              session->peer_never_acks = true;  // the original's nodes: keep nothing, resend nothing
              stream.retransmit.clear();
            } else {
              resend(*session, stream.retransmit.overdue(now));
            }
          }
          if (stream.credit_starved && now - stream.last_grant_ns > kCreditProbeNs &&
              now - stream.last_probe_ns > kCreditProbeNs) {
            stream.last_probe_ns = now;
            enqueue_ack(*session, stream_id, stream, now, true);
          }
        }
      }
    }
    flush();
  }

  // One background msg1 per tick to each peer we connected to whose session
  // failed; its msg2 installs the session like connect() would.
  void retry_lost_peers(std::int64_t now) {
    const auto retry_interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::min(config.handshake_timeout, 10 * config.heartbeat_interval))
                                    .count();
    for (const auto& [peer, target] : reconnects) {
      if (sessions.contains(peer)) {
        // A late answer to a background msg1 must not replace the session we have now.
        const auto stale = [](const auto& pending) { return pending->background; };
        if (const auto it = routed_initiators.find(identity::routing_id(peer));
            target.routed && it != routed_initiators.end() && stale(it->second)) {
          routed_initiators.erase(it);
        }
        if (const auto it = direct_initiators.find(target.address);
            !target.routed && it != direct_initiators.end() && stale(it->second)) {
          direct_initiators.erase(it);
        }
        continue;
      }
      // A relayed peer is reached by the route we know now, else by its relay if that is still a peer.
      std::optional<SocketAddress> path = target.address;
      if (target.routed) {
        path = routes.lookup(peer);
        if (path && !peer_by_address.contains(*path)) path.reset();  // a static route to a dead hop
        if (!path && peer_by_address.contains(target.address)) path = target.address;
        if (!path) continue;
      }
      std::shared_ptr<PendingInitiator> waiting;
      if (target.routed) {
        if (const auto it = routed_initiators.find(identity::routing_id(peer)); it != routed_initiators.end()) {
          waiting = it->second;
        }
      } else if (const auto it = direct_initiators.find(target.address); it != direct_initiators.end()) {
        waiting = it->second;
      }
      // A connect() is at it, or our last msg1 may still be answered (a newer
      // one would make the peer switch keys under an answer already on its way).
      if (waiting && (!waiting->background || now - waiting->sent_ns < retry_interval)) continue;
      auto pending = std::make_shared<PendingInitiator>(
          PendingInitiator{crypto::NoiseInitiator(config.psk, target.public_key, prologue_for(node_id, peer)), peer,
                           *path, target.routed, true, now});
      enqueue(message1(*pending), *path);
      if (target.routed) {
        routed_initiators[identity::routing_id(peer)] = std::move(pending);
      } else {
        direct_initiators[target.address] = std::move(pending);
      }
    }
    const auto finished = [](const auto& entry) { return entry.second->background && entry.second->done; };
    std::erase_if(direct_initiators, finished);
    std::erase_if(routed_initiators, finished);
  }

  void sweep_streams(Session& session, std::int64_t now) {
    std::erase_if(session.closed_streams, [&](const auto& entry) { return now - entry.second > kGrantQuarantineNs; });
    std::erase_if(session.streams,
                  [&](const auto& entry) { return now - entry.second.last_activity_ns > kStreamIdleNs; });
    for (auto& [id, stream] : session.streams) {
      std::erase_if(stream.reassembly, [&](const auto& entry) { return now - entry.second.started_ns > timeout_ns(); });
    }
  }

  // Idempotent per (peer, stream): the first open's options stay in effect.
  StreamHandle open_stream_locked(std::uint64_t peer_node_id, std::uint64_t stream_id, const StreamOptions& options) {
    const auto it = sessions.find(peer_node_id);
    if (it == sessions.end()) {
      throw Error(ErrorKind::Connection,
                  "connection error: open_stream: no session for peer " + hex_node(peer_node_id));
    }
    Session& session = *it->second;
    auto [stream, inserted] = session.streams.try_emplace(stream_id);
    if (inserted || stream->second.epoch == 0) {
      // New, or so far only known from the peer's traffic: this open sets it up.
      stream->second.options = options;
      stream->second.epoch = session.next_epoch++;
      stream->second.tx_credit = options.window_bytes;
      stream->second.last_activity_ns = now_ns();
      session.closed_streams.erase(stream_id);
      if (inserted) evict_beyond_max_streams(session, stream_id);
    }
    return {peer_node_id, stream_id, stream->second.epoch};
  }

  // ---- sending on streams from API threads ---------------------------------

  // A stream's packets, planned and accounted under the lock, to be sealed
  // and sent outside it.
  struct Outgoing {
    std::shared_ptr<Session> session;
    SocketAddress destination;
    StreamHandle handle;
    std::vector<SharedPacket> packets;
    std::uint64_t bytes = 0;  ///< payload + overhead of all packets: the credit they took
  };

  // How many plaintext bytes of events share one packet of the stream: a
  // datagram's worth, and no more than its window's share.
  static std::size_t pack_limit(const Session& session, const StreamState& stream) {
    const std::uint32_t window = stream.options.window_bytes;
    const std::size_t max_payload = session.max_payload();
    return window > kPacketOverhead ? std::min<std::size_t>(max_payload, window - kPacketOverhead) : max_payload;
  }

  // Charges `bytes` of packets, the largest `largest`, to the stream's
  // credit (mu held); false, charging nothing, when the window is short. A
  // packet larger than the window never fits (REFERENCE §3.7); packets that
  // each fit but together exceed the window go out whole once the window is
  // idle, so large batches and fragmented events progress.
  [[nodiscard]] static bool try_take_credit(StreamState& stream, std::uint64_t bytes, std::size_t largest) {
    const std::uint32_t window = stream.options.window_bytes;
    const bool refused = largest > window || (static_cast<std::int64_t>(bytes) > stream.tx_credit &&
                                              stream.tx_credit < static_cast<std::int64_t>(window));
    if (window > 0 && refused) {
      ++stream.backpressure_events;
      stream.credit_starved = true;
      stream.credit_wanted = largest > window ? std::numeric_limits<std::int64_t>::max()  // never fits
                                              : std::min<std::int64_t>(static_cast<std::int64_t>(bytes), window);
      return false;
    }
    stream.credit_starved = false;
    if (window > 0) stream.tx_credit -= static_cast<std::int64_t>(bytes);
    return true;
  }

  // The same, or throws Error(Backpressure).
  static void take_credit(StreamState& stream, std::uint64_t bytes, std::size_t largest) {
    if (!try_take_credit(stream, bytes, largest)) throw Error(ErrorKind::Backpressure, kWouldBlock);
  }

  // Whether a coalescing send now is part of a burst (mu held).
  bool in_burst() {
    const std::int64_t now = now_ns();
    const bool burst =
        !corked_streams.empty() || now - last_coalescing_send_ns < std::chrono::nanoseconds(config.burst_gap).count();
    last_coalescing_send_ns = now;
    return burst;
  }

  // Holds one event of a burst on its stream (mu held); false when it is
  // too large to share a datagram (it is then sent at once). The first
  // event held asks the reactor to flush. Refused for credit as a send is.
  bool cork(const StreamHandle& handle, ByteView event) {
    Session& session = *sessions.at(handle.peer_node_id);
    const std::size_t framed = wire::framed_size(event.size());
    if (framed > session.max_payload()) return false;
    StreamState& stream = session.streams.at(handle.stream_id);
    // The packet it will go in, as plan_event_packets will pack what is
    // held: the credit taken now is what the flush's packets take.
    const bool new_packet = stream.corked.empty() ||
                            stream.corked_packet_bytes + framed > pack_limit(session, stream) ||
                            stream.corked_packet_events == wire::kMaxEventsPerPacket;
    const std::size_t packet_bytes = new_packet ? framed : stream.corked_packet_bytes + framed;
    const std::size_t charge = framed + (new_packet ? kPacketOverhead : 0);
    take_credit(stream, charge, packet_bytes + kPacketOverhead);
    stream.corked_credit += static_cast<std::int64_t>(charge);
    stream.corked_packet_bytes = packet_bytes;
    stream.corked_packet_events = new_packet ? 1 : stream.corked_packet_events + 1;
    if (stream.corked.empty()) corked_streams.emplace_back(handle.peer_node_id, handle.stream_id);
    stream.corked.emplace_back(event.begin(), event.end());
    if (corked_streams.size() == 1 && stream.corked.size() == 1) {
      reactor->post([this] { guarded([this] { flush_corked(); }); });
    }
    return true;
  }

  // Sends what is corked (reactor thread), packed into as few datagrams as
  // each stream allows, streams of higher priority first. Events of a
  // stream or session gone meanwhile are dropped.
  void flush_corked() {
    std::vector<Outgoing> batch;
    {
      std::lock_guard lock(mu);
      for (const auto& [peer, stream_id] : std::exchange(corked_streams, {})) {
        const auto session = sessions.find(peer);
        if (session == sessions.end()) continue;
        const auto found = session->second->streams.find(stream_id);
        if (found == session->second->streams.end() || found->second.corked.empty()) continue;
        StreamState& stream = found->second;
        const std::vector<Bytes> events = std::exchange(stream.corked, {});
        stream.tx_credit += std::exchange(stream.corked_credit, 0);  // the packets take what they need
        const std::vector<ByteView> views(events.begin(), events.end());
        try {
          batch.push_back(take_packets(StreamHandle{peer, stream_id, stream.epoch}, views));
        } catch (const Error&) {
          // Cannot happen for events that fit a datagram with their credit given back; dropped if it does.
        }
      }
    }
    // Higher-priority streams' packets lead the batch (a channel's priority).
    const auto priority = [](const Outgoing& out) {
      return out.packets.empty() ? 0 : out.packets.front()->header.priority;
    };
    std::stable_sort(batch.begin(), batch.end(),
                     [&](const Outgoing& a, const Outgoing& b) { return priority(a) > priority(b); });
    transmit(batch);
  }

  // All events or none (mu held): Error(Backpressure) when the credit window
  // is short (or, given `short_of_credit`, no packets and it set),
  // Error(NotConnected) when the stream or its session is gone.
  Outgoing take_packets(const StreamHandle& handle, std::span<const ByteView> events, bool* short_of_credit = nullptr) {
    const auto it = sessions.find(handle.peer_node_id);
    if (it == sessions.end()) throw Error(ErrorKind::NotConnected, "stream not connected");
    Outgoing out{it->second, next_hop(*it->second), handle, {}, 0};
    Session& session = *out.session;
    const auto found = session.streams.find(handle.stream_id);
    if (found == session.streams.end() || found->second.epoch != handle.epoch) {
      throw Error(ErrorKind::NotConnected, "stream not connected");
    }
    StreamState& stream = found->second;
    const std::size_t max_payload = session.max_payload();
    std::vector<PlannedPacket> packets;
    plan_event_packets(events, max_payload, pack_limit(session, stream), stream, packets);
    if (packets.empty()) return out;  // nothing to send
    std::size_t largest = 0;
    for (const auto& packet : packets) {
      out.bytes += packet.plaintext.size() + kPacketOverhead;
      largest = std::max(largest, packet.plaintext.size() + kPacketOverhead);
    }
    if (short_of_credit == nullptr) {
      take_credit(stream, out.bytes, largest);
    } else if (!try_take_credit(stream, out.bytes, largest)) {
      *short_of_credit = true;
      return Outgoing{out.session, out.destination, handle, {}, 0};
    }
    stream.tx_bytes_sent += out.bytes;
    stream.last_activity_ns = now_ns();
    const bool reliable = stream.options.reliability == StreamReliability::Reliable;
    out.packets.reserve(packets.size());
    for (auto& packet : packets) {
      packet.header.flags = reliable ? wire::flags::kReliable : std::uint8_t{0};
      packet.header.stream_id = handle.stream_id;
      packet.header.subprotocol_id = stream.options.subprotocol_id;
      packet.header.channel_hash = stream.options.channel_hash;
      packet.header.priority = stream.options.priority;
      packet.header.sequence = stream.tx_seq++;
      out.packets.push_back(std::make_shared<const PlannedPacket>(std::move(packet)));
      if (reliable && !session.peer_never_acks) stream.retransmit.add(out.packets.back(), now_ns());
    }
    return out;
  }

  // Seals the packets and sends them (no lock held), kSealAhead datagrams at
  // a time: a TX counter taken must reach the wire before other sends on the
  // session (other threads, the reactor) push the peer's replay window past
  // it, or the peer drops it as a replay. Returns the indexes of the
  // outgoings not sent whole; their unsent credit is given back to their
  // streams.
  std::vector<std::size_t> transmit(std::span<const Outgoing> batch) {
    // One buffer for the whole batch, not zeroed: sealing writes every byte.
    std::size_t total = 0;
    std::size_t packets = 0;
    for (const auto& outgoing : batch) {
      for (const auto& packet : outgoing.packets) total += datagram_size(*outgoing.session, *packet);
      packets += outgoing.packets.size();
    }
    const auto buffer = std::make_unique_for_overwrite<std::uint8_t[]>(total);
    std::vector<transport::Datagram> list;
    list.reserve(std::min(packets, kSealAhead));
    std::uint8_t* at = buffer.get();
    std::size_t sent = 0;
    const auto send_list = [&] {
      const std::size_t accepted = reactor->send(list);
      sent += accepted;
      const bool whole = accepted == list.size();
      list.clear();
      return whole;
    };
    bool sending = true;
    for (const auto& outgoing : batch) {
      for (const auto& packet : outgoing.packets) {
        if (list.size() == kSealAhead && !(sending = send_list())) break;
        const std::size_t size = datagram_size(*outgoing.session, *packet);
        seal_to(*outgoing.session, identity::routing_id(node_id), *packet, at);
        list.push_back({ByteView(at, size), outgoing.destination});
        at += size;
      }
      if (!sending) break;
    }
    if (sending && !list.empty()) send_list();
    if (sent == packets) return {};
    std::vector<std::size_t> failed;
    std::lock_guard lock(mu);
    for (std::size_t index = 0; index < batch.size(); ++index) {
      const Outgoing& outgoing = batch[index];
      const std::size_t count = outgoing.packets.size();
      const std::size_t unsent_packets = count - std::min(sent, count);
      sent -= std::min(sent, count);
      if (unsent_packets == 0) continue;
      failed.push_back(index);
      std::uint64_t unsent = 0;
      for (std::size_t i = count - unsent_packets; i < count; ++i)
        unsent += outgoing.packets[i]->plaintext.size() + kPacketOverhead;
      const auto found = outgoing.session->streams.find(outgoing.handle.stream_id);
      if (found != outgoing.session->streams.end() && found->second.epoch == outgoing.handle.epoch) {
        found->second.tx_bytes_sent -= unsent;
        if (found->second.options.window_bytes > 0) found->second.tx_credit += static_cast<std::int64_t>(unsent);
      }
    }
    return failed;
  }

  // ---- blocking handshakes from API threads --------------------------------

  // The initiator's msg1; a routed one carries our node id and a routing
  // header to the peer.
  Bytes message1(PendingInitiator& pending) {
    if (!pending.routed) return handshake_datagram(pending.noise.write_message1({}));
    Bytes payload(8);
    store_le(payload.data(), node_id);
    Bytes datagram = handshake_datagram(pending.noise.write_message1(payload), wire::kRoutingHeaderSize);
    wire::RoutingHeader route;
    route.src_id = identity::routing_id(node_id);
    route.dest_id = pending.peer_node_id;
    route.encode(datagram.data());
    return datagram;
  }

  void run_initiator(const SocketAddress& address, const Key32& peer_public_key, std::uint64_t peer_node_id,
                     bool routed) {
    const auto prologue = prologue_for(node_id, peer_node_id);
    std::unique_lock lock(mu);
    check_open();
    auto pending = std::make_shared<PendingInitiator>(
        PendingInitiator{crypto::NoiseInitiator(config.psk, peer_public_key, prologue), peer_node_id, address, routed});
    const Bytes datagram = message1(*pending);
    if (routed) {
      routed_initiators[identity::routing_id(peer_node_id)] = pending;
    } else {
      direct_initiators[address] = pending;
    }
    bool done = false;
    for (unsigned attempt = 1; attempt <= config.handshake_attempts && !done; ++attempt) {
      lock.unlock();
      send_now(datagram, address);
      lock.lock();
      done = handshake_done.wait_for(lock, config.handshake_timeout, [&] { return pending->done || shut_down.load(); });
      if (!done && attempt < config.handshake_attempts) {
        lock.unlock();
        std::this_thread::sleep_for(std::min(100ms * attempt, std::chrono::milliseconds(5000)));
        lock.lock();
      }
    }
    if (routed) {
      routed_initiators.erase(identity::routing_id(peer_node_id));
    } else {
      direct_initiators.erase(address);
    }
    check_open();
    if (!pending->done) throw Error(ErrorKind::Connection, "connection error: handshake timeout");
    if (!config.two_node) reconnects[peer_node_id] = Reconnect{address, peer_public_key, routed};
  }
};

MeshNode::MeshNode(const MeshConfig& config) : impl_(std::make_unique<Impl>(config)) {
  Impl* impl = impl_.get();
  impl->reactor->start([impl](std::span<const transport::Datagram> batch) { impl->on_receive(batch); });
  impl->reactor->every(kReliabilityTick, [impl] { impl->on_reliability_tick(); });
}

MeshNode::~MeshNode() { shutdown(); }

const Key32& MeshNode::public_key() const noexcept { return impl_->static_keys.public_key; }
const Key32& MeshNode::entity_id() const noexcept { return impl_->identity.public_key(); }
std::uint64_t MeshNode::node_id() const noexcept { return impl_->node_id; }

SocketAddress MeshNode::local_address() const {
  impl_->check_open();
  return impl_->local_address;
}

void MeshNode::connect(const SocketAddress& address, const Key32& peer_public_key, std::uint64_t peer_node_id) {
  impl_->run_initiator(address, peer_public_key, peer_node_id, false);
}

void MeshNode::connect_via(const SocketAddress& relay, const Key32& peer_public_key, std::uint64_t peer_node_id) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->check_open();
    if (!impl_->peer_by_address.contains(relay)) {
      throw Error(ErrorKind::Connection, "connection error: relay " + relay.to_string() + " is not a peer");
    }
  }
  impl_->run_initiator(relay, peer_public_key, peer_node_id, true);
}

SocketAddress MeshNode::accept(std::uint64_t peer_node_id) {
  std::unique_lock lock(impl_->mu);
  impl_->check_open();
  if (impl_->started) {
    throw Error(ErrorKind::Connection,
                "fatal error: Mesh::accept called after start() \u2014 the dispatch loop is already consuming "
                "inbound packets and would race the responder handshake. Call accept() for every peer "
                "BEFORE invoking start().");
  }
  if (impl_->acceptor) throw Error(ErrorKind::Connection, "fatal error: accept() is already waiting");
  auto acceptor = std::make_shared<PendingAcceptor>(PendingAcceptor{peer_node_id, std::nullopt});
  impl_->acceptor = acceptor;
  if (!impl_->early_handshakes.empty()) {
    impl_->reactor->post([impl = impl_.get()] { impl->answer_early_handshakes(); });
  }
  const auto wait = impl_->config.handshake_timeout * impl_->config.handshake_attempts;
  impl_->handshake_done.wait_for(lock, wait, [&] { return acceptor->initiator || impl_->shut_down.load(); });
  impl_->acceptor.reset();
  impl_->check_open();
  if (!acceptor->initiator) throw Error(ErrorKind::Connection, "connection error: handshake timeout");
  return *acceptor->initiator;
}

void MeshNode::start() {
  std::lock_guard lock(impl_->mu);
  impl_->check_open();
  if (impl_->started) return;
  impl_->started = true;
  Impl* impl = impl_.get();
  impl->reactor->every(impl->config.heartbeat_interval, [impl] { impl->on_tick(); });
}

void MeshNode::push_to(const SocketAddress& address, ByteView event) {
  std::unique_lock lock(impl_->mu);
  impl_->check_open();
  const auto peer = impl_->peer_by_address.find(address);
  if (peer == impl_->peer_by_address.end()) throw Error(ErrorKind::Connection, "connection error: unknown peer");
  const StreamHandle handle =
      impl_->open_stream_locked(peer->second, 0, StreamOptions{StreamReliability::FireAndForget, 0, 1});
  lock.unlock();
  send_on_stream(handle, {&event, 1});
}

std::vector<bus::StoredEvent> MeshNode::poll(std::size_t limit, std::chrono::nanoseconds wait) {
  std::unique_lock lock(impl_->mu);
  impl_->check_open();
  std::vector<bus::StoredEvent> out;
  auto& shards = impl_->inbound;
  if (wait.count() > 0 && limit > 0) {
    const auto any = [&] {
      return std::any_of(shards.begin(), shards.end(), [](const auto& q) { return !q.empty(); });
    };
    impl_->events_arrived.wait_for(lock, wait, [&] { return impl_->shut_down.load() || any(); });
    impl_->check_open();
  }
  for (std::size_t visited = 0; visited < shards.size() && out.size() < limit; ++visited) {
    auto& queue = shards[impl_->poll_shard];
    while (!queue.empty() && out.size() < limit) {
      out.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    if (queue.empty()) impl_->poll_shard = (impl_->poll_shard + 1) % shards.size();
  }
  return out;
}

void MeshNode::add_route(std::uint64_t dest_node_id, const SocketAddress& next_hop) {
  std::lock_guard lock(impl_->mu);
  impl_->check_open();
  impl_->routes.add_static(dest_node_id, next_hop);
}

std::size_t MeshNode::peer_count() const {
  std::lock_guard lock(impl_->mu);
  impl_->check_open();
  return impl_->sessions.size();
}

std::size_t MeshNode::discovered_nodes() const {
  std::lock_guard lock(impl_->mu);
  impl_->check_open();
  return impl_->proximity.size();
}

StreamHandle MeshNode::open_stream(std::uint64_t peer_node_id, std::uint64_t stream_id, const StreamOptions& options) {
  std::lock_guard lock(impl_->mu);
  impl_->check_open();
  return impl_->open_stream_locked(peer_node_id, stream_id, options);
}

void MeshNode::close_stream(std::uint64_t peer_node_id, std::uint64_t stream_id) {
  std::lock_guard lock(impl_->mu);
  impl_->check_open();
  const auto it = impl_->sessions.find(peer_node_id);
  if (it == impl_->sessions.end()) return;
  if (it->second->streams.erase(stream_id) > 0) {
    it->second->closed_streams[stream_id] = now_ns();
    impl_->credit_granted.notify_all();  // a sender waiting on it finds its stream gone
  }
}

void MeshNode::send_on_stream(const StreamHandle& handle, std::span<const ByteView> events) {
  if (!try_send_on_stream(handle, events)) throw Error(ErrorKind::Backpressure, kWouldBlock);
}

bool MeshNode::try_send_on_stream(const StreamHandle& handle, std::span<const ByteView> events) {
  Impl::Outgoing outgoing;
  bool short_of_credit = false;
  {
    std::lock_guard lock(impl_->mu);
    impl_->check_open();
    outgoing = impl_->take_packets(handle, events, &short_of_credit);
  }
  if (short_of_credit) return false;
  if (outgoing.packets.empty()) return true;
  if (!impl_->transmit({&outgoing, 1}).empty()) {
    throw Error(ErrorKind::Transport,
                std::string("stream transport error: ") + std::strerror(impl_->reactor->last_send_error()));
  }
  return true;
}

std::vector<std::optional<Error>> MeshNode::send_to_each(std::span<const std::uint64_t> peers, std::uint64_t stream_id,
                                                         const StreamOptions& options, ByteView event, EachSend how) {
  std::vector<std::optional<Error>> results(peers.size());
  std::vector<Impl::Outgoing> batch;
  std::vector<std::size_t> owners;
  {
    std::lock_guard lock(impl_->mu);
    impl_->check_open();
    const bool corking = how.coalesce && impl_->in_burst();
    for (std::size_t i = 0; i < peers.size(); ++i) {
      try {
        const StreamHandle handle = impl_->open_stream_locked(peers[i], stream_id, options);
        if (corking && impl_->cork(handle, event)) continue;
        batch.push_back(impl_->take_packets(handle, {&event, 1}));
        owners.push_back(i);
      } catch (const Error& e) {
        results[i] = e;
        if (how.stop_at_first_failure) {
          results.resize(i + 1);
          break;
        }
      }
    }
  }
  for (const std::size_t unsent : impl_->transmit(batch)) {
    results[owners[unsent]] = Error(ErrorKind::Transport, std::string("stream transport error: ") +
                                                              std::strerror(impl_->reactor->last_send_error()));
  }
  return results;
}

void MeshNode::wait_for_credit(const StreamHandle& handle, std::chrono::nanoseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  // Until the refused send would fit: waiting for the credit to change could
  // miss the grant that arrived between the refusal and this call, and then
  // sleep the whole timeout.
  const auto ready = [&] {
    const auto it = impl_->sessions.find(handle.peer_node_id);
    if (it == impl_->sessions.end()) return true;
    const auto found = it->second->streams.find(handle.stream_id);
    if (found == it->second->streams.end() || found->second.epoch != handle.epoch) return true;
    const StreamState& stream = found->second;
    return stream.tx_credit >= stream.credit_wanted;
  };
  impl_->credit_granted.wait_for(lock, timeout, [&] { return impl_->shut_down.load() || ready(); });
}

std::optional<StreamStats> MeshNode::stream_stats(std::uint64_t peer_node_id, std::uint64_t stream_id) const {
  std::lock_guard lock(impl_->mu);
  impl_->check_open();
  const auto it = impl_->sessions.find(peer_node_id);
  if (it == impl_->sessions.end()) return std::nullopt;
  const auto found = it->second->streams.find(stream_id);
  if (found == it->second->streams.end()) return std::nullopt;
  const StreamState& stream = found->second;
  StreamStats stats;
  stats.tx_seq = stream.tx_seq;
  stats.rx_seq = stream.rx_seq;
  for (const auto& [id, event] : stream.reassembly) stats.inbound_pending += event.pieces.size();
  stats.last_activity_ns = static_cast<std::uint64_t>(stream.last_activity_ns);
  stats.active = true;
  stats.backpressure_events = stream.backpressure_events;
  stats.tx_credit_remaining = static_cast<std::uint32_t>(std::clamp<std::int64_t>(stream.tx_credit, 0, 0xFFFFFFFF));
  stats.tx_window = stream.options.window_bytes;
  stats.credit_grants_received = stream.credit_grants_received;
  stats.credit_grants_sent = stream.credit_grants_sent;
  return stats;
}

MeshCounters MeshNode::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

void MeshNode::on_message(std::uint16_t subprotocol_id, MessageHandler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->message_handlers[subprotocol_id] = std::make_shared<MessageHandler>(std::move(handler));
}

void MeshNode::on_peer(PeerHandler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->peer_handlers.push_back(std::make_shared<PeerHandler>(std::move(handler)));
}

void MeshNode::set_channel_tap(ChannelTap tap) {
  std::lock_guard lock(impl_->mu);
  impl_->channel_tap = std::move(tap);
}

void MeshNode::every(std::chrono::nanoseconds interval, std::function<void()> tick) {
  impl_->check_open();
  impl_->reactor->every(interval, [tick = std::move(tick)] { Impl::guarded(tick); });
}

void MeshNode::send_message(std::uint64_t peer_node_id, std::uint16_t subprotocol_id, ByteView body) {
  StreamOptions options;
  options.window_bytes = 0;
  options.subprotocol_id = subprotocol_id;
  const StreamHandle stream = open_stream(peer_node_id, subprotocol_id, options);
  send_on_stream(stream, {&body, 1});
}

std::vector<std::uint64_t> MeshNode::direct_peers() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::uint64_t> out;
  for (const auto& [id, session] : impl_->sessions) {
    if (!session->routed) out.push_back(id);
  }
  return out;
}

bool MeshNode::has_session(std::uint64_t peer_node_id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->sessions.contains(peer_node_id);
}

void MeshNode::learn_route(std::uint64_t node_id, std::uint64_t via, std::uint32_t metric) {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->sessions.find(via);
  if (it == impl_->sessions.end() || it->second->routed || node_id == impl_->node_id) return;
  impl_->routes.learn(node_id, it->second->address, metric, now_ns());
}

std::optional<std::uint64_t> MeshNode::next_hop_peer(std::uint64_t node_id) const {
  std::lock_guard lock(impl_->mu);
  const auto hop = impl_->routes.lookup(node_id);
  if (!hop) return std::nullopt;
  const auto peer = impl_->peer_by_address.find(*hop);
  if (peer == impl_->peer_by_address.end()) return std::nullopt;
  return peer->second;
}

const crypto::Ed25519Keypair& MeshNode::identity() const noexcept { return impl_->identity; }
const MeshConfig& MeshNode::config() const noexcept { return impl_->config; }

void MeshNode::shutdown() {
  if (impl_->shut_down.exchange(true)) return;
  impl_->handshake_done.notify_all();
  impl_->credit_granted.notify_all();
  impl_->events_arrived.notify_all();
  impl_->flush_corked();  // what a burst left held goes out before the socket closes
  impl_->reactor->stop();
  std::lock_guard lock(impl_->mu);
  impl_->sessions.clear();
  impl_->peer_by_address.clear();
  // Again under the lock: a waiter that checked shut_down just before it was
  // set, and was not asleep yet for the notifications above, is now.
  impl_->handshake_done.notify_all();
  impl_->credit_granted.notify_all();
  impl_->events_arrived.notify_all();
}

bool MeshNode::is_shut_down() const noexcept { return impl_->shut_down.load(); }

}  // namespace net::mesh
