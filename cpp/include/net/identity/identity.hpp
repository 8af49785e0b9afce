// An identity: an Ed25519 keypair (the 32-byte seed is the secret), the ids
// derived from its public key, and its token cache (REFERENCE §5).
#pragma once

#include <memory>

#include "net/crypto/ed25519.hpp"
#include "net/identity/node_ids.hpp"
#include "net/identity/permission_token.hpp"
#include "net/identity/token_cache.hpp"

namespace net::identity {

class Identity {
 public:
  static Identity generate();
  static Identity from_seed(const Key32& seed);

  const Key32& seed() const noexcept { return keypair_.seed(); }
  const Key32& entity_id() const noexcept { return keypair_.public_key(); }
  std::uint64_t node_id() const noexcept { return node_id_; }
  std::uint64_t origin_hash() const noexcept { return origin_hash_; }
  const crypto::Ed25519Keypair& keypair() const noexcept { return keypair_; }

  crypto::Signature sign(ByteView message) const noexcept { return keypair_.sign(message); }
  PermissionToken issue_token(const Key32& subject, std::uint32_t scope, std::uint16_t channel_hash,
                              std::uint32_t ttl_seconds, std::uint8_t delegation_depth) const;
  TokenCache& tokens() noexcept { return *tokens_; }
  const TokenCache& tokens() const noexcept { return *tokens_; }

 private:
  explicit Identity(crypto::Ed25519Keypair keypair);
  crypto::Ed25519Keypair keypair_;
  std::uint64_t node_id_;
  std::uint64_t origin_hash_;
  std::shared_ptr<TokenCache> tokens_;  ///< shared by copies of this identity
};

}  // namespace net::identity
