// X25519 (RFC 7748) from libsodium: the Noise static and ephemeral keys.
#pragma once

#include <optional>

#include "net/core/bytes.hpp"

namespace net::crypto {

struct X25519Keypair {
  Key32 secret_key;
  Key32 public_key;

  static X25519Keypair generate();
  static X25519Keypair from_secret(const Key32& secret_key);  ///< the scalar is clamped by X25519 itself
};

// DH(secret, public); nullopt for a low-order public key (all-zero result).
std::optional<Key32> x25519(const Key32& secret_key, const Key32& public_key) noexcept;

}  // namespace net::crypto
