// Mesh nodes for tests: a fast-ticking configuration on 127.0.0.1 and a
// handshake between two nodes of one process; a node with discovery and
// channels on top, as NetMesh has them.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <thread>

#include "net/capability/discovery.hpp"
#include "net/channel/channels.hpp"
#include "net/mesh/mesh_node.hpp"

namespace net::test {

inline mesh::MeshConfig config_for(std::uint8_t psk_byte = 7) {
  using namespace std::chrono_literals;
  mesh::MeshConfig config;
  config.bind_address = mesh::SocketAddress::parse("127.0.0.1:0");
  config.psk.fill(psk_byte);
  config.heartbeat_interval = 50ms;
  config.session_timeout = 400ms;
  config.handshake_timeout = 300ms;
  config.handshake_attempts = 2;
  return config;
}

// b accepts on a second thread while a connects: to b, or to `via` (a
// proxy in front of b).
inline void handshake(mesh::MeshNode& a, mesh::MeshNode& b,
                      const std::optional<mesh::SocketAddress>& via = std::nullopt) {
  std::thread acceptor([&] {
    const mesh::SocketAddress from = b.accept(a.node_id());
    if (!via) CHECK(from == a.local_address());
  });
  a.connect(via.value_or(b.local_address()), b.public_key(), b.node_id());
  acceptor.join();
}

// A mesh node with discovery and channels, as NetMesh has them.
struct FullNode {
  mesh::MeshNode mesh;
  capability::Discovery discovery;
  channel::Channels channels;

  explicit FullNode(channel::ChannelsConfig channels_config = fast_channels(),
                    capability::DiscoveryConfig discovery_config = fast_discovery(),
                    mesh::MeshConfig mesh_config = config_for())
      : mesh(mesh_config), discovery(mesh, discovery_config), channels(mesh, discovery, channels_config) {}

  static channel::ChannelsConfig fast_channels() {
    channel::ChannelsConfig config;
    config.ack_timeout = std::chrono::seconds(1);
    return config;
  }
  static capability::DiscoveryConfig fast_discovery() {
    capability::DiscoveryConfig config;
    config.min_announce_interval = std::chrono::milliseconds(0);
    config.gc_interval = std::chrono::milliseconds(100);
    return config;
  }
};

}  // namespace net::test
