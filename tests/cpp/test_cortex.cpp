// cortex/: postcard, EventMeta, the tasks and memories folds and queries,
// watchers, snapshots and NetDb bundles: byte vectors taken from the
// original's 0.18.0 package, persistent reopen, a corrupt event stopping
// the fold, and watchers racing concurrent writers.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "net/core/error.hpp"
#include "net/core/hash.hpp"
#include "net/cortex/event_meta.hpp"
#include "net/cortex/netdb.hpp"
#include "net/cortex/postcard.hpp"
#include "temp_dir.hpp"

using namespace net;
using namespace net::cortex;
using namespace std::chrono_literals;

namespace {

Bytes hex(std::string_view text) { return *from_hex(text); }

std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::vector<std::uint64_t> ids(const std::vector<Task>& tasks) {
  std::vector<std::uint64_t> out;
  for (const auto& task : tasks) out.push_back(task.id);
  return out;
}

}  // namespace

TEST_CASE("cortex: postcard varints, strings and options, strictly read", "[cortex]") {
  Bytes out;
  PostcardWriter writer(out);
  writer.varint(0);
  writer.varint(300);
  writer.varint(UINT64_MAX);
  writer.string("hé");
  writer.some();
  writer.boolean(true);
  CHECK(to_hex(out) ==
        "00ac02ffffffffffffffffff0103"
        "68c3a9"
        "0101");
  PostcardReader in(out);
  CHECK(in.varint("a") == 0);
  CHECK(in.varint("b") == 300);
  CHECK(in.varint("c") == UINT64_MAX);
  CHECK(in.string("d") == "hé");
  CHECK(in.option("e"));
  CHECK(in.boolean("f"));
  CHECK_NOTHROW(in.expect_end("x"));

  const Bytes overflow = hex("ffffffffffffffffff02");
  CHECK(message_of([&] { PostcardReader(overflow).varint("v"); }) == "varint overflow at v");
  const Bytes truncated = hex("80");
  CHECK(message_of([&] { PostcardReader(truncated).varint("v"); }) == "truncated at v");
  const Bytes long_string = hex("0561");
  CHECK(message_of([&] { PostcardReader(long_string).string("s"); }) == "length 5 past the end at s");
  const Bytes bad_utf8 = hex("01ff");
  CHECK(message_of([&] { PostcardReader(bad_utf8).string("s"); }) == "invalid UTF-8 at s");
  const Bytes bad_option = hex("02");
  CHECK(message_of([&] { PostcardReader(bad_option).option("o"); }) == "invalid Option tag 2 at o");
  const Bytes trailing = hex("0000");
  PostcardReader rest(trailing);
  rest.varint("v");
  CHECK(message_of([&] { rest.expect_end("bundle"); }) == "1 trailing bytes after bundle");
}

TEST_CASE("cortex: varints read alike with ten or more bytes left (inline) and near the end", "[cortex]") {
  const Bytes padding = hex("7f7f7f7f7f7f7f7f7f7f");
  for (const std::uint64_t value :
       {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, std::uint64_t{300}, std::uint64_t{1} << 35,
        (std::uint64_t{1} << 63) - 1, std::uint64_t{1} << 63, UINT64_MAX}) {
    INFO("value " << value);
    Bytes out;
    PostcardWriter(out).varint(value);
    const std::size_t width = out.size();
    out.insert(out.end(), padding.begin(), padding.end());
    PostcardReader in(out);
    CHECK(in.varint("v") == value);
    CHECK(in.varint("next") == 0x7f);  // the varint ended where it should
    Bytes alone(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(width));
    CHECK(PostcardReader(alone).varint("v") == value);
  }
  for (const char* bad : {"ffffffffffffffffff02", "ffffffffffffffffffff", "ffffffffffffffffff8001"}) {
    Bytes overlong = hex(bad);
    overlong.insert(overlong.end(), padding.begin(), padding.end());
    CHECK(message_of([&] { PostcardReader(overlong).varint("v"); }) == "varint overflow at v");
  }
}

TEST_CASE("cortex: events are byte for byte the original's, checksums v2 and v1 accepted", "[cortex]") {
  // tasks.create(7, "hi", 100) by origin 0xAB, the adapter's first write, from 0.18.0.
  const Bytes original = hex("01000000ab000000000000000000000000000000f073e9260702686964");
  Bytes event;
  begin_event(event);
  PostcardWriter tail(event);
  tail.varint(7);
  tail.string("hi");
  tail.varint(100);
  seal_event(event, {0x01, 0, 0xAB, 0});
  CHECK(event == original);

  const OpenedEvent opened = open_event(original);
  CHECK(opened.meta.dispatch == 0x01);
  CHECK(opened.meta.origin_hash == 0xAB);
  CHECK(opened.tail.size() == 5);

  Bytes v1 = original;  // legacy checksum: over the tail alone
  store_le<std::uint32_t>(v1.data() + 20, static_cast<std::uint32_t>(xxh3_64(v1.data() + 24, v1.size() - 24)));
  CHECK_NOTHROW(open_event(v1));
  Bytes flipped = original;
  flipped.back() ^= 1;
  CHECK(message_of([&] { open_event(flipped); }) == "checksum mismatch");
  CHECK(message_of([&] { open_event(ByteView(original).first(23)); }) == "short event");
}

