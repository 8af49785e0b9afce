// The token cache of an identity (REFERENCE §5.5): tokens by (subject,
// channel slot), wildcard tokens in slot 0. At most 32 per slot (one per
// distinct scope: a token with the same scope replaces the old one) and
// 65,536 slots. Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "net/identity/permission_token.hpp"

namespace net::identity {

class TokenCache {
 public:
  static constexpr std::size_t kMaxPerSlot = 32;
  static constexpr std::size_t kMaxSlots = 65536;

  // Verifies the signature (Error(Token, "token: invalid_signature")), then stores.
  void install(const PermissionToken& token);
  // Stores a token already verified.
  void insert_verified(const PermissionToken& token);
  // The first currently valid token in the exact slot, else the first one
  // there (even expired), else nullopt.
  std::optional<PermissionToken> lookup(const Key32& subject, std::uint16_t channel, std::uint64_t now) const;
  // Whether a currently valid token in (subject, channel), or else in the
  // wildcard slot, grants `action`.
  bool authorizes(const Key32& subject, std::uint32_t action, std::uint16_t channel, std::uint64_t now) const;
  // Those currently valid tokens of (subject, channel), then of the wildcard
  // slot, that grant `action`.
  std::vector<PermissionToken> grants(const Key32& subject, std::uint32_t action, std::uint16_t channel,
                                      std::uint64_t now) const;
  void evict_expired(std::uint64_t now);
  std::size_t size() const;

 private:
  using Slot = std::pair<Key32, std::uint16_t>;
  mutable std::mutex mutex_;
  std::map<Slot, std::vector<PermissionToken>> slots_;
};

}  // namespace net::identity
