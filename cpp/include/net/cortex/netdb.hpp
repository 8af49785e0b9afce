// NetDb: the tasks and memories adapters a node enables, over a private
// Redex, with one snapshot bundle for both (API.md §8.5, REFERENCE §11.4).
// The bundle is postcard {tasks: Option<(bytes, Option<u64>)>, memories: ...},
// byte-compatible with the original's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "net/core/bytes.hpp"
#include "net/cortex/memories.hpp"
#include "net/cortex/tasks.hpp"
#include "net/redex/redex.hpp"

namespace net::cortex {

struct NetDbOptions {
  std::uint64_t origin_hash = 0;
  std::optional<std::filesystem::path> persistent_dir;
  bool persistent = false;
  bool with_tasks = false;
  bool with_memories = false;
};

class NetDb {
 public:
  // Adapter errors pass through (Error(Cortex, ...)).
  explicit NetDb(const NetDbOptions& options);
  // Restores each enabled model from the bundle, or opens it fresh when the
  // bundle has none; Error(NetDb, "decode bundle: ...") for a bad bundle.
  NetDb(ByteView bundle, const NetDbOptions& options);
  ~NetDb();

  const std::shared_ptr<TasksAdapter>& tasks() const noexcept { return tasks_; }
  const std::shared_ptr<MemoriesAdapter>& memories() const noexcept { return memories_; }
  // Error(Cortex, "snapshot tasks: ..." | "snapshot memories: ...").
  Bytes snapshot();
  void close();  ///< idempotent; closes the enabled adapters

 private:
  redex::Redex redex_;
  std::shared_ptr<TasksAdapter> tasks_;
  std::shared_ptr<MemoriesAdapter> memories_;
};

}  // namespace net::cortex
