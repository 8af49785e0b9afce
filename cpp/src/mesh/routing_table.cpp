#include "routing_table.hpp"

namespace net::mesh {

void RoutingTable::add_direct(std::uint64_t node_id, const SocketAddress& address) {
  routes_[node_id] = Route{address, 1, 0, Origin::Direct};
}

void RoutingTable::add_static(std::uint64_t node_id, const SocketAddress& next_hop) {
  routes_[node_id] = Route{next_hop, 1, 0, Origin::Static};
}

void RoutingTable::learn(std::uint64_t node_id, const SocketAddress& next_hop, std::uint32_t metric,
                         std::int64_t now_ns) {
  auto [it, inserted] = routes_.try_emplace(node_id, Route{next_hop, metric, now_ns, Origin::Learned});
  if (inserted) return;
  Route& route = it->second;
  if (route.origin != Origin::Learned) return;
  if (metric <= route.metric || route.next_hop == next_hop) route = Route{next_hop, metric, now_ns, Origin::Learned};
}

std::optional<SocketAddress> RoutingTable::lookup(std::uint64_t node_id) const {
  const auto it = routes_.find(node_id);
  if (it == routes_.end()) return std::nullopt;
  return it->second.next_hop;
}

void RoutingTable::forget_peer(std::uint64_t node_id, const SocketAddress& address) {
  forget_routes_via(address);
  if (const auto it = routes_.find(node_id); it != routes_.end() && it->second.origin == Origin::Direct) {
    routes_.erase(it);
  }
}

void RoutingTable::forget_routes_via(const SocketAddress& next_hop) {
  std::erase_if(routes_, [&](const auto& entry) {
    return entry.second.origin == Origin::Learned && entry.second.next_hop == next_hop;
  });
}

void RoutingTable::sweep(std::int64_t now_ns, std::int64_t max_age_ns) {
  std::erase_if(routes_, [&](const auto& entry) {
    return entry.second.origin == Origin::Learned && now_ns - entry.second.updated_ns > max_age_ns;
  });
}

}  // namespace net::mesh
