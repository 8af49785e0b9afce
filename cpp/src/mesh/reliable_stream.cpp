#include "reliable_stream.hpp"

#include <algorithm>

namespace net::mesh {
namespace {

constexpr std::int64_t kNackHoldoffNs = 10'000'000;     ///< no second resend of one packet within 10 ms
constexpr std::int64_t kInitialTimeoutNs = 40'000'000;  ///< first resend without an ack after 40 ms
constexpr std::int64_t kMaxTimeoutNs = 1'000'000'000;

}  // namespace

void RetransmitQueue::add(SharedPacket packet, std::int64_t now_ns) {
  if (entries_.size() >= kMaxPackets) {
    entries_.erase(entries_.begin());
    ++given_up_;
  }
  const std::uint64_t seq = packet->header.sequence;
  entries_.insert_or_assign(seq, Entry{std::move(packet), now_ns, 1, now_ns});
}

void RetransmitQueue::resend(Entry& entry, std::int64_t now_ns, std::vector<SharedPacket>& out) {
  entry.sent_ns = now_ns;
  ++entry.sends;
  out.push_back(entry.packet);
}

std::vector<SharedPacket> RetransmitQueue::on_ack(const wire::ReliabilityAck& ack, std::int64_t now_ns) {
  entries_.erase(entries_.begin(), entries_.lower_bound(ack.next_expected));
  std::vector<SharedPacket> out;
  if (!ack.has_gap()) return out;
  auto maybe_resend = [&](std::uint64_t seq) {
    const auto it = entries_.find(seq);
    if (it != entries_.end() && now_ns - it->second.sent_ns >= kNackHoldoffNs) resend(it->second, now_ns, out);
  };
  maybe_resend(ack.next_expected);
  for (unsigned bit = 0; bit < 64; ++bit) {
    if ((ack.missing_bitmap >> bit) & 1) maybe_resend(ack.next_expected + 1 + bit);
  }
  return out;
}

std::vector<SharedPacket> RetransmitQueue::overdue(std::int64_t now_ns) {
  std::vector<SharedPacket> out;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const std::int64_t timeout = std::min(kInitialTimeoutNs << std::min(it->second.sends - 1, 5u), kMaxTimeoutNs);
    if (now_ns - it->second.sent_ns >= timeout) resend(it->second, now_ns, out);
  }
  return out;
}

ReorderBuffer::Verdict ReorderBuffer::receive(ReceivedPacket packet, std::int64_t now_ns,
                                              std::vector<ReceivedPacket>& release) {
  const std::uint64_t seq = packet.header.sequence;
  if (seq < next_expected_ || held_.contains(seq)) return Verdict::Duplicate;
  highest_ = std::max(highest_, seq + 1);
  if (seq == next_expected_) {
    ++next_expected_;
    release.push_back(std::move(packet));
    release_contiguous(release);
    return Verdict::Accepted;
  }
  if (held_.size() >= kMaxHeld) return Verdict::Overflow;
  if (held_.empty()) gap_since_ns_ = now_ns;
  if (ordered_) {
    held_.emplace(seq, std::move(packet));
  } else {
    held_.emplace(seq, std::nullopt);
    release.push_back(std::move(packet));
  }
  return Verdict::Accepted;
}

void ReorderBuffer::release_contiguous(std::vector<ReceivedPacket>& release) {
  while (!held_.empty() && held_.begin()->first == next_expected_) {
    if (held_.begin()->second) release.push_back(std::move(*held_.begin()->second));
    held_.erase(held_.begin());
    ++next_expected_;
  }
}

void ReorderBuffer::skip_stale_gap(std::int64_t now_ns, std::int64_t max_age_ns, std::vector<ReceivedPacket>& release) {
  if (held_.empty() || now_ns - gap_since_ns_ < max_age_ns) return;
  next_expected_ = held_.begin()->first;
  release_contiguous(release);
  gap_since_ns_ = now_ns;
}

wire::ReliabilityAck ReorderBuffer::ack() const noexcept {
  wire::ReliabilityAck ack{next_expected_, 0, highest_};
  for (unsigned bit = 0; bit < 64; ++bit) {
    const std::uint64_t seq = next_expected_ + 1 + bit;
    if (seq >= highest_) break;
    if (!held_.contains(seq)) ack.missing_bitmap |= std::uint64_t{1} << bit;
  }
  return ack;
}

}  // namespace net::mesh
