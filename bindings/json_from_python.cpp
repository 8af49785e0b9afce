// json.dumps in C++: walks str, int, float, bool, None, list, tuple and dict
// (and their subclasses, as the stdlib encoder does) straight into JSON text.
#include <cstring>
#include <limits>
#include <vector>

#include "json_python.hpp"
#include "net/core/json_writer.hpp"

namespace nb = nanobind;

namespace net::python {
namespace {

// type(value).__name__ (static types' tp_name carries their module: "datetime.date").
const char* type_name(PyObject* value) {
  const char* name = Py_TYPE(value)->tp_name;
  const char* dot = std::strrchr(name, '.');
  return dot ? dot + 1 : name;
}

constexpr std::size_t kMaxDepth = 1000;

[[noreturn]] void raise(PyObject* type, const char* message) {
  PyErr_SetString(type, message);
  throw nb::python_error();
}

void write_str(json::Buffer& out, PyObject* text) {
  const void* data = PyUnicode_DATA(text);
  const auto length = static_cast<std::size_t>(PyUnicode_GET_LENGTH(text));
  switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND: json::append_string(out, static_cast<const std::uint8_t*>(data), length); break;
    case PyUnicode_2BYTE_KIND: json::append_string(out, static_cast<const std::uint16_t*>(data), length); break;
    default: json::append_string(out, static_cast<const std::uint32_t*>(data), length); break;
  }
}

// int.__repr__, whatever the subclass says about itself.
void write_int(json::Buffer& out, PyObject* value) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
  if (overflow == 0) {
    if (v == -1 && PyErr_Occurred()) throw nb::python_error();
    json::append_int(out, v);
    return;
  }
  nb::object text = nb::steal(PyLong_Type.tp_repr(value));
  if (!text.is_valid()) throw nb::python_error();
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  out.append(utf8, static_cast<std::size_t>(size));
}

void write_float(json::Buffer& out, PyObject* value) {
  const double v = PyFloat_AS_DOUBLE(value);
  if (!json::append_double(out, v)) {
    PyErr_Format(PyExc_ValueError, "Out of range float values are not JSON compliant: %R", value);
    throw nb::python_error();
  }
}

class Encoder {
 public:
  // The open-container stack is reused across calls: no allocation per event.
  explicit Encoder(json::Buffer& out) : out_(out), open_containers_(stack()) { open_containers_.clear(); }

  void write(PyObject* value) {
    if (value == Py_None) {
      out_.append("null", 4);
    } else if (value == Py_True) {
      out_.append("true", 4);
    } else if (value == Py_False) {
      out_.append("false", 5);
    } else if (PyUnicode_Check(value)) {
      write_str(out_, value);
    } else if (PyLong_Check(value)) {
      write_int(out_, value);
    } else if (PyFloat_Check(value)) {
      write_float(out_, value);
    } else if (PyList_Check(value) || PyTuple_Check(value)) {
      write_sequence(value);
    } else if (PyDict_Check(value)) {
      write_dict(value);
    } else {
      PyErr_Format(PyExc_TypeError, "Object of type %s is not JSON serializable", type_name(value));
      throw nb::python_error();
    }
  }

 private:
  void enter(PyObject* container) {
    for (PyObject* open : open_containers_)
      if (open == container) raise(PyExc_ValueError, "Circular reference detected");
    if (open_containers_.size() >= kMaxDepth) {
      raise(PyExc_RecursionError, "maximum recursion depth exceeded while encoding a JSON object");
    }
    open_containers_.push_back(container);
  }
  void leave() { open_containers_.pop_back(); }

  // ", " or ": ".
  void separator(char c) {
    out_.push(c);
    out_.push(' ');
  }

  void write_sequence(PyObject* sequence) {
    const bool is_list = PyList_Check(sequence);
    const Py_ssize_t size = is_list ? PyList_GET_SIZE(sequence) : PyTuple_GET_SIZE(sequence);
    if (size == 0) {
      out_.append("[]", 2);
      return;
    }
    enter(sequence);
    out_.push('[');
    // A list can shrink while an item is written only through user code, and
    // none runs here; still index defensively against the live size.
    for (Py_ssize_t i = 0; i < (is_list ? PyList_GET_SIZE(sequence) : size); ++i) {
      if (i > 0) separator(',');
      write(is_list ? PyList_GET_ITEM(sequence, i) : PyTuple_GET_ITEM(sequence, i));
    }
    out_.push(']');
    leave();
  }

  void write_key(PyObject* key) {
    if (PyUnicode_Check(key)) {
      write_str(out_, key);
      return;
    }
    out_.push('"');
    if (PyFloat_Check(key)) {
      write_float(out_, key);
    } else if (key == Py_True) {
      out_.append("true", 4);
    } else if (key == Py_False) {
      out_.append("false", 5);
    } else if (key == Py_None) {
      out_.append("null", 4);
    } else if (PyLong_Check(key)) {
      write_int(out_, key);
    } else {
      PyErr_Format(PyExc_TypeError, "keys must be str, int, float, bool or None, not %s", type_name(key));
      throw nb::python_error();
    }
    out_.push('"');
  }

  void write_dict(PyObject* dict) {
    if (PyDict_GET_SIZE(dict) == 0) {
      out_.append("{}", 2);
      return;
    }
    enter(dict);
    out_.push('{');
    Py_ssize_t position = 0;
    PyObject* key = nullptr;
    PyObject* item = nullptr;
    bool first = true;
    while (PyDict_Next(dict, &position, &key, &item)) {
      if (!first) separator(',');
      first = false;
      write_key(key);
      separator(':');
      write(item);
    }
    out_.push('}');
    leave();
  }

  static std::vector<PyObject*>& stack() {
    thread_local std::vector<PyObject*> containers;
    return containers;
  }

  json::Buffer& out_;
  std::vector<PyObject*>& open_containers_;
};

}  // namespace

void dumps(nb::handle value, json::Buffer& out) { Encoder(out).write(value.ptr()); }

}  // namespace net::python
