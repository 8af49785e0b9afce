// Event frames: the events read lie inside the payload, and framing them
// again reproduces the payload's prefix they were read from.
#include <cstdlib>
#include <cstring>

#include "net/wire/event_frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace net::wire;
  if (size < 2) return 0;
  const std::size_t event_count = data[0];
  const net::ByteView payload(data + 1, size - 1);
  const auto events = read_frames(payload, event_count);
  if (events.size() > event_count) std::abort();
  net::Bytes reframed;
  for (const auto event : events) {
    if (event.data() < payload.data() || event.data() + event.size() > payload.data() + payload.size()) std::abort();
    append_frame(reframed, event);
  }
  if (reframed.size() > payload.size() || std::memcmp(reframed.data(), payload.data(), reframed.size()) != 0) {
    std::abort();
  }
  return 0;
}
