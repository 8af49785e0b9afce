// libsodium's crypto_sign (its verification is the strict kind).
#include "net/crypto/ed25519.hpp"

#include <sodium.h>

namespace net::crypto {

Ed25519Keypair Ed25519Keypair::generate() { return from_seed(random_key32()); }

Ed25519Keypair Ed25519Keypair::from_seed(const Key32& seed) {
  Ed25519Keypair pair;
  pair.seed_ = seed;
  crypto_sign_seed_keypair(pair.public_key_.data(), pair.secret_key_.data(), seed.data());
  return pair;
}

Signature Ed25519Keypair::sign(ByteView message) const noexcept {
  Signature signature;
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return signature;
}

bool ed25519_verify(const Key32& public_key, ByteView message, const Signature& signature) noexcept {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), public_key.data()) == 0;
}

}  // namespace net::crypto
