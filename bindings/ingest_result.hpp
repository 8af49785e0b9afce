// IngestResult as a plain CPython type. ingest_raw creates one per call, and
// a nanobind instance (type lookup, instance-map insert and erase) costs more
// than the whole ingest; this one is a pymalloc'd 32-byte object.
#pragma once

#include <nanobind/nanobind.h>

#include "net/bus/event.hpp"

namespace net::python {

void init_ingest_result(nanobind::module_& m);

// A new IngestResult; throws nanobind::python_error if allocation fails.
nanobind::object make_ingest_result(const bus::IngestResult& result);

}  // namespace net::python
