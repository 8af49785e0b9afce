// The event bus classes. Ingest stays on the calling thread with the GIL held
// (a handful of nanoseconds of work); polls and large batches release it.
#include "bus.hpp"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <array>
#include <limits>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "brokers.hpp"
#include "fast_method.hpp"
#include "ingest_result.hpp"
#include "json_python.hpp"
#include "net/bus/event_bus.hpp"
#include "net/core/error.hpp"
#include "net/redex/bus_store.hpp"
#include "stored_event.hpp"
#include "two_node.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace net::python {
namespace {

using bus::EventBus;

// clang-format off
constexpr std::array<const char*, 32> kNetParameters = {
    "num_shards", "ring_buffer_capacity", "backpressure_mode", "redis_url", "redis_prefix",
    "redis_pipeline_size", "redis_pool_size", "redis_connect_timeout_ms", "redis_command_timeout_ms",
    "redis_max_stream_len", "jetstream_url", "jetstream_prefix", "jetstream_connect_timeout_ms",
    "jetstream_request_timeout_ms", "jetstream_max_messages", "jetstream_max_bytes", "jetstream_max_age_ms",
    "jetstream_replicas", "net_bind_addr", "net_peer_addr", "net_psk", "net_role", "net_peer_public_key",
    "net_secret_key", "net_public_key", "net_reliability", "net_heartbeat_interval_ms", "net_session_timeout_ms",
    "net_batched_io", "net_packet_pool_size", "producer_nonce_path", "persistent_dir"};
// clang-format on

// Batches above this many bytes are pinned in a tuple and copied without the GIL.
constexpr std::size_t kReleaseGilBytes = 256 * 1024;

struct PollResponse {
  nb::list events;
  std::optional<std::string> next_id;
  bool has_more = false;
};

const std::string& net_init_signature() {
  static const std::string signature = [] {
    std::string s = "def __init__(self";
    for (const char* name : kNetParameters) {
      const std::string_view n(name);
      const char* type = n == "net_batched_io" ? "bool"
                         : (n.ends_with("_ms") || n.ends_with("_size") || n.ends_with("_len") || n == "num_shards" ||
                            n == "ring_buffer_capacity" || n.starts_with("jetstream_max") || n == "jetstream_replicas")
                             ? "int"
                             : "str";
      s += ", " + std::string(name) + ": " + type + " | None = None";
    }
    return s + ") -> None";
  }();
  return signature;
}

bus::EventBusConfig config_from(const Arguments& args) {
  bus::EventBusConfig config;
  const auto num_shards = args.get_unsigned("num_shards", 0xFFFF);
  const auto capacity = args.get_unsigned("ring_buffer_capacity", std::numeric_limits<std::size_t>::max());
  if (const auto mode = args.get_str("backpressure_mode")) {
    const auto parsed = bus::parse_backpressure_mode(*mode);
    if (!parsed) throw Error(ErrorKind::InvalidArgument, "Invalid backpressure mode: " + *mode);
    config.backpressure_mode = *parsed;
  }
  if (num_shards) config.num_shards = static_cast<std::uint16_t>(*num_shards);
  if (capacity) config.ring_buffer_capacity = static_cast<std::size_t>(*capacity);
  return config;
}

void require_open(const EventBus& bus) {
  if (bus.is_shut_down()) throw Error(ErrorKind::ShutDown, "EventBus has been shut down");
}

[[gnu::noinline]] std::string_view encoded_utf8_of(PyObject* text) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (data == nullptr) throw nb::python_error();
  return {data, static_cast<std::size_t>(size)};
}

inline std::string_view utf8_of(PyObject* text) {
  if (PyUnicode_IS_COMPACT_ASCII(text)) {  // the usual JSON text: its bytes are the str's own
    return {static_cast<const char*>(PyUnicode_DATA(text)), static_cast<std::size_t>(PyUnicode_GET_LENGTH(text))};
  }
  return encoded_utf8_of(text);
}

nb::object ingest_text(EventBus& bus, std::string_view text) {
  const auto result = bus.ingest(text);
  if (!result) return nb::none();
  return make_ingest_result(*result);
}

nb::object ingest_raw(EventBus& bus, nb::handle json) {
  if (!PyUnicode_Check(json.ptr())) {
    PyErr_Format(PyExc_TypeError, "Net.ingest_raw() argument 'json' must be str, not %s", Py_TYPE(json.ptr())->tp_name);
    throw nb::python_error();
  }
  return ingest_text(bus, utf8_of(json.ptr()));
}

