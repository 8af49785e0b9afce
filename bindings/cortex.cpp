// CortEX and NetDb over cortex::: Task and Memory records, TasksAdapter and
// MemoriesAdapter with the original's keyword filters and errors, the watch
// iterators, and NetDb. Waits release the GIL and wake every 100 ms so
// Ctrl-C and close() end them; queries release it while they filter.
#include "cortex.hpp"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <chrono>

#include "arguments.hpp"
#include "cortex_records.hpp"
#include "interruptible.hpp"
#include "net/core/error.hpp"
#include "net/cortex/netdb.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace net::python {
namespace {

// A list (any sequence but str) of str.
std::vector<std::string> string_list(nb::handle value, const char* function, const char* name) {
  if (PyUnicode_Check(value.ptr()) || !PySequence_Check(value.ptr())) {
    raise_type_error(function, name, "a list of str", value);
  }
  const nb::object items = nb::steal(PySequence_Tuple(value.ptr()));
  if (!items.is_valid()) throw nb::python_error();  // the sequence's own error (its __getitem__ raised...)
  std::vector<std::string> out;
  for (const nb::handle item : items) out.push_back(to_str(item, function, name));
  return out;
}

// Keyword-only filter arguments, with the original's errors.
class FilterArguments : public Arguments {
 public:
  FilterArguments(const char* function, std::span<const char* const> names, nb::kwargs kwargs)
      : Arguments(function, names, nb::borrow<nb::args>(nb::tuple()), std::move(kwargs)) {}

  std::vector<std::string> str_list(const char* name) const {
    const auto value = get(name);
    return value ? string_list(*value, function(), name) : std::vector<std::string>{};
  }

  // The fields every filter has: time bounds, order and limit.
  template <class Filter>
  void common(Filter& filter, const char* order_error_suffix) const {
    filter.times.created_after_ns = get_unsigned("created_after_ns", UINT64_MAX);
    filter.times.created_before_ns = get_unsigned("created_before_ns", UINT64_MAX);
    filter.times.updated_after_ns = get_unsigned("updated_after_ns", UINT64_MAX);
    filter.times.updated_before_ns = get_unsigned("updated_before_ns", UINT64_MAX);
    if (const auto order = get_str("order_by")) {
      const auto parsed = cortex::parse_order_by(*order);
      if (!parsed) throw Error(ErrorKind::InvalidArgument, "invalid order_by \"" + *order + "\"" + order_error_suffix);
      filter.order_by = *parsed;
    }
    if (const auto limit = get_unsigned("limit", UINT32_MAX)) filter.limit = static_cast<std::uint32_t>(*limit);
  }
};

constexpr const char* kTaskFilterNames[] = {
    "status",           "title_contains",    "created_after_ns", "created_before_ns",
    "updated_after_ns", "updated_before_ns", "order_by",         "limit"};

constexpr const char* kTaskFilterSignature =
    "*, status: str | None = None, title_contains: str | None = None, created_after_ns: int | None = None, "
    "created_before_ns: int | None = None, updated_after_ns: int | None = None, "
    "updated_before_ns: int | None = None, order_by: str | None = None, limit: int | None = None";

cortex::TaskFilter task_filter(const char* function, nb::kwargs kwargs) {
  const FilterArguments arguments(function, kTaskFilterNames, std::move(kwargs));
  cortex::TaskFilter filter;
  if (const auto text = arguments.get_str("status")) {
    filter.status = cortex::parse_task_status(*text);
    if (!filter.status) {
      throw Error(ErrorKind::InvalidArgument,
                  "invalid status \"" + cortex::lowercase(*text) + "\" (expected 'pending' or 'completed')");
    }
  }
  if (const auto text = arguments.get_str("title_contains")) filter.title_contains = cortex::lowercase(*text);
  arguments.common(filter, " (expected one of id_asc|id_desc|created_asc|created_desc|updated_asc|updated_desc)");
  return filter;
}

constexpr const char* kMemoryFilterNames[] = {"source",
                                              "content_contains",
                                              "tag",
                                              "any_tag",
                                              "all_tags",
                                              "pinned",
                                              "created_after_ns",
                                              "created_before_ns",
                                              "updated_after_ns",
                                              "updated_before_ns",
                                              "order_by",
                                              "limit"};

constexpr const char* kMemoryFilterSignature =
    "*, source: str | None = None, content_contains: str | None = None, tag: str | None = None, "
    "any_tag: list[str] | None = None, all_tags: list[str] | None = None, pinned: bool | None = None, "
    "created_after_ns: int | None = None, created_before_ns: int | None = None, "
    "updated_after_ns: int | None = None, updated_before_ns: int | None = None, order_by: str | None = None, "
    "limit: int | None = None";

cortex::MemoryFilter memory_filter(const char* function, nb::kwargs kwargs) {
  const FilterArguments arguments(function, kMemoryFilterNames, std::move(kwargs));
  cortex::MemoryFilter filter;
  filter.source = arguments.get_str("source");
  if (const auto text = arguments.get_str("content_contains")) filter.content_contains = cortex::lowercase(*text);
  filter.tag = arguments.get_str("tag");
  filter.any_tag = arguments.str_list("any_tag");
  filter.all_tags = arguments.str_list("all_tags");
  filter.pinned = arguments.get_bool("pinned");
  arguments.common(filter, "");
  return filter;
}

template <class Adapter>
struct WatchIter {
  using Record = typename Adapter::Record;
  std::unique_ptr<typename Adapter::Watcher> watcher;

