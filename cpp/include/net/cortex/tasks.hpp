// CortEX tasks (REFERENCE §11.2, channel "cortex/tasks"): the Task record,
// its filter, the fold of Created/Renamed/Completed/Deleted events, and
// TasksAdapter, whose writes append those events.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/cortex/adapter.hpp"
#include "net/cortex/postcard.hpp"
#include "net/cortex/query.hpp"

namespace net::cortex {

enum class TaskStatus : std::uint8_t { Pending = 0, Completed = 1 };

// "pending" / "completed", any case; nullopt otherwise.
std::optional<TaskStatus> parse_task_status(std::string_view text);

struct Task {
  std::uint64_t id = 0;
  std::string title;
  TaskStatus status = TaskStatus::Pending;
  std::uint64_t created_ns = 0;
  std::uint64_t updated_ns = 0;
  bool operator==(const Task&) const = default;
};

struct TaskFilter {
  std::optional<TaskStatus> status;
  std::optional<std::string> title_contains;  ///< lowercase
  TimeBounds times;
  OrderBy order_by = OrderBy::IdAsc;
  std::optional<std::uint32_t> limit;
};

struct TasksModel {
  using Record = Task;
  using Filter = TaskFilter;
  static constexpr const char* kChannel = "cortex/tasks";
  static constexpr const char* kAdapter = "TasksAdapter";
  enum Dispatch : std::uint8_t { kCreated = 0x01, kRenamed = 0x02, kCompleted = 0x03, kDeleted = 0x04 };

  // Applies one event's tail; false when it changed nothing.
  static bool apply(RecordMap<Task>& state, std::uint8_t dispatch, PostcardReader& tail);
  template <class Writer>  // PostcardSizer or PostcardPlacer (snapshots)
  static void write(Writer& out, const Task& task);
  static Task read(PostcardReader& in);
  static bool matches(const Task& task, const TaskFilter& filter);
};

class TasksAdapter final : public Adapter<TasksModel> {
 public:
  // Error(Cortex, "TasksAdapter open failed: ...").
  static std::shared_ptr<TasksAdapter> open(redex::Redex& redex, std::uint64_t origin_hash, bool persistent);
  // Error(Cortex, "TasksAdapter open_from_snapshot failed: ...").
  static std::shared_ptr<TasksAdapter> open_from_snapshot(redex::Redex& redex, std::uint64_t origin_hash,
                                                          const Snapshot& from, bool persistent);

  std::uint64_t create(std::uint64_t id, std::string_view title, std::uint64_t now_ns);
  std::uint64_t rename(std::uint64_t id, std::string_view new_title, std::uint64_t now_ns);
  std::uint64_t complete(std::uint64_t id, std::uint64_t now_ns);
  std::uint64_t remove(std::uint64_t id);  ///< the original's delete

  TasksAdapter(redex::Redex& redex, std::uint64_t origin_hash, bool persistent, const Snapshot* from)
      : Adapter(redex, origin_hash, persistent, from) {}

 private:
  // Created and Renamed: id, title, now_ns.
  std::uint64_t commit_titled(std::uint8_t dispatch, std::uint64_t id, std::string_view title, std::uint64_t now_ns,
                              const char* operation);
};

}  // namespace net::cortex
