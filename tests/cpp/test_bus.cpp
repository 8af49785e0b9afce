// bus/: ring wrap-around, backpressure modes, shard mapping, the cursor codec,
// filters, exactly-once paging and concurrent producers (run under TSan too).
#include <catch2/catch.hpp>

#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/cursor.hpp"
#include "bus/shard.hpp"
#include "net/bus/event_bus.hpp"
#include "net/core/error.hpp"

using namespace net::bus;

namespace {

EventBus make_bus(std::uint16_t shards, std::size_t capacity = 1024,
                  BackpressureMode mode = BackpressureMode::DropOldest) {
  EventBusConfig config;
  config.num_shards = shards;
  config.ring_buffer_capacity = capacity;
  config.backpressure_mode = mode;
  return EventBus(config);
}

std::string event(int i) { return "{\"i\":" + std::to_string(i) + "}"; }

// Pages through the bus with the returned cursor until has_more is false.
std::vector<std::string> drain(EventBus& bus, std::size_t page, std::optional<std::string>& cursor,
                               Ordering ordering = Ordering::None, const Filter* filter = nullptr) {
  std::vector<std::string> out;
  while (true) {
    PollRequest request;
    request.limit = page;
    request.cursor = cursor;
    request.ordering = ordering;
    request.filter = filter;
    PollResult result = bus.poll(request);
    for (const auto& e : result.events) out.emplace_back(e.raw);
    cursor = result.next_id;
    if (!result.has_more) return out;
  }
}

net::ErrorKind error_kind(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const net::Error& e) {
    return e.kind();
  }
  FAIL("no net::Error thrown");
  return net::ErrorKind::Internal;
}

}  // namespace

TEST_CASE("config validation uses the original's messages", "[bus][config]") {
  EventBusConfig config;
  config.num_shards = 0;
  REQUIRE_THROWS_WITH(config.validate(), "invalid configuration: num_shards must be > 0");
  config.num_shards = 1;
  config.ring_buffer_capacity = 1000;
  REQUIRE_THROWS_WITH(config.validate(), "invalid configuration: ring_buffer_capacity must be a power of 2");
  config.ring_buffer_capacity = 0;
  REQUIRE_THROWS_WITH(config.validate(), "invalid configuration: ring_buffer_capacity must be a power of 2");
  config.ring_buffer_capacity = 512;
  REQUIRE_THROWS_WITH(config.validate(), "invalid configuration: ring_buffer_capacity must be >= 1024");
  config.ring_buffer_capacity = 1024;
  REQUIRE_NOTHROW(config.validate());
  CHECK(parse_backpressure_mode("drop_newest") == BackpressureMode::DropNewest);
  CHECK_FALSE(parse_backpressure_mode("DROP_NEWEST"));
}

TEST_CASE("shard selection is the original's xxh3 multiply-shift", "[bus][shard]") {
  auto bus = make_bus(4);
  CHECK(bus.shard_for("{\"token\": \"hello\"}") == 3);  // REFERENCE.md 1.3
  for (int n : {1, 2, 3, 7, 16}) {
    auto sized = make_bus(static_cast<std::uint16_t>(n));
    for (int i = 0; i < 200; ++i) {
      const std::string e = event(i);
      const unsigned __int128 expected = static_cast<unsigned __int128>(XXH3_64bits(e.data(), e.size())) * n;
      CHECK(sized.shard_for(e) == static_cast<std::uint16_t>(expected >> 64));
    }
  }
  auto result = bus.ingest("{\"token\": \"hello\"}");
  REQUIRE(result);
  CHECK(result->shard_id == 3);
}

TEST_CASE("events come back byte for byte, in order, timestamps strictly increasing", "[bus]") {
  auto bus = make_bus(1);
  std::uint64_t last_ts = 0;
  for (int i = 0; i < 100; ++i) {
    auto r = bus.ingest(event(i));
    REQUIRE(r);
    CHECK(r->timestamp > last_ts);
    last_ts = r->timestamp;
  }
  bus.ingest(std::string_view("not json \0 with nul", 19));
  std::optional<std::string> cursor;
  auto events = drain(bus, 7, cursor);
  REQUIRE(events.size() == 101);
  for (int i = 0; i < 100; ++i) CHECK(events[i] == event(i));
  CHECK(events[100] == std::string("not json \0 with nul", 19));
}

