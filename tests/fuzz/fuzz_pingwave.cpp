// Pingwave: what decodes re-encodes to the same 72 bytes except the 24
// origin bytes after the node id, which the format leaves zero.
#include <cstdlib>
#include <cstring>

#include "net/wire/pingwave.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::wire;
  const auto wave = Pingwave::decode({data, size});
  if (!wave) return 0;
  const auto encoded = wave->encode();
  if (std::memcmp(encoded.data(), data, 8) != 0 || std::memcmp(encoded.data() + 32, data + 32, 40) != 0) std::abort();
  return 0;
}
