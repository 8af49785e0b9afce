// bench/announce_feeder: fills a node's capability index for bench/channels.py.
// Connects to the node (ours or the original's) as a mesh peer and sends it
// `count` signed capability announcements of distinct identities as one
// relay would (hop_count 1), so the node indexes `count` other nodes. Every
// third node has a GPU, every tenth the tag "rare".
//
// Usage: announce_feeder <addr> <public_key_hex> <node_id> <psk_hex> <count>
// The feeder's identity is the seed 0x42 x 32 (the worker accepts that node id).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "net/capability/announcement.hpp"
#include "net/capability/discovery.hpp"
#include "net/identity/node_ids.hpp"
#include "net/mesh/mesh_node.hpp"

namespace {

net::Key32 key_from_hex(const char* text) {
  const auto bytes = net::from_hex(text);
  if (!bytes || bytes->size() != 32) {
    std::fprintf(stderr, "announce_feeder: bad 32-byte hex %s\n", text);
    std::exit(2);
  }
  net::Key32 key;
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

net::capability::Announcement announcement_of(std::uint32_t index, std::uint64_t now_ns) {
  net::Key32 seed{};
  for (std::size_t i = 0; i < 4; ++i) seed[i] = static_cast<std::uint8_t>(index >> (8 * i));
  seed[31] = 0xFE;
  const auto identity = net::crypto::Ed25519Keypair::from_seed(seed);
  net::capability::Announcement a;
  a.entity_id = identity.public_key();
  a.node_id = net::identity::node_id_of(a.entity_id);
  a.version = 1;
  a.timestamp_ns = now_ns;
  a.ttl_secs = 300;
  a.capabilities.hardware.cpu_cores = 8;
  a.capabilities.hardware.memory_mb = 16384 * (1 + index % 4);
  if (index % 3 == 0) {
    a.capabilities.hardware.gpu = net::capability::GpuInfo{};
    a.capabilities.hardware.gpu->vendor = net::capability::GpuVendor::Nvidia;
    a.capabilities.hardware.gpu->vram_mb = 24576;
  }
  a.capabilities.tags = {"node-" + std::to_string(index), index % 10 == 0 ? "rare" : "common"};
  net::capability::sign_announcement(a, identity);
  a.hop_count = 1;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: announce_feeder <addr> <public_key_hex> <node_id> <psk_hex> <count>\n");
    return 2;
  }
  net::mesh::MeshConfig config;
  config.bind_address = net::mesh::SocketAddress::parse("127.0.0.1:0");
  config.psk = key_from_hex(argv[4]);
  config.identity_seed = net::Key32{};
  config.identity_seed->fill(0x42);
  net::mesh::MeshNode node(config);
  const std::uint64_t target = std::strtoull(argv[3], nullptr, 10);
  node.connect(net::mesh::SocketAddress::parse(argv[1]), key_from_hex(argv[2]), target);
  node.start();
  const auto count = static_cast<std::uint32_t>(std::strtoul(argv[5], nullptr, 10));
  const auto now = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string body = net::capability::encode_announcement(announcement_of(i, now));
    node.send_message(target, net::capability::kCapabilitySubprotocol, net::as_bytes(body));
    if (i % 16 == 15) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the receiver verifies each
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  node.shutdown();
  return 0;
}