TEST_CASE("the ring wraps: polled events are overwritten without counting a drop", "[bus][ring]") {
  auto bus = make_bus(1, 1024);
  std::optional<std::string> cursor;
  std::size_t seen = 0;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 700; ++i) REQUIRE(bus.ingest(event(round * 700 + i)));
    auto events = drain(bus, 100, cursor);
    REQUIRE(events.size() == 700);
    CHECK(events.front() == event(round * 700));
    seen += events.size();
  }
  CHECK(seen == 7000);
  CHECK(bus.stats().events_dropped == 0);
  CHECK(bus.stats().events_ingested == 7000);
}

TEST_CASE("drop_oldest evicts the oldest unpolled events and counts them", "[bus][backpressure]") {
  auto bus = make_bus(1, 1024, BackpressureMode::DropOldest);
  for (int i = 0; i < 1500; ++i) REQUIRE(bus.ingest(event(i)));
  CHECK(bus.stats().events_dropped == 476);
  std::optional<std::string> cursor;
  auto events = drain(bus, 1000, cursor);
  REQUIRE(events.size() == 1024);
  CHECK(events.front() == event(476));
  CHECK(events.back() == event(1499));
}

TEST_CASE("drop_newest discards new events and counts them", "[bus][backpressure]") {
  auto bus = make_bus(1, 1024, BackpressureMode::DropNewest);
  for (int i = 0; i < 1024; ++i) REQUIRE(bus.ingest(event(i)));
  CHECK_FALSE(bus.ingest(event(9999)));
  std::vector<std::string> more = {event(1), event(2)};
  std::vector<std::string_view> views(more.begin(), more.end());
  CHECK(bus.ingest_batch(views) == 0);
  CHECK(bus.stats().events_dropped == 3);
  std::optional<std::string> cursor;
  auto events = drain(bus, 10000, cursor);
  REQUIRE(events.size() == 1024);
  CHECK(events.back() == event(1023));
  // Polled events no longer count against the capacity.
  CHECK(bus.ingest(event(5000)));
}

TEST_CASE("fail_producer raises Backpressure, batches never raise", "[bus][backpressure]") {
  auto bus = make_bus(1, 1024, BackpressureMode::FailProducer);
  for (int i = 0; i < 1024; ++i) REQUIRE(bus.ingest(event(i)));
  REQUIRE_THROWS_WITH(bus.ingest(event(1)), "backpressure: ring buffer full");
  CHECK(error_kind([&] { bus.ingest(event(2)); }) == net::ErrorKind::Backpressure);
  std::vector<std::string_view> views = {"{}", "[]"};
  CHECK(bus.ingest_batch(views) == 0);
  CHECK(bus.stats().events_dropped == 4);
  CHECK(bus.stats().events_ingested == 1024);
}

TEST_CASE("batch ingest keeps per-shard order and counts what it accepted", "[bus][batch]") {
  // 1: no grouping; 3 and 8: a pass per shard; 9 and 40: a counting sort.
  const std::uint16_t shards = GENERATE(1, 3, 8, 9, 40);
  auto bus = make_bus(shards, 1 << 16);
  std::vector<std::string> storage;
  for (int i = 0; i < 5000; ++i) storage.push_back(event(i));
  std::vector<std::string_view> views(storage.begin(), storage.end());
  CHECK(bus.ingest_batch(views) == 5000);
  CHECK(bus.ingest_batch({}) == 0);
  std::optional<std::string> cursor;
  PollRequest request;
  request.limit = 10000;
  auto result = bus.poll(request);
  REQUIRE(result.events.size() == 5000);
  std::vector<int> last(shards, -1);
  std::vector<bool> seen(5000, false);
  for (const auto& e : result.events) {
    const int i = std::stoi(std::string(e.raw.substr(5)));
    CHECK(bus.shard_for(e.raw) == e.shard_id);
    CHECK(i > last[e.shard_id]);
    last[e.shard_id] = i;
    seen[i] = true;
  }
  CHECK(std::count(seen.begin(), seen.end(), true) == 5000);
}

