// Encrypted Net packets (REFERENCE §2.5): header ‖ ChaCha20-Poly1305(payload)
// ‖ tag, nonce = session prefix ‖ u64_le(counter), AAD = the header's 52
// authenticated bytes. Replay checks are the caller's (ReplayWindow).
#pragma once

#include <optional>

#include "net/core/bytes.hpp"
#include "net/crypto/session_keys.hpp"
#include "net/wire/packet_header.hpp"

namespace net::transport {

// The size of the sealed packet that carries `plaintext_size` bytes.
constexpr std::size_t sealed_size(std::size_t plaintext_size) noexcept {
  return wire::kHeaderSize + plaintext_size + wire::kTagSize;
}

// Writes the packet for `header` (its nonce and payload_len are filled in
// here) carrying `plaintext`, encrypted with the TX key under `counter`, to
// the sealed_size(plaintext.size()) bytes at `out`.
void seal_packet_to(wire::PacketHeader header, const crypto::SessionKeys& keys, std::uint64_t counter,
                    ByteView plaintext, std::uint8_t* out);

// The same as a datagram of its own, after `headroom` bytes left for the
// caller (a routing header).
Bytes seal_packet(const wire::PacketHeader& header, const crypto::SessionKeys& keys, std::uint64_t counter,
                  ByteView plaintext, std::size_t headroom = 0);

// The plaintext of a datagram whose header decoded as `header`; nullopt if
// the nonce prefix is not the session's or the tag does not verify.
std::optional<Bytes> open_packet(ByteView datagram, const wire::PacketHeader& header, const crypto::SessionKeys& keys);

}  // namespace net::transport
