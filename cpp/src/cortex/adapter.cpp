#include "net/cortex/adapter.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

#include "net/core/error.hpp"
#include "net/cortex/event_meta.hpp"
#include "net/cortex/memories.hpp"
#include "net/cortex/postcard.hpp"
#include "net/cortex/tasks.hpp"

namespace net::cortex {
namespace {

constexpr std::size_t kFoldBatch = 4096;                      ///< events applied under one lock
constexpr auto kFoldWait = std::chrono::milliseconds(100);    ///< how long the fold thread sleeps between checks
constexpr auto kFoldGather = std::chrono::microseconds(200);  ///< the most a watcher waits for a busy fold
constexpr auto kPersistentFsync = std::chrono::milliseconds(100);

[[noreturn]] void fail(const char* operation, const std::string& detail) {
  throw Error(ErrorKind::Cortex, std::string(operation) + " failed: " + detail);
}

}  // namespace

template <class Model>
Adapter<Model>::Adapter(redex::Redex& redex, std::uint64_t origin_hash, bool persistent, const Snapshot* from)
    : origin_hash_(origin_hash), persistent_(persistent) {
  const std::string operation = std::string(Model::kAdapter) + (from ? " open_from_snapshot" : " open");
  try {
    if (from) restore(*from);
    if (persistent && !redex.persistent_dir()) {
      throw Error(ErrorKind::Cortex,
                  "redex: channel error: config.persistent=true requires Redex::with_persistent_dir(...)");
    }
    redex::FileOptions options;
    options.persistent = persistent;
    if (persistent) options.fsync_interval = kPersistentFsync;
    try {
      file_ = redex.open_file(Model::kChannel, options);
    } catch (const Error& e) {
      throw Error(ErrorKind::Cortex, std::string("redex: ") + e.what());
    }
    // A snapshot taken from a longer history than this file (a fresh
    // in-memory file, say) resumes at the file's end: its new events are
    // not the snapshot's.
    start_seq_ = folded_before_ = std::min(start_seq_, file_->next_seq());
    tail_ = file_->tail(start_seq_);
    fold_pending();  // what the file holds already is folded before open returns
    if (stopped_at_) throw Error(ErrorKind::Cortex, stop_reason_);
  } catch (const Error& e) {
    fail(operation.c_str(), e.what());
  }
  fold_thread_ = std::thread([this] { fold_loop(); });
}

template <class Model>
Adapter<Model>::~Adapter() {
  try {
    close();
  } catch (const Error&) {
    // Nobody is left to tell: the file keeps what reached it.
  }
}

template <class Model>
void Adapter<Model>::restore(const Snapshot& from) {
  PostcardReader outer(from.state);
  const std::uint64_t app_seq = outer.varint("app_seq");
  PostcardReader inner(outer.bytes("state"));
  outer.expect_end("snapshot");
  const std::size_t count = inner.count("entries");
  state_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t key = inner.varint("entry key");
    Record record = Model::read(inner);
    if (record.id != key) {
      throw Error(ErrorKind::Cortex,
                  "snapshot entry " + std::to_string(key) + " holds id " + std::to_string(record.id));
    }
    state_.insert_or_assign(key, std::move(record));
  }
  inner.expect_end("snapshot state");
  app_seq_ = app_seq;
  last_folded_ = from.last_seq;
  start_seq_ = folded_before_ = from.last_seq ? *from.last_seq + 1 : 0;
}

template <class Model>
void Adapter<Model>::fold_batch(const std::vector<redex::Event>& batch) {
  std::optional<std::uint64_t> failed_at;
  std::string failure;
  std::uint64_t folded = 0;
  bool changed = false;
  {
    std::unique_lock lock(state_mutex_);
    for (const redex::Event& event : batch) {
      try {
        const OpenedEvent opened = open_event(event.payload.bytes());
        PostcardReader tail(opened.tail);
        changed |= Model::apply(state_, opened.meta.dispatch, tail);
        if (opened.meta.origin_hash == origin_hash_) {  // a restart continues after its own events
          std::uint64_t next = app_seq_.load();
          while (next <= opened.meta.seq_or_ts && !app_seq_.compare_exchange_weak(next, opened.meta.seq_or_ts + 1)) {
          }
        }
      } catch (const Error& e) {
        failed_at = event.seq;
        failure = e.what();
        break;
      }
      ++folded;
    }
    if (changed) ++version_;  // under the state lock: id_order() readers see it with the change
  }
  {
    std::lock_guard lock(progress_mutex_);
    if (folded > 0) {
      last_folded_ = batch[folded - 1].seq;
      folded_before_ = *last_folded_ + 1;
    }
    if (failed_at) {
      stop_at(*failed_at, failure);
    }
  }
  progress_.notify_all();
}

template <class Model>
void Adapter<Model>::stop_at(std::uint64_t seq, const std::string& why) {
  stopped_at_ = seq;
  stop_reason_ = "fold stopped at seq " + std::to_string(seq) + ": " + why;
  stopped_ = true;
}