TEST_CASE("paging delivers every event exactly once and old cursors stay readable", "[bus][poll]") {
  auto bus = make_bus(4, 1 << 14);
  for (int i = 0; i < 3000; ++i) bus.ingest(event(i));
  std::optional<std::string> cursor;
  PollRequest first;
  first.limit = 100;
  PollResult page1 = bus.poll(first);
  REQUIRE(page1.events.size() == 100);
  REQUIRE(page1.has_more);
  cursor = page1.next_id;
  auto rest = drain(bus, 333, cursor);
  CHECK(rest.size() == 2900);
  std::set<std::string> all(rest.begin(), rest.end());
  for (const auto& e : page1.events) all.emplace(e.raw);
  CHECK(all.size() == 3000);

  // Re-reading from the first page's cursor gives the same 2900 again.
  std::optional<std::string> again = page1.next_id;
  CHECK(drain(bus, 1000, again).size() == 2900);

  // Nothing new: the cursor comes back unchanged and has_more is false.
  PollRequest idle;
  idle.limit = 10;
  idle.cursor = cursor;
  PollResult none = bus.poll(idle);
  CHECK(none.events.empty());
  CHECK_FALSE(none.has_more);
  CHECK(none.next_id == cursor);

  PollRequest zero;
  zero.cursor = cursor;
  CHECK(bus.poll(zero).next_id == cursor);
}

TEST_CASE("insertion_ts ordering merges shards by time", "[bus][poll]") {
  auto bus = make_bus(4, 1 << 14);
  for (int i = 0; i < 2000; ++i) bus.ingest(event(i));
  std::optional<std::string> cursor;
  std::vector<std::string> all;
  std::uint64_t last_ts = 0;
  while (true) {
    PollRequest request;
    request.limit = 150;
    request.cursor = cursor;
    request.ordering = Ordering::InsertionTs;
    auto result = bus.poll(request);
    for (const auto& e : result.events) {
      CHECK(e.insertion_ts >= last_ts);
      last_ts = e.insertion_ts;
      all.emplace_back(e.raw);
    }
    cursor = result.next_id;
    if (!result.has_more) break;
  }
  REQUIRE(all.size() == 2000);
  for (int i = 0; i < 2000; ++i) CHECK(all[i] == event(i));  // one producer: time order is input order
  CHECK_THROWS_WITH(parse_ordering("random"), "Invalid ordering: random. Use 'none' or 'insertion_ts'");
}

TEST_CASE("cursor codec: the original's format, strict decoding", "[bus][cursor]") {
  CursorPositions positions = {std::nullopt, 1, std::nullopt};
  positions[0] = 0;
  CHECK(encode_cursor({0, std::nullopt}) == "eyIwIjoiMCJ9");  // {"0":"0"}
  const std::string text = encode_cursor(positions);
  CHECK(decode_cursor(text, 3) == positions);
  CHECK(encode_cursor({std::nullopt}) == "e30=");  // {}

  auto rejects = [](std::string_view cursor, std::uint16_t shards, std::string_view detail) {
    try {
      decode_cursor(cursor, shards);
      FAIL("accepted " << cursor);
    } catch (const net::Error& e) {
      CHECK(e.kind() == net::ErrorKind::InvalidCursor);
      CHECK(std::string(e.what()).rfind("invalid cursor: ", 0) == 0);
      CHECK(std::string(e.what()).find(detail) != std::string::npos);
    }
  };
  rejects("not base64!", 1, "base64");
  rejects("eyIwIjoiMCJ9=", 1, "base64");                // trailing garbage
  rejects("bm90IGpzb24=", 1, "JSON");                   // "not json"
  rejects("WzFd", 1, "JSON");                           // [1]
  rejects("eyIwMSI6IjEifQ==", 4, "shard key");          // {"01":"1"}
  rejects("eyI1IjoiMSJ9", 4, "unknown shard 5");        // {"5":"1"}
  rejects("eyIwIjoxfQ==", 4, "not a string");           // {"0":1}
  rejects("eyIwIjoiLTEifQ==", 4, "invalid position");   // {"0":"-1"}
  rejects("eyIwIjoiMSIsIjAiOiIyIn0=", 4, "duplicate");  // {"0":"1","0":"2"}
  rejects("eyI3MDAwMCI6IjEifQ==", 4, "shard key");      // {"70000":"1"}
}

