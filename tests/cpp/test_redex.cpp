// redex/: append-only logs in memory and on disk: sequences, ranges,
// retention, tails, the original's validation, and recovery from real files
// that were torn, truncated or corrupted.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/core/error.hpp"
#include "net/core/hash.hpp"
#include "net/redex/redex.hpp"
#include "temp_dir.hpp"

using namespace net;
using namespace net::redex;
using namespace std::chrono_literals;

namespace {

ByteView view(std::string_view text) { return as_bytes(text); }

// prefix + i (not operator+, which GCC 12 at -O3 warns about falsely: -Wrestrict).
std::string numbered(std::string prefix, int i) {
  prefix += std::to_string(i);
  return prefix;
}

std::string text(const Event& event) {
  const ByteView bytes = event.payload.bytes();
  return {bytes.begin(), bytes.end()};
}

std::vector<std::uint64_t> seqs(const std::vector<Event>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& event : events) out.push_back(event.seq);
  return out;
}

FileOptions persistent(std::optional<std::uint64_t> every_n = std::nullopt) {
  FileOptions options;
  options.persistent = true;
  options.fsync_every_n = every_n;
  return options;
}

std::filesystem::path only_segment(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> found;
  for (const auto& item : std::filesystem::directory_iterator(directory)) found.push_back(item.path());
  REQUIRE(found.size() == 1);
  return found.front();
}

}  // namespace

