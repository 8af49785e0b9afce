#include "net/identity/token_cache.hpp"

#include <algorithm>

#include "net/core/error.hpp"

namespace net::identity {
namespace {

// Every cached token's signature was verified when it came in, so only the
// clock is checked here (an Ed25519 verification costs ~60 us).
bool currently_valid(const PermissionToken& token, std::uint64_t now) {
  return now >= token.not_before && !token.expired(now);
}

}  // namespace

void TokenCache::install(const PermissionToken& token) {
  if (!token.signature_valid()) throw Error(ErrorKind::Token, "token: invalid_signature");
  insert_verified(token);
}

void TokenCache::insert_verified(const PermissionToken& token) {
  const std::uint16_t channel = (token.scope & scope::kWildcard) != 0 ? 0 : token.channel_hash;
  std::lock_guard lock(mutex_);
  auto slot = slots_.find({token.subject, channel});
  if (slot == slots_.end()) {
    if (slots_.size() >= kMaxSlots) return;  // a novel slot beyond the bound is dropped
    slot = slots_.emplace(Slot{token.subject, channel}, std::vector<PermissionToken>{}).first;
  }
  auto& tokens = slot->second;
  const auto same_scope =
      std::find_if(tokens.begin(), tokens.end(), [&](const auto& t) { return t.scope == token.scope; });
  if (same_scope != tokens.end()) {
    *same_scope = token;
  } else if (tokens.size() < kMaxPerSlot) {
    tokens.push_back(token);
  }
}

std::optional<PermissionToken> TokenCache::lookup(const Key32& subject, std::uint16_t channel,
                                                  std::uint64_t now) const {
  std::lock_guard lock(mutex_);
  const auto slot = slots_.find({subject, channel});
  if (slot == slots_.end() || slot->second.empty()) return std::nullopt;
  for (const auto& token : slot->second)
    if (currently_valid(token, now)) return token;
  return slot->second.front();
}

bool TokenCache::authorizes(const Key32& subject, std::uint32_t action, std::uint16_t channel,
                            std::uint64_t now) const {
  return !grants(subject, action, channel, now).empty();
}

std::vector<PermissionToken> TokenCache::grants(const Key32& subject, std::uint32_t action, std::uint16_t channel,
                                                std::uint64_t now) const {
  std::vector<PermissionToken> out;
  std::lock_guard lock(mutex_);
  for (const std::uint16_t slot_channel : {channel, std::uint16_t{0}}) {
    const auto slot = slots_.find({subject, slot_channel});
    if (slot == slots_.end()) continue;
    for (const auto& token : slot->second)
      if (token.authorizes(action, channel) && currently_valid(token, now)) out.push_back(token);
    if (slot_channel == 0) break;
  }
  return out;
}

void TokenCache::evict_expired(std::uint64_t now) {
  std::lock_guard lock(mutex_);
  for (auto slot = slots_.begin(); slot != slots_.end();) {
    std::erase_if(slot->second, [&](const auto& token) { return token.expired(now); });
    slot = slot->second.empty() ? slots_.erase(slot) : std::next(slot);
  }
}

std::size_t TokenCache::size() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& [slot, tokens] : slots_) total += tokens.size();
  return total;
}

}  // namespace net::identity