TEST_CASE("a forged cursor ahead of the stream is refused", "[bus][cursor]") {
  auto bus = make_bus(1);
  bus.ingest("{}");
  PollRequest request;
  request.limit = 10;
  request.cursor = encode_cursor({5});
  CHECK(error_kind([&] { bus.poll(request); }) == net::ErrorKind::InvalidCursor);
  request.cursor = encode_cursor({0});
  CHECK(bus.poll(request).events.empty());
}

TEST_CASE("filters: the original's grammar and serde equality", "[bus][filter]") {
  auto bus = make_bus(2, 1 << 14);
  bus.ingest(R"({"type":"token","n":1,"meta":{"tags":["a","b"]}})");
  bus.ingest(R"({"type":"token","n":1.0})");
  bus.ingest(R"({"type":"done","n":2})");
  bus.ingest("not json");
  bus.ingest(R"({"type":"token","n":3,"obj":{"x":1,"y":[1,2]}})");

  auto count = [&](std::string_view filter_json) {
    Filter filter = Filter::parse(filter_json);
    std::optional<std::string> cursor;
    return drain(bus, 2, cursor, Ordering::None, &filter).size();
  };
  CHECK(count(R"({"path":"type","value":"token"})") == 3);
  CHECK(count(R"({"$eq":{"path":"type","value":"done"}})") == 1);
  CHECK(count(R"({"path":"n","value":1})") == 1);  // 1 != 1.0
  CHECK(count(R"({"path":"n","value":1.0})") == 1);
  CHECK(count(R"({"path":"meta.tags.1","value":"b"})") == 1);
  CHECK(count(R"({"path":"obj","value":{"y":[1,2],"x":1}})") == 1);
  CHECK(count(R"({"$and":[{"path":"type","value":"token"},{"path":"n","value":3}]})") == 1);
  CHECK(count(R"({"$or":[{"path":"n","value":2},{"path":"n","value":3}]})") == 2);
  CHECK(count(R"({"$not":{"path":"type","value":"token"}})") == 1);  // "not json" never matches
  CHECK(count(R"({"$and":[]})") == 0);
  CHECK(count(R"({"$or":[]})") == 0);
  CHECK(count(R"({"path":"","value":{"type":"done","n":2}})") == 1);

  CHECK_THROWS_WITH(Filter::parse(R"({"foo":1})"), "data did not match any variant of untagged enum Filter");
  CHECK_THROWS_WITH(Filter::parse(R"({"path":"a"})"), "data did not match any variant of untagged enum Filter");
  CHECK_THROWS_WITH(Filter::parse(R"({"$and":[{"x":1}]})"), "data did not match any variant of untagged enum Filter");
  CHECK(error_kind([] { Filter::parse("{not json"); }) == net::ErrorKind::InvalidFilter);
  CHECK(error_kind([] { Filter::parse("[1]"); }) == net::ErrorKind::InvalidFilter);
}

TEST_CASE("a filtered poll that matches nothing still advances past what it examined", "[bus][filter]") {
  auto bus = make_bus(1, 1 << 16);
  for (int i = 0; i < 40000; ++i) bus.ingest(event(i));
  Filter filter = Filter::parse(R"({"path":"i","value":39999})");
  std::optional<std::string> cursor;
  auto matches = drain(bus, 10, cursor, Ordering::None, &filter);
  REQUIRE(matches.size() == 1);
  CHECK(matches[0] == event(39999));
}

TEST_CASE("shutdown is idempotent, refuses later calls, keeps returned events valid", "[bus][shutdown]") {
  auto bus = make_bus(2);
  bus.ingest("{\"kept\":true}");
  PollRequest request;
  request.limit = 10;
  auto result = bus.poll(request);
  bus.shutdown();
  bus.shutdown();
  CHECK(bus.is_shut_down());
  REQUIRE(result.events.size() == 1);
  CHECK(result.events[0].raw == "{\"kept\":true}");
  CHECK_THROWS_WITH(bus.ingest("{}"), "EventBus has been shut down");
  CHECK(error_kind([&] { bus.poll(request); }) == net::ErrorKind::ShutDown);
  CHECK(error_kind([&] { bus.stats(); }) == net::ErrorKind::ShutDown);
}