nb::object ingest_dict(EventBus& bus, nb::handle event) {
  if (!PyDict_Check(event.ptr())) {
    PyErr_Format(PyExc_TypeError, "Net.ingest() argument 'event' must be dict, not %s", Py_TYPE(event.ptr())->tp_name);
    throw nb::python_error();
  }
  require_open(bus);
  thread_local json::Buffer text;
  text.clear();
  dumps(event, text);
  return ingest_text(bus, text.view());
}

std::size_t ingest_raw_batch(EventBus& bus, nb::handle events) {
  if (PyUnicode_Check(events.ptr()) || !PySequence_Check(events.ptr())) {
    PyErr_Format(PyExc_TypeError, "ingest_raw_batch() argument 'events' must be a sequence of str, not %s",
                 Py_TYPE(events.ptr())->tp_name);
    throw nb::python_error();
  }
  require_open(bus);
  nb::object items =
      nb::steal(PySequence_Fast(events.ptr(), "ingest_raw_batch() argument 'events' must be a sequence of str"));
  if (!items.is_valid()) throw nb::python_error();
  const Py_ssize_t count = PySequence_Fast_GET_SIZE(items.ptr());
  PyObject** item = PySequence_Fast_ITEMS(items.ptr());
  std::vector<std::string_view> views(static_cast<std::size_t>(count));
  std::string_view* view = views.data();
  std::size_t total_bytes = 0;
  for (Py_ssize_t i = 0; i < count; ++i) {
    if (!PyUnicode_Check(item[i])) {
      PyErr_Format(PyExc_TypeError, "ingest_raw_batch() argument 'events'[%zd] must be str, not %s", i,
                   Py_TYPE(item[i])->tp_name);
      throw nb::python_error();
    }
    view[i] = utf8_of(item[i]);
    total_bytes += view[i].size();
  }
  if (total_bytes < kReleaseGilBytes) return bus.ingest_batch(views);
  // Pin the strings: another thread may change the list while the GIL is free.
  nb::object pinned = PyList_Check(items.ptr()) ? nb::steal(PyList_AsTuple(items.ptr())) : items;
  if (!pinned.is_valid()) throw nb::python_error();
  nb::gil_scoped_release unlocked;
  return bus.ingest_batch(views);
}

PollResponse poll(EventBus& bus, nb::handle limit, nb::handle cursor, nb::handle filter, nb::handle ordering) {
  require_open(bus);
  bus::PollRequest request;
  request.limit =
      static_cast<std::size_t>(to_unsigned(limit, "poll", "limit", std::numeric_limits<std::size_t>::max()));
  if (!cursor.is_none()) request.cursor = to_str(cursor, "poll", "cursor");
  std::optional<bus::Filter> parsed_filter;
  if (!filter.is_none()) {
    parsed_filter = bus::Filter::parse(to_str(filter, "poll", "filter"));
    request.filter = &*parsed_filter;
  }
  if (!ordering.is_none()) request.ordering = bus::parse_ordering(to_str(ordering, "poll", "ordering"));

  bus::PollResult result;
  {
    nb::gil_scoped_release unlocked;
    result = bus.poll(request);
  }
  PollResponse response;
  response.events = stored_event_list(std::move(result.events));
  response.next_id = std::move(result.next_id);
  response.has_more = result.has_more;
  return response;
}

nb::list copy_of(const nb::list& list) { return nb::steal<nb::list>(PyList_GetSlice(list.ptr(), 0, PY_SSIZE_T_MAX)); }

}  // namespace

