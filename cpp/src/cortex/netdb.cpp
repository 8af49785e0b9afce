#include "net/cortex/netdb.hpp"

#include "net/core/error.hpp"
#include "net/cortex/postcard.hpp"

namespace net::cortex {
namespace {

struct Bundle {
  std::optional<Snapshot> tasks;
  std::optional<Snapshot> memories;
};

std::optional<Snapshot> read_entry(PostcardReader& in, const char* model) {
  if (!in.option(model)) return std::nullopt;
  Snapshot entry;
  const ByteView state = in.bytes(model);
  entry.state.assign(state.begin(), state.end());
  if (in.option(model)) entry.last_seq = in.varint(model);
  return entry;
}

void write_entry(PostcardWriter& out, const std::optional<Snapshot>& entry) {
  if (!entry) return out.none();
  out.some();
  out.bytes(entry->state);
  if (!entry->last_seq) return out.none();
  out.some();
  out.varint(*entry->last_seq);
}

Bundle decode_bundle(ByteView bytes) {
  try {
    PostcardReader in(bytes);
    Bundle bundle;
    bundle.tasks = read_entry(in, "tasks");
    bundle.memories = read_entry(in, "memories");
    in.expect_end("bundle");
    return bundle;
  } catch (const Error& e) {
    throw Error(ErrorKind::NetDb, std::string("decode bundle: ") + e.what());
  }
}

template <class Model>
Snapshot snapshot_of(const std::shared_ptr<Model>& adapter, const char* operation) {
  try {
    return adapter->snapshot();
  } catch (const Error& e) {
    throw Error(ErrorKind::Cortex, std::string(operation) + ": " + e.what());
  }
}

// Opens a model fresh, or from its bundle entry.
template <class Model>
std::shared_ptr<Model> open_model(redex::Redex& redex, const NetDbOptions& options,
                                  const std::optional<Snapshot>& entry) {
  if (entry) return Model::open_from_snapshot(redex, options.origin_hash, *entry, options.persistent);
  return Model::open(redex, options.origin_hash, options.persistent);
}

}  // namespace

NetDb::NetDb(const NetDbOptions& options) : redex_(options.persistent_dir) {
  if (options.with_tasks) tasks_ = open_model<TasksAdapter>(redex_, options, std::nullopt);
  if (options.with_memories) memories_ = open_model<MemoriesAdapter>(redex_, options, std::nullopt);
}

NetDb::NetDb(ByteView bundle, const NetDbOptions& options) : redex_(options.persistent_dir) {
  const Bundle decoded = decode_bundle(bundle);
  if (options.with_tasks) tasks_ = open_model<TasksAdapter>(redex_, options, decoded.tasks);
  if (options.with_memories) memories_ = open_model<MemoriesAdapter>(redex_, options, decoded.memories);
}

NetDb::~NetDb() {
  try {
    close();
  } catch (const Error&) {
    // Nobody is left to tell: the files keep what reached them.
  }
}

Bytes NetDb::snapshot() {
  Bundle bundle;
  if (tasks_) bundle.tasks = snapshot_of(tasks_, "snapshot tasks");
  if (memories_) bundle.memories = snapshot_of(memories_, "snapshot memories");
  Bytes out;
  PostcardWriter writer(out);
  write_entry(writer, bundle.tasks);
  write_entry(writer, bundle.memories);
  return out;
}

void NetDb::close() {
  if (tasks_) tasks_->close();
  if (memories_) memories_->close();
}

}  // namespace net::cortex
