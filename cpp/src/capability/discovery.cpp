#include "net/capability/discovery.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "net/capability/announcement.hpp"
#include "net/capability/announcement_dedup.hpp"
#include "net/capability/capability_index.hpp"
#include "net/core/clock.hpp"
#include "net/core/error.hpp"
#include "net/identity/node_ids.hpp"
#include "net/mesh/mesh_node.hpp"

namespace net::capability {
namespace {

constexpr std::uint8_t kMaxHops = 16;  ///< forwarded while hop_count < kMaxHops - 1
constexpr auto kPendingCheck = std::chrono::milliseconds(100);

std::int64_t now_ns() { return static_cast<std::int64_t>(monotonic_ns()); }

std::uint64_t unix_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

ByteView bytes_of(const std::string& text) { return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}; }

}  // namespace

struct Discovery::Impl {
  mesh::MeshNode& node;
  DiscoveryConfig config;

  mutable std::mutex mu;
  CapabilityIndex index;
  AnnouncementDedup dedup;
  std::unordered_map<std::uint64_t, Key32> entities;  ///< peer -> identity of its signed hop-0 announcement
  std::unordered_map<std::uint64_t, identity::SubnetId> subnets;
  std::optional<Announcement> local;
  std::string local_body;
  std::int64_t last_broadcast_ns = 0;
  bool broadcast_pending = false;

  Impl(mesh::MeshNode& n, DiscoveryConfig c) : node(n), config(c) {}

  std::int64_t min_interval_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(config.min_announce_interval).count();
  }

  void send_to(const std::vector<std::uint64_t>& peers, const std::string& body) {
    for (const std::uint64_t peer : peers) {
      try {
        node.send_message(peer, kCapabilitySubprotocol, bytes_of(body));
      } catch (const Error&) {
        // The peer went away; it gets the announcement when it comes back.
      }
    }
  }

  // Sends the local announcement to every direct peer when the interval
  // since the last broadcast allows, else leaves it pending.
  void broadcast_if_due() {
    std::string body;
    {
      std::lock_guard lock(mu);
      if (!broadcast_pending) return;
      const std::int64_t now = now_ns();
      if (last_broadcast_ns != 0 && now - last_broadcast_ns < min_interval_ns()) return;
      broadcast_pending = false;
      last_broadcast_ns = now;
      body = local_body;
    }
    send_to(node.direct_peers(), body);
  }

  void on_peer(std::uint64_t peer, bool up) {
    std::string body;
    {
      std::lock_guard lock(mu);
      if (!up) {
        index.remove(peer);
        return;
      }
      if (!local) return;
      body = local_body;
    }
    send_to({peer}, body);
  }

  // REFERENCE §6.4, steps 1-11.
  void on_announcement(std::uint64_t from, ByteView body) {
    auto announcement = decode_announcement({reinterpret_cast<const char*>(body.data()), body.size()});
    if (!announcement) return;
    const Announcement& a = *announcement;
    std::vector<std::uint64_t> forward_to;
    std::string forwarded;
    {
      std::lock_guard lock(mu);
      if (a.hop_count == 0 && a.node_id != from) return;  // a peer originates only for itself
      if (a.node_id == node.node_id()) return;
      if (dedup.contains(a.node_id, a.version)) return;
      if (a.signature ? !verify_announcement(a) : config.require_signed) return;
      if (a.node_id != identity::node_id_of(a.entity_id)) return;
      if (a.signature && a.hop_count == 0) {
        const auto [bound, fresh] = entities.try_emplace(from, a.entity_id);
        if (!fresh && bound->second != a.entity_id) return;  // trust on first use
        if (!node.config().subnet_policy.empty())
          subnets[from] = node.config().subnet_policy.assign(a.capabilities.tags);
      }
      dedup.record(a.node_id, a.version, monotonic_ns());
      if (a.hop_count > 0) node.learn_route(a.node_id, from, a.hop_count + 2u);
      if (a.hop_count < kMaxHops - 1) {
        Announcement next = a;
        ++next.hop_count;
        forwarded = encode_announcement(next);
        const auto toward_origin = node.next_hop_peer(a.node_id);
        for (const std::uint64_t peer : node.direct_peers()) {
          if (peer != from && peer != a.node_id && (!toward_origin || peer != *toward_origin)) {
            forward_to.push_back(peer);
          }
        }
      }
      index.index(a, unix_ns());
    }
    send_to(forward_to, forwarded);
  }

  void collect_garbage() {
    std::lock_guard lock(mu);
    index.gc(unix_ns());
    dedup.prune(monotonic_ns());
  }

  bool in_same_subnet(std::uint64_t node_id) const {
    if (node_id == node.node_id()) return true;
    const auto it = subnets.find(node_id);
    if (it == subnets.end()) return !node.config().subnet_policy.empty();
    return it->second == node.config().subnet;
  }
};

