// core/: the clock, hashing, page buffers, the free-list resource and the JSON writer (byte-exact with CPython's
// json.dumps).
#include <sys/mman.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory_resource>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/core/bytes.hpp"
#include "net/core/chunk_pool.hpp"
#include "net/core/clock.hpp"
#include "net/core/free_list_resource.hpp"
#include "net/core/hash.hpp"
#include "net/core/json_writer.hpp"
#include "net/core/page_buffer.hpp"

namespace {

std::string latin1(std::string_view text) {
  net::json::Buffer out;
  net::json::append_string(out, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  return std::string(out.view());
}

std::string ucs4(std::u32string_view text) {
  net::json::Buffer out;
  net::json::append_string(out, reinterpret_cast<const std::uint32_t*>(text.data()), text.size());
  return std::string(out.view());
}

std::string dbl(double value) {
  net::json::Buffer out;
  REQUIRE(net::json::append_double(out, value));
  return std::string(out.view());
}

}  // namespace

TEST_CASE("xxh3_64 matches the reference values", "[core][hash]") {
  CHECK(net::xxh3_64("", 0) == 0x2D06800538D394C2ull);
  CHECK(net::xxh3_64(std::string_view("a")) == 0xE6C632B61E964E1Full);
}

TEST_CASE("json strings escape like json.dumps with ensure_ascii", "[core][json]") {
  CHECK(latin1("plain") == "\"plain\"");
  CHECK(latin1("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(latin1("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  CHECK(latin1(std::string("\x00\x01\x1f", 3)) == "\"\\u0000\\u0001\\u001f\"");
  CHECK(latin1("\x7f") == "\"\\u007f\"");
  CHECK(latin1("\xe9") == "\"\\u00e9\"");  // Latin-1 code point U+00E9
  CHECK(ucs4(U"\u20ac") == "\"\\u20ac\"");
  CHECK(ucs4(U"\U0001F600") == "\"\\ud83d\\ude00\"");
  CHECK(latin1("") == "\"\"");
}

TEST_CASE("json strings find the first escape at any offset of a long Latin-1 text", "[core][json]") {
  // The 16-byte scan must agree with the byte rules wherever the escape falls.
  const std::pair<char, std::string_view> escapes[] = {{'"', "\\\""},       {'\\', "\\\\"},      {'\n', "\\n"},
                                                       {'\x1f', "\\u001f"}, {'\x7f', "\\u007f"}, {'\xe9', "\\u00e9"}};
  for (const auto& [raw, escaped] : escapes) {
    for (std::size_t at = 0; at < 40; ++at) {
      std::string text(40, 'a');
      text[at] = raw;
      std::string expected = "\"";
      expected.append(text, 0, at).append(escaped).append(text, at + 1).push_back('"');
      CHECK(latin1(text) == expected);
    }
  }
  CHECK(latin1(std::string(100, ' ')) == std::string(1, '"').append(100, ' ').append(1, '"'));
}

TEST_CASE("json doubles are CPython's float repr", "[core][json]") {
  CHECK(dbl(1.0) == "1.0");
  CHECK(dbl(-0.0) == "-0.0");
  CHECK(dbl(0.0) == "0.0");
  CHECK(dbl(0.1) == "0.1");
  CHECK(dbl(1e16) == "1e+16");
  CHECK(dbl(1e15) == "1000000000000000.0");
  CHECK(dbl(1e-5) == "1e-05");
  CHECK(dbl(0.0001) == "0.0001");
  CHECK(dbl(123456789012345678.0) == "1.2345678901234568e+17");
  CHECK(dbl(5e-324) == "5e-324");
  CHECK(dbl(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(dbl(-1.5) == "-1.5");
  CHECK(dbl(123.456) == "123.456");
  CHECK(dbl(1.5e-7) == "1.5e-07");
  // Short decimals (written without the general shortest-digits search).
  CHECK(dbl(-0.25) == "-0.25");
  CHECK(dbl(19.99) == "19.99");
  CHECK(dbl(0.3) == "0.3");
  CHECK(dbl(0.1 + 0.2) == "0.30000000000000004");  // no short decimal reads back as it
  CHECK(dbl(100.0) == "100.0");
  CHECK(dbl(0.000123) == "0.000123");
  CHECK(dbl(0.0001234567) == "0.0001234567");
  CHECK(dbl(999999999999999.9) == "999999999999999.9");
  CHECK(dbl(123456.000001) == "123456.000001");
  CHECK(dbl(2.5e-5) == "2.5e-05");
  CHECK(dbl(-863066063226.4001) == "-863066063226.4001");  // ...4002 reads back too: repr takes the nearer
  net::json::Buffer out;
  CHECK_FALSE(net::json::append_double(out, std::nan("")));
  CHECK_FALSE(net::json::append_double(out, std::numeric_limits<double>::infinity()));
  CHECK_FALSE(net::json::append_double(out, -std::numeric_limits<double>::infinity()));
  CHECK(out.size() == 0);
}

TEST_CASE("json integers", "[core][json]") {
  net::json::Buffer out;
  net::json::append_int(out, std::numeric_limits<std::int64_t>::min());
  net::json::append_int(out, 0);
  CHECK(out.view() == "-92233720368547758080");
}

TEST_CASE("the fast clock tracks CLOCK_MONOTONIC from several threads", "[core][clock]") {
  // Over 200 ms (many re-anchors), every fast reading lies between the exact
  // readings taken just before and after it, give or take 20 microseconds.
  constexpr std::int64_t kSlackNs = 20'000;
  auto check = [] {
    std::int64_t worst = 0;
    const std::uint64_t end = net::monotonic_ns() + 200'000'000;
    while (true) {
      const std::uint64_t before = net::monotonic_ns();
      const std::uint64_t fast = net::fast_monotonic_ns();
      const std::uint64_t after = net::monotonic_ns();
      const std::int64_t early = static_cast<std::int64_t>(before) - static_cast<std::int64_t>(fast);
      const std::int64_t late = static_cast<std::int64_t>(fast) - static_cast<std::int64_t>(after);
      worst = std::max({worst, early, late});
      if (after > end) return worst;
    }
  };
  std::vector<std::int64_t> worst(3);
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < worst.size(); ++t) threads.emplace_back([&, t] { worst[t] = check(); });
  worst[0] = check();
  for (auto& thread : threads) thread.join();
  for (std::int64_t w : worst) CHECK(w < kSlackNs);
}

TEST_CASE("hex text: round trip, either case, and refusal of anything else", "[core][bytes]") {
  const net::Bytes bytes = {0x00, 0x01, 0xab, 0xff};
  CHECK(net::to_hex(bytes) == "0001abff");
  CHECK(net::from_hex("0001ABff") == bytes);
  CHECK(net::from_hex("")->empty());
  CHECK(net::to_hex({}).empty());
  CHECK_FALSE(net::from_hex("abc"));
  CHECK_FALSE(net::from_hex("zz"));
  CHECK_FALSE(net::from_hex("00 1"));
  CHECK_FALSE(net::from_hex("0x00"));
}

TEST_CASE("page buffers are zero-filled and writable, large ones sit on 2 MiB boundaries", "[core][pages]") {
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4097}, net::kHugePageSize - 1,
                                 net::kHugePageSize, net::kHugePageSize + 1, 3 * net::kHugePageSize}) {
    for (const bool populate : {false, true}) {
      INFO("size " << size << " populate " << populate);
      net::PageBuffer buffer = net::allocate_pages(size, populate);
      const auto address = reinterpret_cast<std::uintptr_t>(buffer.get());
      CHECK(address % 4096 == 0);
      if (size >= net::kHugePageSize) CHECK(address % net::kHugePageSize == 0);
      const std::size_t used = std::max<std::size_t>(size, 1);
      CHECK(std::all_of(buffer.get(), buffer.get() + used, [](char c) { return c == 0; }));
      std::fill(buffer.get(), buffer.get() + used, 'x');  // every byte writable
      CHECK(buffer[used - 1] == 'x');
    }
  }
}

TEST_CASE("a vector on PageAllocator keeps its elements across growth into huge pages", "[core][pages]") {
  std::vector<std::uint64_t, net::PageAllocator<std::uint64_t>> values;
  for (std::uint64_t i = 0; i < 1'000'000; ++i) values.push_back(i * 3);  // 8 MB: crosses 2 MiB twice
  CHECK(reinterpret_cast<std::uintptr_t>(values.data()) % net::kHugePageSize == 0);
  for (std::uint64_t i = 0; i < values.size(); i += 997) CHECK(values[i] == i * 3);
  values.erase(values.begin(), values.begin() + 500'000);
  CHECK(values.front() == 1'500'000);
  values.resize(10);
  values.shrink_to_fit();  // from pages back to the heap
  CHECK(values.back() == (500'000 + 9) * 3);
}

TEST_CASE("ChunkPool hands a chunk let go of out again, as it was left", "[core][pages]") {
  // Only the refill thread adds chunks besides release(), and it stops at a
  // few ready ones: a released chunk is among the next few acquired.
  auto& pool = net::ChunkPool::instance();
  const auto reacquired = [&](const char* wanted) {
    std::vector<net::PageBuffer> taken;
    bool found = false;
    for (int i = 0; i < 8 && !found; ++i) {
      taken.push_back(pool.acquire());
      found = taken.back().get() == wanted;
    }
    const bool kept_contents = found && taken.back()[100] == 0x5A;
    for (auto& chunk : taken) pool.release(std::move(chunk));
    return kept_contents;
  };
  net::PageBuffer chunk = pool.acquire();
  REQUIRE(reinterpret_cast<std::uintptr_t>(chunk.get()) % net::kHugePageSize == 0);
  chunk[100] = 0x5A;
  char* const address = chunk.get();
  pool.release(std::move(chunk));
  CHECK(reacquired(address));

  auto shared = pool.acquire_shared();
  shared[100] = 0x5A;
  auto second_owner = shared;
  auto* const shared_address = reinterpret_cast<char*>(shared.get());
  shared.reset();
  second_owner.reset();  // the last owner: back to the pool
  CHECK(reacquired(shared_address));

  char* block_address = nullptr;
  {
    std::vector<std::uint64_t, net::PageAllocator<std::uint64_t>> block;
    block.reserve(net::ChunkPool::kChunkSize / sizeof(std::uint64_t));  // exactly a chunk: the pool's
    block.push_back(0);
    block_address = reinterpret_cast<char*>(block.data());
    block_address[100] = 0x5A;
  }
  CHECK(reacquired(block_address));
}

TEST_CASE("a stopped ChunkPool still hands out chunks and unmaps what comes back", "[core][pages]") {
  // What a ring or file with static storage meets at exit: the process's pool has stopped.
  const auto mapped = [](const char* address) {
    unsigned char resident = 0;
    return mincore(const_cast<char*>(address), 4096, &resident) == 0;
  };
  net::ChunkPool pool;
  net::PageBuffer kept = pool.acquire();
  char* const kept_address = kept.get();
  pool.release(std::move(kept));
  REQUIRE(mapped(kept_address));
  pool.stop();
  pool.stop();                        // idempotent
  CHECK_FALSE(mapped(kept_address));  // what it kept is unmapped
  net::PageBuffer late = pool.acquire();
  REQUIRE(late != nullptr);
  late[net::ChunkPool::kChunkSize - 1] = 1;  // mapped, whole
  char* const late_address = late.get();
  pool.release(std::move(late));
  CHECK_FALSE(mapped(late_address));
  auto shared = pool.acquire_shared();
  auto* const shared_address = reinterpret_cast<char*>(shared.get());
  shared.reset();
  CHECK_FALSE(mapped(shared_address));
}

TEST_CASE("FreeListResource reuses freed blocks of a size and serves odd sizes and alignments", "[core][pool]") {
  net::FreeListResource pool;
  void* a = pool.allocate(40, 8);
  void* b = pool.allocate(48, 16);  // the same 48-byte class as 40
  CHECK(a != b);
  CHECK(reinterpret_cast<std::uintptr_t>(b) % 16 == 0);
  pool.deallocate(a, 40, 8);
  CHECK(pool.allocate(33, 8) == a);  // a free is a push, the next allocation of the class its pop
  void* other_class = pool.allocate(64, 8);
  CHECK(other_class != a);
  void* big = pool.allocate(4096, 64);  // beyond the pooled sizes and alignment: operator new
  CHECK(reinterpret_cast<std::uintptr_t>(big) % 64 == 0);
  pool.deallocate(big, 4096, 64);
  void* empty = pool.allocate(0, 1);
  CHECK(empty != nullptr);
  pool.deallocate(empty, 0, 1);
  CHECK(pool.is_equal(pool));
  net::FreeListResource another;
  CHECK_FALSE(pool.is_equal(another));
}

TEST_CASE("a hash map on FreeListResource survives churn across many slabs", "[core][pool]") {
  net::FreeListResource pool;
  std::pmr::unordered_map<std::uint64_t, std::pmr::string> map(&pool);
  std::map<std::uint64_t, std::string> expected;
  for (std::uint64_t round = 0; round < 4; ++round) {
    for (std::uint64_t i = 0; i < 20'000; ++i) {  // 64 KiB slabs: dozens of them
      const std::uint64_t key = (i * 7919 + round) % 30'000;
      std::string value = "value " + std::to_string(key * round) + std::string(i % 40, 'x');
      map.insert_or_assign(key, std::pmr::string(value, &pool));
      expected[key] = value;
      if (i % 3 == 0) {
        map.erase(key / 2);
        expected.erase(key / 2);
      }
    }
  }
  REQUIRE(map.size() == expected.size());
  for (const auto& [key, value] : expected) CHECK(std::string_view(map.at(key)) == value);
}