TEST_CASE("concurrent producers and a paging consumer: exactly once", "[bus][concurrency]") {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20000;
  auto bus = make_bus(3, 1 << 17);
  std::atomic<int> finished{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::vector<std::string> batch;
      for (int i = 0; i < kPerProducer; ++i) {
        std::string e = "{\"p\":" + std::to_string(p) + ",\"i\":" + std::to_string(i) + "}";
        if (i % 2 == 0) {
          bus.ingest(e);
        } else {
          batch.push_back(std::move(e));
          if (batch.size() == 64 || i == kPerProducer - 1) {
            std::vector<std::string_view> views(batch.begin(), batch.end());
            bus.ingest_batch(views);
            batch.clear();
          }
        }
      }
      finished.fetch_add(1);
    });
  }
  std::set<std::string> seen;
  std::size_t duplicates = 0;
  std::optional<std::string> cursor;
  while (true) {
    const bool producers_done = finished.load() == kProducers;
    PollRequest request;
    request.limit = 500;
    request.cursor = cursor;
    auto result = bus.poll(request);
    for (const auto& e : result.events) duplicates += !seen.emplace(e.raw).second;
    cursor = result.next_id;
    if (producers_done && !result.has_more) break;
  }
  for (auto& t : producers) t.join();
  CHECK(duplicates == 0);
  CHECK(seen.size() == kProducers * kPerProducer);
  CHECK(bus.stats().events_dropped == 0);
}

TEST_CASE("drop_oldest during a filtered or merged poll counts only what no poll delivered", "[bus]") {
  net::bus::Shard shard(0, 1024, net::bus::BackpressureMode::DropOldest);
  for (int i = 0; i < 1024; ++i) shard.push("e", static_cast<std::uint64_t>(i + 1));  // full, all unpolled
  std::vector<net::bus::StoredEvent> window;
  shard.read(0, 10, false, window);  // a filtered poll's reservation of 0..9
  REQUIRE(window.size() == 10);
  for (int i = 0; i < 5; ++i) shard.push("f", 2000 + static_cast<std::uint64_t>(i));  // evicts 0..4, unpolled
  CHECK(shard.counters().events_dropped == 0);  // held back while the poll may still deliver them
  shard.finish_read(0, 3);                      // the poll delivered 0..2; 3 and 4 reached nobody
  CHECK(shard.counters().events_dropped == 2);
  // Without a reservation an eviction of an unpolled event counts at once.
  shard.push("g", 3000);
  CHECK(shard.counters().events_dropped == 3);
}

TEST_CASE("a large ring laps twice and reads back what it retains, across the lap", "[bus][ring]") {
  constexpr std::size_t kCapacity = std::size_t{1} << 17;
  constexpr std::uint64_t kPushed = 300'000;
  const auto numbered = [](std::uint64_t i) { return "event " + std::to_string(i); };
  net::bus::Shard shard(0, kCapacity, net::bus::BackpressureMode::DropOldest);
  for (std::uint64_t i = 0; i < kPushed; ++i) REQUIRE(shard.push(numbered(i), i + 1));
  std::vector<net::bus::StoredEvent> retained;
  const auto bounds = shard.read(0, kCapacity, true, retained);
  CHECK(bounds.tail == kPushed - kCapacity);
  CHECK(shard.counters().events_dropped == kPushed - kCapacity);
  REQUIRE(retained.size() == kCapacity);
  for (std::size_t i = 0; i < retained.size(); i += 997) {
    CHECK(retained[i].sequence == kPushed - kCapacity + i);
    CHECK(std::string(retained[i].raw) == numbered(kPushed - kCapacity + i));
  }
  const std::uint64_t lap = 2 * kCapacity - (kPushed - kCapacity);  // seq 262,144 starts the third lap
  CHECK(std::string(retained[lap - 1].raw) == numbered(262'143));
  CHECK(std::string(retained[lap].raw) == numbered(262'144));
  CHECK(std::string(retained.back().raw) == numbered(kPushed - 1));
}
