// Broker adapters: the envelope and dedup-id codecs, RedisStreamDedup, the
// producer-nonce file, Redis URLs, and the Redis adapter against a real
// redis-server.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "brokers/redis_connection.hpp"
#include "bus/cursor.hpp"
#include "eventually.hpp"
#include "net/brokers/envelope.hpp"
#include "net/brokers/producer_nonce.hpp"
#include "net/brokers/redis_adapter.hpp"
#include "net/brokers/stream_dedup.hpp"
#include "net/bus/event_bus.hpp"
#include "net/core/error.hpp"
#include "redis_server.hpp"

using namespace net;
using namespace net::brokers;

TEST_CASE("envelope: written in the original's form and read back exactly", "[brokers]") {
  std::string value;
  append_envelope(value, R"({"x":1,"t":5,"s":1})", 123456789, 7);
  CHECK(value == R"({"r":{"x":1,"t":5,"s":1},"t":123456789,"s":7})");
  const auto envelope = parse_envelope(value);
  REQUIRE(envelope);
  CHECK(envelope->raw() == R"({"x":1,"t":5,"s":1})");
  CHECK(envelope->insertion_ts == 123456789);
  CHECK(envelope->shard_id == 7);
  CHECK_FALSE(envelope->rewritten);
}

TEST_CASE("envelope: other JSON objects are parsed, non-objects and missing r are refused", "[brokers]") {
  const auto spaced = parse_envelope(R"({ "s": 2, "r": [1, 2, {"a": "b"}] })");
  REQUIRE(spaced);
  CHECK(spaced->raw() == R"([1,2,{"a":"b"}])");
  CHECK(spaced->shard_id == 2);
  CHECK(spaced->insertion_ts == 0);
  CHECK_FALSE(parse_envelope(R"({"t":1,"s":0})"));
  CHECK_FALSE(parse_envelope("not json"));
  CHECK_FALSE(parse_envelope(""));
  CHECK_FALSE(parse_envelope(R"({"r":)"));
  CHECK_FALSE(
      parse_envelope(R"({"r":1,"t":1,"s":70000})"));  // shard out of range, and not valid as general JSON either
}

TEST_CASE("dedup ids: lowercase hex nonce without padding, then decimals", "[brokers]") {
  std::string id;
  append_dedup_id(id, 0xdeadbeef, 0, 0, 2);
  CHECK(id == "deadbeef:0:0:2");
  id.clear();
  append_dedup_id(id, 0x0123456789abcdefULL, 65535, 1000, 999);
  CHECK(id == "123456789abcdef:65535:1000:999");
}

TEST_CASE("StreamDedup: first sighting, repeat, FIFO eviction without refresh, clamped capacity", "[brokers]") {
  StreamDedup dedup(2);
  CHECK_FALSE(dedup.is_duplicate("a"));
  CHECK_FALSE(dedup.is_duplicate("b"));
  CHECK(dedup.is_duplicate("a"));  // does not refresh a
  CHECK(dedup.size() == 2);
  CHECK_FALSE(dedup.is_duplicate("c"));  // evicts a, the oldest first sighting
  CHECK_FALSE(dedup.is_duplicate("a"));
  CHECK(dedup.is_duplicate("c"));
  dedup.clear();
  CHECK(dedup.size() == 0);
  CHECK(StreamDedup(0).capacity() == 1);
  CHECK(StreamDedup(std::size_t{1} << 30).capacity() == StreamDedup::kMaxCapacity);
  CHECK(StreamDedup().capacity() == 4096);
}

TEST_CASE("StreamDedup: concurrent callers see each id as new exactly once", "[brokers]") {
  StreamDedup dedup(100000);
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) fresh += dedup.is_duplicate("id" + std::to_string(i)) ? 0 : 1;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(fresh == 20000);
  CHECK(dedup.size() == 20000);
}

