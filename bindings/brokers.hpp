// The broker side of Net(...): the redis_* and jetstream_* keywords (the
// original's precedence and messages) and the RedisStreamDedup class.
#pragma once

#include <nanobind/nanobind.h>

#include <memory>

#include "arguments.hpp"
#include "net/bus/adapter.hpp"
#include "net/bus/config.hpp"

namespace net::python {

// The Redis adapter if redis_url is given, else JetStream if jetstream_url
// is, else nullptr. Connects without the GIL; ValueError for bad keywords,
// RuntimeError("connection error: ...") when the broker cannot be reached.
std::unique_ptr<bus::Adapter> broker_adapter_from(const Arguments& arguments, const bus::EventBusConfig& config);

void init_brokers(nanobind::module_& m);

}  // namespace net::python
