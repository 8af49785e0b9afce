// Exception classes and the net::Error translator.
#include "errors.hpp"

#include <string>

#include "net/core/error.hpp"

namespace nb = nanobind;

namespace net::python {
namespace {

PyObject* g_backpressure_error = nullptr;
PyObject* g_not_connected_error = nullptr;
PyObject* g_identity_error = nullptr;
PyObject* g_token_error = nullptr;
PyObject* g_channel_error = nullptr;
PyObject* g_channel_auth_error = nullptr;
PyObject* g_redex_error = nullptr;
PyObject* g_cortex_error = nullptr;
PyObject* g_netdb_error = nullptr;

PyObject* python_class_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument:
    case ErrorKind::InvalidConfig:
    case ErrorKind::InvalidFilter: return PyExc_ValueError;
    case ErrorKind::Backpressure: return g_backpressure_error;
    case ErrorKind::NotConnected: return g_not_connected_error;
    case ErrorKind::Identity: return g_identity_error;
    case ErrorKind::Token: return g_token_error;
    case ErrorKind::Channel: return g_channel_error;
    case ErrorKind::ChannelAuth: return g_channel_auth_error;
    case ErrorKind::Redex: return g_redex_error;
    case ErrorKind::Cortex: return g_cortex_error;
    case ErrorKind::NetDb: return g_netdb_error;
    case ErrorKind::Connection:
    case ErrorKind::Transport:
    case ErrorKind::InvalidCursor:
    case ErrorKind::ShutDown:
    case ErrorKind::Internal: return PyExc_RuntimeError;
  }
  return PyExc_RuntimeError;
}

}  // namespace

PyObject* backpressure_error() { return g_backpressure_error; }

void set_error_from_current_exception() noexcept {
  try {
    throw;
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const Error& e) {
    PyErr_SetString(python_class_for(e.kind()), e.what());
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_SystemError, "unknown C++ exception");
  }
}

namespace {

// A new exception class net._net.<name>, added to the module.
PyObject* add_exception(nb::module_& m, const char* name, const char* doc, PyObject* base = nullptr) {
  const std::string qualified = std::string("net._net.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (type == nullptr) throw nb::python_error();
  m.attr(name) = nb::handle(type);
  return type;
}

}  // namespace

void init_errors(nb::module_& m) {
  g_backpressure_error = add_exception(
      m, "BackpressureError", "A bounded buffer is full: a ring in fail_producer mode, or a stream's credit window.",
      PyExc_RuntimeError);
  g_not_connected_error = add_exception(m, "NotConnectedError", "The stream was closed or its peer's session is gone.");
  g_identity_error =
      add_exception(m, "IdentityError", "An invalid identity, subnet, subnet policy, scope or channel name.");
  g_token_error = add_exception(m, "TokenError", "A permission token was refused: the message is \"token: <kind>\".");
  g_channel_error = add_exception(m, "ChannelError", "A channel request was refused or failed: \"channel: <detail>\".");
  g_channel_auth_error = add_exception(
      m, "ChannelAuthError", "The publisher refused this subscriber: \"channel: unauthorized\".", g_channel_error);
  g_redex_error = add_exception(m, "RedexError", "A RedEX operation failed: \"<op>: <detail>\".");
  g_cortex_error = add_exception(m, "CortexError", "A CortEX adapter operation failed: \"<op> failed: <detail>\".");
  g_netdb_error = add_exception(m, "NetDbError", "A NetDb bundle could not be encoded or decoded.");

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(python_class_for(e.kind()), e.what());
    }
  });
}

}  // namespace net::python
