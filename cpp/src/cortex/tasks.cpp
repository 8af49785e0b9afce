#include "net/cortex/tasks.hpp"

#include "net/core/error.hpp"

namespace net::cortex {

std::optional<TaskStatus> parse_task_status(std::string_view text) {
  const std::string lower = lowercase(text);
  if (lower == "pending") return TaskStatus::Pending;
  if (lower == "completed") return TaskStatus::Completed;
  return std::nullopt;
}

bool TasksModel::apply(RecordMap<Task>& state, std::uint8_t dispatch, PostcardReader& tail) {
  switch (dispatch) {
    case kCreated: {
      Task task;
      task.id = tail.varint("id");
      task.title = tail.string("title");
      task.created_ns = task.updated_ns = tail.varint("now_ns");
      tail.expect_end("Created");
      state.insert_or_assign(task.id, std::move(task));
      return true;
    }
    case kRenamed: {
      const std::uint64_t id = tail.varint("id");
      std::string title = tail.string("new_title");
      const std::uint64_t now = tail.varint("now_ns");
      tail.expect_end("Renamed");
      const auto it = state.find(id);
      if (it == state.end()) return false;
      it->second.title = std::move(title);
      it->second.updated_ns = now;
      return true;
    }
    case kCompleted: {
      const std::uint64_t id = tail.varint("id");
      const std::uint64_t now = tail.varint("now_ns");
      tail.expect_end("Completed");
      const auto it = state.find(id);
      if (it == state.end()) return false;
      it->second.status = TaskStatus::Completed;
      it->second.updated_ns = now;
      return true;
    }
    case kDeleted: {
      const std::uint64_t id = tail.varint("id");
      tail.expect_end("Deleted");
      return state.erase(id) > 0;
    }
    default: return false;  // unknown events are skipped
  }
}

template <class Writer>
void TasksModel::write(Writer& out, const Task& task) {
  out.varint(task.id);
  out.string(task.title);
  out.varint(static_cast<std::uint8_t>(task.status));
  out.varint(task.created_ns);
  out.varint(task.updated_ns);
}
template void TasksModel::write(PostcardSizer&, const Task&);
template void TasksModel::write(PostcardPlacer&, const Task&);

Task TasksModel::read(PostcardReader& in) {
  Task task;
  task.id = in.varint("task id");
  task.title = in.string("task title");
  const std::uint64_t status = in.varint("task status");
  if (status > 1) throw Error(ErrorKind::Cortex, "invalid task status " + std::to_string(status));
  task.status = static_cast<TaskStatus>(status);
  task.created_ns = in.varint("task created_ns");
  task.updated_ns = in.varint("task updated_ns");
  return task;
}

bool TasksModel::matches(const Task& task, const TaskFilter& filter) {
  return (!filter.status || task.status == *filter.status) && filter.times.admits(task) &&
         (!filter.title_contains || contains_lowercase(task.title, *filter.title_contains));
}

std::shared_ptr<TasksAdapter> TasksAdapter::open(redex::Redex& redex, std::uint64_t origin_hash, bool persistent) {
  return std::make_shared<TasksAdapter>(redex, origin_hash, persistent, nullptr);
}

std::shared_ptr<TasksAdapter> TasksAdapter::open_from_snapshot(redex::Redex& redex, std::uint64_t origin_hash,
                                                               const Snapshot& from, bool persistent) {
  return std::make_shared<TasksAdapter>(redex, origin_hash, persistent, &from);
}

std::uint64_t TasksAdapter::create(std::uint64_t id, std::string_view title, std::uint64_t now_ns) {
  return commit_titled(TasksModel::kCreated, id, title, now_ns, "create");
}

std::uint64_t TasksAdapter::rename(std::uint64_t id, std::string_view new_title, std::uint64_t now_ns) {
  return commit_titled(TasksModel::kRenamed, id, new_title, now_ns, "rename");
}

std::uint64_t TasksAdapter::commit_titled(std::uint8_t dispatch, std::uint64_t id, std::string_view title,
                                          std::uint64_t now_ns, const char* operation) {
  Bytes& event = begin_event();
  PostcardWriter tail(event);
  tail.varint(id);
  tail.string(title);
  tail.varint(now_ns);
  return commit_event(dispatch, event, operation);
}

std::uint64_t TasksAdapter::complete(std::uint64_t id, std::uint64_t now_ns) {
  return commit_id_event(TasksModel::kCompleted, id, now_ns, "complete");
}

std::uint64_t TasksAdapter::remove(std::uint64_t id) {
  return commit_id_event(TasksModel::kDeleted, id, std::nullopt, "delete");
}

}  // namespace net::cortex
