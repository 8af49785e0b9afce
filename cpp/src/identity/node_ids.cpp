// Keyed BLAKE2s over the entity id, and the prologue layout.
#include "net/identity/node_ids.hpp"

#include <algorithm>

#include "net/core/blake2s.hpp"

namespace net::identity {

std::uint64_t node_id_of(const Key32& entity_id) {
  return load_le<std::uint64_t>(blake2s_mac(as_bytes("net-node-id-v1"), entity_id).data());
}

std::uint64_t origin_hash_of(const Key32& entity_id) {
  return load_le<std::uint64_t>(blake2s_mac(as_bytes("net-origin-v1"), entity_id).data());
}

std::array<std::uint8_t, 32> mesh_prologue(std::uint64_t initiator_node_id, std::uint64_t responder_node_id) {
  constexpr std::string_view kLabel = "net-handshake-v1";
  std::array<std::uint8_t, 32> prologue;
  std::copy(kLabel.begin(), kLabel.end(), prologue.begin());
  store_le<std::uint64_t>(prologue.data() + 16, routing_id(initiator_node_id));
  store_le<std::uint64_t>(prologue.data() + 24, routing_id(responder_node_id));
  return prologue;
}

}  // namespace net::identity
