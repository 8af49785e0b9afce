// Registers NetMesh, NetStream and NetStreamStats.
#pragma once

#include <nanobind/nanobind.h>

namespace net::python {

void init_mesh(nanobind::module_& m);

}  // namespace net::python