Discovery::Discovery(mesh::MeshNode& node, DiscoveryConfig config) : impl_(std::make_unique<Impl>(node, config)) {
  Impl* impl = impl_.get();
  node.on_message(kCapabilitySubprotocol,
                  [impl](std::uint64_t peer, ByteView body) { impl->on_announcement(peer, body); });
  node.on_peer([impl](std::uint64_t peer, bool up) { impl->on_peer(peer, up); });
  node.every(config.gc_interval, [impl] { impl->collect_garbage(); });
  node.every(kPendingCheck, [impl] { impl->broadcast_if_due(); });
}

Discovery::~Discovery() { impl_->node.shutdown(); }

void Discovery::announce(const CapabilitySet& capabilities) {
  {
    std::lock_guard lock(impl_->mu);
    Announcement a;
    a.node_id = impl_->node.node_id();
    a.entity_id = impl_->node.entity_id();
    a.timestamp_ns = unix_ns();
    // Versions follow the wall clock (ms), so a restarted node's announcements
    // still supersede the ones peers hold from its previous run.
    a.version = std::max(impl_->local ? impl_->local->version + 1 : 1, a.timestamp_ns / 1'000'000);
    a.ttl_secs = impl_->config.ttl_secs;
    a.capabilities = capabilities;
    sign_announcement(a, impl_->node.identity());
    impl_->index.index(a, a.timestamp_ns);
    impl_->local_body = encode_announcement(a);
    impl_->local = std::move(a);
    impl_->broadcast_pending = true;
  }
  impl_->broadcast_if_due();
}

std::vector<std::uint64_t> Discovery::find(const CapabilityFilter& filter) const {
  std::lock_guard lock(impl_->mu);
  return impl_->index.query(filter);
}

std::vector<std::uint64_t> Discovery::find_scoped(const CapabilityFilter& filter, const ScopeFilter& scope) const {
  std::lock_guard lock(impl_->mu);
  return impl_->index.query_scoped(filter, scope, [this](std::uint64_t id) { return impl_->in_same_subnet(id); });
}

std::optional<Key32> Discovery::entity_of(std::uint64_t node_id) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->entities.find(node_id);
  if (it == impl_->entities.end()) return std::nullopt;
  return it->second;
}

CapabilitySet Discovery::capabilities_of(std::uint64_t node_id) const {
  std::lock_guard lock(impl_->mu);
  const CapabilitySet* found = impl_->index.find(node_id);
  return found ? *found : CapabilitySet{};
}

identity::SubnetId Discovery::subnet_of(std::uint64_t node_id) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->subnets.find(node_id);
  return it == impl_->subnets.end() ? identity::SubnetId{} : it->second;
}

CapabilitySet Discovery::local_capabilities() const {
  std::lock_guard lock(impl_->mu);
  return impl_->local ? impl_->local->capabilities : CapabilitySet{};
}

std::size_t Discovery::indexed() const {
  std::lock_guard lock(impl_->mu);
  return impl_->index.size();
}

}  // namespace net::capability
