// Redex, RedexFile, RedexEvent and RedexTailIter over redex::Redex: the
// original's keywords and "<op>: <detail>" errors; appends of many payloads
// and waits for a tail release the GIL; a blocked tail wakes every 100 ms so
// Ctrl-C and close() end it.
#include "redex.hpp"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cstdio>

#include "arguments.hpp"
#include "fast_method.hpp"
#include "interruptible.hpp"
#include "net/core/error.hpp"
#include "net/redex/redex.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace net::python {
namespace {

struct PyRedexEvent {
  std::uint64_t seq = 0;
  nb::bytes payload;
  std::uint32_t checksum = 0;
};

PyRedexEvent to_python(const redex::Event& event) {
  return {event.seq, nb::bytes(event.payload.data.get(), event.payload.size), event.checksum()};
}

// Runs `call`, re-raising RedEX errors as "<operation>: <message>".
template <class Call>
auto with_op(const char* operation, Call&& call) {
  try {
    return call();
  } catch (const Error& e) {
    throw Error(ErrorKind::Redex, std::string(operation) + ": " + e.what());
  }
}

struct PyRedexFile {
  std::shared_ptr<redex::RedexFile> file;
};

// RedexFile.append, called once per event: a plain vectorcall method. An
// append to a persistent file writes (and may fdatasync) without the GIL;
// one in memory takes less time than releasing it would.
nb::object append(PyRedexFile& self, nb::handle payload) {
  const ByteView bytes = bytes_argument(payload, "payload");  // immutable, and the caller holds it
  const auto append_it = [&] { return with_op("append", [&] { return self.file->append(bytes); }); };
  std::uint64_t seq;
  if (self.file->persistent()) {
    nb::gil_scoped_release unlocked;
    seq = append_it();
  } else {
    seq = append_it();
  }
  return nb::steal(PyLong_FromUnsignedLongLong(seq));
}

struct PyTailIter {
  std::unique_ptr<redex::Tail> tail;

  PyRedexEvent next() {
    redex::Event event;
    redex::Tail::Status status = redex::Tail::Status::Timeout;
    wait_interruptibly([&](auto slice) {
      status = with_op("tail", [&] { return tail->next(event, slice); });
      return status != redex::Tail::Status::Timeout;
    });
    if (status == redex::Tail::Status::Ended) throw nb::stop_iteration();
    return to_python(event);
  }
};

std::optional<std::uint64_t> optional_u64(nb::handle value, const char* name) {
  if (value.is_none()) return std::nullopt;
  return to_unsigned(value, "open_file", name, UINT64_MAX);
}

}  // namespace

