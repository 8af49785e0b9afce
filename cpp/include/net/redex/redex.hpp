// RedEX: named append-only logs (API.md §7, REFERENCE §10). A Redex manager
// opens files by channel name; a RedexFile assigns contiguous sequence
// numbers from 0, keeps its retained events in memory, and, when persistent,
// writes each append to its segment log (docs/storage.md) with the chosen
// fsync policy. Retention (count, bytes, age) is enforced. Tails replay the
// retained events from a sequence, then follow new appends. Thread-safe.
// Errors: Error(Redex, "<detail>") in the original's texts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/core/bytes.hpp"

namespace net::redex {

struct FileOptions {
  bool persistent = false;
  std::optional<std::uint64_t> fsync_every_n;  ///< fdatasync before the n-th append returns
  std::optional<std::chrono::milliseconds> fsync_interval;
  std::optional<std::uint64_t> retention_max_events;
  std::optional<std::uint64_t> retention_max_bytes;  ///< counted as 20 + payload bytes per event
  std::optional<std::uint64_t> retention_max_age_ns;
};

// A payload in one allocation, shared by the file and its readers.
struct Payload {
  std::shared_ptr<const std::uint8_t[]> data;
  std::size_t size = 0;
  ByteView bytes() const noexcept { return {data.get(), size}; }
};

struct Event {
  std::uint64_t seq = 0;
  Payload payload;
  std::uint32_t checksum() const noexcept;  ///< low 28 bits of xxh3_64(payload), computed when asked
};

class RedexFile;

// Follows a file from a sequence: the retained events first, then new ones.
class Tail {
 public:
  enum class Status { Event, Timeout, Ended };
  // The next event, waiting up to `wait`. Ended once the tail or its file
  // is closed. Throws Error(Redex, "tail subscriber lagged; stream
  // disconnected") when events it has not read were evicted by retention.
  Status next(Event& out, std::chrono::nanoseconds wait);
  // Up to `max` events at once (replacing `out`), as next() waits and fails;
  // with max 0, Event says one is there without taking it.
  Status next_batch(std::vector<Event>& out, std::size_t max, std::chrono::nanoseconds wait);
  void close();

 private:
  friend class RedexFile;
  Tail(std::shared_ptr<RedexFile> file, std::uint64_t from_seq) : file_(std::move(file)), next_seq_(from_seq) {}
  // Before sleeping, a tail whose events come close together spins (see
  // next_batch) until the file has an event from `next_seq` on, closes, or
  // `until` passes.
  void spin_for_append(std::uint64_t next_seq, std::chrono::steady_clock::time_point until) const;
  std::shared_ptr<RedexFile> file_;
  std::uint64_t next_seq_;
  bool closed_ = false;
  bool hot_ = false;  ///< the last event waited for came within the spin budget: spin before the next sleep
};

class RedexFile : public std::enable_shared_from_this<RedexFile> {
 public:
  static constexpr std::uint64_t kMaxPayload = 3ull << 30;  ///< the original's segment capacity

  // Opens the file; a persistent one recovers its log from `directory`.
  static std::shared_ptr<RedexFile> open(const std::string& name, const FileOptions& options,
                                         const std::optional<std::filesystem::path>& directory);
  ~RedexFile();
  RedexFile(const RedexFile&) = delete;
  RedexFile& operator=(const RedexFile&) = delete;

  std::uint64_t append(ByteView payload);
  std::optional<std::uint64_t> append_batch(std::span<const ByteView> payloads);  ///< nullopt when empty
  std::vector<Event> read_range(std::uint64_t start, std::uint64_t end);          ///< [start, end), retained only
  std::vector<Event> read_from(std::uint64_t start, std::size_t count);           ///< up to count with seq >= start
  std::size_t size();
  std::uint64_t next_seq();  ///< the seq the next append gets
  std::unique_ptr<Tail> tail(std::uint64_t from_seq);
  void sync();
  void close();                           ///< idempotent; fsyncs; ends the tails
  bool closed() const noexcept;           ///< without the file's lock (which a sync may hold)
  std::uint64_t corrupt_records() const;  ///< records recovery skipped as damaged
  const std::string& name() const noexcept { return name_; }
  bool persistent() const noexcept { return persistent_; }  ///< its appends make system calls

 private:
  friend class Tail;
  struct State;
  RedexFile(std::string name, const FileOptions& options);

  std::string name_;
  bool persistent_;
  std::unique_ptr<State> state_;
  std::atomic<bool> closed_{false};  ///< mirrors the state's flag, set under its lock
};

class Redex {
 public:
  explicit Redex(std::optional<std::filesystem::path> persistent_dir = std::nullopt);
  ~Redex();

  // Validates in the original's order (the bare channel-name reason; the
  // two fsync options; zeros), then opens, or returns the file already open
  // under `name` (its options stay).
  std::shared_ptr<RedexFile> open_file(const std::string& name, const FileOptions& options);
  const std::optional<std::filesystem::path>& persistent_dir() const noexcept { return dir_; }

 private:
  std::optional<std::filesystem::path> dir_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RedexFile>> files_;
};

}  // namespace net::redex
