// Session parameters derived from a finished handshake's hash (REFERENCE
// §2.3): the session id, the 4-byte nonce prefix and one key per direction.
#pragma once

#include "net/core/bytes.hpp"
#include "net/crypto/aead.hpp"

namespace net::crypto {

enum class HandshakeRole { Initiator, Responder };

struct SessionKeys {
  std::uint64_t session_id;
  std::uint32_t nonce_prefix;  ///< lo32(session_id) ^ hi32(session_id)
  Key32 tx_key;
  Key32 rx_key;

  static SessionKeys derive(const Key32& handshake_hash, HandshakeRole role);

  // prefix (LE) || counter (LE): the nonce of the packet with TX/RX counter `counter`.
  Nonce nonce(std::uint64_t counter) const noexcept;
};

// KDF(ikm, info) = BLAKE2s-MAC(key = BLAKE2s-MAC(key = ikm, "net-kdf-v1"), info).
Key32 session_kdf(const Key32& input_key_material, std::string_view info);

}  // namespace net::crypto