void init_bus(nb::module_& m) {
  init_ingest_result(m);
  nb::class_<bus::Stats>(m, "Stats", "Counters of a Net.")
      .def_ro("events_ingested", &bus::Stats::events_ingested)
      .def_ro("events_dropped", &bus::Stats::events_dropped)
      .def("__repr__", [](const bus::Stats& s) {
        return "Stats(events_ingested=" + std::to_string(s.events_ingested) +
               ", events_dropped=" + std::to_string(s.events_dropped) + ")";
      });

  init_stored_event(m);

  nb::class_<PollResponse>(m, "PollResponse", "One page of poll() results.")
      .def_prop_ro(
          "events", [](const PollResponse& r) { return copy_of(r.events); },
          nb::sig("def events(self) -> list[StoredEvent]"))
      .def_ro("next_id", &PollResponse::next_id, nb::sig("def next_id(self) -> str | None"))
      .def_ro("has_more", &PollResponse::has_more)
      .def("__len__", [](const PollResponse& r) { return nb::len(r.events); })
      .def(
          "__iter__", [](const PollResponse& r) { return nb::iter(copy_of(r.events)); },
          nb::sig("def __iter__(self) -> typing.Iterator[StoredEvent]"))
      .def("__repr__", [](const PollResponse& r) {
        return "PollResponse(events=[..." + std::to_string(nb::len(r.events)) +
               "], next_id=" + (r.next_id ? "Some(\"" + *r.next_id + "\")" : std::string("None")) +
               ", has_more=" + (r.has_more ? "true" : "false") + ")";
      });

  auto net_class =
      nb::class_<EventBus>(m, "Net", "Sharded in-process event bus.")
          .def(
              "__init__",
              [](EventBus* self, nb::args args, nb::kwargs kwargs) {
                const Arguments arguments("Net", kNetParameters, args, kwargs);
                const bus::EventBusConfig config = config_from(arguments);
                // Precedence: Redis, then JetStream, then the two-node peer.
                const bool broker = arguments.get("redis_url") || arguments.get("jetstream_url");
                auto two_node = broker ? std::nullopt : two_node_config_from(arguments);
                config.validate();
                const auto directory = arguments.get_str("persistent_dir");
                if (directory && (broker || two_node)) {
                  throw Error(ErrorKind::InvalidConfig,
                              "invalid configuration: persistent_dir keeps the events on this node; it cannot be "
                              "combined with redis_url, jetstream_url or a net_* peer");
                }
                std::unique_ptr<bus::Adapter> adapter = broker_adapter_from(arguments, config);
                if (two_node) {
                  two_node->inbound = config;
                  adapter = std::make_unique<mesh::TwoNodeAdapter>(*two_node);
                }
                if (directory) {
                  adapter =
                      std::make_unique<redex::BusStore>(*directory, config.num_shards, config.ring_buffer_capacity);
                }
                new (self) EventBus(config, std::move(adapter));
              },
              nb::sig(net_init_signature().c_str()))
          .def("ingest_raw_batch", &ingest_raw_batch, "events"_a,
               nb::sig("def ingest_raw_batch(self, events: typing.Sequence[str]) -> int"))
          .def("poll", &poll, "limit"_a, "cursor"_a = nb::none(), "filter"_a = nb::none(), "ordering"_a = nb::none(),
               nb::sig("def poll(self, limit: int, cursor: str | None = None, filter: str | None = None, "
                       "ordering: str | None = None) -> PollResponse"))
          .def("num_shards",
               [](const EventBus& bus) {
                 require_open(bus);
                 return bus.num_shards();
               })
          .def("stats", &EventBus::stats)
          .def("shutdown", &EventBus::shutdown, nb::call_guard<nb::gil_scoped_release>())
          .def(
              "__enter__", [](nb::handle self) { return nb::borrow(self); }, nb::sig("def __enter__(self) -> Net"))
          .def(
              "__exit__",
              [](EventBus& bus, nb::handle, nb::handle, nb::handle) {
                {
                  nb::gil_scoped_release unlocked;  // as shutdown(): it flushes and joins the adapter's threads
                  bus.shutdown();
                }
                return false;
              },
              "_exc_type"_a = nb::none(), "_exc_val"_a = nb::none(), "_exc_tb"_a = nb::none())
          .def("__repr__", [](const EventBus& bus) { return bus.is_shut_down() ? "Net(shutdown)" : "Net(active)"; });
  // The per-event calls skip nanobind's dispatch (their stub entries are in stubs.pat).
  OneArgumentMethod<EventBus, &ingest_raw>::add_to(net_class, "Net", "ingest_raw", "json",
                                                   "ingest_raw($self, /, json)\n--\n\n"
                                                   "Stores the text as one event; None if drop_newest refused it.");
  OneArgumentMethod<EventBus, &ingest_dict>::add_to(net_class, "Net", "ingest", "event",
                                                    "ingest($self, /, event)\n--\n\n"
                                                    "Stores json.dumps(event) as one event.");
}

}  // namespace net::python