TEST_CASE("cortex: tasks fold, filter and order", "[cortex]") {
  redex::Redex redex;
  auto tasks = TasksAdapter::open(redex, 1, false);
  CHECK(tasks->create(1, "Write the Report", 100) == 0);
  tasks->create(2, "read école notes", 200);
  tasks->create(3, "ship", 300);
  tasks->rename(3, "Ship it", 350);
  tasks->complete(2, 400);
  tasks->rename(99, "nobody", 500);  // unknown ids change nothing
  tasks->complete(98, 500);
  tasks->wait_for_seq(tasks->remove(97));
  CHECK(tasks->count() == 3);

  TaskFilter all;
  const auto listed = tasks->list(all);
  REQUIRE(listed.size() == 3);
  CHECK(listed[2] == Task{3, "Ship it", TaskStatus::Pending, 300, 350});
  CHECK(listed[1].status == TaskStatus::Completed);

  TaskFilter pending;
  pending.status = TaskStatus::Pending;
  CHECK(ids(tasks->list(pending)) == std::vector<std::uint64_t>{1, 3});
  TaskFilter text;
  text.title_contains = lowercase("ÉCOLE");
  CHECK(ids(tasks->list(text)) == std::vector<std::uint64_t>{2});
  TaskFilter window;  // inclusive bounds
  window.times.created_after_ns = 200;
  window.times.updated_before_ns = 350;
  CHECK(ids(tasks->list(window)) == std::vector<std::uint64_t>{3});
  TaskFilter newest;
  newest.order_by = OrderBy::UpdatedDesc;
  newest.limit = 2;
  CHECK(ids(tasks->list(newest)) == std::vector<std::uint64_t>{2, 3});
  newest.limit = 0;
  CHECK(tasks->list(newest).empty());

  tasks->wait_for_seq(tasks->remove(1));
  CHECK(tasks->count() == 2);
  CHECK(parse_order_by("Created_DESC") == OrderBy::CreatedDesc);
  CHECK_FALSE(parse_order_by("newest"));
  CHECK(parse_task_status("COMPLETED") == TaskStatus::Completed);
}

TEST_CASE("cortex: memories fold and every filter", "[cortex]") {
  redex::Redex redex;
  auto memories = MemoriesAdapter::open(redex, 1, false);
  const std::vector<std::string> ab{"a", "b"}, b{"b"}, c{"c"};
  memories->store(1, "First Note", ab, "chat", 10);
  memories->store(2, "second", b, "mail", 20);
  memories->store(3, "third", c, "chat", 30);
  memories->pin(2, 40);
  memories->retag(3, ab, 50);
  memories->store(1, "first, edited", c, "chat", 60);  // overwrite keeps created_ns and pinned
  memories->wait_for_seq(memories->unpin(3, 70));

  MemoryFilter all;
  const auto listed = memories->list(all);
  REQUIRE(listed.size() == 3);
  CHECK(listed[0] == Memory{1, "first, edited", c, "chat", 10, 60, false});
  CHECK(listed[1].pinned);
  CHECK(listed[2].tags == ab);

  const auto only = [&](auto set) {
    MemoryFilter filter;
    set(filter);
    std::vector<std::uint64_t> out;
    for (const auto& memory : memories->list(filter)) out.push_back(memory.id);
    return out;
  };
  using Ids = std::vector<std::uint64_t>;
  CHECK(only([](MemoryFilter& f) { f.source = "chat"; }) == Ids{1, 3});
  CHECK(only([](MemoryFilter& f) { f.content_contains = "FIRST"; }) == Ids{});  // needles are lowercase already
  CHECK(only([](MemoryFilter& f) { f.content_contains = "first"; }) == Ids{1});
  CHECK(only([](MemoryFilter& f) { f.tag = "b"; }) == Ids{2, 3});
  CHECK(only([](MemoryFilter& f) { f.any_tag = {"c", "zz"}; }) == Ids{1});
  CHECK(only([](MemoryFilter& f) { f.all_tags = {"a", "b"}; }) == Ids{3});
  CHECK(only([](MemoryFilter& f) { f.pinned = true; }) == Ids{2});
  CHECK(only([](MemoryFilter& f) { f.times.updated_after_ns = 60; }) == Ids{1, 3});
  CHECK(only([](MemoryFilter& f) { f.order_by = OrderBy::CreatedDesc; }) == Ids{3, 2, 1});

  memories->wait_for_seq(memories->remove(2));
  CHECK(memories->count() == 2);
}

