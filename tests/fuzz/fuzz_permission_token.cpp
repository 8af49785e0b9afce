// Permission tokens and channel names from untrusted bytes: a token parses
// only at exactly 159 bytes and re-encodes to the same bytes; a tampered
// copy never verifies; a name either has a reason or hashes.
#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "net/core/error.hpp"
#include "net/identity/channel_name.hpp"
#include "net/identity/permission_token.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::identity;
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  if (!channel_name_error(name)) {
    if (size == 0 || size > 255) std::abort();
    static_cast<void>(channel_hash(name));
  }
  try {
    const PermissionToken token = PermissionToken::parse({data, size});
    if (size != PermissionToken::kSize) std::abort();
    const auto encoded = token.encode();
    if (!std::equal(encoded.begin(), encoded.end(), data)) std::abort();
    if (token.signature_valid()) {
      auto tampered = encoded;
      tampered[size % PermissionToken::kSignedSize] ^= 0x80;
      if (PermissionToken::parse(tampered).signature_valid()) std::abort();
    }
  } catch (const net::Error& e) {
    if (size == PermissionToken::kSize || e.kind() != net::ErrorKind::Token) std::abort();
  }
  return 0;
}
