// StreamWindow grant: exactly 16 bytes decode, and re-encode identically.
#include <cstdlib>
#include <cstring>

#include "net/wire/stream_window.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::wire;
  const auto grant = StreamWindowGrant::decode({data, size});
  if (grant.has_value() != (size == kGrantSize)) std::abort();
  if (grant && std::memcmp(grant->encode().data(), data, kGrantSize) != 0) std::abort();
  return 0;
}
