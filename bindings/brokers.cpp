#include "brokers.hpp"

#include <nanobind/stl/string.h>

#include <chrono>
#include <limits>
#include <string>

#include "net/brokers/jetstream_adapter.hpp"
#include "net/brokers/redis_adapter.hpp"
#include "net/brokers/stream_dedup.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace net::python {
namespace {

std::chrono::milliseconds milliseconds_argument(const Arguments& arguments, const char* name,
                                                std::chrono::milliseconds fallback) {
  const auto ms = arguments.get_unsigned(name, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  return ms ? capped_milliseconds(*ms) : fallback;
}

std::unique_ptr<bus::Adapter> redis_adapter_from(const Arguments& arguments, const bus::EventBusConfig& config) {
  brokers::RedisConfig redis;
  redis.url = *arguments.get_str("redis_url");
  if (auto prefix = arguments.get_str("redis_prefix")) redis.prefix = std::move(*prefix);
  if (const auto size = arguments.get_unsigned("redis_pipeline_size", std::numeric_limits<std::size_t>::max())) {
    redis.pipeline_size = static_cast<std::size_t>(*size);
  }
  arguments.get_unsigned("redis_pool_size", std::numeric_limits<std::size_t>::max());  // one pipelined connection
  redis.connect_timeout = milliseconds_argument(arguments, "redis_connect_timeout_ms", redis.connect_timeout);
  redis.command_timeout = milliseconds_argument(arguments, "redis_command_timeout_ms", redis.command_timeout);
  redis.max_stream_len = arguments.get_unsigned("redis_max_stream_len", std::numeric_limits<std::uint64_t>::max());
  redis.producer_nonce_path = arguments.get_str("producer_nonce_path");
  redis.validate();
  nb::gil_scoped_release unlocked;
  return std::make_unique<brokers::RedisAdapter>(redis, config.num_shards);
}

std::unique_ptr<bus::Adapter> jetstream_adapter_from(const Arguments& arguments, const bus::EventBusConfig& config) {
  brokers::JetStreamConfig jetstream;
  jetstream.url = *arguments.get_str("jetstream_url");
  if (auto prefix = arguments.get_str("jetstream_prefix")) jetstream.prefix = std::move(*prefix);
  jetstream.connect_timeout =
      milliseconds_argument(arguments, "jetstream_connect_timeout_ms", jetstream.connect_timeout);
  jetstream.request_timeout =
      milliseconds_argument(arguments, "jetstream_request_timeout_ms", jetstream.request_timeout);
  jetstream.max_messages = arguments.get_signed("jetstream_max_messages");
  jetstream.max_bytes = arguments.get_signed("jetstream_max_bytes");
  if (arguments.get("jetstream_max_age_ms")) {
    jetstream.max_age = milliseconds_argument(arguments, "jetstream_max_age_ms", std::chrono::milliseconds(0));
  }
  if (const auto replicas = arguments.get_signed("jetstream_replicas")) jetstream.replicas = *replicas;
  jetstream.producer_nonce_path = arguments.get_str("producer_nonce_path");
  jetstream.validate();
  nb::gil_scoped_release unlocked;
  return std::make_unique<brokers::JetStreamAdapter>(jetstream, config.num_shards);
}

}  // namespace

std::unique_ptr<bus::Adapter> broker_adapter_from(const Arguments& arguments, const bus::EventBusConfig& config) {
  if (arguments.get("redis_url")) return redis_adapter_from(arguments, config);
  if (arguments.get("jetstream_url")) return jetstream_adapter_from(arguments, config);
  return nullptr;
}

void init_brokers(nb::module_& m) {
  nb::class_<brokers::StreamDedup>(m, "RedisStreamDedup",
                                   "Consumer-side filter for Redis entries a retried transaction wrote twice: a "
                                   "bounded set of dedup ids that forgets the oldest first sighting when full.")
      .def(
          "__init__",
          [](brokers::StreamDedup* self, nb::handle capacity) {
            const std::size_t value =
                capacity.is_none() ? brokers::StreamDedup::kDefaultCapacity
                                   : static_cast<std::size_t>(to_unsigned(capacity, "RedisStreamDedup", "capacity",
                                                                          std::numeric_limits<std::size_t>::max()));
            new (self) brokers::StreamDedup(value);
          },
          "capacity"_a = nb::none(), nb::sig("def __init__(self, capacity: int | None = None) -> None"))
      .def(
          "is_duplicate",
          [](brokers::StreamDedup& dedup, nb::handle dedup_id) {
            return dedup.is_duplicate(to_str(dedup_id, "is_duplicate", "dedup_id"));
          },
          "dedup_id"_a, nb::sig("def is_duplicate(self, dedup_id: str) -> bool"),
          "True if the id was seen (and is still tracked); otherwise records it and returns False.")
      .def_prop_ro("len", &brokers::StreamDedup::size)
      .def_prop_ro("capacity", &brokers::StreamDedup::capacity)
      .def_prop_ro("is_empty", [](const brokers::StreamDedup& dedup) { return dedup.size() == 0; })
      .def("clear", &brokers::StreamDedup::clear, nb::call_guard<nb::gil_scoped_release>(),
           "Forgets every id (without the GIL: a large set takes a while to free).")
      .def("__repr__", [](const brokers::StreamDedup& dedup) {
        return "RedisStreamDedup(len=" + std::to_string(dedup.size()) +
               ", capacity=" + std::to_string(dedup.capacity()) + ")";
      });
}

}  // namespace net::python