void init_redex(nb::module_& m) {
  nb::class_<PyRedexEvent>(m, "RedexEvent", "One event of a RedEX file.")
      .def_ro("seq", &PyRedexEvent::seq)
      .def_ro("payload", &PyRedexEvent::payload)
      .def_ro("checksum", &PyRedexEvent::checksum, "Low 28 bits of xxh3_64(payload).")
      .def_prop_ro("is_inline", [](const PyRedexEvent&) { return false; })
      .def("__repr__", [](const PyRedexEvent& event) {
        char checksum[16];
        std::snprintf(checksum, sizeof checksum, "%08x", event.checksum);
        return "RedexEvent(seq=" + std::to_string(event.seq) + ", payload=<" + std::to_string(nb::len(event.payload)) +
               " bytes>, checksum=0x" + checksum + ", is_inline=false)";
      });

  nb::class_<PyTailIter>(m, "RedexTailIter",
                         "The retained events from a sequence, then new appends as they happen (RedexFile.tail()).")
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); })
      .def("__next__", &PyTailIter::next)
      .def(
          "close", [](PyTailIter& iter) { iter.tail->close(); }, "Ends the iteration (idempotent).");

  nb::class_<PyRedexFile> file_class(m, "RedexFile", "A named append-only log (Redex.open_file()).");
  OneArgumentMethod<PyRedexFile, &append>::add_to(file_class, "RedexFile", "append", "payload",
                                                  "append($self, /, payload)\n--\n\n"
                                                  "Appends one event; returns its sequence number.");
  file_class
      .def(
          "append_batch",
          [](PyRedexFile& self, nb::handle payloads) {
            // Any sequence but str/bytes, as PyO3 extracts a Vec.
            if (PyUnicode_Check(payloads.ptr()) || PyBytes_Check(payloads.ptr()) || !PySequence_Check(payloads.ptr())) {
              raise_type_error("append_batch", "payloads", "a list of bytes", payloads);
            }
            const nb::object items = nb::steal(PySequence_Tuple(payloads.ptr()));  // pinned while unlocked
            if (!items.is_valid()) throw nb::python_error();
            std::vector<ByteView> views;
            views.reserve(nb::len(items));
            for (const nb::handle item : items) views.push_back(bytes_argument(item, "payloads"));
            nb::gil_scoped_release unlocked;
            return with_op("append_batch", [&] { return self.file->append_batch(views); });
          },
          "payloads"_a, nb::sig("def append_batch(self, payloads: list[bytes]) -> int | None"),
          "Appends all payloads at once; returns the first sequence number, or None for an empty list.")
      .def(
          "read_range",
          [](PyRedexFile& self, nb::handle start, nb::handle end) {
            const auto from = to_unsigned(start, "read_range", "start", UINT64_MAX);
            const auto to = to_unsigned(end, "read_range", "end", UINT64_MAX);
            std::vector<PyRedexEvent> out;
            for (const auto& event : self.file->read_range(from, to)) out.push_back(to_python(event));
            return out;
          },
          "start"_a, "end"_a, nb::sig("def read_range(self, start: int, end: int) -> list[RedexEvent]"),
          "The retained events with start <= seq < end.")
      .def("__len__", [](PyRedexFile& self) { return self.file->size(); })
      .def(
          "tail",
          [](PyRedexFile& self, nb::handle from_seq) {
            return PyTailIter{self.file->tail(to_unsigned(from_seq, "tail", "from_seq", UINT64_MAX))};
          },
          "from_seq"_a = 0, nb::sig("def tail(self, from_seq: int = 0) -> RedexTailIter"))
      .def(
          "sync",
          [](PyRedexFile& self) {
            nb::gil_scoped_release unlocked;
            with_op("sync", [&] { self.file->sync(); });
          },
          "Writes everything appended to disk now (persistent files).")
      .def(
          "close",
          [](PyRedexFile& self) {
            nb::gil_scoped_release unlocked;
            with_op("close", [&] { self.file->close(); });
          },
          "Syncs and closes (idempotent); live tails end.")
      .def_prop_ro(
          "corrupt_records", [](PyRedexFile& self) { return self.file->corrupt_records(); },
          "Damaged records skipped when the file was recovered from disk (ours).")
      .def("__repr__", [](PyRedexFile& self) {
        return "RedexFile(name=\"" + self.file->name() + "\", len=" + std::to_string(self.file->size()) +
               (self.file->closed() ? ", closed)" : ")");
      });

  nb::class_<redex::Redex>(m, "Redex", "A node's RedEX manager: named append-only logs, in memory or on disk.")
      .def(
          "__init__",
          [](redex::Redex* self, std::optional<std::string> persistent_dir) {
            new (self)
                redex::Redex(persistent_dir ? std::optional<std::filesystem::path>(*persistent_dir) : std::nullopt);
          },
          "persistent_dir"_a = nb::none(), nb::sig("def __init__(self, persistent_dir: str | None = None) -> None"))
      .def(
          "open_file",
          [](redex::Redex& self, const std::string& name, bool persistent, nb::handle fsync_every_n,
             nb::handle fsync_interval_ms, nb::handle retention_max_events, nb::handle retention_max_bytes,
             nb::handle retention_max_age_ms) {
            redex::FileOptions options;
            options.persistent = persistent;
            options.fsync_every_n = optional_u64(fsync_every_n, "fsync_every_n");
            if (const auto ms = optional_u64(fsync_interval_ms, "fsync_interval_ms")) {
              options.fsync_interval = capped_milliseconds(*ms);
            }
            options.retention_max_events = optional_u64(retention_max_events, "retention_max_events");
            options.retention_max_bytes = optional_u64(retention_max_bytes, "retention_max_bytes");
            if (const auto ms = optional_u64(retention_max_age_ms, "retention_max_age_ms")) {
              options.retention_max_age_ns = *ms > UINT64_MAX / 1'000'000 ? UINT64_MAX : *ms * 1'000'000;
            }
            nb::gil_scoped_release unlocked;  // a persistent file reads its log
            return PyRedexFile{self.open_file(name, options)};
          },
          "name"_a, nb::kw_only(), "persistent"_a = false, "fsync_every_n"_a = nb::none(),
          "fsync_interval_ms"_a = nb::none(), "retention_max_events"_a = nb::none(),
          "retention_max_bytes"_a = nb::none(), "retention_max_age_ms"_a = nb::none(),
          nb::sig("def open_file(self, name: str, *, persistent: bool = False, fsync_every_n: int | None = None, "
                  "fsync_interval_ms: int | None = None, retention_max_events: int | None = None, "
                  "retention_max_bytes: int | None = None, retention_max_age_ms: int | None = None) -> RedexFile"),
          "Opens the named file, or returns the one already open under that name (its options stay).")
      .def("__repr__", [](const redex::Redex& self) {
        return self.persistent_dir() ? "Redex(persistent_dir=\"" + self.persistent_dir()->string() + "\")"
                                     : std::string("Redex(local)");
      });
}

}  // namespace net::python
