// Routing header: decode-encode keeps every field; forwarding only ever
// lowers the ttl and raises the hop count.
#include <cstdlib>

#include "net/wire/routing_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::wire;
  const auto header = RoutingHeader::decode({data, size});
  if (!header) return 0;
  std::uint8_t encoded[kRoutingHeaderSize];
  header->encode(encoded);
  const auto again = RoutingHeader::decode({encoded, sizeof encoded});
  if (!again || again->ttl != header->ttl || again->hop_count != header->hop_count || again->flags != header->flags ||
      again->src_id != header->src_id || again->dest_id != header->dest_id) {
    std::abort();
  }
  RoutingHeader hop = *header;
  if (hop.forward() && (hop.ttl + 1 != header->ttl || hop.hop_count < header->hop_count)) std::abort();
  return 0;
}