template <class Model>
redex::Tail::Status Adapter<Model>::fold_pending() {
  std::lock_guard fold(fold_mutex_);
  std::vector<redex::Event> batch;
  for (;;) {
    redex::Tail::Status status;
    try {
      status = tail_->next_batch(batch, kFoldBatch, std::chrono::nanoseconds(0));
    } catch (const Error& e) {  // the file's retention evicted events not folded yet
      {
        std::lock_guard lock(progress_mutex_);
        stop_at(folded_before_, e.what());
      }
      progress_.notify_all();
      return redex::Tail::Status::Ended;
    }
    if (status != redex::Tail::Status::Event) return status;
    fold_batch(batch);
    std::lock_guard lock(progress_mutex_);
    if (stopped_at_) return redex::Tail::Status::Ended;
  }
}

template <class Model>
void Adapter<Model>::fold_loop() {
  std::vector<redex::Event> none;
  for (;;) {
    const std::uint64_t before = folded_up_to();
    if (fold_pending() == redex::Tail::Status::Ended) break;
    if (folded_up_to() != before) {
      // Writes are coming: let them gather for a moment rather than have
      // each append wake this thread (waiters fold for themselves).
      std::this_thread::sleep_for(kFoldGather);
      continue;
    }
    if (tail_->next_batch(none, 0, kFoldWait) == redex::Tail::Status::Ended) break;  // sleeps until the file has more
  }
  // The file closed under us: nothing more will be folded.
  std::lock_guard lock(progress_mutex_);
  if (!stopped_at_ && !closed_) stop_at(folded_before_, "redex: file closed");
  progress_.notify_all();
}

template <class Model>
Bytes& Adapter<Model>::begin_event() {
  thread_local Bytes event;
  cortex::begin_event(event);
  return event;
}

template <class Model>
std::uint64_t Adapter<Model>::commit_event(std::uint8_t dispatch, Bytes& event, const char* operation) {
  if (closed_) fail(operation, "adapter closed");
  if (stopped_) {
    std::lock_guard lock(progress_mutex_);
    fail(operation, stop_reason_);
  }
  seal_event(event, {dispatch, 0, origin_hash_, app_seq_.fetch_add(1)});
  try {
    return file_->append(event);
  } catch (const Error& e) {
    fail(operation, std::string("redex: ") + e.what());
  }
}

template <class Model>
std::uint64_t Adapter<Model>::commit_id_event(std::uint8_t dispatch, std::uint64_t id,
                                              std::optional<std::uint64_t> now_ns, const char* operation) {
  Bytes& event = begin_event();
  PostcardWriter tail(event);
  tail.varint(id);
  if (now_ns) tail.varint(*now_ns);
  return commit_event(dispatch, event, operation);
}

template <class Model>
auto Adapter<Model>::id_order() const -> std::shared_ptr<const IdOrder> {
  std::lock_guard lock(id_order_mutex_);
  const std::uint64_t version = version_.load();
  if (id_order_ && id_order_->version == version) return id_order_;
  auto fresh = std::make_shared<IdOrder>();
  fresh->version = version;
  fresh->records.reserve(state_.size());
  for (const auto& [id, record] : state_) fresh->records.push_back(&record);
  std::sort(fresh->records.begin(), fresh->records.end(),
            [](const Record* a, const Record* b) { return a->id < b->id; });
  id_order_ = std::move(fresh);
  return id_order_;
}

template <class Model>
Snapshot Adapter<Model>::snapshot() {
  Snapshot out;
  out.last_seq = snapshot_to([&](std::size_t size) {
    out.state.resize(size);
    return out.state.data();
  });
  return out;
}

template <class Model>
std::optional<std::uint64_t> Adapter<Model>::snapshot_to(const std::function<std::uint8_t*(std::size_t)>& place) {
  std::shared_lock state_lock(state_mutex_);
  const auto by_id = id_order();
  const std::vector<const Record*>& records = by_id->records;
  // postcard {app_seq, bytes(inner)}, inner = {count, (id, record)...}:
  // sized first, then written in place (appending to a vector cost more
  // than the encoding itself).
  const auto write_inner = [&](auto& writer) {
    writer.varint(records.size());
    for (const Record* record : records) {
      writer.varint(record->id);
      Model::write(writer, *record);
    }
  };
  PostcardSizer inner;
  write_inner(inner);
  const std::uint64_t app_seq = app_seq_.load();
  PostcardSizer header;
  header.varint(app_seq);
  header.varint(inner.size());
  std::uint8_t* const start = place(header.size() + inner.size());
  PostcardPlacer placer(start);
  placer.varint(app_seq);
  placer.varint(inner.size());
  write_inner(placer);
  assert(placer.end() == start + header.size() + inner.size());  // the passes agree
  std::lock_guard lock(progress_mutex_);
  return last_folded_;
}

template <class Model>
void Adapter<Model>::wait_for_seq(std::uint64_t seq) {
  while (!wait_for_seq(seq, std::chrono::hours(1))) {
  }
}