  nb::list next() {
    std::vector<Record> out;
    typename Adapter::Watcher::Status status = Adapter::Watcher::Status::Timeout;
    wait_interruptibly([&](auto slice) {
      status = watcher->next(out, slice);
      return status != Adapter::Watcher::Status::Timeout;
    });
    if (status == Adapter::Watcher::Status::Ended) throw nb::stop_iteration();
    return to_list(std::move(out));
  }
};

// Python objects straight from the state: the GIL stays held while the
// state is read-locked (the fold never takes the GIL). No Python code may
// run meanwhile: a finalizer the collector ran could wait for the fold,
// which waits for this lock. So the collector is off until the list is made.
template <class Adapter>
nb::list list_of(Adapter& adapter, const typename Adapter::Filter& filter) {
  struct CollectorPaused {
    const int was_enabled = PyGC_Disable();
    ~CollectorPaused() {
      if (was_enabled) PyGC_Enable();
    }
  };
  nb::list out;
  adapter.with_matches(filter, [&](std::span<const typename Adapter::Record* const> matches) {
    const CollectorPaused paused;
    out = to_list(matches);
  });
  return out;
}

template <class Adapter>
std::pair<nb::list, WatchIter<Adapter>> snapshot_and_watch(Adapter& adapter, const typename Adapter::Filter& filter) {
  auto [records, watcher] = [&] {
    nb::gil_scoped_release unlocked;
    return adapter.snapshot_and_watch(filter);
  }();
  return {to_list(std::move(records)), WatchIter<Adapter>{std::move(watcher)}};
}

template <class Adapter>
void bind_watch_iter(nb::module_& m, const char* name, const char* doc) {
  nb::class_<WatchIter<Adapter>>(m, name, doc)
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); })
      .def("__next__", &WatchIter<Adapter>::next)
      .def(
          "close", [](WatchIter<Adapter>& iter) { iter.watcher->close(); },
          "Ends the iteration (idempotent); a blocked __next__ raises StopIteration.");
}

