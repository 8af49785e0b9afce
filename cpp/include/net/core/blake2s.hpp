// BLAKE2s-256 from Debian's libb2: plain (Noise's HASH) and keyed with up to
// 32 bytes (the session KDF, node ids), one-shot or fed in parts.
#pragma once

#include <memory>

#include "net/core/bytes.hpp"

namespace net {

Key32 blake2s(ByteView data);
Key32 blake2s_mac(ByteView key, ByteView message);

class Blake2s {
 public:
  Blake2s();                       ///< plain BLAKE2s-256
  explicit Blake2s(ByteView key);  ///< keyed, key of 1..32 bytes
  ~Blake2s();
  Blake2s(const Blake2s&) = delete;
  Blake2s& operator=(const Blake2s&) = delete;

  Blake2s& update(ByteView data);
  Key32 finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace net
