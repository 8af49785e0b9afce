// Registers Redex, RedexFile, RedexEvent and RedexTailIter.
#pragma once

#include <nanobind/nanobind.h>

namespace net::python {

void init_redex(nanobind::module_& m);

}  // namespace net::python
