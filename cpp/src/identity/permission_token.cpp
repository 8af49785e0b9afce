#include "net/identity/permission_token.hpp"

#include <sodium.h>

#include <chrono>
#include <limits>

#include "net/core/error.hpp"

namespace net::identity {
namespace {

[[noreturn]] void token_error(const char* kind) { throw Error(ErrorKind::Token, std::string("token: ") + kind); }

}  // namespace

std::optional<std::uint32_t> scope_bit(std::string_view name) noexcept {
  if (name == "publish") return scope::kPublish;
  if (name == "subscribe") return scope::kSubscribe;
  if (name == "admin") return scope::kAdmin;
  if (name == "delegate") return scope::kDelegate;
  return std::nullopt;
}

std::uint64_t unix_seconds_now() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

PermissionToken PermissionToken::parse(ByteView bytes) {
  if (bytes.size() != kSize) token_error("invalid_format");
  PermissionToken token;
  const std::uint8_t* p = bytes.data();
  std::copy(p, p + 32, token.issuer.begin());
  std::copy(p + 32, p + 64, token.subject.begin());
  token.scope = load_le<std::uint32_t>(p + 64);
  token.channel_hash = load_le<std::uint16_t>(p + 68);
  token.not_before = load_le<std::uint64_t>(p + 70);
  token.not_after = load_le<std::uint64_t>(p + 78);
  token.delegation_depth = p[86];
  token.nonce = load_le<std::uint64_t>(p + 87);
  std::copy(p + 95, p + kSize, token.signature.begin());
  return token;
}

std::array<std::uint8_t, PermissionToken::kSize> PermissionToken::encode() const {
  std::array<std::uint8_t, kSize> out{};
  std::uint8_t* p = out.data();
  std::copy(issuer.begin(), issuer.end(), p);
  std::copy(subject.begin(), subject.end(), p + 32);
  store_le<std::uint32_t>(p + 64, scope);
  store_le<std::uint16_t>(p + 68, channel_hash);
  store_le<std::uint64_t>(p + 70, not_before);
  store_le<std::uint64_t>(p + 78, not_after);
  p[86] = delegation_depth;
  store_le<std::uint64_t>(p + 87, nonce);
  std::copy(signature.begin(), signature.end(), p + 95);
  return out;
}

void PermissionToken::sign(const crypto::Ed25519Keypair& key) {
  const auto bytes = encode();
  signature = key.sign(ByteView(bytes.data(), kSignedSize));
}

PermissionToken PermissionToken::issue(const crypto::Ed25519Keypair& issuer, const Key32& subject, std::uint32_t scope,
                                       std::uint16_t channel_hash, std::uint32_t ttl_seconds,
                                       std::uint8_t delegation_depth, std::uint64_t now) {
  if (ttl_seconds == 0) token_error("zero_ttl");
  PermissionToken token;
  token.issuer = issuer.public_key();
  token.subject = subject;
  token.scope = scope;
  token.channel_hash = channel_hash;
  token.not_before = now;
  token.not_after = now > std::numeric_limits<std::uint64_t>::max() - ttl_seconds
                        ? std::numeric_limits<std::uint64_t>::max()
                        : now + ttl_seconds;
  token.delegation_depth = delegation_depth;
  randombytes_buf(&token.nonce, sizeof token.nonce);
  token.sign(issuer);
  return token;
}

bool PermissionToken::signature_valid() const noexcept {
  const auto bytes = encode();
  return crypto::ed25519_verify(issuer, ByteView(bytes.data(), kSignedSize), signature);
}

void PermissionToken::check_valid(std::uint64_t now) const {
  if (!signature_valid()) token_error("invalid_signature");
  if (now < not_before) token_error("not_yet_valid");
  if (expired(now)) token_error("expired");
}

bool PermissionToken::authorizes(std::uint32_t action, std::uint16_t channel) const noexcept {
  return action != 0 && (scope & action) == action && ((scope & scope::kWildcard) != 0 || channel_hash == channel);
}

PermissionToken PermissionToken::delegate(const crypto::Ed25519Keypair& signer, const Key32& new_subject,
                                          std::uint32_t restricted_scope, std::uint64_t now) const {
  check_valid(now);
  if (delegation_depth == 0) token_error("delegation_exhausted");
  if ((scope & scope::kDelegate) == 0) token_error("delegation_not_allowed");
  if (signer.public_key() != subject) token_error("not_authorized");
  PermissionToken child;
  child.issuer = signer.public_key();
  child.subject = new_subject;
  child.scope = scope & restricted_scope;
  child.channel_hash = channel_hash;
  child.not_before = now;
  child.not_after = not_after;
  child.delegation_depth = static_cast<std::uint8_t>(delegation_depth - 1);
  randombytes_buf(&child.nonce, sizeof child.nonce);
  child.sign(signer);
  return child;
}

}  // namespace net::identity
