// Argument binding and conversion shared by every constructor with many keywords.
#include "arguments.hpp"

#include <cstring>

namespace nb = nanobind;

namespace net::python {

[[noreturn]] void raise_type_error(const char* function, const char* name, const char* expected, nb::handle value) {
  PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be %s, not %s", function, name, expected,
               Py_TYPE(value.ptr())->tp_name);
  throw nb::python_error();
}

std::uint64_t to_unsigned(nb::handle value, const char* function, const char* name, std::uint64_t max) {
  if (!PyLong_Check(value.ptr()) || PyBool_Check(value.ptr())) raise_type_error(function, name, "int", value);
  return int_in_range(value, max);
}

std::uint64_t int_in_range(nb::handle integer, std::uint64_t max) {
  const unsigned long long v = PyLong_AsUnsignedLongLong(integer.ptr());
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_Clear();
      PyErr_SetString(PyExc_OverflowError, _PyLong_Sign(integer.ptr()) < 0
                                               ? "can't convert negative int to unsigned"
                                               : "out of range integral type conversion attempted");
    }
    throw nb::python_error();
  }
  if (v > max) {
    PyErr_SetString(PyExc_OverflowError, "out of range integral type conversion attempted");
    throw nb::python_error();
  }
  return v;
}

std::string_view to_str_view(nb::handle value, const char* function, const char* name) {
  if (!PyUnicode_Check(value.ptr())) raise_type_error(function, name, "str", value);
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(value.ptr(), &size);
  if (text == nullptr) throw nb::python_error();
  return {text, static_cast<std::size_t>(size)};
}

std::string to_str(nb::handle value, const char* function, const char* name) {
  return std::string(to_str_view(value, function, name));
}

Arguments::Arguments(const char* function, std::span<const char* const> names, nb::args args, nb::kwargs kwargs)
    : function_(function), names_(names), values_(names.size()) {
  if (args.size() > names.size()) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments (%zu given)", function, names.size(), args.size());
    throw nb::python_error();
  }
  for (std::size_t i = 0; i < args.size(); ++i) values_[i] = args[i];
  for (auto [key, value] : kwargs) {
    const char* key_text = PyUnicode_AsUTF8(key.ptr());
    if (key_text == nullptr) throw nb::python_error();
    std::size_t i = 0;
    while (i < names.size() && std::strcmp(names[i], key_text) != 0) ++i;
    if (i == names.size()) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%s'", function, key_text);
      throw nb::python_error();
    }
    if (values_[i].is_valid()) {
      PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", function, key_text);
      throw nb::python_error();
    }
    values_[i] = value;
  }
}

std::optional<nb::handle> Arguments::get(const char* name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (std::strcmp(names_[i], name) == 0) {
      if (!values_[i].is_valid() || values_[i].is_none()) return std::nullopt;
      return values_[i];
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> Arguments::get_unsigned(const char* name, std::uint64_t max) const {
  const auto value = get(name);
  if (!value) return std::nullopt;
  return to_unsigned(*value, function_, name, max);
}

std::optional<std::int64_t> Arguments::get_signed(const char* name) const {
  const auto value = get(name);
  if (!value) return std::nullopt;
  if (!PyLong_Check(value->ptr()) || PyBool_Check(value->ptr())) raise_type_error(function_, name, "int", *value);
  const long long v = PyLong_AsLongLong(value->ptr());
  if (v == -1 && PyErr_Occurred()) throw nb::python_error();
  return v;
}

std::optional<std::string> Arguments::get_str(const char* name) const {
  const auto value = get(name);
  if (!value) return std::nullopt;
  return to_str(*value, function_, name);
}

std::optional<bool> Arguments::get_bool(const char* name) const {
  const auto value = get(name);
  if (!value) return std::nullopt;
  if (!PyBool_Check(value->ptr())) raise_type_error(function_, name, "bool", *value);
  return value->ptr() == Py_True;
}

}  // namespace net::python

namespace net::python {

std::vector<std::uint8_t> parse_hex(std::string_view text, const std::string& prefix) {
  auto fail = [&](const std::string& detail) {
    PyErr_SetString(PyExc_ValueError, (prefix + detail).c_str());
    throw nb::python_error();
  };
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() % 2 != 0) fail("Odd number of digits");
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (digit(text[i]) < 0)
      fail("Invalid character '" + std::string(1, text[i]) + "' at position " + std::to_string(i));
  }
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(digit(text[2 * i]) << 4 | digit(text[2 * i + 1]));
  }
  return out;
}

ByteView bytes_argument(nb::handle value, const char* name) {
  if (!PyBytes_Check(value.ptr())) {
    PyErr_Format(PyExc_TypeError, "argument '%s': '%s' object is not an instance of 'bytes'", name,
                 Py_TYPE(value.ptr())->tp_name);
    throw nb::python_error();
  }
  return {reinterpret_cast<const std::uint8_t*>(PyBytes_AS_STRING(value.ptr())),
          static_cast<std::size_t>(PyBytes_GET_SIZE(value.ptr()))};
}

}  // namespace net::python
