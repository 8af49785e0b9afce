// The net_* keywords of Net(...): validated in the original's order and with
// its messages, they make the two-node encrypted UDP adapter.
#pragma once

#include <optional>

#include "arguments.hpp"
#include "net/mesh/two_node_adapter.hpp"

namespace net::python {

// nullopt when net_bind_addr is absent; ValueError for bad keywords. The
// caller fills in `inbound` (the bus's own settings) and builds the adapter.
std::optional<mesh::TwoNodeConfig> two_node_config_from(const Arguments& arguments);

}  // namespace net::python
