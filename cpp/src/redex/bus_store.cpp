#include "net/redex/bus_store.hpp"

#include <charconv>
#include <cstring>

#include "bus/backend_poll.hpp"
#include "net/core/error.hpp"

namespace net::redex {
namespace {

constexpr std::size_t kStamp = 8;  ///< the insertion time before each event's bytes

std::optional<std::uint64_t> parse_seq(std::string_view id) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (error != std::errc() || end != id.data() + id.size() || id.empty() || (id.size() > 1 && id[0] == '0')) {
    return std::nullopt;
  }
  return value;
}

bus::StoredEvent event_of(const Event& stored, std::uint16_t shard) {
  const ByteView bytes = stored.payload.bytes();
  bus::StoredEvent event;
  event.owner = stored.payload.data;
  if (bytes.size() >= kStamp) {
    event.insertion_ts = load_le<std::uint64_t>(bytes.data());
    event.raw = {reinterpret_cast<const char*>(bytes.data() + kStamp), bytes.size() - kStamp};
  }
  event.sequence = stored.seq;
  event.shard_id = shard;
  return event;
}

}  // namespace

BusStore::BusStore(const std::filesystem::path& directory, std::uint16_t num_shards, std::uint64_t retained_per_shard)
    : redex_(directory) {
  FileOptions options;
  options.persistent = true;
  options.fsync_interval = std::chrono::milliseconds(100);
  options.retention_max_events = retained_per_shard;
  for (std::uint16_t shard = 0; shard < num_shards; ++shard) {
    shards_.push_back(redex_.open_file("bus/shard/" + std::to_string(shard), options));
  }
}

BusStore::~BusStore() { shutdown(); }

std::size_t BusStore::on_batch(std::span<const bus::StoredEvent> events) {
  if (events.empty()) return 0;
  std::vector<Bytes> stamped;
  std::vector<ByteView> views;
  stamped.reserve(events.size());
  views.reserve(events.size());
  for (const auto& event : events) {
    Bytes& bytes = stamped.emplace_back(kStamp + event.raw.size());
    store_le(bytes.data(), event.insertion_ts);
    std::memcpy(bytes.data() + kStamp, event.raw.data(), event.raw.size());
    views.push_back(bytes);
  }
  try {
    shards_.at(events.front().shard_id)->append_batch(views);
  } catch (const Error&) {
    healthy_ = false;  // a full disk or a closed store: the bus keeps the events and retries
    return 0;
  }
  healthy_ = true;
  return events.size();
}

std::optional<bus::PollResult> BusStore::poll(const bus::PollRequest& request) {
  const bus::BackendPoll backend{static_cast<std::uint16_t>(shards_.size()),
                                 [](std::string_view id) { return parse_seq(id).has_value(); },
                                 [this](const bus::CursorIds& positions, std::size_t count) {
                                   std::vector<bus::ShardPage> pages(shards_.size());
                                   for (std::size_t s = 0; s < shards_.size(); ++s) {
                                     const std::uint64_t last = positions[s] ? *parse_seq(*positions[s]) : 0;
                                     if (positions[s] && last == UINT64_MAX) continue;  // nothing can follow it
                                     auto stored = shards_[s]->read_from(positions[s] ? last + 1 : 0, count + 1);
                                     pages[s].has_more = stored.size() > count;
                                     if (pages[s].has_more) stored.pop_back();
                                     for (const auto& event : stored)
                                       pages[s].events.push_back(event_of(event, static_cast<std::uint16_t>(s)));
                                     if (!stored.empty()) pages[s].last_examined = std::to_string(stored.back().seq);
                                   }
                                   return pages;
                                 }};
  return bus::poll_backend(request, backend);
}

void BusStore::shutdown() {
  for (const auto& shard : shards_) shard->close();
}

}  // namespace net::redex