// What both adapters have besides their writes and queries.
template <class Adapter>
void bind_adapter_common(nb::class_<Adapter>& cls, const char* open_signature) {
  cls.def_static(
         "open",
         [](redex::Redex& redex, nb::handle origin_hash, bool persistent) {
           const std::uint64_t origin = to_unsigned(origin_hash, "open", "origin_hash", UINT64_MAX);
           nb::gil_scoped_release unlocked;  // a persistent file is read and folded
           return Adapter::open(redex, origin, persistent);
         },
         "redex"_a, "origin_hash"_a, "persistent"_a = false, nb::sig(open_signature),
         "Opens the adapter on `redex` and folds what its file holds.")
      .def_static(
          "open_from_snapshot",
          [](redex::Redex& redex, nb::handle origin_hash, nb::handle state_bytes, nb::handle last_seq,
             bool persistent) {
            const std::uint64_t origin = to_unsigned(origin_hash, "open_from_snapshot", "origin_hash", UINT64_MAX);
            const ByteView state = bytes_argument(state_bytes, "state_bytes");
            cortex::Snapshot from{Bytes(state.begin(), state.end()), std::nullopt};
            if (!last_seq.is_none())
              from.last_seq = to_unsigned(last_seq, "open_from_snapshot", "last_seq", UINT64_MAX);
            nb::gil_scoped_release unlocked;
            return Adapter::open_from_snapshot(redex, origin, from, persistent);
          },
          "redex"_a, "origin_hash"_a, "state_bytes"_a, "last_seq"_a = nb::none(), "persistent"_a = false,
          "Restores the state of snapshot() and folds the file's events after last_seq.")
      .def(
          "snapshot",
          [](Adapter& adapter) {
            nb::object state;  // encoded straight into the bytes object
            const auto last_seq = adapter.snapshot_to([&](std::size_t size) {
              state = nb::steal(PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size)));
              if (!state.is_valid()) throw nb::python_error();
              return reinterpret_cast<std::uint8_t*>(PyBytes_AS_STRING(state.ptr()));
            });
            return std::make_pair(nb::borrow<nb::bytes>(state), last_seq);
          },
          "(state bytes, last folded seq or None), for open_from_snapshot.")
      .def(
          "wait_for_seq",
          [](Adapter& adapter, nb::handle seq) {
            const std::uint64_t until = to_unsigned(seq, "wait_for_seq", "seq", UINT64_MAX);
            wait_interruptibly([&](auto slice) { return adapter.wait_for_seq(until, slice); });
          },
          "seq"_a, "Blocks until the fold has applied `seq`.")
      .def(
          "close",
          [](Adapter& adapter) {
            nb::gil_scoped_release unlocked;
            adapter.close();
          },
          "Stops the fold and ends watchers (idempotent).")
      .def("is_running", &Adapter::is_running, "Whether the fold is alive.")
      .def("count", &Adapter::count, "How many records, ignoring filters.")
      .def(
          "delete",
          [](Adapter& adapter, nb::handle id) { return adapter.remove(to_unsigned(id, "delete", "id", UINT64_MAX)); },
          "id"_a, "Appends a Deleted event; returns its seq.");
}

// list_<noun>, watch_<noun> and snapshot_and_watch_<noun>, keyword filters parsed by `parse`.
template <class Adapter>
void def_queries(nb::class_<Adapter>& cls, const std::string& noun, const std::string& record,
                 const std::string& iterator, const std::string& filters,
                 typename Adapter::Filter (*parse)(const char*, nb::kwargs)) {
  // nanobind keeps the names and signatures it is given: they must outlive the module.
  static std::vector<std::unique_ptr<std::string>> texts;
  const auto keep = [](std::string text) { return texts.emplace_back(new std::string(std::move(text)))->c_str(); };
  const char* list_name = keep("list_" + noun);
  const char* watch_name = keep("watch_" + noun);
  const char* both_name = keep("snapshot_and_watch_" + noun);
  cls.def(
         list_name,
         [parse, list_name](Adapter& adapter, nb::kwargs kwargs) {
           return list_of(adapter, parse(list_name, std::move(kwargs)));
         },
         nb::sig(keep("def " + std::string(list_name) + "(self, " + filters + ") -> list[" + record + "]")),
         "The records that pass every given filter (id order unless order_by).")
      .def(
          watch_name,
          [parse, watch_name](Adapter& adapter, nb::kwargs kwargs) {
            return WatchIter<Adapter>{adapter.watch(parse(watch_name, std::move(kwargs)))};
          },
          nb::sig(keep("def " + std::string(watch_name) + "(self, " + filters + ") -> " + iterator)),
          "The filtered records now, then each time they change (id order unless order_by).")
      .def(
          both_name,
          [parse, both_name](Adapter& adapter, nb::kwargs kwargs) {
            return snapshot_and_watch(adapter, parse(both_name, std::move(kwargs)));
          },
          nb::sig(keep("def " + std::string(both_name) + "(self, " + filters + ") -> tuple[list[" + record + "], " +
                       iterator + "]")),
          "The filtered records now, and an iterator of their later changes (nothing lost in between).");
}

