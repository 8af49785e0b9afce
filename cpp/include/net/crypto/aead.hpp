// ChaCha20-Poly1305 (RFC 8439, 12-byte nonce) from libsodium, detached tag,
// in place or out of place: the cipher of Noise messages and of every packet.
#pragma once

#include "net/core/bytes.hpp"

namespace net::crypto {

inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kNonceSize = 12;
using Nonce = std::array<std::uint8_t, kNonceSize>;

// Encrypts `plaintext` into `out` (plaintext.size() bytes, may alias it) and
// writes the tag to `tag`.
void seal(const Key32& key, const Nonce& nonce, ByteView aad, ByteView plaintext, std::uint8_t* out,
          std::uint8_t* tag) noexcept;

// Verifies `tag` and decrypts into `out` (ciphertext.size() bytes, may alias
// it). False, with `out` untouched, when the tag does not verify.
[[nodiscard]] bool open(const Key32& key, const Nonce& nonce, ByteView aad, ByteView ciphertext,
                        const std::uint8_t* tag, std::uint8_t* out) noexcept;

}  // namespace net::crypto
