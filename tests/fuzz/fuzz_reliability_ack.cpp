// Reliability ack: only 24-byte bodies with a consistent range decode, and they re-encode identically.
#include <cstdlib>
#include <cstring>

#include "net/wire/reliability_ack.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::wire;
  const auto ack = ReliabilityAck::decode({data, size});
  if (ack && size != kReliabilityAckSize) std::abort();
  if (ack && std::memcmp(ack->encode().data(), data, kReliabilityAckSize) != 0) std::abort();
  if (ack && ack->highest_received != 0 && ack->highest_received < ack->next_expected) std::abort();
  return 0;
}
