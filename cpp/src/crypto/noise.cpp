// Noise rev 34 processing rules for NKpsk0 over BLAKE2s: HMAC-BLAKE2s (64-byte
// block), HKDF with two or three outputs, ChaCha20-Poly1305 with nonce
// 0^32 || u64_le(n) and the handshake hash as associated data.
#include "net/crypto/noise.hpp"

#include <sodium.h>

#include <algorithm>

#include "net/core/blake2s.hpp"
#include "net/core/error.hpp"
#include "net/crypto/aead.hpp"

namespace net::crypto {
namespace {

constexpr std::size_t kBlockSize = 64;
constexpr std::size_t kDhSize = 32;

Key32 hmac(const Key32& key, ByteView a, ByteView b = {}) {
  std::array<std::uint8_t, kBlockSize> inner_pad{};
  std::array<std::uint8_t, kBlockSize> outer_pad{};
  for (std::size_t i = 0; i < kBlockSize; ++i) {
    const std::uint8_t k = i < key.size() ? key[i] : 0;
    inner_pad[i] = k ^ 0x36;
    outer_pad[i] = k ^ 0x5c;
  }
  const Key32 inner = Blake2s().update(inner_pad).update(a).update(b).finish();
  Key32 out = Blake2s().update(outer_pad).update(inner).finish();
  sodium_memzero(inner_pad.data(), inner_pad.size());
  sodium_memzero(outer_pad.data(), outer_pad.size());
  return out;
}

struct HkdfOutputs {
  Key32 first, second, third;
};

HkdfOutputs hkdf(const Key32& chaining_key, ByteView input_key_material) {
  const std::uint8_t one = 0x01, two = 0x02, three = 0x03;
  const Key32 temp = hmac(chaining_key, input_key_material);
  HkdfOutputs out;
  out.first = hmac(temp, ByteView(&one, 1));
  out.second = hmac(temp, out.first, ByteView(&two, 1));
  out.third = hmac(temp, out.second, ByteView(&three, 1));
  return out;
}

Nonce noise_nonce(std::uint64_t n) {
  Nonce nonce{};
  store_le(nonce.data() + 4, n);
  return nonce;
}

Key32 dh_or_throw(const Key32& secret, const Key32& public_key) {
  const auto shared = x25519(secret, public_key);
  if (!shared) throw Error(ErrorKind::InvalidArgument, "handshake: low-order public key");
  return *shared;
}

X25519Keypair ephemeral_from(const std::optional<Key32>& secret) {
  return secret ? X25519Keypair::from_secret(*secret) : X25519Keypair::generate();
}

}  // namespace

SymmetricState::SymmetricState(ByteView prologue, const Key32& responder_static) {
  // The name is longer than HASHLEN, so h = HASH(name).
  h_ = blake2s(as_bytes(kNoiseProtocolName));
  ck_ = h_;
  mix_hash(prologue);
  mix_hash(responder_static);  // pre-message pattern: <- s
}

void SymmetricState::mix_hash(ByteView data) { h_ = Blake2s().update(h_).update(data).finish(); }

void SymmetricState::mix_key(ByteView input_key_material) {
  const HkdfOutputs out = hkdf(ck_, input_key_material);
  ck_ = out.first;
  k_ = out.second;
  n_ = 0;
}

void SymmetricState::mix_key_and_hash(ByteView input_key_material) {
  const HkdfOutputs out = hkdf(ck_, input_key_material);
  ck_ = out.first;
  mix_hash(out.second);
  k_ = out.third;
  n_ = 0;
}

void SymmetricState::mix_ephemeral(const Key32& ephemeral_public) {
  mix_hash(ephemeral_public);
  mix_key(ephemeral_public);
}

Bytes SymmetricState::encrypt_and_hash(ByteView plaintext) {
  Bytes ciphertext(plaintext.size() + kTagSize);
  seal(k_, noise_nonce(n_++), h_, plaintext, ciphertext.data(), ciphertext.data() + plaintext.size());
  mix_hash(ciphertext);
  return ciphertext;
}

std::optional<Bytes> SymmetricState::decrypt_and_hash(ByteView ciphertext) {
  if (ciphertext.size() < kTagSize) return std::nullopt;
  const std::size_t size = ciphertext.size() - kTagSize;
  Bytes plaintext(size);
  if (!open(k_, noise_nonce(n_), h_, ciphertext.first(size), ciphertext.data() + size, plaintext.data())) {
    return std::nullopt;
  }
  ++n_;
  mix_hash(ciphertext);
  return plaintext;
}

NoiseInitiator::NoiseInitiator(const Key32& psk, const Key32& responder_static, ByteView prologue,
                               std::optional<Key32> ephemeral_secret)
    : psk_(psk),
      responder_static_(responder_static),
      ephemeral_(ephemeral_from(ephemeral_secret)),
      state_(prologue, responder_static) {}

Bytes NoiseInitiator::write_message1(ByteView payload) {
  state_.mix_key_and_hash(psk_);                                          // psk
  state_.mix_ephemeral(ephemeral_.public_key);                            // e
  state_.mix_key(dh_or_throw(ephemeral_.secret_key, responder_static_));  // es
  Bytes message(ephemeral_.public_key.begin(), ephemeral_.public_key.end());
  const Bytes ciphertext = state_.encrypt_and_hash(payload);
  message.insert(message.end(), ciphertext.begin(), ciphertext.end());
  return message;
}

std::optional<Bytes> NoiseInitiator::read_message2(ByteView message) {
  if (message.size() < kDhSize + kTagSize) return std::nullopt;
  Key32 remote_ephemeral;
  std::copy_n(message.begin(), kDhSize, remote_ephemeral.begin());
  state_.mix_ephemeral(remote_ephemeral);                               // e
  const auto shared = x25519(ephemeral_.secret_key, remote_ephemeral);  // ee
  if (!shared) return std::nullopt;
  state_.mix_key(*shared);
  return state_.decrypt_and_hash(message.subspan(kDhSize));
}

NoiseResponder::NoiseResponder(const Key32& psk, const X25519Keypair& static_keypair, ByteView prologue,
                               std::optional<Key32> ephemeral_secret)
    : psk_(psk),
      static_(static_keypair),
      ephemeral_(ephemeral_from(ephemeral_secret)),
      state_(prologue, static_keypair.public_key) {}

std::optional<Bytes> NoiseResponder::read_message1(ByteView message) {
  if (message.size() < kDhSize + kTagSize) return std::nullopt;
  std::copy_n(message.begin(), kDhSize, remote_ephemeral_.begin());
  state_.mix_key_and_hash(psk_);                                      // psk
  state_.mix_ephemeral(remote_ephemeral_);                            // e
  const auto shared = x25519(static_.secret_key, remote_ephemeral_);  // es
  if (!shared) return std::nullopt;
  state_.mix_key(*shared);
  return state_.decrypt_and_hash(message.subspan(kDhSize));
}

Bytes NoiseResponder::write_message2(ByteView payload) {
  state_.mix_ephemeral(ephemeral_.public_key);                            // e
  state_.mix_key(dh_or_throw(ephemeral_.secret_key, remote_ephemeral_));  // ee
  Bytes message(ephemeral_.public_key.begin(), ephemeral_.public_key.end());
  const Bytes ciphertext = state_.encrypt_and_hash(payload);
  message.insert(message.end(), ciphertext.begin(), ciphertext.end());
  return message;
}

}  // namespace net::crypto
