// Plain CPython types for the objects made once per event or record
// (IngestResult, StoredEvent, Task, Memory), where a nanobind instance would
// cost an instance-map insert and erase on top of its allocation.
#pragma once

#include <nanobind/nanobind.h>

namespace net::python {

// Read-only objects the binding makes; Python cannot construct them.
inline constexpr unsigned kPlainTypeFlags =
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE;

// Creates the type of `spec` and binds it as m.<name>. The type is kept for
// good: the binding makes objects of it whatever Python code deletes.
inline PyTypeObject* add_plain_type(nanobind::module_& m, const char* name, PyType_Spec& spec) {
  PyObject* type = PyType_FromSpec(&spec);
  if (type == nullptr) throw nanobind::python_error();
  m.attr(name) = nanobind::borrow(type);
  return reinterpret_cast<PyTypeObject*>(type);
}

}  // namespace net::python