void bind_tasks(nb::module_& m) {
  using cortex::TasksAdapter;
  bind_watch_iter<TasksAdapter>(m, "TaskWatchIter", "The filtered tasks each time they change (watch_tasks()).");
  nb::class_<TasksAdapter> cls(m, "TasksAdapter", "Tasks folded from the RedEX file cortex/tasks.");
  bind_adapter_common(cls, "def open(redex: Redex, origin_hash: int, persistent: bool = False) -> TasksAdapter");
  cls.def(
         "create",
         [](TasksAdapter& tasks, nb::handle id, nb::handle title, nb::handle now_ns) {
           return tasks.create(to_unsigned(id, "create", "id", UINT64_MAX), to_str_view(title, "create", "title"),
                               to_unsigned(now_ns, "create", "now_ns", UINT64_MAX));
         },
         "id"_a, "title"_a, "now_ns"_a, nb::sig("def create(self, id: int, title: str, now_ns: int) -> int"),
         "Appends a Created event; returns its seq.")
      .def(
          "rename",
          [](TasksAdapter& tasks, nb::handle id, nb::handle new_title, nb::handle now_ns) {
            return tasks.rename(to_unsigned(id, "rename", "id", UINT64_MAX),
                                to_str_view(new_title, "rename", "new_title"),
                                to_unsigned(now_ns, "rename", "now_ns", UINT64_MAX));
          },
          "id"_a, "new_title"_a, "now_ns"_a, nb::sig("def rename(self, id: int, new_title: str, now_ns: int) -> int"),
          "Appends a Renamed event (an unknown id is left alone); returns its seq.")
      .def(
          "complete",
          [](TasksAdapter& tasks, nb::handle id, nb::handle now_ns) {
            return tasks.complete(to_unsigned(id, "complete", "id", UINT64_MAX),
                                  to_unsigned(now_ns, "complete", "now_ns", UINT64_MAX));
          },
          "id"_a, "now_ns"_a, nb::sig("def complete(self, id: int, now_ns: int) -> int"),
          "Appends a Completed event; returns its seq.");

  def_queries(cls, "tasks", "Task", "TaskWatchIter", kTaskFilterSignature, &task_filter);
}

void bind_memories(nb::module_& m) {
  using cortex::MemoriesAdapter;
  bind_watch_iter<MemoriesAdapter>(m, "MemoryWatchIter",
                                   "The filtered memories each time they change (watch_memories()).");
  nb::class_<MemoriesAdapter> cls(m, "MemoriesAdapter", "Memories folded from the RedEX file cortex/memories.");
  bind_adapter_common(cls, "def open(redex: Redex, origin_hash: int, persistent: bool = False) -> MemoriesAdapter");
  cls.def(
         "store",
         [](MemoriesAdapter& memories, nb::handle id, nb::handle content, nb::handle tags, nb::handle source,
            nb::handle now_ns) {
           return memories.store(to_unsigned(id, "store", "id", UINT64_MAX), to_str_view(content, "store", "content"),
                                 string_list(tags, "store", "tags"), to_str_view(source, "store", "source"),
                                 to_unsigned(now_ns, "store", "now_ns", UINT64_MAX));
         },
         "id"_a, "content"_a, "tags"_a, "source"_a, "now_ns"_a,
         nb::sig("def store(self, id: int, content: str, tags: list[str], source: str, now_ns: int) -> int"),
         "Appends a Stored event (new, or overwriting content, tags and source); returns its seq.")
      .def(
          "retag",
          [](MemoriesAdapter& memories, nb::handle id, nb::handle tags, nb::handle now_ns) {
            return memories.retag(to_unsigned(id, "retag", "id", UINT64_MAX), string_list(tags, "retag", "tags"),
                                  to_unsigned(now_ns, "retag", "now_ns", UINT64_MAX));
          },
          "id"_a, "tags"_a, "now_ns"_a, nb::sig("def retag(self, id: int, tags: list[str], now_ns: int) -> int"),
          "Appends a Retagged event; returns its seq.")
      .def(
          "pin",
          [](MemoriesAdapter& memories, nb::handle id, nb::handle now_ns) {
            return memories.pin(to_unsigned(id, "pin", "id", UINT64_MAX),
                                to_unsigned(now_ns, "pin", "now_ns", UINT64_MAX));
          },
          "id"_a, "now_ns"_a, nb::sig("def pin(self, id: int, now_ns: int) -> int"),
          "Appends a Pinned event; returns its seq.")
      .def(
          "unpin",
          [](MemoriesAdapter& memories, nb::handle id, nb::handle now_ns) {
            return memories.unpin(to_unsigned(id, "unpin", "id", UINT64_MAX),
                                  to_unsigned(now_ns, "unpin", "now_ns", UINT64_MAX));
          },
          "id"_a, "now_ns"_a, nb::sig("def unpin(self, id: int, now_ns: int) -> int"),
          "Appends an Unpinned event; returns its seq.");
  def_queries(cls, "memories", "Memory", "MemoryWatchIter", kMemoryFilterSignature, &memory_filter);
}