TEST_CASE("cortex: snapshots are the original's bytes and resume after last_seq", "[cortex]") {
  // 0.18.0: create(7,"hi",100), complete(7,200), create(300,"x",5) -> snapshot.
  const Bytes original =
      hex("031302070702686901"
          "64c801ac02ac02017800"
          "0505");
  redex::Redex redex;
  {
    // Events 0..2 of the file are the snapshot's history: folding resumes at 3.
    auto writer = TasksAdapter::open(redex, 0xAB, false);
    for (int i = 0; i < 3; ++i) writer->create(1000 + i, "before", 1);
  }
  auto tasks = TasksAdapter::open_from_snapshot(redex, 0xAB, {original, 2}, false);
  CHECK(tasks->count() == 2);
  CHECK(tasks->list({})[0] == Task{7, "hi", TaskStatus::Completed, 100, 200});
  const Snapshot again = tasks->snapshot();
  CHECK(again.state == original);
  CHECK(again.last_seq == 2);
  tasks->wait_for_seq(tasks->create(4, "after", 9));
  CHECK(ids(tasks->list({})) == std::vector<std::uint64_t>{4, 7, 300});
  CHECK(tasks->snapshot().last_seq == 3);

  // Restored over a fresh file, the new events start at seq 0 and are folded.
  redex::Redex fresh;
  auto elsewhere = TasksAdapter::open_from_snapshot(fresh, 0xAB, {original, 2}, false);
  elsewhere->wait_for_seq(elsewhere->create(5, "new", 1));
  CHECK(ids(elsewhere->list({})) == std::vector<std::uint64_t>{5, 7, 300});

  redex::Redex empty_redex;
  CHECK(TasksAdapter::open(empty_redex, 1, false)->snapshot().state == hex("000100"));

  const auto bad = [&](std::string_view bytes) {
    return message_of([&] { TasksAdapter::open_from_snapshot(redex, 1, {hex(bytes), std::nullopt}, false); });
  };
  CHECK(bad("0302") == "TasksAdapter open_from_snapshot failed: length 2 past the end at state");
  CHECK(bad("00020101") == "TasksAdapter open_from_snapshot failed: truncated at task id");
  CHECK(bad("00080102010161000101") == "TasksAdapter open_from_snapshot failed: snapshot entry 2 holds id 1");
  CHECK(bad("000100ff") == "TasksAdapter open_from_snapshot failed: 1 trailing bytes after snapshot");

  // Memories from 0.18.0: store(5,"c",["a","b"],"src",9), pin(5,10).
  const Bytes memories =
      hex("021101050501630201610162037372630"
          "90a01");
  auto restored = MemoriesAdapter::open_from_snapshot(redex, 0xAB, {memories, 1}, false);
  CHECK(restored->list({})[0] == Memory{5, "c", {"a", "b"}, "src", 9, 10, true});
  CHECK(restored->snapshot().state == memories);
}

TEST_CASE("cortex: persistent adapters replay on reopen and keep counting their writes", "[cortex]") {
  TempDir dir("net-cortex");
  {
    redex::Redex redex(dir.path);
    auto tasks = TasksAdapter::open(redex, 5, true);
    for (std::uint64_t id = 0; id < 100; ++id) tasks->create(id, "t", id);
    tasks->complete(7, 1000);
    tasks->close();
    tasks->close();
    CHECK_FALSE(tasks->is_running());
    CHECK(message_of([&] { tasks->create(1, "x", 1); }) == "create failed: adapter closed");
  }
  redex::Redex redex(dir.path);
  auto tasks = TasksAdapter::open(redex, 5, true);
  CHECK(tasks->count() == 100);  // folded before open returned
  CHECK(tasks->list({})[7].status == TaskStatus::Completed);
  tasks->create(500, "after restart", 1);
  const Snapshot snapshot = tasks->snapshot();
  CHECK(PostcardReader(snapshot.state).varint("app_seq") == 102);  // past the 101 replayed writes of this origin

  redex::Redex in_memory;
  CHECK(message_of([&] { TasksAdapter::open(in_memory, 1, true); }) ==
        "TasksAdapter open failed: redex: channel error: config.persistent=true requires "
        "Redex::with_persistent_dir(...)");
}

