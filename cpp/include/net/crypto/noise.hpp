// The Noise_NKpsk0_25519_ChaChaPoly_BLAKE2s handshake (Noise rev 34), the
// two messages the original's nodes exchange: -> psk, e, es  and  <- e, ee.
// Only the final handshake hash is kept (session keys come from it, see
// session_keys.hpp); the Noise transport ciphers are not used.
#pragma once

#include <optional>

#include "net/core/bytes.hpp"
#include "net/crypto/x25519.hpp"

namespace net::crypto {

inline constexpr std::string_view kNoiseProtocolName = "Noise_NKpsk0_25519_ChaChaPoly_BLAKE2s";

// ck, h and the cipher key of a handshake in progress.
class SymmetricState {
 public:
  SymmetricState(ByteView prologue, const Key32& responder_static);

  void mix_hash(ByteView data);
  void mix_key(ByteView input_key_material);
  void mix_key_and_hash(ByteView input_key_material);
  // The "e" token of a PSK handshake: MixHash(e.pub), then MixKey(e.pub) too.
  void mix_ephemeral(const Key32& ephemeral_public);
  Bytes encrypt_and_hash(ByteView plaintext);
  std::optional<Bytes> decrypt_and_hash(ByteView ciphertext);  ///< nullopt: authentication failed
  const Key32& hash() const noexcept { return h_; }
  const Key32& chaining_key() const noexcept { return ck_; }

 private:
  Key32 ck_;
  Key32 h_;
  Key32 k_{};
  std::uint64_t n_ = 0;
};

// The side that knows the responder's static key in advance (connect()).
class NoiseInitiator {
 public:
  // `ephemeral` is fixed only by tests; otherwise a fresh key is drawn.
  NoiseInitiator(const Key32& psk, const Key32& responder_static, ByteView prologue,
                 std::optional<Key32> ephemeral_secret = std::nullopt);

  Bytes write_message1(ByteView payload);
  std::optional<Bytes> read_message2(ByteView message);  ///< the payload; nullopt if it does not authenticate
  const Key32& handshake_hash() const noexcept { return state_.hash(); }
  const SymmetricState& state() const noexcept { return state_; }

 private:
  Key32 psk_;
  Key32 responder_static_;
  X25519Keypair ephemeral_;
  SymmetricState state_;
};

// The side with the static key (accept() and routed handshakes).
class NoiseResponder {
 public:
  NoiseResponder(const Key32& psk, const X25519Keypair& static_keypair, ByteView prologue,
                 std::optional<Key32> ephemeral_secret = std::nullopt);

  std::optional<Bytes> read_message1(ByteView message);  ///< the payload; nullopt if it does not authenticate
  Bytes write_message2(ByteView payload);                ///< only after read_message1 succeeded
  const Key32& handshake_hash() const noexcept { return state_.hash(); }
  const SymmetricState& state() const noexcept { return state_; }

 private:
  Key32 psk_;
  X25519Keypair static_;
  X25519Keypair ephemeral_;
  Key32 remote_ephemeral_{};
  SymmetricState state_;
};

}  // namespace net::crypto
