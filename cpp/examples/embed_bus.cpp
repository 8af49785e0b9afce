// Embedding libnet in a C++ program: ingest events into the bus, then page
// through them with a cursor until nothing is left.
#include <net/bus/event_bus.hpp>

#include <cstdio>
#include <string>

int main() {
  net::bus::EventBusConfig config;
  config.num_shards = 4;
  net::bus::EventBus bus(config);

  for (int i = 0; i < 1000; ++i) {
    bus.ingest("{\"token\":\"t" + std::to_string(i) + "\",\"index\":" + std::to_string(i) + "}");
  }

  net::bus::PollRequest request;
  request.limit = 256;
  std::size_t polled = 0;
  while (true) {
    net::bus::PollResult page = bus.poll(request);
    polled += page.events.size();
    request.cursor = page.next_id;
    if (!page.has_more) break;
  }
  const net::bus::Stats stats = bus.stats();
  std::printf("ingested %llu events, polled %zu events\n", static_cast<unsigned long long>(stats.events_ingested),
              polled);
  bus.shutdown();
  return polled == 1000 ? 0 : 1;
}
