// Registers Task, Memory, TasksAdapter, MemoriesAdapter, their watch iterators and NetDb.
#pragma once

#include <nanobind/nanobind.h>

namespace net::python {

void init_cortex(nanobind::module_& m);

}  // namespace net::python
