// The ids a node derives from its entity id (its Ed25519 public key,
// REFERENCE §5.1): node_id and origin_hash, and the 32-bit routing id that
// handshake prologues and routing headers carry.
#pragma once

#include "net/core/bytes.hpp"

namespace net::identity {

// u64_le of the first 8 bytes of BLAKE2s-MAC(key = "net-node-id-v1", entity_id).
std::uint64_t node_id_of(const Key32& entity_id);

// u64_le of the first 8 bytes of BLAKE2s-MAC(key = "net-origin-v1", entity_id).
std::uint64_t origin_hash_of(const Key32& entity_id);

inline std::uint32_t routing_id(std::uint64_t node_id) noexcept { return static_cast<std::uint32_t>(node_id); }

// The NetMesh handshake prologue: "net-handshake-v1" ‖ u64_le(routing id of
// the initiator) ‖ u64_le(routing id of the responder), 32 bytes.
std::array<std::uint8_t, 32> mesh_prologue(std::uint64_t initiator_node_id, std::uint64_t responder_node_id);

}  // namespace net::identity
