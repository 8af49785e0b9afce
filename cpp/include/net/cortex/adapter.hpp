// A CortEX adapter: one RedEX file of events (the model's channel) folded
// into an in-memory map of records by a fold thread (REFERENCE §11.1).
// Writes append an event and return its RedEX sequence; wait_for_seq blocks
// until the fold has applied it. Queries filter and order the folded state;
// watchers follow a query's result as the state changes. The model type
// gives the records, the filter, the event folding and the record codec
// (TasksModel, MemoriesModel). Errors: Error(Cortex, "<op> failed: ...").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/core/bytes.hpp"
#include "net/core/free_list_resource.hpp"
#include "net/redex/redex.hpp"

namespace net::cortex {

// An adapter's state as snapshot() encodes it, and where folding resumes.
struct Snapshot {
  Bytes state;                            ///< postcard {app_seq, inner}, byte-compatible with the original
  std::optional<std::uint64_t> last_seq;  ///< the last event folded into it
};

// Records by id. Their nodes come from a free list rather than malloc: a
// node allocation, once the bulk of decoding a snapshot, is a pop.
template <class Record>
using RecordMap = std::pmr::unordered_map<std::uint64_t, Record>;

template <class Model>
class Adapter : public std::enable_shared_from_this<Adapter<Model>> {
 public:
  using Record = typename Model::Record;
  using Filter = typename Model::Filter;
  using State = RecordMap<Record>;

  // Follows one query: the result at subscription, then each changed result
  // (latest value: rapid changes may coalesce). Ends when closed or when the
  // adapter closes.
  class Watcher {
   public:
    enum class Status { Result, Timeout, Ended };
    Status next(std::vector<Record>& out, std::chrono::nanoseconds wait);
    void close();

   private:
    friend class Adapter;
    Watcher(std::shared_ptr<Adapter> adapter, Filter filter)
        : adapter_(std::move(adapter)), filter_(std::move(filter)) {}
    std::shared_ptr<Adapter> adapter_;
    Filter filter_;
    std::vector<Record> last_;  ///< the last result emitted, or the snapshot it started from
    std::uint64_t seen_version_ = 0;
    bool pending_ = false;  ///< last_ is still to be emitted
    bool closed_ = false;
  };

  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;
  virtual ~Adapter();

  Snapshot snapshot();
  // The same state encoded into the `size` bytes place(size) returns (a
  // binding's bytes object: no copy); the last seq folded into it.
  std::optional<std::uint64_t> snapshot_to(const std::function<std::uint8_t*(std::size_t)>& place);
  void wait_for_seq(std::uint64_t seq);
  // False when `timeout` passed first. Error(Cortex, "fold stopped at seq N")
  // when the fold stopped before `seq`.
  bool wait_for_seq(std::uint64_t seq, std::chrono::nanoseconds timeout);
  void close();  ///< idempotent: stops the fold, syncs a persistent file, ends watchers
  bool is_running() const;
  std::size_t count() const;
  std::vector<Record> list(const Filter& filter) const;
  // Calls `use` with the ordered matches while the state is locked for
  // reading (no copies; the pointers are valid only during the call).
  void with_matches(const Filter& filter, const std::function<void(std::span<const Record* const>)>& use) const;
  std::unique_ptr<Watcher> watch(const Filter& filter);
  // The result now and a watcher whose first emission is the first change after it.
  std::pair<std::vector<Record>, std::unique_ptr<Watcher>> snapshot_and_watch(const Filter& filter);

 protected:
  // Opens the model's file in `redex` and folds what it holds, from the
  // beginning or from a snapshot, before returning; then a thread folds
  // what is appended later.
  Adapter(redex::Redex& redex, std::uint64_t origin_hash, bool persistent, const Snapshot* from);
  // An event's buffer for this thread: begin it, write the tail, commit.
  static Bytes& begin_event();
  std::uint64_t commit_event(std::uint8_t dispatch, Bytes& event, const char* operation);
  // An event whose tail is `id` and, when given, `now_ns`.
  std::uint64_t commit_id_event(std::uint8_t dispatch, std::uint64_t id, std::optional<std::uint64_t> now_ns,
                                const char* operation);

 private:
  void restore(const Snapshot& from);
  void fold_batch(const std::vector<redex::Event>& batch);
  // Folds what the file holds beyond the fold (fold_mutex_ taken): Timeout
  // when caught up, Ended when the tail ended or the fold stopped.
  redex::Tail::Status fold_pending();
  void fold_loop();
  void stop_at(std::uint64_t seq, const std::string& why);  ///< the fold ends there (progress_mutex_ held)
  std::uint64_t folded_up_to() const;                       ///< folded_before_

  std::uint64_t origin_hash_;
  bool persistent_;
  std::shared_ptr<redex::RedexFile> file_;
  std::mutex fold_mutex_;  ///< one folder at a time: the fold thread or a wait_for_seq caller
  std::unique_ptr<redex::Tail> tail_;
  std::thread fold_thread_;
  std::uint64_t start_seq_ = 0;            ///< the first seq this adapter folds
  std::atomic<std::uint64_t> app_seq_{0};  ///< seq_or_ts of the next write

  mutable std::shared_mutex state_mutex_;
  FreeListResource state_pool_;  ///< state_'s nodes (state_mutex_ held to allocate)
  State state_{&state_pool_};

  // state_'s records in id order as of one version, built by the first
  // read after a change: the default order and snapshots need no sort.
  struct IdOrder {
    std::uint64_t version;
    std::vector<const Record*> records;
  };
  std::shared_ptr<const IdOrder> id_order() const;  ///< state_mutex_ held, shared or not
  mutable std::mutex id_order_mutex_;
  mutable std::shared_ptr<const IdOrder> id_order_;

  mutable std::mutex progress_mutex_;  ///< the fields below, and watchers' fields
  std::condition_variable progress_;   ///< folds, closes
  std::uint64_t folded_before_ = 0;    ///< every seq below it is folded
  std::optional<std::uint64_t> last_folded_;
  // +1 per fold batch that changed state_, while it holds state_mutex_ (so a
  // reader holding it sees a version that matches the state); watchers read
  // it under progress_mutex_, which the fold takes before notifying.
  std::atomic<std::uint64_t> version_{0};
  std::optional<std::uint64_t> stopped_at_;
  std::string stop_reason_;
  std::atomic<bool> stopped_{false};  ///< stopped_at_ is set: what writes check without the lock
  std::atomic<bool> closed_{false};
};

}  // namespace net::cortex
