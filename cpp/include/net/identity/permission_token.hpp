// Permission tokens (REFERENCE §5.2–§5.3): 159 bytes, little-endian, signed
// by the issuer's Ed25519 key over the first 95 bytes. Issue, parse, verify,
// check validity and delegate; errors are Error(Token, "token: <kind>").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/core/bytes.hpp"
#include "net/crypto/ed25519.hpp"

namespace net::identity {

namespace scope {
constexpr std::uint32_t kPublish = 0x01;
constexpr std::uint32_t kSubscribe = 0x02;
constexpr std::uint32_t kAdmin = 0x04;
constexpr std::uint32_t kDelegate = 0x08;
constexpr std::uint32_t kWildcard = 0x10;  ///< any channel; the core's, never issued from Python
}  // namespace scope

// "publish" | "subscribe" | "admin" | "delegate" -> its bit; nullopt otherwise.
std::optional<std::uint32_t> scope_bit(std::string_view name) noexcept;

struct PermissionToken {
  static constexpr std::size_t kSize = 159;
  static constexpr std::size_t kSignedSize = 95;

  Key32 issuer{};
  Key32 subject{};
  std::uint32_t scope = 0;
  std::uint16_t channel_hash = 0;
  std::uint64_t not_before = 0;  ///< Unix seconds
  std::uint64_t not_after = 0;   ///< Unix seconds, exclusive
  std::uint8_t delegation_depth = 0;
  std::uint64_t nonce = 0;
  crypto::Signature signature{};

  // Throws Error(Token, "token: invalid_format") unless exactly kSize bytes.
  static PermissionToken parse(ByteView bytes);
  std::array<std::uint8_t, kSize> encode() const;

  // Signed by `issuer`: not_before = now, not_after = now + ttl (saturating),
  // a random nonce. Throws Error(Token, "token: zero_ttl") for ttl 0.
  static PermissionToken issue(const crypto::Ed25519Keypair& issuer, const Key32& subject, std::uint32_t scope,
                               std::uint16_t channel_hash, std::uint32_t ttl_seconds, std::uint8_t delegation_depth,
                               std::uint64_t now);

  bool signature_valid() const noexcept;
  bool expired(std::uint64_t now) const noexcept { return now >= not_after; }
  // Signature and time window; throws Error(Token) with invalid_signature,
  // not_yet_valid or expired.
  void check_valid(std::uint64_t now) const;
  // Whether it grants `action` (one scope bit) on `channel`.
  bool authorizes(std::uint32_t action, std::uint16_t channel) const noexcept;

  // A child for `new_subject` signed by `signer`, who must be this token's
  // subject: scope narrowed to `restricted_scope`, same channel and expiry,
  // one level less of delegation. Throws Error(Token) in the original's
  // order: invalid_signature / not_yet_valid / expired, delegation_exhausted,
  // delegation_not_allowed, not_authorized.
  PermissionToken delegate(const crypto::Ed25519Keypair& signer, const Key32& new_subject,
                           std::uint32_t restricted_scope, std::uint64_t now) const;

 private:
  void sign(const crypto::Ed25519Keypair& issuer);
};

std::uint64_t unix_seconds_now();

}  // namespace net::identity
