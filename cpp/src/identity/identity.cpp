#include "net/identity/identity.hpp"

namespace net::identity {

Identity::Identity(crypto::Ed25519Keypair keypair)
    : keypair_(std::move(keypair)),
      node_id_(node_id_of(keypair_.public_key())),
      origin_hash_(origin_hash_of(keypair_.public_key())),
      tokens_(std::make_shared<TokenCache>()) {}

Identity Identity::generate() { return Identity(crypto::Ed25519Keypair::generate()); }

Identity Identity::from_seed(const Key32& seed) { return Identity(crypto::Ed25519Keypair::from_seed(seed)); }

PermissionToken Identity::issue_token(const Key32& subject, std::uint32_t scope, std::uint16_t channel_hash,
                                      std::uint32_t ttl_seconds, std::uint8_t delegation_depth) const {
  return PermissionToken::issue(keypair_, subject, scope, channel_hash, ttl_seconds, delegation_depth,
                                unix_seconds_now());
}

}  // namespace net::identity
