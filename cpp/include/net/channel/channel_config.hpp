// A publisher's channel configurations (REFERENCE §4.3): visibility, the
// capability filters a publisher and its subscribers must satisfy, tokens,
// and the delivery settings we enforce (reliable, priority, max_rate_pps).
// The registry finds a channel's config by its exact, case-sensitive name.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "net/capability/filter.hpp"
#include "net/identity/subnet.hpp"

namespace net::channel {

enum class Visibility { SubnetLocal, ParentVisible, Exported, Global };

// "subnet-local" | "parent-visible" | "exported" | "global"; nullopt otherwise.
std::optional<Visibility> parse_visibility(std::string_view text) noexcept;

// Whether a peer in `peer` may see a channel of a node in `local`.
bool subnet_visible(identity::SubnetId local, identity::SubnetId peer, Visibility visibility) noexcept;

struct ChannelConfig {
  std::string name;
  Visibility visibility = Visibility::Global;
  bool reliable = false;
  bool require_token = false;
  std::uint8_t priority = 0;
  std::uint32_t max_rate_pps = 0;  ///< 0: unlimited
  std::optional<capability::CapabilityFilter> publish_caps;
  std::optional<capability::CapabilityFilter> subscribe_caps;

  bool has_acl() const noexcept { return require_token || publish_caps || subscribe_caps; }
};

class ChannelRegistry {
 public:
  void put(ChannelConfig config);  ///< replaces a config of the same name
  std::optional<ChannelConfig> exact(const std::string& name) const;
  std::size_t size() const noexcept { return configs_.size(); }

 private:
  std::map<std::string, ChannelConfig, std::less<>> configs_;
};

}  // namespace net::channel
