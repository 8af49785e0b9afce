// The state of one peer: session keys and counters (REFERENCE §2.3-§2.6) and
// the streams carried over it with their credit windows (§3.7). Guarded by
// the node's mutex, except the TX counter, which senders take atomically so
// they can encrypt outside the lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>

#include "net/crypto/replay_window.hpp"
#include "net/crypto/session_keys.hpp"
#include "net/mesh/mesh_node.hpp"
#include "reliable_stream.hpp"

namespace net::mesh {

// An event larger than one packet, being put back together (frag_flags).
struct Reassembly {
  std::map<std::uint16_t, Bytes> pieces;  ///< by fragment_offset (the piece index)
  std::int32_t total = -1;                ///< known once the last piece arrived
  std::size_t bytes = 0;
  std::int64_t started_ns = 0;
};

struct StreamState {
  StreamOptions options;
  std::uint64_t epoch = 0;  ///< 0: created by the peer's traffic, not by open_stream
  std::uint64_t tx_seq = 0;
  std::uint64_t rx_seq = 0;         ///< highest received sequence + 1
  std::int64_t tx_credit = 0;       ///< may go below 0 after an oversized send on an idle window
  std::uint64_t tx_bytes_sent = 0;  ///< Σ (payload + 80) handed to the socket
  std::uint64_t highest_grant = 0;
  std::uint64_t rx_consumed = 0;  ///< Σ (payload + 80) accepted, what grants report
  bool grant_due = false;         ///< accepted data not yet granted (sent at the end of the batch)
  std::uint64_t backpressure_events = 0;
  std::uint64_t credit_grants_received = 0;
  std::uint64_t credit_grants_sent = 0;
  std::int64_t last_activity_ns = 0;
  // A sender refused for credit asks for a fresh grant if none comes (the
  // last one may have been lost): an all-zero ack is that probe.
  bool credit_starved = false;
  std::int64_t credit_wanted = 0;  ///< what the last refused send needed: wait_for_credit waits for it
  std::int64_t last_grant_ns = 0;
  std::int64_t last_probe_ns = 0;
  std::uint16_t next_fragment_id = 0;
  std::unordered_map<std::uint16_t, Reassembly> reassembly;
  // Events of a burst held back to share datagrams (send_to_each with
  // coalescing), the credit they took (what their packets will take), and
  // the last of those packets so far.
  std::vector<Bytes> corked;
  std::int64_t corked_credit = 0;
  std::size_t corked_packet_bytes = 0;
  std::size_t corked_packet_events = 0;

  // Packets flagged RELIABLE: what we sent and may resend, what we received
  // and acknowledge.
  RetransmitQueue retransmit;
  ReorderBuffer reorder;
  bool ack_due = false;
  std::int64_t last_ack_ns = 0;
};

struct Session {
  std::uint64_t peer_node_id = 0;
  SocketAddress address;  ///< where datagrams go: the peer, or the relay for a routed session
  bool routed = false;    ///< datagrams carry a routing header addressed to the peer
  crypto::SessionKeys keys{};
  Key32 handshake_ephemeral{};  ///< the initiator's ephemeral key of this session's msg1
  Bytes handshake_reply;        ///< our msg2 datagram, resent if the same msg1 comes again
  std::atomic<std::uint64_t> tx_counter{0};
  crypto::ReplayWindow replay;
  std::int64_t established_ns = 0;
  bool initiated = false;  ///< we sent the msg1 of this session
  std::int64_t last_activity_ns = 0;
  std::uint64_t grant_sequence = 0;
  // Whether the peer acknowledges reliable packets: ours does within 10 ms,
  // the original never does. A peer silent on acks for kAckSilenceNs is not
  // sent resends any more (until an ack shows it does ack after all).
  bool peer_acks = false;
  bool peer_never_acks = false;
  std::uint64_t next_epoch = 1;
  std::size_t max_datagram = 8192;
  std::unordered_map<std::uint64_t, StreamState> streams;
  std::unordered_map<std::uint64_t, std::int64_t> closed_streams;  ///< stream id -> close time (grant quarantine)

  // Largest plaintext payload of one packet to this peer.
  std::size_t max_payload() const noexcept;
};

}  // namespace net::mesh
