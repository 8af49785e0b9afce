// libb2 wrappers. libb2 reports failure only for bad lengths, which the
// signatures here rule out except for the key; that one throws.
#include "net/core/blake2s.hpp"

#include <blake2.h>

#include "net/core/error.hpp"

namespace net {

struct Blake2s::State {
  blake2s_state s;
};

Blake2s::Blake2s() : state_(std::make_unique<State>()) { blake2s_init(&state_->s, BLAKE2S_OUTBYTES); }

Blake2s::Blake2s(ByteView key) : state_(std::make_unique<State>()) {
  if (key.empty() || key.size() > BLAKE2S_KEYBYTES ||
      blake2s_init_key(&state_->s, BLAKE2S_OUTBYTES, key.data(), key.size()) != 0) {
    throw Error(ErrorKind::InvalidArgument, "BLAKE2s key must be 1..32 bytes");
  }
}

Blake2s::~Blake2s() = default;

Blake2s& Blake2s::update(ByteView data) {
  blake2s_update(&state_->s, data.data(), data.size());
  return *this;
}

Key32 Blake2s::finish() {
  Key32 out;
  blake2s_final(&state_->s, out.data(), out.size());
  return out;
}

Key32 blake2s(ByteView data) { return Blake2s().update(data).finish(); }

Key32 blake2s_mac(ByteView key, ByteView message) { return Blake2s(key).update(message).finish(); }

}  // namespace net
