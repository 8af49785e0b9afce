// Argument checking of the fast methods, with CPython's messages.
#include "fast_method.hpp"

namespace net::python {

PyObject* single_argument(const char* owner, const char* method, const char* parameter, PyObject* const* args,
                          Py_ssize_t nargs, PyObject* kwnames) noexcept {
  const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  if (nargs == 1 && nkw == 0) return args[0];
  if (nargs > 1) {
    PyErr_Format(PyExc_TypeError, "%s.%s() takes 1 positional argument but %zd were given", owner, method, nargs);
    return nullptr;
  }
  for (Py_ssize_t i = 0; i < nkw; ++i) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, i);
    if (PyUnicode_CompareWithASCIIString(name, parameter) != 0) {
      PyErr_Format(PyExc_TypeError, "%s.%s() got an unexpected keyword argument '%U'", owner, method, name);
      return nullptr;
    }
    if (nargs == 1) {
      PyErr_Format(PyExc_TypeError, "%s.%s() got multiple values for argument '%s'", owner, method, parameter);
      return nullptr;
    }
  }
  if (nargs + nkw == 0) {
    PyErr_Format(PyExc_TypeError, "%s.%s() missing 1 required positional argument: '%s'", owner, method, parameter);
    return nullptr;
  }
  return args[0];
}

}  // namespace net::python
