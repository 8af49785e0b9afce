// capability/discovery: announcements between real loopback nodes: signed,
// indexed on arrival, forwarded hop by hop along a chain, expired by TTL, and
// larger than one datagram.
#include <catch2/catch.hpp>

#include <chrono>

#include "eventually.hpp"
#include "mesh_nodes.hpp"

using namespace net;
using namespace std::chrono_literals;
using net::test::eventually;
using net::test::FullNode;

namespace {

bool finds(const FullNode& node, std::uint64_t wanted, const capability::CapabilityFilter& filter = {}) {
  const auto found = node.discovery.find(filter);
  return std::find(found.begin(), found.end(), wanted) != found.end();
}

// a - b - c - d, each link a direct session, all started.
void chain(std::initializer_list<FullNode*> nodes) {
  const std::vector<FullNode*> list(nodes);
  for (std::size_t i = 0; i + 1 < list.size(); ++i) net::test::handshake(list[i]->mesh, list[i + 1]->mesh);
  for (FullNode* node : list) node->mesh.start();
}

capability::CapabilitySet tagged(std::initializer_list<std::string> tags) {
  capability::CapabilitySet set;
  set.tags = tags;
  return set;
}

}  // namespace

TEST_CASE("discovery: an announcement indexes at once here and reaches peers several hops away", "[capability][mesh]") {
  FullNode a, b, c, d;
  chain({&a, &b, &c, &d});
  CHECK(a.discovery.find({}).empty());
  a.discovery.announce(tagged({"gpu", "region:eu"}));
  CHECK(finds(a, a.mesh.node_id()));
  capability::CapabilityFilter gpu;
  gpu.require_tags = {"gpu"};
  for (FullNode* node : {&b, &c, &d}) CHECK(eventually([&] { return finds(*node, a.mesh.node_id(), gpu); }));
  // b saw it from its origin, so b knows a's identity; d heard it relayed, so it does not.
  CHECK(b.discovery.entity_of(a.mesh.node_id()) == a.mesh.entity_id());
  CHECK_FALSE(d.discovery.entity_of(a.mesh.node_id()));
  // A newer announcement replaces the old one everywhere.
  a.discovery.announce(tagged({"cpu"}));
  CHECK_FALSE(finds(a, a.mesh.node_id(), gpu));
  CHECK(eventually([&] { return !finds(d, a.mesh.node_id(), gpu) && finds(d, a.mesh.node_id()); }));
}

TEST_CASE("discovery: entries expire after their TTL and peers that fail are forgotten", "[capability][mesh]") {
  capability::DiscoveryConfig short_lived = FullNode::fast_discovery();
  short_lived.ttl_secs = 1;
  FullNode a(FullNode::fast_channels(), short_lived), b, c;
  chain({&a, &b, &c});
  a.discovery.announce({});
  REQUIRE(eventually([&] { return finds(c, a.mesh.node_id()); }));
  CHECK(eventually([&] { return !finds(c, a.mesh.node_id()) && !finds(b, a.mesh.node_id()); }, 4000ms));

  b.discovery.announce({});
  REQUIRE(eventually([&] { return finds(c, b.mesh.node_id()); }));
  b.mesh.shutdown();
  CHECK(eventually([&] { return !finds(c, b.mesh.node_id()); }, 4000ms));
}

TEST_CASE("discovery: an announcement larger than a datagram reaches its peer", "[capability][mesh]") {
  FullNode a, b;
  chain({&a, &b});
  capability::CapabilitySet big;
  for (int i = 0; i < 600; ++i) big.tags.push_back("tag-number-" + std::to_string(i));
  a.discovery.announce(big);
  capability::CapabilityFilter last;
  last.require_tags = {"tag-number-599"};
  CHECK(eventually([&] { return finds(b, a.mesh.node_id(), last); }));
}
