// StoredEvent as a plain CPython type holding a bus::StoredEvent: poll()
// creates one per event, and a nanobind instance (instance-map insert and
// erase on top of its allocation) cost more than the rest of the poll.
// Read-only id, raw, insertion_ts and shard_id, parse(), a repr, no
// constructor from Python.
#pragma once

#include <nanobind/nanobind.h>

#include <vector>

#include "net/bus/event.hpp"

namespace net::python {

void init_stored_event(nanobind::module_& m);

// The events as a list of StoredEvent objects, moved in.
nanobind::list stored_event_list(std::vector<bus::StoredEvent>&& events);

}  // namespace net::python
