// Python classes of the event bus: Net, IngestResult, StoredEvent,
// PollResponse, Stats (API.md §2).
#pragma once

#include <nanobind/nanobind.h>

namespace net::python {

void init_bus(nanobind::module_& m);

}  // namespace net::python
