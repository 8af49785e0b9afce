// Scope derivation from tags and the candidate x filter matrix of §6.6.
#include "net/capability/scope.hpp"

#include <algorithm>
#include <string_view>

namespace net::capability {
namespace {

constexpr std::string_view kSubnetLocalTag = "scope:subnet-local";
constexpr std::string_view kTenantPrefix = "scope:tenant:";
constexpr std::string_view kRegionPrefix = "scope:region:";

bool shares_any(const std::vector<std::string>& wanted, const std::vector<std::string>& listed) {
  return std::any_of(wanted.begin(), wanted.end(), [&](const std::string& value) {
    return std::find(listed.begin(), listed.end(), value) != listed.end();
  });
}

}  // namespace

NodeScope NodeScope::from_tags(std::span<const std::string> tags) {
  NodeScope scope;
  for (const std::string& tag : tags) {
    const std::string_view text = tag;
    if (text == kSubnetLocalTag) return NodeScope{Kind::SubnetLocal, {}, {}};
    if (text.starts_with(kTenantPrefix) && text.size() > kTenantPrefix.size()) {
      scope.tenants.emplace_back(text.substr(kTenantPrefix.size()));
    } else if (text.starts_with(kRegionPrefix) && text.size() > kRegionPrefix.size()) {
      scope.regions.emplace_back(text.substr(kRegionPrefix.size()));
    }
  }
  if (!scope.tenants.empty() || !scope.regions.empty()) scope.kind = Kind::Restricted;
  return scope;
}

ScopeFilter ScopeFilter::restricted_to(Kind kind, std::vector<std::string> values) {
  std::erase_if(values, [](const std::string& value) { return value.empty(); });
  if (values.empty()) return ScopeFilter{};
  return ScopeFilter{kind, std::move(values)};
}

bool scope_matches(const NodeScope& scope, const ScopeFilter& filter, bool same_subnet) {
  using Filter = ScopeFilter::Kind;
  if (filter.kind == Filter::SameSubnet) return same_subnet;
  if (scope.kind == NodeScope::Kind::SubnetLocal) return false;
  switch (filter.kind) {
    case Filter::GlobalOnly: return scope.kind == NodeScope::Kind::Global;
    case Filter::Tenants: return scope.kind == NodeScope::Kind::Global || shares_any(filter.values, scope.tenants);
    case Filter::Regions: return scope.kind == NodeScope::Kind::Global || shares_any(filter.values, scope.regions);
    default: return true;
  }
}

}  // namespace net::capability