TEST_CASE("cortex: a corrupt event stops the fold, writes and waits say where", "[cortex]") {
  redex::Redex redex;
  auto tasks = TasksAdapter::open(redex, 1, false);
  tasks->wait_for_seq(tasks->create(1, "ok", 1));
  const std::string garbage = "not an event at all, 24+ bytes long";
  const std::uint64_t bad = redex.open_file("cortex/tasks", {})->append(as_bytes(garbage));
  CHECK(message_of([&] { tasks->wait_for_seq(bad); }) == "fold stopped at seq 1: checksum mismatch");
  CHECK_FALSE(tasks->is_running());
  CHECK(message_of([&] { tasks->create(2, "x", 1); }) == "create failed: fold stopped at seq 1: checksum mismatch");
  CHECK(tasks->count() == 1);
  CHECK_NOTHROW(tasks->wait_for_seq(0));
}

TEST_CASE("cortex: watchers emit changes only and end with the adapter", "[cortex]") {
  redex::Redex redex;
  auto tasks = TasksAdapter::open(redex, 1, false);
  tasks->create(1, "a", 1);
  tasks->wait_for_seq(tasks->create(2, "b", 2));
  TaskFilter pending;
  pending.status = TaskStatus::Pending;
  auto watcher = tasks->watch(pending);
  std::vector<Task> seen;
  REQUIRE(watcher->next(seen, 1s) == TasksAdapter::Watcher::Status::Result);
  CHECK(ids(seen) == std::vector<std::uint64_t>{1, 2});
  tasks->wait_for_seq(tasks->rename(99, "nobody", 3));  // no change to the result
  CHECK(watcher->next(seen, 50ms) == TasksAdapter::Watcher::Status::Timeout);
  tasks->complete(1, 4);
  REQUIRE(watcher->next(seen, 1s) == TasksAdapter::Watcher::Status::Result);
  CHECK(ids(seen) == std::vector<std::uint64_t>{2});

  auto [snapshot, follower] = tasks->snapshot_and_watch(pending);
  CHECK(ids(snapshot) == std::vector<std::uint64_t>{2});
  CHECK(follower->next(seen, 20ms) == TasksAdapter::Watcher::Status::Timeout);  // equal first emission dropped
  tasks->create(3, "c", 5);
  REQUIRE(follower->next(seen, 1s) == TasksAdapter::Watcher::Status::Result);
  CHECK(ids(seen) == std::vector<std::uint64_t>{2, 3});

  REQUIRE(watcher->next(seen, 1s) == TasksAdapter::Watcher::Status::Result);
  CHECK(ids(seen) == std::vector<std::uint64_t>{2, 3});
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    tasks->close();
  });
  CHECK(watcher->next(seen, 10s) == TasksAdapter::Watcher::Status::Ended);
  closer.join();
  follower->close();
  CHECK(follower->next(seen, 1s) == TasksAdapter::Watcher::Status::Ended);
}

TEST_CASE("cortex: concurrent writers, watchers see monotone, distinct, final results", "[cortex]") {
  redex::Redex redex;
  auto tasks = TasksAdapter::open(redex, 1, false);
  constexpr int kWriters = 4, kEach = 2000;
  std::atomic<int> started{0};
  std::vector<std::thread> writers;
  auto [snapshot, watcher] = tasks->snapshot_and_watch({});
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      ++started;
      for (int i = 0; i < kEach; ++i) tasks->create(static_cast<std::uint64_t>(w * kEach + i), "t", 1);
    });
  }
  std::size_t previous = snapshot.size();
  std::vector<Task> seen;
  while (previous < kWriters * kEach) {
    REQUIRE(watcher->next(seen, 10s) == TasksAdapter::Watcher::Status::Result);
    CHECK(seen.size() > previous);  // creates only: each emission strictly grows
    previous = seen.size();
  }
  for (auto& writer : writers) writer.join();
  CHECK(tasks->count() == kWriters * kEach);
  CHECK(watcher->next(seen, 50ms) == TasksAdapter::Watcher::Status::Timeout);
}

TEST_CASE("cortex: NetDb bundles are the original's bytes", "[cortex]") {
  NetDbOptions options;
  options.origin_hash = 1;
  options.with_tasks = true;
  NetDb db(options);
  REQUIRE(db.tasks());
  CHECK_FALSE(db.memories());
  db.tasks()->wait_for_seq(db.tasks()->create(1, "a", 2));
  const Bytes bundle = db.snapshot();
  CHECK(to_hex(bundle) == "010a01080101010161000202010000");

  options.with_memories = true;  // absent from the bundle: opened fresh
  NetDb restored(bundle, options);
  CHECK(restored.tasks()->count() == 1);
  CHECK(restored.memories()->count() == 0);
  restored.close();
  restored.close();

  CHECK(message_of([&] { NetDb(hex("05"), options); }) == "decode bundle: invalid Option tag 5 at tasks");
  CHECK(message_of([&] { NetDb(hex("000000"), options); }) == "decode bundle: 1 trailing bytes after bundle");
}
