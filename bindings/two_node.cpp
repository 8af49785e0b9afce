// Net(net_bind_addr=..., ...) keyword validation (API.md §2.1, "net_*
// validation order and messages") and construction of the adapter.
#include "two_node.hpp"

#include <chrono>

#include "net/core/error.hpp"

namespace nb = nanobind;

namespace net::python {
namespace {

[[noreturn]] void value_error(const std::string& message) {
  PyErr_SetString(PyExc_ValueError, message.c_str());
  throw nb::python_error();
}

transport::SocketAddress address_argument(const Arguments& arguments, const char* name) {
  try {
    return transport::SocketAddress::parse(*arguments.get_str(name));
  } catch (const Error& e) {
    value_error(std::string("Invalid ") + name + ": " + e.what());
  }
}

// Required 32-byte hex: "<name> is required<suffix>", "Invalid <name> hex: ...",
// "<name> must be exactly 32 bytes".
Key32 key_argument(const Arguments& arguments, const char* name, const char* required_suffix = "") {
  const auto text = arguments.get_str(name);
  if (!text) value_error(std::string(name) + " is required" + required_suffix);
  const auto bytes = parse_hex(*text, std::string("Invalid ") + name + " hex: ");
  if (bytes.size() != 32) value_error(std::string(name) + " must be exactly 32 bytes");
  Key32 key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

}  // namespace

std::optional<mesh::TwoNodeConfig> two_node_config_from(const Arguments& arguments) {
  if (!arguments.get("net_bind_addr")) return std::nullopt;
  mesh::TwoNodeConfig config;
  config.bind_address = address_argument(arguments, "net_bind_addr");
  if (!arguments.get("net_peer_addr")) value_error("net_peer_addr is required");
  config.peer_address = address_argument(arguments, "net_peer_addr");
  config.psk = key_argument(arguments, "net_psk");
  const auto role = arguments.get_str("net_role");
  if (!role) value_error("net_role is required");
  if (*role == "initiator") {
    config.role = mesh::TwoNodeRole::Initiator;
    config.peer_public_key = key_argument(arguments, "net_peer_public_key", " for initiator");
  } else if (*role == "responder") {
    config.role = mesh::TwoNodeRole::Responder;
    if (!arguments.get("net_secret_key")) value_error("net_secret_key is required for responder");
    if (!arguments.get("net_public_key")) value_error("net_public_key is required for responder");
    config.secret_key = key_argument(arguments, "net_secret_key");
    key_argument(arguments, "net_public_key");  // checked like the original; the secret determines it
  } else {
    value_error("Invalid net_role: " + *role + ". Use 'initiator' or 'responder'");
  }
  if (const auto reliability = arguments.get_str("net_reliability")) {
    if (*reliability == "light") {
      config.reliability = mesh::TwoNodeReliability::Light;
    } else if (*reliability == "full") {
      config.reliability = mesh::TwoNodeReliability::Full;
    } else if (*reliability != "none") {
      value_error("Invalid net_reliability: " + *reliability + ". Use 'none', 'light' or 'full'");
    }
  }
  const auto heartbeat_ms = arguments.get_unsigned("net_heartbeat_interval_ms", UINT64_MAX);
  const auto session_ms = arguments.get_unsigned("net_session_timeout_ms", UINT64_MAX);
  if (heartbeat_ms) config.heartbeat_interval = capped_milliseconds(*heartbeat_ms);
  if (session_ms) config.session_timeout = capped_milliseconds(*session_ms);
  if (heartbeat_ms && session_ms && *session_ms > *heartbeat_ms) {  // still longer, as given, once both are capped
    config.session_timeout = std::max(config.session_timeout, config.heartbeat_interval + std::chrono::milliseconds(1));
  }
  arguments.get_bool("net_batched_io");  // always batched here (sendmmsg/recvmmsg); type-checked only
  if (const auto pool = arguments.get_unsigned("net_packet_pool_size", UINT64_MAX);
      pool && (*pool == 0 || *pool > 16384)) {
    throw Error(ErrorKind::InvalidConfig, "invalid configuration: net packet_pool_size must be in 1..=16384");
  }
  return config;
}

}  // namespace net::python
