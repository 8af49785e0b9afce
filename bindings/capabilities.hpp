// The capability, filter and scope dicts of announce_capabilities,
// find_nodes[_scoped] and a channel's publish_caps/subscribe_caps
// (API.md §4.7) converted to libnet's types, with the original's leniency
// (None = absent, unknown keys ignored) and its TypeError/OverflowError texts.
#pragma once

#include <nanobind/nanobind.h>

#include "net/capability/filter.hpp"
#include "net/capability/scope.hpp"

namespace net::python {

capability::CapabilitySet capability_set_from(nanobind::handle caps);
capability::CapabilityFilter capability_filter_from(nanobind::handle filter);
capability::ScopeFilter scope_filter_from(nanobind::handle scope);

}  // namespace net::python
