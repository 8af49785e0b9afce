// The capabilities each known node last announced (REFERENCE §6.4 step 11,
// §6.5, §6.6): newest version per node, local expiry, and filter queries.
// Entries sit in one contiguous vector (an id -> slot map beside it): a query
// scans them, or, when it requires tags, only the nodes listed under its
// rarest tag. Not thread-safe: the owner locks around it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/capability/announcement.hpp"
#include "net/capability/filter.hpp"
#include "net/capability/scope.hpp"

namespace net::capability {

class CapabilityIndex {
 public:
  // Indexes the announcement unless it is already expired (its age, whole
  // seconds since timestamp_ns and 0 for a future timestamp, reaches
  // ttl_secs; ttl_secs 0 never counts as expired) or its version is not
  // newer than the node's current entry, which it replaces. The entry then
  // lives for min(ttl, time left until timestamp + ttl); a ttl 0 entry goes
  // at the next gc. Returns whether it was indexed.
  bool index(const Announcement& announcement, std::uint64_t now_unix_ns);
  void remove(std::uint64_t node_id);
  // Drops every entry whose lifetime has elapsed; returns how many.
  std::size_t gc(std::uint64_t now_unix_ns);

  const CapabilitySet* find(std::uint64_t node_id) const;
  // Node ids whose capabilities match, in no particular order.
  std::vector<std::uint64_t> query(const CapabilityFilter& filter) const;
  // Same, restricted by each node's scope tags; in_same_subnet(node_id) is
  // asked only when the scope filter is SameSubnet.
  std::vector<std::uint64_t> query_scoped(const CapabilityFilter& filter, const ScopeFilter& scope,
                                          const std::function<bool(std::uint64_t)>& in_same_subnet) const;
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t node_id;
    std::uint64_t version;
    std::uint64_t expires_at_ns;  ///< unix ns; gc drops the entry at or after it
    CapabilitySet capabilities;
    NodeScope scope;
  };

  void erase_slot(std::size_t slot);
  void list_tags(const Entry& entry);
  void unlist_tags(const Entry& entry);
  // Calls visit(entry) for every entry that may match: all, or those under the filter's rarest tag.
  template <class Visit>
  void for_candidates(const CapabilityFilter& filter, Visit&& visit) const;

  std::vector<Entry> entries_;
  std::unordered_map<std::uint64_t, std::size_t> slot_of_;
  std::unordered_map<std::string, std::unordered_set<std::uint64_t>> nodes_by_tag_;
};

}  // namespace net::capability
