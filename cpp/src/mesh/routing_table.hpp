// Where to send a datagram for a node that is not (or not only) a direct peer:
// direct and static routes stay until removed; routes learned from pingwaves
// (metric = hops + 2) prefer the lower metric and expire when not refreshed.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "net/transport/socket_address.hpp"

namespace net::mesh {

using transport::SocketAddress;

class RoutingTable {
 public:
  void add_direct(std::uint64_t node_id, const SocketAddress& address);
  void add_static(std::uint64_t node_id, const SocketAddress& next_hop);
  void learn(std::uint64_t node_id, const SocketAddress& next_hop, std::uint32_t metric, std::int64_t now_ns);
  std::optional<SocketAddress> lookup(std::uint64_t node_id) const;

  // A peer went away: its direct route and every learned route through it.
  void forget_peer(std::uint64_t node_id, const SocketAddress& address);
  // Routes learned through `next_hop` (a suspected peer); its direct route stays.
  void forget_routes_via(const SocketAddress& next_hop);
  void sweep(std::int64_t now_ns, std::int64_t max_age_ns);
  std::size_t size() const noexcept { return routes_.size(); }

 private:
  enum class Origin { Direct, Static, Learned };
  struct Route {
    SocketAddress next_hop;
    std::uint32_t metric = 1;
    std::int64_t updated_ns = 0;
    Origin origin = Origin::Learned;
  };
  std::unordered_map<std::uint64_t, Route> routes_;
};

}  // namespace net::mesh
