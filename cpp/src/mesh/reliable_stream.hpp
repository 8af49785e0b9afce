// Loss recovery for reliable streams (ours; the original sets the RELIABLE
// flag but never retransmits). The sender keeps packets until the receiver's
// acks cover them and sends again what acks report missing or what stays
// unacknowledged too long; the receiver drops duplicates, reports gaps and,
// when ordered, releases packets strictly in sequence.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "net/core/bytes.hpp"
#include "net/wire/packet_header.hpp"
#include "net/wire/reliability_ack.hpp"

namespace net::mesh {

// A packet before sealing: its header (sequence, flags...) and plaintext.
struct PlannedPacket {
  wire::PacketHeader header;
  Bytes plaintext;
};

using SharedPacket = std::shared_ptr<const PlannedPacket>;

class RetransmitQueue {
 public:
  static constexpr std::size_t kMaxPackets = 16384;  ///< beyond, the oldest is given up (counted)

  void add(SharedPacket packet, std::int64_t now_ns);
  // Frees what `ack` covers and returns what it reports missing (each packet
  // at most once per kNackHoldoffNs).
  std::vector<SharedPacket> on_ack(const wire::ReliabilityAck& ack, std::int64_t now_ns);
  // Packets unacknowledged past their timeout (40 ms, doubling per resend up to 1 s).
  std::vector<SharedPacket> overdue(std::int64_t now_ns);
  std::size_t size() const noexcept { return entries_.size(); }
  // When the oldest packet still waiting was first sent; 0 when none waits.
  std::int64_t oldest_sent_ns() const noexcept { return entries_.empty() ? 0 : entries_.begin()->second.first_sent_ns; }
  void clear() noexcept {
    given_up_ += entries_.size();
    entries_.clear();
  }
  std::uint64_t given_up() const noexcept { return given_up_; }

 private:
  struct Entry {
    SharedPacket packet;
    std::int64_t sent_ns;
    unsigned sends;
    std::int64_t first_sent_ns;
  };
  static void resend(Entry& entry, std::int64_t now_ns, std::vector<SharedPacket>& out);
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t given_up_ = 0;
};

struct ReceivedPacket {
  wire::PacketHeader header;
  Bytes plaintext;
};

class ReorderBuffer {
 public:
  static constexpr std::size_t kMaxHeld = 65536;

  enum class Verdict { Accepted, Duplicate, Overflow };

  explicit ReorderBuffer(bool ordered = true) : ordered_(ordered) {}
  void set_ordered(bool ordered) noexcept { ordered_ = ordered; }

  // Takes the packet with sequence `header.sequence`. Accepted: `release`
  // gets every packet now deliverable (this one at once when unordered).
  Verdict receive(ReceivedPacket packet, std::int64_t now_ns, std::vector<ReceivedPacket>& release);
  // Gives up on a gap older than `max_age_ns` (the sender gave the packet
  // up): skips to the next held packet and releases what follows it.
  void skip_stale_gap(std::int64_t now_ns, std::int64_t max_age_ns, std::vector<ReceivedPacket>& release);

  wire::ReliabilityAck ack() const noexcept;
  bool has_gap() const noexcept { return !held_.empty(); }
  std::uint64_t next_expected() const noexcept { return next_expected_; }
  std::size_t held() const noexcept { return held_.size(); }

 private:
  void release_contiguous(std::vector<ReceivedPacket>& release);

  bool ordered_;
  std::uint64_t next_expected_ = 0;
  std::uint64_t highest_ = 0;  ///< highest sequence received + 1
  std::int64_t gap_since_ns_ = 0;
  std::map<std::uint64_t, std::optional<ReceivedPacket>> held_;  ///< beyond next_expected (empty when unordered)
};

}  // namespace net::mesh
