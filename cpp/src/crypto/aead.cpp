// libsodium's IETF ChaCha20-Poly1305, detached.
#include "net/crypto/aead.hpp"

#include <sodium.h>

namespace net::crypto {
namespace {

// libsodium picks its fastest ChaCha20 and Poly1305 code in sodium_init();
// until a process calls it, it runs the reference code (0.29 GB/s here,
// against 0.74-0.99 GB/s). Key generation calls it too, but a process that
// seals with keys it was given may never generate one: so it runs when this
// unit is loaded.
[[maybe_unused]] const bool sodium_ready = sodium_init() >= 0;

}  // namespace

void seal(const Key32& key, const Nonce& nonce, ByteView aad, ByteView plaintext, std::uint8_t* out,
          std::uint8_t* tag) noexcept {
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, nullptr, plaintext.data(), plaintext.size(), aad.data(),
                                                     aad.size(), nullptr, nonce.data(), key.data());
}

bool open(const Key32& key, const Nonce& nonce, ByteView aad, ByteView ciphertext, const std::uint8_t* tag,
          std::uint8_t* out) noexcept {
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, nullptr, ciphertext.data(), ciphertext.size(), tag,
                                                            aad.data(), aad.size(), nonce.data(), key.data()) == 0;
}

}  // namespace net::crypto
