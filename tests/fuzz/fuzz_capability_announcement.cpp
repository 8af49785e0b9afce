// Capability announcements from untrusted bytes: whatever decodes encodes to
// the canonical form, which decodes to the same announcement and re-encodes
// to the same bytes; checking the signature never crashes.
#include <cstdlib>
#include <string_view>

#include "net/capability/announcement.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::capability;
  const auto decoded = decode_announcement({reinterpret_cast<const char*>(data), size});
  if (!decoded) return 0;
  const std::string canonical = encode_announcement(*decoded);
  const auto again = decode_announcement(canonical);
  if (!again || !(*again == *decoded) || encode_announcement(*again) != canonical) std::abort();
  static_cast<void>(verify_announcement(*decoded));
  return 0;
}
