// JSON <-> Python objects in C++: dumps() writes exactly what json.dumps(obj)
// writes (default separators, ensure_ascii); loads() builds what json.loads()
// builds, parsing with simdjson and deferring to json.loads for the rare text
// simdjson refuses (NaN literals, huge integers, errors with positions).
#pragma once

#include <nanobind/nanobind.h>

#include <string_view>

#include "net/core/json_writer.hpp"

namespace net::python {

// Raises TypeError for unserializable values, ValueError for NaN/inf and
// circular references (as nanobind::python_error).
void dumps(nanobind::handle value, json::Buffer& out);

nanobind::object loads(std::string_view text);

}  // namespace net::python
