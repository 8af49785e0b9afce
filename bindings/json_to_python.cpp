// json.loads in C++: simdjson's DOM turned into dicts, lists, str, int,
// float, bool and None.
#include <simdjson.h>

#include "json_python.hpp"

namespace nb = nanobind;
namespace dom = simdjson::dom;

namespace net::python {
namespace {

PyObject* build(dom::element element) {
  switch (element.type()) {
    case dom::element_type::OBJECT: {
      PyObject* dict = PyDict_New();
      if (dict == nullptr) return nullptr;
      for (auto [key, value] : dom::object(element)) {
        PyObject* py_key = PyUnicode_FromStringAndSize(key.data(), static_cast<Py_ssize_t>(key.size()));
        PyObject* py_value = py_key ? build(value) : nullptr;
        const int status = py_value ? PyDict_SetItem(dict, py_key, py_value) : -1;
        Py_XDECREF(py_key);
        Py_XDECREF(py_value);
        if (status < 0) {
          Py_DECREF(dict);
          return nullptr;
        }
      }
      return dict;
    }
    case dom::element_type::ARRAY: {
      dom::array array(element);
      PyObject* list = PyList_New(static_cast<Py_ssize_t>(array.size()));
      if (list == nullptr) return nullptr;
      Py_ssize_t i = 0;
      for (dom::element item : array) {
        PyObject* py_item = build(item);
        if (py_item == nullptr) {
          Py_DECREF(list);
          return nullptr;
        }
        PyList_SET_ITEM(list, i++, py_item);
      }
      return list;
    }
    case dom::element_type::STRING: {
      const std::string_view text(element);
      return PyUnicode_FromStringAndSize(text.data(), static_cast<Py_ssize_t>(text.size()));
    }
    case dom::element_type::INT64: return PyLong_FromLongLong(int64_t(element));
    case dom::element_type::UINT64: return PyLong_FromUnsignedLongLong(uint64_t(element));
    case dom::element_type::DOUBLE: return PyFloat_FromDouble(double(element));
    case dom::element_type::BOOL: return Py_NewRef(bool(element) ? Py_True : Py_False);
    case dom::element_type::NULL_VALUE: return Py_NewRef(Py_None);
    default: PyErr_SetString(PyExc_RuntimeError, "unexpected JSON element"); return nullptr;
  }
}

nb::object stdlib_loads(std::string_view text) {
  // Deliberately never released: it must outlive interpreter finalization.
  static PyObject* json_loads = nb::object(nb::module_::import_("json").attr("loads")).release().ptr();
  nb::object py_text = nb::steal(PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), nullptr));
  if (!py_text.is_valid()) {
    PyErr_Clear();
    py_text = nb::str("");  // StoredEvent.raw is "" for bytes that are not UTF-8
  }
  return nb::handle(json_loads)(py_text);
}

nb::object loads_with(dom::parser& parser, std::string_view text) {
  dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) return stdlib_loads(text);
  PyObject* result = build(root);
  if (result == nullptr) throw nb::python_error();
  return nb::steal(result);
}

}  // namespace

nb::object loads(std::string_view text) {
  // One parser per thread, reused; but building objects can run Python code
  // (a finalizer run by the collector) that parses on this thread while the
  // outer document is still being walked: that one gets a parser of its own.
  thread_local dom::parser reused;
  thread_local bool in_use = false;
  if (in_use) {
    dom::parser own;
    return loads_with(own, text);
  }
  in_use = true;
  struct Done {
    ~Done() { in_use = false; }
  } done;
  return loads_with(reused, text);
}

}  // namespace net::python
