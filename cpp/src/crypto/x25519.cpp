// libsodium's crypto_scalarmult over Curve25519.
#include "net/crypto/x25519.hpp"

#include <sodium.h>

namespace net::crypto {

X25519Keypair X25519Keypair::generate() { return from_secret(random_key32()); }

X25519Keypair X25519Keypair::from_secret(const Key32& secret_key) {
  X25519Keypair pair{secret_key, {}};
  crypto_scalarmult_base(pair.public_key.data(), secret_key.data());
  return pair;
}

std::optional<Key32> x25519(const Key32& secret_key, const Key32& public_key) noexcept {
  Key32 shared;
  if (crypto_scalarmult(shared.data(), secret_key.data(), public_key.data()) != 0) return std::nullopt;
  return shared;
}

}  // namespace net::crypto
