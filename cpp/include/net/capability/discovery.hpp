// Capability discovery on a mesh (REFERENCE §6.3-§6.6): announces this
// node's signed capabilities to its peers, receives, verifies, indexes and
// forwards theirs up to 16 hops (dedup by (origin, version), split horizon),
// expires them by TTL, and answers find queries, scoped or not. It also
// binds each peer to the identity of its signed announcement and derives the
// peer's subnet with the local subnet policy: what channels authorize by.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "net/capability/capability_set.hpp"
#include "net/capability/filter.hpp"
#include "net/capability/scope.hpp"
#include "net/core/bytes.hpp"
#include "net/identity/subnet.hpp"

namespace net::mesh {
class MeshNode;
}

namespace net::capability {

inline constexpr std::uint16_t kCapabilitySubprotocol = 0x0C00;

struct DiscoveryConfig {
  std::chrono::milliseconds gc_interval{60000};
  bool require_signed = true;
  std::uint32_t ttl_secs = 300;
  // Announcements to peers at most this often; a newer one within it is sent
  // when it ends (the original drops it).
  std::chrono::milliseconds min_announce_interval{10000};
};

class Discovery {
 public:
  // Registers with the node; the node must outlive this, and is shut down by
  // its destructor (no handler may run after it).
  Discovery(mesh::MeshNode& node, DiscoveryConfig config);
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Signs (version + 1, now, ttl), indexes locally and sends to every direct peer.
  void announce(const CapabilitySet& capabilities);
  std::vector<std::uint64_t> find(const CapabilityFilter& filter) const;
  std::vector<std::uint64_t> find_scoped(const CapabilityFilter& filter, const ScopeFilter& scope) const;

  // The identity a peer proved with a signed announcement of its own (hop 0).
  std::optional<Key32> entity_of(std::uint64_t node_id) const;
  // Its latest indexed capabilities; empty when none.
  CapabilitySet capabilities_of(std::uint64_t node_id) const;
  // Its subnet by the local policy; global when unknown.
  identity::SubnetId subnet_of(std::uint64_t node_id) const;
  // What this node announced last; empty before the first announce.
  CapabilitySet local_capabilities() const;
  std::size_t indexed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace net::capability
