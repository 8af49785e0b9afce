// Exception classes and the net::Error translator.
#include "errors.hpp"

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

void init_errors(nb::module_& m) {
  g_backpressure_error =
      PyErr_NewExceptionWithDoc("net._net.BackpressureError",
                                "A bounded buffer is full: a ring in fail_producer mode, or a stream's credit window.",
                                PyExc_RuntimeError, nullptr);
  m.attr("BackpressureError") = nb::handle(g_backpressure_error);
  g_not_connected_error = PyErr_NewExceptionWithDoc(
      "net._net.NotConnectedError", "The stream was closed or its peer's session is gone.", nullptr, nullptr);
  m.attr("NotConnectedError") = nb::handle(g_not_connected_error);
  g_identity_error = PyErr_NewExceptionWithDoc(
      "net._net.IdentityError", "An invalid identity, subnet, subnet policy, scope or channel name.", nullptr, nullptr);
  m.attr("IdentityError") = nb::handle(g_identity_error);
  g_token_error = PyErr_NewExceptionWithDoc(
      "net._net.TokenError", "A permission token was refused: the message is \"token: <kind>\".", nullptr, nullptr);
  m.attr("TokenError") = nb::handle(g_token_error);
  g_channel_error = PyErr_NewExceptionWithDoc(
      "net._net.ChannelError", "A channel request was refused or failed: \"channel: <detail>\".", nullptr, nullptr);
  m.attr("ChannelError") = nb::handle(g_channel_error);
  g_channel_auth_error = PyErr_NewExceptionWithDoc("net._net.ChannelAuthError",
                                                   "The publisher refused this subscriber: \"channel: unauthorized\".",
                                                   g_channel_error, nullptr);
  m.attr("ChannelAuthError") = nb::handle(g_channel_auth_error);
  g_redex_error = PyErr_NewExceptionWithDoc("net._net.RedexError", "A RedEX operation failed: \"<op>: <detail>\".",
                                            nullptr, nullptr);
  m.attr("RedexError") = nb::handle(g_redex_error);

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(python_class_for(e.kind()), e.what());
    }
  });
}

}  // namespace net::python
