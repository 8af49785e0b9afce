// Plain CPython types for the objects made once per event or record
// (IngestResult, StoredEvent, Task, Memory), where a nanobind instance would
// cost an instance-map insert and erase on top of its allocation.
#pragma once

#include <nanobind/nanobind.h>

#include <string_view>

#include "errors.hpp"

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

// Freed objects of a fixed-size plain type kept for the next one (the GIL
// guards it): an object made and dropped per call, as ingest_raw's
// IngestResult, then costs a pop rather than a pymalloc allocation and free.
template <class Object>
struct FreeObjects {
  static constexpr int kMax = 64;
  static inline PyObject* kept[kMax];
  static inline int count = 0;
};

// A new object of the plain type `type` whose objects are `Object`, with its
// C++ members still to be constructed; nullptr with MemoryError set.
template <class Object>
Object* new_plain(PyTypeObject* type) noexcept {
  using Free = FreeObjects<Object>;
  void* memory = Free::count > 0 ? Free::kept[--Free::count] : PyObject_Malloc(sizeof(Object));
  if (memory == nullptr) {
    PyErr_NoMemory();
    return nullptr;
  }
  return reinterpret_cast<Object*>(PyObject_Init(static_cast<PyObject*>(memory), type));
}

// The tp_dealloc of a plain type whose objects are `Object` (PyObject_HEAD
// first, then C++ members, which are destroyed here).
template <class Object>
void dealloc_plain(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  reinterpret_cast<Object*>(self)->~Object();
  PyObject_Free(self);
  Py_DECREF(type);
}

// The same for a type whose objects new_plain makes: the memory is kept for
// the next one.
template <class Object>
void dealloc_reused(PyObject* self) {
  using Free = FreeObjects<Object>;
  PyTypeObject* type = Py_TYPE(self);
  reinterpret_cast<Object*>(self)->~Object();
  if (Free::count < Free::kMax) {
    Free::kept[Free::count++] = self;
  } else {
    PyObject_Free(self);
  }
  Py_DECREF(type);
}

// A new str of UTF-8 text.
inline PyObject* new_text(std::string_view value) {
  return PyUnicode_FromStringAndSize(value.data(), static_cast<Py_ssize_t>(value.size()));
}

// Runs `make` inside a C callback (a getter, a repr): a C++ exception, such
// as bad_alloc building a string, becomes the Python error instead of
// leaving through C code.
template <class Make>
PyObject* guarded(Make&& make) noexcept {
  try {
    return make();
  } catch (...) {
    set_error_from_current_exception();
    return nullptr;
  }
}

}  // namespace net::python
