// Plain CPython vectorcall methods on a nanobind class, for the calls made
// once per event (Net.ingest_raw, Net.ingest), where nanobind's generic
// dispatch would cost a third of the call. Same argument rules as a
// positional-or-keyword parameter; C++ exceptions map as everywhere else.
#pragma once

#include <nanobind/nanobind.h>

#include "errors.hpp"

namespace net::python {

// The one argument of `owner.method(parameter)`, or nullptr with a TypeError set.
PyObject* single_argument(const char* owner, const char* method, const char* parameter, PyObject* const* args,
                          Py_ssize_t nargs, PyObject* kwnames) noexcept;

template <typename T, nanobind::object (*Body)(T&, nanobind::handle)>
struct OneArgumentMethod {
  static inline const char* owner;
  static inline const char* method;
  static inline const char* parameter;

  static PyObject* call(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) noexcept {
    PyObject* arg = single_argument(owner, method, parameter, args, PyVectorcall_NARGS(nargs), kwnames);
    if (arg == nullptr) return nullptr;
    if (!nanobind::inst_ready(self)) {
      PyErr_Format(PyExc_TypeError, "%s.%s() called on an uninitialized %s", owner, method, owner);
      return nullptr;
    }
    try {
      return Body(*nanobind::inst_ptr<T>(self), arg).release().ptr();
    } catch (...) {
      set_error_from_current_exception();
      return nullptr;
    }
  }

  // Adds the method to `cls`; `doc` starts with its __text_signature__.
  static void add_to(nanobind::handle cls, const char* owner_name, const char* method_name, const char* parameter_name,
                     const char* doc) {
    owner = owner_name;
    method = method_name;
    parameter = parameter_name;
    static PyMethodDef def = {method_name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&call)),
                              METH_FASTCALL | METH_KEYWORDS, doc};
    PyObject* descriptor = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), &def);
    if (descriptor == nullptr) throw nanobind::python_error();
    nanobind::setattr(cls, method_name, nanobind::steal(descriptor));
  }
};

}  // namespace net::python