cortex::NetDbOptions netdb_options(nb::handle origin_hash, std::optional<std::string> persistent_dir, bool persistent,
                                   bool with_tasks, bool with_memories) {
  cortex::NetDbOptions options;
  options.origin_hash = to_unsigned(origin_hash, "open", "origin_hash", UINT64_MAX);
  if (persistent_dir) options.persistent_dir = *persistent_dir;
  options.persistent = persistent;
  options.with_tasks = with_tasks;
  options.with_memories = with_memories;
  return options;
}

void bind_netdb(nb::module_& m) {
  nb::class_<cortex::NetDb>(m, "NetDb", "Tasks and memories over a private Redex, snapshotted as one bundle.")
      .def_static(
          "open",
          [](nb::handle origin_hash, std::optional<std::string> persistent_dir, bool persistent, bool with_tasks,
             bool with_memories) {
            const auto options =
                netdb_options(origin_hash, std::move(persistent_dir), persistent, with_tasks, with_memories);
            nb::gil_scoped_release unlocked;
            return std::make_unique<cortex::NetDb>(options);
          },
          nb::kw_only(), "origin_hash"_a, "persistent_dir"_a = nb::none(), "persistent"_a = false,
          "with_tasks"_a = false, "with_memories"_a = false,
          nb::sig("def open(*, origin_hash: int, persistent_dir: str | None = None, persistent: bool = False, "
                  "with_tasks: bool = False, with_memories: bool = False) -> NetDb"),
          "Opens the enabled models.")
      .def_static(
          "open_from_snapshot",
          [](nb::handle bundle, nb::handle origin_hash, std::optional<std::string> persistent_dir, bool persistent,
             bool with_tasks, bool with_memories) {
            const ByteView bytes = bytes_argument(bundle, "bundle");
            const auto options =
                netdb_options(origin_hash, std::move(persistent_dir), persistent, with_tasks, with_memories);
            nb::gil_scoped_release unlocked;
            return std::make_unique<cortex::NetDb>(bytes, options);
          },
          "bundle"_a, nb::kw_only(), "origin_hash"_a, "persistent_dir"_a = nb::none(), "persistent"_a = false,
          "with_tasks"_a = false, "with_memories"_a = false,
          nb::sig("def open_from_snapshot(bundle: bytes, *, origin_hash: int, persistent_dir: str | None = None, "
                  "persistent: bool = False, with_tasks: bool = False, with_memories: bool = False) -> NetDb"),
          "Restores the enabled models from a snapshot() bundle (a model it lacks opens fresh).")
      .def_prop_ro("tasks", &cortex::NetDb::tasks, "The TasksAdapter, or None when not enabled.")
      .def_prop_ro("memories", &cortex::NetDb::memories, "The MemoriesAdapter, or None when not enabled.")
      .def(
          "snapshot",
          [](cortex::NetDb& db) {
            const Bytes bundle = db.snapshot();
            return nb::bytes(bundle.data(), bundle.size());
          },
          "Both models' snapshots as one opaque bundle.")
      .def(
          "close",
          [](cortex::NetDb& db) {
            nb::gil_scoped_release unlocked;
            db.close();
          },
          "Closes the enabled adapters (idempotent).")
      .def("__repr__", [](const cortex::NetDb& db) {
        return std::string("NetDb(tasks=") + (db.tasks() ? "true" : "false") +
               ", memories=" + (db.memories() ? "true" : "false") + ")";
      });
}

}  // namespace

void init_cortex(nb::module_& m) {
  init_cortex_records(m);
  bind_tasks(m);
  bind_memories(m);
  bind_netdb(m);
}

}  // namespace net::python
