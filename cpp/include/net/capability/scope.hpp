// Scoped discovery (REFERENCE §6.6): the scope a node declares through its
// reserved scope:* tags, and whether a find_nodes_scoped request may see it.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace net::capability {

// Derived with strictest-wins: any "scope:subnet-local" makes SubnetLocal
// (tenant and region tags are then ignored); else "scope:tenant:<id>" and
// "scope:region:<name>" tags (non-empty) make Restricted; else Global.
// "scope:global" has no effect.
struct NodeScope {
  enum class Kind { Global, SubnetLocal, Restricted };
  Kind kind = Kind::Global;
  std::vector<std::string> tenants;  ///< Restricted only
  std::vector<std::string> regions;  ///< Restricted only

  static NodeScope from_tags(std::span<const std::string> tags);
  bool operator==(const NodeScope&) const = default;
};

struct ScopeFilter {
  enum class Kind { Any, GlobalOnly, SameSubnet, Tenants, Regions };
  Kind kind = Kind::Any;
  std::vector<std::string> values;  ///< the wanted tenants or regions

  // Tenants or Regions without empty strings; Any if none is left.
  static ScopeFilter restricted_to(Kind kind, std::vector<std::string> values);
};

// Whether a node of `scope` answers `filter`; `same_subnet` says whether it
// is in the asker's subnet. SubnetLocal nodes answer only SameSubnet; Global
// nodes answer every filter but SameSubnet (unless in the subnet).
bool scope_matches(const NodeScope& scope, const ScopeFilter& filter, bool same_subnet);

}  // namespace net::capability
