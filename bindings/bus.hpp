// Python classes of the event bus: Net, IngestResult, StoredEvent,
// PollResponse, Stats (API.md §2).
#pragma once

#include <nanobind/nanobind.h>

#include <vector>

#include "net/bus/event.hpp"

namespace net::python {

void init_bus(nanobind::module_& m);

// The events as a list of StoredEvent objects, moved in. The bound type is
// looked up once, where nb::cast would look it up for every event.
nanobind::list stored_event_list(std::vector<bus::StoredEvent>&& events);

}  // namespace net::python
