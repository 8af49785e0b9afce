// Expiry arithmetic saturates: timestamps come from peers and may be anything.
#include "net/capability/capability_index.hpp"

#include <algorithm>
#include <limits>

namespace net::capability {
namespace {

constexpr std::uint64_t kNanosPerSecond = 1'000'000'000;

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b ? std::numeric_limits<std::uint64_t>::max()
                                                                     : a * b;
}

}  // namespace

bool CapabilityIndex::index(const Announcement& announcement, std::uint64_t now_unix_ns) {
  const std::uint64_t age_ns = now_unix_ns > announcement.timestamp_ns ? now_unix_ns - announcement.timestamp_ns : 0;
  const std::uint64_t ttl = announcement.ttl_secs;
  if (ttl > 0 && age_ns / kNanosPerSecond >= ttl) return false;

  const auto slot = slot_of_.find(announcement.node_id);
  if (slot != slot_of_.end() && announcement.version <= entries_[slot->second].version) return false;

  // min(ttl, remaining) from now is the origin's deadline, capped at now + ttl.
  const std::uint64_t ttl_ns = saturating_mul(ttl, kNanosPerSecond);
  const std::uint64_t expires_at_ns =
      std::min(saturating_add(now_unix_ns, ttl_ns), saturating_add(announcement.timestamp_ns, ttl_ns));
  Entry entry{announcement.node_id, announcement.version, expires_at_ns, announcement.capabilities,
              NodeScope::from_tags(announcement.capabilities.tags)};
  if (slot != slot_of_.end()) {
    unlist_tags(entries_[slot->second]);
    list_tags(entry);
    entries_[slot->second] = std::move(entry);
  } else {
    list_tags(entry);
    slot_of_.emplace(announcement.node_id, entries_.size());
    entries_.push_back(std::move(entry));
  }
  return true;
}

void CapabilityIndex::remove(std::uint64_t node_id) {
  const auto slot = slot_of_.find(node_id);
  if (slot != slot_of_.end()) erase_slot(slot->second);
}

std::size_t CapabilityIndex::gc(std::uint64_t now_unix_ns) {
  std::size_t evicted = 0;
  for (std::size_t slot = entries_.size(); slot-- > 0;) {
    if (now_unix_ns >= entries_[slot].expires_at_ns) {
      erase_slot(slot);
      ++evicted;
    }
  }
  return evicted;
}

const CapabilitySet* CapabilityIndex::find(std::uint64_t node_id) const {
  const auto slot = slot_of_.find(node_id);
  return slot == slot_of_.end() ? nullptr : &entries_[slot->second].capabilities;
}

void CapabilityIndex::list_tags(const Entry& entry) {
  for (const std::string& tag : entry.capabilities.tags) nodes_by_tag_[tag].insert(entry.node_id);
}

void CapabilityIndex::unlist_tags(const Entry& entry) {
  for (const std::string& tag : entry.capabilities.tags) {
    const auto nodes = nodes_by_tag_.find(tag);
    if (nodes == nodes_by_tag_.end()) continue;
    nodes->second.erase(entry.node_id);
    if (nodes->second.empty()) nodes_by_tag_.erase(nodes);
  }
}

template <class Visit>
void CapabilityIndex::for_candidates(const CapabilityFilter& filter, Visit&& visit) const {
  if (filter.require_tags.empty()) {
    for (const Entry& entry : entries_) visit(entry);
    return;
  }
  const std::unordered_set<std::uint64_t>* rarest = nullptr;
  for (const std::string& tag : filter.require_tags) {
    const auto nodes = nodes_by_tag_.find(tag);
    if (nodes == nodes_by_tag_.end()) return;  // nobody has it
    if (rarest == nullptr || nodes->second.size() < rarest->size()) rarest = &nodes->second;
  }
  for (const std::uint64_t node_id : *rarest) visit(entries_[slot_of_.at(node_id)]);
}

std::vector<std::uint64_t> CapabilityIndex::query(const CapabilityFilter& filter) const {
  std::vector<std::uint64_t> found;
  for_candidates(filter, [&](const Entry& entry) {
    if (filter.matches(entry.capabilities)) found.push_back(entry.node_id);
  });
  return found;
}

std::vector<std::uint64_t> CapabilityIndex::query_scoped(
    const CapabilityFilter& filter, const ScopeFilter& scope,
    const std::function<bool(std::uint64_t)>& in_same_subnet) const {
  const bool asks_subnet = scope.kind == ScopeFilter::Kind::SameSubnet;
  std::vector<std::uint64_t> found;
  for_candidates(filter, [&](const Entry& entry) {
    const bool same_subnet = asks_subnet && in_same_subnet(entry.node_id);
    if (scope_matches(entry.scope, scope, same_subnet) && filter.matches(entry.capabilities))
      found.push_back(entry.node_id);
  });
  return found;
}

// Moves the last entry into the hole, so entries stay contiguous.
void CapabilityIndex::erase_slot(std::size_t slot) {
  unlist_tags(entries_[slot]);
  slot_of_.erase(entries_[slot].node_id);
  if (slot + 1 != entries_.size()) {
    entries_[slot] = std::move(entries_.back());
    slot_of_[entries_[slot].node_id] = slot;
  }
  entries_.pop_back();
}

}  // namespace net::capability
