// Noise responder fed arbitrary msg1 bytes: never crashes, and never accepts
// random bytes as a message (forging one takes the initiator's X25519 math).
#include <cstdlib>

#include "net/crypto/noise.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::crypto;
  static const X25519Keypair static_key = X25519Keypair::generate();
  net::Key32 psk{};
  NoiseResponder responder(psk, static_key, {});
  if (responder.read_message1({data, size})) std::abort();
  return 0;
}