TEST_CASE("redex: sequences from 0, ranges, batches and checksums", "[redex]") {
  Redex manager;
  auto file = manager.open_file("logs/a", {});
  CHECK(file->append(view("zero")) == 0);
  CHECK(file->append(view("one")) == 1);
  const std::vector<ByteView> batch = {view("two"), view("three"), view("")};
  CHECK(file->append_batch(batch) == 2u);
  CHECK_FALSE(file->append_batch({}).has_value());
  CHECK(file->size() == 5);
  const auto middle = file->read_range(1, 4);
  CHECK(seqs(middle) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(text(middle[2]) == "three");
  CHECK(middle[0].checksum() == (net::xxh3_64("one", 3) & 0x0FFFFFFF));  // the original's 28 bits
  CHECK(file->read_range(3, 3).empty());
  CHECK(seqs(file->read_range(4, 100)) == std::vector<std::uint64_t>{4});
  CHECK(manager.open_file("logs/a", {}) == file);  // the same file, whatever the options
}

TEST_CASE("redex: a closed file is the manager's no longer: its memory goes with the last handle", "[redex]") {
  Redex manager;
  auto file = manager.open_file("logs/closed", {});
  file->append(view("kept until the last handle goes"));
  file->close();
  const std::weak_ptr<RedexFile> watch = file;
  manager.open_file("logs/other", {});  // any open lets go of the closed files
  CHECK(file->size() == 1);             // a handle still reads what was retained
  file.reset();
  CHECK(watch.expired());
  auto reopened = manager.open_file("logs/closed", {});  // a fresh file under the old name
  CHECK(reopened->size() == 0);
  CHECK(reopened->append(view("again")) == 0);
}

TEST_CASE("redex: open_file validates in the original's order", "[redex]") {
  Redex manager;
  FileOptions both;
  both.fsync_every_n = 1;
  both.fsync_interval = 10ms;
  CHECK_THROWS_WITH(manager.open_file("", both), "channel name is empty");
  CHECK_THROWS_WITH(manager.open_file("ok", both), "fsync_every_n and fsync_interval_ms are mutually exclusive");
  FileOptions zero_n;
  zero_n.fsync_every_n = 0;
  CHECK_THROWS_WITH(manager.open_file("ok", zero_n), "fsync_every_n must be > 0");
  FileOptions zero_interval;
  zero_interval.fsync_interval = 0ms;
  CHECK_THROWS_WITH(manager.open_file("ok", zero_interval), "fsync_interval_ms must be > 0");
  CHECK_THROWS_WITH(manager.open_file("ok", persistent()),
                    "open_file: channel error: config.persistent=true requires Redex::with_persistent_dir(...)");
}

TEST_CASE("redex: retention by count, bytes and age, evicted seqs are skipped", "[redex]") {
  Redex manager;
  FileOptions by_count;
  by_count.retention_max_events = 3;
  auto counted = manager.open_file("count", by_count);
  for (int i = 0; i < 10; ++i) counted->append(view("x"));
  CHECK(seqs(counted->read_range(0, 100)) == std::vector<std::uint64_t>{7, 8, 9});

  FileOptions by_bytes;
  by_bytes.retention_max_bytes = 3 * (20 + 10);
  auto sized = manager.open_file("bytes", by_bytes);
  for (int i = 0; i < 5; ++i) sized->append(view("0123456789"));
  CHECK(sized->size() == 3);
  sized->append(view(std::string(100, 'x')));  // alone over the limit: only it would fit, and it does not
  CHECK(sized->size() == 0);

  FileOptions by_age;
  by_age.retention_max_age_ns = 50'000'000;
  auto aged = manager.open_file("age", by_age);
  aged->append(view("old"));
  std::this_thread::sleep_for(80ms);
  CHECK(aged->size() == 0);  // gone without another append
  aged->append(view("new"));
  CHECK(seqs(aged->read_range(0, 10)) == std::vector<std::uint64_t>{1});
}

TEST_CASE("redex: payloads stay intact through eviction, small and large mixed", "[redex]") {
  // Small payloads share chunks that retention frees as the front moves on;
  // large ones (over 32 KiB) are allocations of their own, between them.
  const auto payload_of = [](int i) {
    const std::size_t size = i % 7 == 0 ? 40'000 + i : static_cast<std::size_t>(i % 1000);
    return std::string(size, static_cast<char>('a' + i % 26)) + std::to_string(i);
  };
  Redex manager;
  FileOptions options;
  options.retention_max_events = 50;
  auto file = manager.open_file("mixed", options);
  const Event early = [&] {
    file->append(view(payload_of(0)));
    return file->read_range(0, 1).at(0);
  }();
  for (int i = 1; i < 20'000; ++i) {
    file->append(view(payload_of(i)));
    if (i % 997 != 0) continue;
    const auto retained = file->read_range(0, 1'000'000);
    REQUIRE(retained.size() == 50);
    for (const Event& event : retained) REQUIRE(text(event) == payload_of(static_cast<int>(event.seq)));
  }
  CHECK(text(early) == payload_of(0));  // evicted long ago, still readable through its reference
}

TEST_CASE("redex: an evicted large payload is freed while small ones still pack their chunk", "[redex]") {
  Redex manager;
  FileOptions options;
  options.retention_max_events = 2;
  auto file = manager.open_file("freed", options);
  file->append(view("small"));
  file->append(view(std::string(40'000, 'L')));  // a chunk of its own
  const Event large = file->read_range(1, 2).at(0);
  CHECK(large.payload.data.use_count() == 2);  // the file's and ours
  file->append(view("small again"));           // into the same packing chunk as the first
  file->append(view("and again"));             // evicts the large one
  CHECK(seqs(file->read_range(0, 10)) == std::vector<std::uint64_t>{2, 3});
  CHECK(large.payload.data.use_count() == 1);  // only ours: the file let its bytes go
  CHECK(text(large) == std::string(40'000, 'L'));
}

TEST_CASE("redex: the index crosses its 2 MiB blocks, evicting and reusing them", "[redex]") {
  // 65,536 events fill a block of the index: these files cross several,
  // and the retained one hands its front blocks back to the pool as it goes.
  Redex manager;
  const auto check_range = [](RedexFile& file, std::uint64_t from, std::uint64_t to) {
    const auto events = file.read_range(from, to);
    REQUIRE(events.size() == to - from);
    for (std::size_t i = 0; i < events.size(); ++i) {
      REQUIRE(events[i].seq == from + i);
      REQUIRE(text(events[i]) == numbered("e", static_cast<int>(from + i)));
    }
  };
  auto whole = manager.open_file("whole", {});
  for (int i = 0; i < 150'000; ++i) whole->append(view(numbered("e", i)));
  CHECK(whole->size() == 150'000);
  check_range(*whole, 65'530, 65'542);
  check_range(*whole, 131'060, 131'080);
  check_range(*whole, 149'990, 150'000);

  FileOptions options;
  options.retention_max_events = 70'000;
  auto kept = manager.open_file("kept", options);
  auto tail = kept->tail(250'000);
  for (int i = 0; i < 300'000; ++i) kept->append(view(numbered("e", i)));
  CHECK(kept->size() == 70'000);
  CHECK(kept->read_range(0, 230'000).empty());
  check_range(*kept, 230'000, 230'010);
  check_range(*kept, 262'140, 262'150);  // 4 x 65,536 appended: a block boundary
  check_range(*kept, 299'990, 300'000);
  const auto from = kept->read_from(262'144, 3);
  CHECK(seqs(from) == std::vector<std::uint64_t>{262'144, 262'145, 262'146});
  std::vector<Event> batch;
  REQUIRE(tail->next_batch(batch, 100'000, 0ms) == Tail::Status::Event);
  REQUIRE(batch.size() == 50'000);
  CHECK(batch.front().seq == 250'000);
  CHECK(text(batch.back()) == numbered("e", 299'999));
}

TEST_CASE("redex: a tail replays, follows, and ends with its file", "[redex]") {
  Redex manager;
  auto file = manager.open_file("tailed", {});
  for (int i = 0; i < 3000; ++i) file->append(view(numbered("e", i)));  // more than the original's 1024 buffer
  auto tail = file->tail(1);
  Event event;
  for (std::uint64_t expected = 1; expected < 3000; ++expected) {
    REQUIRE(tail->next(event, 0ns) == Tail::Status::Event);
    REQUIRE(event.seq == expected);
  }
  CHECK(tail->next(event, 10ms) == Tail::Status::Timeout);
  std::thread writer([&] {
    std::this_thread::sleep_for(20ms);
    file->append(view("live"));
  });
  REQUIRE(tail->next(event, 2s) == Tail::Status::Event);
  CHECK(text(event) == "live");
  writer.join();
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    file->close();
  });
  CHECK(tail->next(event, 5s) == Tail::Status::Ended);
  closer.join();
  CHECK_THROWS_WITH(file->append(view("x")), "file closed");
}

TEST_CASE("redex: a tail gets every event whether it spins or sleeps for it, and ends when closed", "[redex]") {
  // Gaps below the tail's spin budget (the tail spins and sees the append),
  // above it (the spin runs out and the tail sleeps), and long pauses.
  Redex manager;
  auto file = manager.open_file("hot", {});
  constexpr int kEvents = 3000;
  std::thread writer([&] {
    for (int i = 0; i < kEvents; ++i) {
      const auto gap = i % 500 == 499 ? std::chrono::microseconds(3000) : std::chrono::microseconds((i * 37) % 250);
      const auto until = std::chrono::steady_clock::now() + gap;
      while (std::chrono::steady_clock::now() < until) {
      }
      file->append(view(numbered("e", i)));
    }
  });
  auto tail = file->tail(0);
  Event event;
  for (int i = 0; i < kEvents; ++i) {
    REQUIRE(tail->next(event, 5s) == Tail::Status::Event);
    REQUIRE(event.seq == static_cast<std::uint64_t>(i));
    REQUIRE(text(event) == numbered("e", i));
  }
  writer.join();
  // Likely spinning when the close comes (its events came close together): the close ends it.
  std::thread closer([&] {
    std::this_thread::sleep_for(30us);
    file->close();
  });
  const auto start = std::chrono::steady_clock::now();
  CHECK(tail->next(event, 5s) == Tail::Status::Ended);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  closer.join();
}

TEST_CASE("redex: a tail from before the retained range is told it lagged", "[redex]") {
  Redex manager;
  FileOptions options;
  options.retention_max_events = 2;
  auto file = manager.open_file("lagging", options);
  auto early = file->tail(0);
  for (int i = 0; i < 5; ++i) file->append(view("x"));
  Event event;
  CHECK_THROWS_WITH(early->next(event, 0ns), "tail subscriber lagged; stream disconnected");
  CHECK(early->next(event, 0ns) == Tail::Status::Ended);
  auto current = file->tail(3);
  REQUIRE(current->next(event, 0ns) == Tail::Status::Event);
  CHECK(event.seq == 3);
  current->close();
  CHECK(current->next(event, 1s) == Tail::Status::Ended);
}

TEST_CASE("redex: a persistent file comes back with its seqs after a reopen", "[redex][disk]") {
  TempDir dir;
  {
    Redex manager(dir.path);
    auto file = manager.open_file("a/b", persistent(1));
    for (int i = 0; i < 100; ++i) file->append(view(numbered("payload-", i)));
    file->close();
  }
  Redex manager(dir.path);
  auto file = manager.open_file("a/b", persistent());
  REQUIRE(file->size() == 100);
  const auto events = file->read_range(42, 43);
  CHECK(text(events.at(0)) == "payload-42");
  CHECK(file->append(view("next")) == 100);
  CHECK(file->corrupt_records() == 0);
}

TEST_CASE("redex: the interval syncer, appenders, explicit syncs and close together keep every record",
          "[redex][disk]") {
  // The syncer's fdatasync runs without the file's lock, appends going on
  // meanwhile; sync() and close() still wait for what it covers.
  TempDir dir;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1500;
  {
    Redex manager(dir.path);
    FileOptions options;
    options.persistent = true;
    options.fsync_interval = 1ms;
    auto file = manager.open_file("busy", options);
    std::vector<std::thread> appenders;
    for (int t = 0; t < kThreads; ++t) {
      appenders.emplace_back([&, t] {
        const std::string payload(4096, static_cast<char>('a' + t));
        for (int i = 0; i < kPerThread; ++i) {
          file->append(view(payload));
          if (i % 100 == 99) file->sync();
        }
      });
    }
    for (auto& appender : appenders) appender.join();
    file->close();
    file->close();  // idempotent
  }
  Redex manager(dir.path);
  auto file = manager.open_file("busy", persistent());
  REQUIRE(file->size() == kThreads * kPerThread);
  CHECK(file->corrupt_records() == 0);
  std::array<int, kThreads> per_thread{};
  for (const Event& event : file->read_range(0, kThreads * kPerThread)) {
    const std::string payload = text(event);
    REQUIRE(payload.size() == 4096);
    REQUIRE(payload.find_first_not_of(payload.front()) == std::string::npos);
    ++per_thread.at(static_cast<std::size_t>(payload.front() - 'a'));
  }
  CHECK(per_thread == std::array<int, kThreads>{kPerThread, kPerThread, kPerThread, kPerThread});
}

TEST_CASE("redex: recovery cuts a torn tail and skips damaged records", "[redex][disk]") {
  TempDir dir;
  {
    Redex manager(dir.path);
    auto file = manager.open_file("log", persistent(1));
    for (int i = 0; i < 10; ++i) file->append(view(std::string(100, static_cast<char>('a' + i))));
  }
  const auto segment = only_segment(dir.path / "log");
  const auto size = std::filesystem::file_size(segment);

  SECTION("a torn last record is cut, and appends continue after the last whole one") {
    std::filesystem::resize_file(segment, size - 30);
    Redex manager(dir.path);
    auto file = manager.open_file("log", persistent());
    CHECK(file->size() == 9);
    CHECK(file->append(view("after")) == 9);
    file->close();
    Redex again(dir.path);
    CHECK(text(again.open_file("log", persistent())->read_range(9, 10).at(0)) == "after");
  }
  SECTION("a flipped payload byte loses that record only, counted") {
    std::fstream bytes(segment, std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekp(8 + 3 * 136 + 36 + 50);  // file header, three records, a header, into the payload
    bytes.put('!');
    bytes.close();
    Redex manager(dir.path);
    auto file = manager.open_file("log", persistent());
    CHECK(file->corrupt_records() == 1);
    const auto events = file->read_range(0, 100);
    CHECK(seqs(events) == std::vector<std::uint64_t>{0, 1, 2, 4, 5, 6, 7, 8, 9});
    for (const auto& event : events) CHECK(text(event) == std::string(100, static_cast<char>('a' + event.seq)));
  }
  SECTION("a flipped header byte: the reader resyncs on the next record") {
    std::fstream bytes(segment, std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekp(8 + 5 * 136 + 10);
    bytes.put('\x7f');
    bytes.close();
    Redex manager(dir.path);
    auto file = manager.open_file("log", persistent());
    CHECK(seqs(file->read_range(0, 100)) == std::vector<std::uint64_t>{0, 1, 2, 3, 4, 6, 7, 8, 9});
    CHECK(file->append(view("next")) == 10);
  }
  for (const std::uintmax_t cut : {std::uintmax_t{0}, std::uintmax_t{3}}) {
    DYNAMIC_SECTION("a segment cut to " << cut << " bytes, without its file header") {
      std::filesystem::resize_file(segment, cut);
      {
        Redex manager(dir.path);
        auto file = manager.open_file("log", persistent());
        CHECK(file->size() == 0);
        CHECK(file->corrupt_records() == 1);
        CHECK(file->append(view("fresh")) == 0);
      }
      Redex again(dir.path);
      const auto events = again.open_file("log", persistent())->read_range(0, 10);
      REQUIRE(events.size() == 1);
      CHECK(text(events[0]) == "fresh");
    }
  }
}

TEST_CASE("redex: retention deletes whole segments on disk", "[redex][disk]") {
  TempDir dir;
  Redex manager(dir.path);
  FileOptions options = persistent();
  options.retention_max_events = 10;
  auto file = manager.open_file("big", options);
  const std::string payload(1 << 20, 'x');
  for (int i = 0; i < 200; ++i) file->append(view(payload));  // 200 MiB through 64 MiB segments
  std::uintmax_t on_disk = 0;
  for (const auto& item : std::filesystem::directory_iterator(dir.path / "big")) on_disk += item.file_size();
  CHECK(on_disk < (2 * 64 + 16) << 20);
  file->close();
  Redex again(dir.path);
  auto reopened = again.open_file("big", options);
  CHECK(seqs(reopened->read_range(0, 1000)).front() == 190);
  CHECK(reopened->append(view("x")) == 200);
}
