// Ed25519 (RFC 8032) from libsodium: node identities and the signatures on
// tokens and capability announcements. The 32-byte seed is the secret.
#pragma once

#include "net/core/bytes.hpp"

namespace net::crypto {

using Signature = std::array<std::uint8_t, 64>;

class Ed25519Keypair {
 public:
  static Ed25519Keypair generate();
  static Ed25519Keypair from_seed(const Key32& seed);

  const Key32& seed() const noexcept { return seed_; }
  const Key32& public_key() const noexcept { return public_key_; }
  Signature sign(ByteView message) const noexcept;

 private:
  Key32 seed_{};
  Key32 public_key_{};
  std::array<std::uint8_t, 64> secret_key_{};  ///< libsodium's seed ‖ public key form
};

// Strict verification: non-canonical encodings and small-order keys fail.
bool ed25519_verify(const Key32& public_key, ByteView message, const Signature& signature) noexcept;

}  // namespace net::crypto
