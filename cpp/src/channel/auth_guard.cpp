#include "net/channel/auth_guard.hpp"

#include "net/core/bytes.hpp"
#include "net/core/hash.hpp"
#include "net/identity/channel_name.hpp"

namespace net::channel {

std::pair<std::uint32_t, std::uint32_t> AuthGuard::bits(std::uint64_t node_id, std::uint16_t channel_hash) noexcept {
  std::uint8_t key[10];
  store_le(key, node_id);
  store_le(key + 8, channel_hash);
  const std::uint64_t hash = xxh3_64(key, sizeof key);
  return {static_cast<std::uint32_t>(hash & 0x7FFF), static_cast<std::uint32_t>((hash >> 15) & 0x7FFF)};
}

void AuthGuard::set_bits(std::uint64_t node_id, std::uint16_t channel_hash) noexcept {
  const auto [h1, h2] = bits(node_id, channel_hash);
  bloom_[h1 >> 3] |= static_cast<std::uint8_t>(1u << (h1 & 7));
  bloom_[h2 >> 3] |= static_cast<std::uint8_t>(1u << (h2 & 7));
}

void AuthGuard::allow(std::uint64_t node_id, const std::string& channel) {
  const std::uint16_t hash = identity::channel_hash(channel);
  set_bits(node_id, hash);
  verified_.emplace(node_id, hash);
  exact_.emplace(node_id, channel);
}

void AuthGuard::revoke(std::uint64_t node_id, const std::string& channel) {
  exact_.erase({node_id, channel});
  verified_.erase({node_id, identity::channel_hash(channel)});
}

AuthGuard::Fast AuthGuard::check_fast(std::uint64_t node_id, std::uint16_t channel_hash) const noexcept {
  const auto [h1, h2] = bits(node_id, channel_hash);
  const bool hit = (bloom_[h1 >> 3] >> (h1 & 7) & 1) && (bloom_[h2 >> 3] >> (h2 & 7) & 1);
  if (!hit) return Fast::Denied;
  return verified_.contains({node_id, channel_hash}) ? Fast::Allowed : Fast::NeedsFullCheck;
}

bool AuthGuard::allowed(std::uint64_t node_id, const std::string& channel) const {
  if (check_fast(node_id, identity::channel_hash(channel)) == Fast::Denied) return false;
  return exact_.contains({node_id, channel});
}

}  // namespace net::channel
