// The original's session KDF over keyed BLAKE2s; the initiator's "tx" key is
// the responder's "rx" key and the other way round.
#include "net/crypto/session_keys.hpp"

#include "net/core/blake2s.hpp"

namespace net::crypto {

Key32 session_kdf(const Key32& input_key_material, std::string_view info) {
  const Key32 prk = blake2s_mac(input_key_material, as_bytes("net-kdf-v1"));
  return blake2s_mac(prk, as_bytes(info));
}

SessionKeys SessionKeys::derive(const Key32& handshake_hash, HandshakeRole role) {
  SessionKeys keys;
  keys.session_id = load_le<std::uint64_t>(handshake_hash.data());
  keys.nonce_prefix = static_cast<std::uint32_t>(keys.session_id) ^ static_cast<std::uint32_t>(keys.session_id >> 32);
  const Key32 initiator_tx = session_kdf(handshake_hash, "initiator-tx");
  const Key32 initiator_rx = session_kdf(handshake_hash, "initiator-rx");
  keys.tx_key = role == HandshakeRole::Initiator ? initiator_tx : initiator_rx;
  keys.rx_key = role == HandshakeRole::Initiator ? initiator_rx : initiator_tx;
  return keys;
}

Nonce SessionKeys::nonce(std::uint64_t counter) const noexcept {
  Nonce out;
  store_le(out.data(), nonce_prefix);
  store_le(out.data() + 4, counter);
  return out;
}

}  // namespace net::crypto
