// The capability announcement of subprotocol 0x0C00 (REFERENCE §6.2, §6.3):
// its one canonical compact JSON form, which is both the body sent and the
// bytes the origin's Ed25519 signature covers, and a strict decoder for what
// peers send.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/capability/capability_set.hpp"
#include "net/core/bytes.hpp"
#include "net/crypto/ed25519.hpp"

namespace net::capability {

struct Announcement {
  std::uint64_t node_id = 0;
  Key32 entity_id{};  ///< the origin's Ed25519 public key
  std::uint64_t version = 0;
  std::uint64_t timestamp_ns = 0;  ///< unix time at the origin
  std::uint32_t ttl_secs = 0;
  CapabilitySet capabilities;
  std::optional<crypto::Signature> signature;
  std::uint8_t hop_count = 0;              ///< 0 at the origin; each relay adds one
  std::optional<std::string> reflex_addr;  ///< "ip:port" (nat-traversal builds)

  bool operator==(const Announcement&) const = default;
};

// The body as sent: members in the order of §6.2, no whitespace, only '"',
// '\\' and U+0000-U+001F escaped; signature, hop_count (when 0) and
// reflex_addr omitted when absent.
std::string encode_announcement(const Announcement& announcement);

// What the signature covers: the encoding without signature and hop_count.
std::string signed_bytes(const Announcement& announcement);

void sign_announcement(Announcement& announcement, const crypto::Ed25519Keypair& origin);

// Whether a signature is present and verifies under entity_id.
bool verify_announcement(const Announcement& announcement);

// Any JSON serde_json would read: members in any order, whitespace, any
// escape, unknown members ignored, Option members absent or null. Nullopt
// for a missing or duplicated member, a wrong type, an enum that is not an
// exact variant name, an integer with a fraction or exponent, negative or
// too wide for its field, a lone surrogate or invalid UTF-8, or anything
// after the JSON.
std::optional<Announcement> decode_announcement(std::string_view json);

}  // namespace net::capability