TEST_CASE("producer nonce: created once, reloaded, bad files refused", "[brokers]") {
  const auto dir = std::filesystem::temp_directory_path() / ("net-nonce-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "nonce").string();
  const std::uint64_t created = load_or_create_nonce(path);
  CHECK(created != 0);
  CHECK(std::filesystem::file_size(path) == 9);
  CHECK(load_or_create_nonce(path) == created);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "short";
  CHECK_THROWS_WITH(load_or_create_nonce(path),
                    Catch::StartsWith("failed to load/create producer-nonce file at " + path));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << std::string(9, '\x02');
  CHECK_THROWS_WITH(load_or_create_nonce(path), Catch::Contains("unknown version"));
  CHECK(process_nonce() == process_nonce());
  CHECK(process_nonce() != 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("Redis URLs", "[brokers]") {
  const auto plain = parse_redis_url("redis://localhost");
  CHECK(plain.host == "localhost");
  CHECK(plain.port == 6379);
  const auto full = parse_redis_url("redis://user:p%40ss@10.0.0.1:7000/3");
  CHECK(full.username == "user");
  CHECK(full.password == "p@ss");
  CHECK(full.host == "10.0.0.1");
  CHECK(full.port == 7000);
  CHECK(full.db == 3);
  const auto v6 = parse_redis_url("redis://[::1]:6380");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 6380);
  const auto unix_socket = parse_redis_url("unix:///run/redis.sock?db=2");
  CHECK(unix_socket.unix_path == "/run/redis.sock");
  CHECK(unix_socket.db == 2);
  for (const char* bad :
       {"http://x", "redis://", "redis://host:0", "redis://host:99999", "redis://host/x", "rediss://host", "unix://"}) {
    CHECK_THROWS_WITH(parse_redis_url(bad), Catch::StartsWith("connection error: "));
  }
}

TEST_CASE("cursor ids: any backend id round-trips, the validator decides", "[brokers]") {
  bus::CursorIds ids(3);
  ids[0] = "1700000000000-0";
  ids[2] = "42";
  const std::string cursor = bus::encode_cursor_ids(ids);
  CHECK(bus::decode_cursor_ids(cursor, 3, [](std::string_view) { return true; }) == ids);
  CHECK_THROWS_WITH(bus::decode_cursor_ids(cursor, 3, [](std::string_view id) { return id == "42"; }),
                    Catch::StartsWith("invalid cursor: invalid position"));
}

namespace {

RedisConfig config_for(const test::RedisServer& server) {
  RedisConfig config;
  config.url = server.url();
  config.prefix = "t" + std::to_string(::getpid());
  return config;
}

bus::EventBusConfig bus_config(std::uint16_t shards) {
  bus::EventBusConfig config;
  config.num_shards = shards;
  config.ring_buffer_capacity = 1 << 16;
  return config;
}

std::vector<std::string> poll_all(bus::EventBus& bus, std::size_t limit = 333) {
  std::vector<std::string> raws;
  std::optional<std::string> cursor;
  for (;;) {
    const auto page = bus.poll(bus::PollRequest{limit, cursor, nullptr, bus::Ordering::None});
    for (const auto& event : page.events) raws.emplace_back(event.raw);
    cursor = page.next_id;
    if (!page.has_more) return raws;
  }
}

}  // namespace

TEST_CASE("Redis adapter: validation and an unreachable server", "[brokers][redis]") {
  RedisConfig config;
  config.url = "redis://127.0.0.1:1";
  config.pipeline_size = 0;
  CHECK_THROWS_WITH(RedisAdapter(config, 1),
                    "invalid configuration: redis adapter: invalid configuration: redis pipeline_size must be > 0");
  config.pipeline_size = 10;
  config.command_timeout = std::chrono::milliseconds(0);
  CHECK_THROWS_WITH(RedisAdapter(config, 1), Catch::EndsWith("redis command_timeout must be > 0"));
  config.command_timeout = std::chrono::milliseconds(100);
  CHECK_THROWS_WITH(RedisAdapter(config, 1), "connection error: Connection refused (os error 111)");
}

TEST_CASE("Redis adapter: events land in per-shard streams and page back exactly once", "[brokers][redis]") {
  test::RedisServer server;
  RedisConfig config = config_for(server);
  config.pipeline_size = 100;
  auto adapter = std::make_unique<RedisAdapter>(config, 3);
  RedisAdapter* redis = adapter.get();
  bus::EventBus bus(bus_config(3), std::move(adapter));
  std::vector<std::string> sent;
  for (int i = 0; i < 5000; ++i) sent.push_back(R"({"i":)" + std::to_string(i) + "}");
  std::vector<std::string_view> views(sent.begin(), sent.end());
  REQUIRE(bus.ingest_batch(views) == sent.size());
  REQUIRE(bus.ingest(R"({"single":true})"));
  sent.push_back(R"({"single":true})");

  brokers::RedisConnection check(parse_redis_url(server.url()), std::chrono::seconds(1), std::chrono::seconds(1));
  std::uint64_t stored = 0;
  REQUIRE(test::eventually([&] {
    stored = 0;
    for (std::uint16_t s = 0; s < 3; ++s) {
      std::string cmd;
      RespCommand(cmd, 2).arg("XLEN").arg(redis->stream_key(s));
      stored += static_cast<std::uint64_t>(check.command(cmd)->integer);
    }
    return stored == sent.size();
  }));

  auto received = poll_all(bus);
  std::multiset<std::string> got(received.begin(), received.end());
  CHECK(got == std::multiset<std::string>(sent.begin(), sent.end()));

  // Each entry carries d (the envelope) and the dedup id of its transaction.
  std::string cmd;
  RespCommand(cmd, 6).arg("XRANGE").arg(redis->stream_key(0)).arg("-").arg("+").arg("COUNT").arg(std::uint64_t{2});
  const auto entries = check.command(cmd);
  REQUIRE(entries->elements == 2);
  const redisReply* fields = entries->element[1]->element[1];
  REQUIRE(fields->elements == 4);
  CHECK(std::string_view(fields->element[0]->str) == "d");
  CHECK(std::string_view(fields->element[2]->str) == "dedup_id");
  char nonce[17];
  std::snprintf(nonce, sizeof nonce, "%llx", static_cast<unsigned long long>(redis->producer_nonce()));
  CHECK(std::string_view(fields->element[3]->str).starts_with(std::string(nonce) + ":0:"));
  const auto envelope = parse_envelope(fields->element[1]->str);
  REQUIRE(envelope);
  CHECK(envelope->shard_id == 0);
}

TEST_CASE("Redis adapter: insertion_ts ordering, filters and corrupt cursors", "[brokers][redis]") {
  test::RedisServer server;
  bus::EventBus bus(bus_config(2), std::make_unique<RedisAdapter>(config_for(server), 2));
  for (int i = 0; i < 200; ++i)
    bus.ingest(R"({"i":)" + std::to_string(i) + R"(,"even":)" + (i % 2 ? "false" : "true") + "}");
  REQUIRE(test::eventually([&] { return poll_all(bus).size() == 200; }));

  const auto merged = bus.poll(bus::PollRequest{200, std::nullopt, nullptr, bus::Ordering::InsertionTs});
  REQUIRE(merged.events.size() == 200);
  for (std::size_t i = 1; i < merged.events.size(); ++i)
    CHECK(merged.events[i - 1].insertion_ts < merged.events[i].insertion_ts);
  CHECK(merged.events[0].id().find('-') != std::string::npos);

  const auto filter = bus::Filter::parse(R"({"path":"even","value":true})");
  std::size_t matched = 0;
  std::optional<std::string> cursor;
  for (;;) {
    const auto page = bus.poll(bus::PollRequest{7, cursor, &filter, bus::Ordering::None});
    matched += page.events.size();
    cursor = page.next_id;
    if (!page.has_more) break;
  }
  CHECK(matched == 100);

  bus::CursorIds forged(2);
  forged[0] = "12";  // a ring sequence, not a stream id
  CHECK_THROWS_WITH(bus.poll(bus::PollRequest{5, bus::encode_cursor_ids(forged), nullptr, bus::Ordering::None}),
                    Catch::StartsWith("invalid cursor: "));
}

TEST_CASE("Redis adapter: a restart mid-ingest loses nothing, duplicates are exactly the repeated dedup ids",
          "[brokers][redis]") {
  test::RedisServer server;
  RedisConfig config = config_for(server);
  config.command_timeout = std::chrono::milliseconds(200);
  config.connect_timeout = std::chrono::milliseconds(200);
  auto adapter = std::make_unique<RedisAdapter>(config, 2);
  const std::string key0 = adapter->stream_key(0);
  const std::string key1 = adapter->stream_key(1);
  auto bus_cfg = bus_config(2);
  bus_cfg.ring_buffer_capacity = 1 << 17;
  bus_cfg.backpressure_mode = bus::BackpressureMode::FailProducer;
  bus::EventBus bus(bus_cfg, std::move(adapter));

  constexpr int kEvents = 100000;
  std::thread producer([&] {
    for (int i = 0; i < kEvents; ++i) {
      const std::string event = R"({"n":)" + std::to_string(i) + "}";
      while (true) {
        try {
          bus.ingest(event);
          break;
        } catch (const Error&) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      if (i == kEvents / 3) {
        server.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        server.start();
      }
    }
  });
  producer.join();
  CHECK(bus.stats().events_dropped == 0);

  brokers::RedisConnection check(parse_redis_url(server.url()), std::chrono::seconds(1), std::chrono::seconds(1));
  std::set<std::string> payloads;
  std::size_t entries = 0;
  std::size_t flagged = 0;
  REQUIRE(test::eventually(
      [&] {
        payloads.clear();
        entries = 0;
        flagged = 0;
        StreamDedup dedup(1 << 20);
        for (const auto& key : {key0, key1}) {
          std::string cmd;
          RespCommand(cmd, 4).arg("XRANGE").arg(key).arg("-").arg("+");
          const auto reply = check.command(cmd);
          for (std::size_t i = 0; i < reply->elements; ++i) {
            const redisReply* fields = reply->element[i]->element[1];
            const bool duplicate = dedup.is_duplicate(fields->element[3]->str);
            const bool repeated = !payloads.insert(std::string(parse_envelope(fields->element[1]->str)->raw())).second;
            CHECK(duplicate == repeated);
            flagged += duplicate;
            ++entries;
          }
        }
        return payloads.size() == kEvents;
      },
      std::chrono::seconds(20)));
  CHECK(entries == kEvents + flagged);
}

TEST_CASE("Redis adapter: merged pages stay in time order when one shard runs ahead", "[brokers][redis]") {
  test::RedisServer server;
  bus::EventBus bus(bus_config(3), std::make_unique<RedisAdapter>(config_for(server), 3));
  // 300 older events all in shard 0, then 300 newer ones in shard 1.
  std::vector<std::string> older, newer;
  for (int i = 0; older.size() < 300 || newer.size() < 300; ++i) {
    std::string event = R"({"n":)" + std::to_string(i) + "}";
    const std::uint16_t shard = bus.shard_for(event);
    if (shard == 0 && older.size() < 300) older.push_back(std::move(event));
    if (shard == 1 && newer.size() < 300) newer.push_back(std::move(event));
  }
  for (const auto& event : older) bus.ingest(event);
  for (const auto& event : newer) bus.ingest(event);
  REQUIRE(test::eventually([&] { return poll_all(bus).size() == 600; }));

  std::vector<std::uint64_t> stamps;
  std::optional<std::string> cursor;
  for (;;) {
    const auto page = bus.poll(bus::PollRequest{100, cursor, nullptr, bus::Ordering::InsertionTs});
    for (const auto& event : page.events) stamps.push_back(event.insertion_ts);
    cursor = page.next_id;
    if (!page.has_more) break;
  }
  REQUIRE(stamps.size() == 600);
  CHECK(std::is_sorted(stamps.begin(), stamps.end()));  // across pages, not only within one
}

TEST_CASE("Redis adapter: unhealthy while a shard's batches fail, healthy again after", "[brokers][redis]") {
  test::RedisServer server;
  RedisConfig config = config_for(server);
  config.connect_timeout = std::chrono::milliseconds(100);
  config.command_timeout = std::chrono::milliseconds(100);
  auto adapter = std::make_unique<RedisAdapter>(config, 2);
  RedisAdapter* redis = adapter.get();
  bus::EventBus bus(bus_config(2), std::move(adapter));
  CHECK(redis->is_healthy());
  server.stop();
  for (int i = 0; i < 20; ++i) bus.ingest(R"({"i":)" + std::to_string(i) + "}");
  CHECK(test::eventually([&] { return !redis->is_healthy(); }));
  server.start();
  CHECK(test::eventually([&] { return redis->is_healthy() && poll_all(bus).size() == 20; }, std::chrono::seconds(10)));
}