template <class Model>
bool Adapter<Model>::wait_for_seq(std::uint64_t seq, std::chrono::nanoseconds timeout) {
  bool behind;
  {
    std::lock_guard lock(progress_mutex_);
    behind = folded_before_ <= seq && !stopped_at_ && !closed_;
  }
  if (behind) fold_pending();  // folding here saves waking the fold thread and waiting for it
  std::unique_lock lock(progress_mutex_);
  const bool done = progress_.wait_for(lock, timeout, [&] { return folded_before_ > seq || stopped_at_ || closed_; });
  if (done && folded_before_ <= seq && stopped_at_) throw Error(ErrorKind::Cortex, stop_reason_);
  return done;
}

template <class Model>
void Adapter<Model>::close() {
  {
    std::lock_guard lock(progress_mutex_);
    if (closed_) return;
    closed_ = true;
  }
  progress_.notify_all();
  tail_->close();
  if (fold_thread_.joinable()) fold_thread_.join();
  if (persistent_ && !file_->closed()) {
    try {
      file_->sync();
    } catch (const Error& e) {
      fail("close", std::string("redex: ") + e.what());
    }
  }
}

template <class Model>
std::uint64_t Adapter<Model>::folded_up_to() const {
  std::lock_guard lock(progress_mutex_);
  return folded_before_;
}

template <class Model>
bool Adapter<Model>::is_running() const {
  std::lock_guard lock(progress_mutex_);
  return !closed_ && !stopped_at_;
}

template <class Model>
std::size_t Adapter<Model>::count() const {
  std::shared_lock lock(state_mutex_);
  return state_.size();
}

template <class Model>
void Adapter<Model>::with_matches(const Filter& filter,
                                  const std::function<void(std::span<const Record* const>)>& use) const {
  std::shared_lock lock(state_mutex_);
  std::vector<const Record*> matches;
  if (filter.order_by == OrderBy::IdAsc || filter.order_by == OrderBy::IdDesc) {  // already in order
    const auto by_id = id_order();
    const std::size_t limit = filter.limit.value_or(std::numeric_limits<std::size_t>::max());
    const auto collect = [&](auto first, auto last) {
      for (; first != last && matches.size() < limit; ++first) {
        if (Model::matches(**first, filter)) matches.push_back(*first);
      }
    };
    if (filter.order_by == OrderBy::IdAsc) {
      collect(by_id->records.begin(), by_id->records.end());
    } else {
      collect(by_id->records.rbegin(), by_id->records.rend());
    }
    use(matches);
    return;
  }
  for (const auto& [id, record] : state_) {
    if (Model::matches(record, filter)) matches.push_back(&record);
  }
  use(ordered(matches, filter.order_by, filter.limit));
}

template <class Model>
std::vector<typename Model::Record> Adapter<Model>::list(const Filter& filter) const {
  std::vector<Record> out;
  with_matches(filter, [&](std::span<const Record* const> matches) {
    out.reserve(matches.size());
    for (const Record* record : matches) out.push_back(*record);
  });
  return out;
}

template <class Model>
auto Adapter<Model>::watch(const Filter& filter) -> std::unique_ptr<Watcher> {
  auto [result, watcher] = snapshot_and_watch(filter);
  watcher->pending_ = true;  // a plain watcher emits the result at subscription first
  return std::move(watcher);
}

template <class Model>
auto Adapter<Model>::snapshot_and_watch(const Filter& filter)
    -> std::pair<std::vector<Record>, std::unique_ptr<Watcher>> {
  std::unique_ptr<Watcher> watcher(new Watcher(this->shared_from_this(), filter));
  {
    std::lock_guard lock(progress_mutex_);
    watcher->seen_version_ = version_;
  }
  // Read after the version: a change racing this is either in the result
  // or still ahead of seen_version_, never lost.
  watcher->last_ = list(filter);
  return {watcher->last_, std::move(watcher)};
}

template <class Model>
auto Adapter<Model>::Watcher::next(std::vector<Record>& out, std::chrono::nanoseconds wait) -> Status {
  Adapter& adapter = *adapter_;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock lock(adapter.progress_mutex_);
  for (;;) {
    if (closed_ || adapter.closed_) return Status::Ended;
    if (pending_) {
      pending_ = false;
      out = last_;
      return Status::Result;
    }
    if (adapter.version_ != seen_version_) {
      const std::uint64_t version = adapter.version_;
      lock.unlock();
      std::vector<Record> result = adapter.list(filter_);
      lock.lock();
      seen_version_ = version;
      if (result != last_) {
        last_ = std::move(result);
        out = last_;
        return Status::Result;
      }
      continue;
    }
    if (adapter.stopped_at_) return Status::Ended;  // nothing will change any more
    if (adapter.progress_.wait_until(lock, deadline) == std::cv_status::timeout && adapter.version_ == seen_version_ &&
        !closed_ && !adapter.closed_) {
      return Status::Timeout;
    }
  }
}

template <class Model>
void Adapter<Model>::Watcher::close() {
  {
    std::lock_guard lock(adapter_->progress_mutex_);
    closed_ = true;
  }
  adapter_->progress_.notify_all();
}

template class Adapter<TasksModel>;
template class Adapter<MemoriesModel>;

}  // namespace net::cortex
