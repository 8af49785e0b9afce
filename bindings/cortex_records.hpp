// Task and Memory as plain CPython types. list_* and watchers create
// thousands per call, and a nanobind instance (type lookup, instance-map
// insert and erase) costs more than the query; these are one pymalloc'd
// object each (a Task with its title inside, a Memory holding its C++
// record). Read-only attributes, value equality and hash, the original's repr.
#pragma once

#include <nanobind/nanobind.h>

#include <span>
#include <vector>

#include "net/cortex/memories.hpp"
#include "net/cortex/tasks.hpp"

namespace net::python {

void init_cortex_records(nanobind::module_& m);

// The records as a new list of Python objects (moved, or copied from a view).
nanobind::list to_list(std::vector<cortex::Task>&& tasks);
nanobind::list to_list(std::vector<cortex::Memory>&& memories);
nanobind::list to_list(std::span<const cortex::Task* const> tasks);
nanobind::list to_list(std::span<const cortex::Memory* const> memories);

}  // namespace net::python
