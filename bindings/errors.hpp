// Python exception classes of net._net and the one translator that maps
// net::Error kinds onto them (DESIGN.md §4).
#pragma once

#include <nanobind/nanobind.h>

namespace net::python {

void init_errors(nanobind::module_& m);

// BackpressureError, a subclass of RuntimeError.
PyObject* backpressure_error();

// Sets the Python error for the exception being handled (call it inside a
// catch block): net::Error by kind, a pending python_error restored as is.
void set_error_from_current_exception() noexcept;

}  // namespace net::python
