#include "net/channel/channel_config.hpp"

namespace net::channel {

std::optional<Visibility> parse_visibility(std::string_view text) noexcept {
  if (text == "subnet-local") return Visibility::SubnetLocal;
  if (text == "parent-visible") return Visibility::ParentVisible;
  if (text == "exported") return Visibility::Exported;
  if (text == "global") return Visibility::Global;
  return std::nullopt;
}

bool subnet_visible(identity::SubnetId local, identity::SubnetId peer, Visibility visibility) noexcept {
  switch (visibility) {
    case Visibility::Global: return true;
    case Visibility::SubnetLocal: return local == peer;
    case Visibility::ParentVisible: return peer.is_ancestor_of(local);
    case Visibility::Exported: return false;  // no gateway exports, as in the original
  }
  return false;
}

void ChannelRegistry::put(ChannelConfig config) {
  const std::string name = config.name;
  configs_.insert_or_assign(name, std::move(config));
}

std::optional<ChannelConfig> ChannelRegistry::exact(const std::string& name) const {
  const auto it = configs_.find(name);
  if (it == configs_.end()) return std::nullopt;
  return it->second;
}

}  // namespace net::channel
