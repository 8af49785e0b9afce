// CortEX snapshots and NetDb bundles from untrusted bytes: decoding never
// crashes, and what decodes snapshots to bytes that restore to the same
// snapshot (the first byte picks tasks, memories or a bundle).
#include <cstdlib>

#include "net/core/error.hpp"
#include "net/cortex/netdb.hpp"

namespace {

template <class Adapter>
void round_trip(net::ByteView state) {
  using net::cortex::Snapshot;
  net::redex::Redex redex;
  std::shared_ptr<Adapter> restored;
  try {
    restored = Adapter::open_from_snapshot(redex, 1, Snapshot{net::Bytes(state.begin(), state.end()), 0}, false);
  } catch (const net::Error&) {
    return;
  }
  const Snapshot first = restored->snapshot();
  net::redex::Redex again_redex;
  const Snapshot second = Adapter::open_from_snapshot(again_redex, 1, first, false)->snapshot();
  if (second.state != first.state) std::abort();
}

void bundle_round_trip(net::ByteView bundle) {
  net::cortex::NetDbOptions options;
  options.with_tasks = options.with_memories = true;
  try {
    net::cortex::NetDb db(bundle, options);
    const net::Bytes first = db.snapshot();
    if (net::cortex::NetDb(first, options).snapshot() != first) std::abort();
  } catch (const net::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const net::ByteView rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: round_trip<net::cortex::TasksAdapter>(rest); break;
    case 1: round_trip<net::cortex::MemoriesAdapter>(rest); break;
    default: bundle_round_trip(rest); break;
  }
  return 0;
}
