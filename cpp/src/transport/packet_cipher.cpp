// Packet sealing and opening over libsodium's AEAD.
#include "net/transport/packet_cipher.hpp"

#include <algorithm>

#include "net/crypto/aead.hpp"

namespace net::transport {

void seal_packet_to(wire::PacketHeader header, const crypto::SessionKeys& keys, std::uint64_t counter,
                    ByteView plaintext, std::uint8_t* out) {
  const crypto::Nonce nonce = keys.nonce(counter);
  std::copy(nonce.begin(), nonce.end(), header.nonce.begin());
  header.payload_len = static_cast<std::uint16_t>(plaintext.size());
  header.encode(out);
  const auto aad = wire::packet_aad(out);
  std::uint8_t* body = out + wire::kHeaderSize;
  crypto::seal(keys.tx_key, nonce, aad, plaintext, body, body + plaintext.size());
}

Bytes seal_packet(const wire::PacketHeader& header, const crypto::SessionKeys& keys, std::uint64_t counter,
                  ByteView plaintext, std::size_t headroom) {
  Bytes datagram(headroom + sealed_size(plaintext.size()));
  seal_packet_to(header, keys, counter, plaintext, datagram.data() + headroom);
  return datagram;
}

std::optional<Bytes> open_packet(ByteView datagram, const wire::PacketHeader& header, const crypto::SessionKeys& keys) {
  if (load_le<std::uint32_t>(header.nonce.data()) != keys.nonce_prefix) return std::nullopt;
  if (datagram.size() < wire::kHeaderSize + wire::kTagSize) return std::nullopt;
  const std::size_t size = datagram.size() - wire::kHeaderSize - wire::kTagSize;
  const auto aad = wire::packet_aad(datagram.data());
  Bytes plaintext(size);
  if (!crypto::open(keys.rx_key, keys.nonce(header.counter()), aad, datagram.subspan(wire::kHeaderSize, size),
                    datagram.data() + wire::kHeaderSize + size, plaintext.data())) {
    return std::nullopt;
  }
  return plaintext;
}

}  // namespace net::transport
