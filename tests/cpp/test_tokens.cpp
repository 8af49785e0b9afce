// Channel names, permission tokens (the wire vector, every validity and
// delegation rule) and the token cache.
#include <catch2/catch.hpp>

#include "net/core/error.hpp"
#include "net/identity/channel_name.hpp"
#include "net/identity/identity.hpp"
#include "vectors.hpp"

using namespace net;
using namespace net::identity;

namespace {

constexpr std::uint64_t kNow = 1'800'000'000;

Key32 seed_of(std::uint8_t first) {
  Key32 seed;
  for (std::size_t i = 0; i < 32; ++i) seed[i] = static_cast<std::uint8_t>(first + i);
  return seed;
}

std::string token_kind(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Token) return e.what();
    return std::string("other: ") + e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("channel names: the original's rules, reasons and order", "[identity][channel]") {
  CHECK_FALSE(channel_name_error("sensors/temp"));
  CHECK_FALSE(channel_name_error(std::string(255, 'a')));
  CHECK_FALSE(channel_name_error("a.b/c-d_e/..x"));
  CHECK(channel_name_error("") == "channel name is empty");
  CHECK(channel_name_error(std::string(256, 'a')) == "channel name too long (256 > 255)");
  CHECK(channel_name_error("/a!") == "invalid channel name format: must not start or end with '/'");
  CHECK(channel_name_error("!a//b") == "invalid channel name format: must not contain '//'");
  CHECK(channel_name_error("a/../b!") == "invalid character '!' in channel name");
  CHECK(channel_name_error("a/..") == "invalid channel name format: segment \"..\" is reserved");
  CHECK(channel_name_error("./a") == "invalid channel name format: segment \".\" is reserved");
  CHECK(channel_name_error("\xc3\xa9") == "invalid character '\xc3\xa9' in channel name");
}

TEST_CASE("channel_hash: the reference vectors", "[identity][channel]") {
  CHECK(channel_hash("a") == 19999);
  CHECK(channel_hash("x") == 52497);
  CHECK(channel_hash("sensors/temp") == 5933);
  CHECK(channel_hash("chan/a") == 28571);
  CHECK(channel_hash("cross_lang_echo_sum") == 10460);
}

TEST_CASE("permission token: the wire vector parses, verifies and re-encodes byte for byte", "[identity][token]") {
  const auto vector = test_vectors::root()["permission_token"];
  const Bytes bytes = test_vectors::hex(vector["token"]);
  const PermissionToken token = PermissionToken::parse(bytes);
  CHECK(token.issuer == test_vectors::key(vector["fields"]["issuer"]));
  CHECK(token.subject == test_vectors::key(vector["fields"]["subject"]));
  CHECK(token.scope == (scope::kPublish | scope::kSubscribe));
  CHECK(token.channel_hash == 28571);
  CHECK(token.not_before == 1700000000);
  CHECK(token.not_after == 1700003600);
  CHECK(token.delegation_depth == 0);
  CHECK(token.nonce == 0x0123456789abcdefULL);
  CHECK(token.signature_valid());
  const auto encoded = token.encode();
  CHECK(Bytes(encoded.begin(), encoded.end()) == bytes);
  // Issued by seed 00..1f: our own signature over the same fields is the same (Ed25519 is deterministic).
  PermissionToken copy = token;
  copy.signature = Identity::from_seed(seed_of(0)).sign(ByteView(encoded.data(), PermissionToken::kSignedSize));
  CHECK(copy.signature == token.signature);
  CHECK(token_kind([&] { PermissionToken::parse(ByteView(bytes.data(), 158)); }) == "token: invalid_format");
}

TEST_CASE("permission token: tampering, time window, scope and channel", "[identity][token]") {
  const Identity issuer = Identity::from_seed(seed_of(0));
  const Identity subject = Identity::from_seed(seed_of(32));
  const PermissionToken token = PermissionToken::issue(issuer.keypair(), subject.entity_id(), scope::kPublish,
                                                       channel_hash("chan/a"), 60, 0, kNow);
  CHECK(token.not_before == kNow);
  CHECK(token.not_after == kNow + 60);
  CHECK_NOTHROW(token.check_valid(kNow));
  CHECK(token_kind([&] { token.check_valid(kNow - 1); }) == "token: not_yet_valid");
  CHECK(token_kind([&] { token.check_valid(kNow + 60); }) == "token: expired");
  CHECK_FALSE(token.expired(kNow + 59));
  CHECK(token.expired(kNow + 60));
  for (std::size_t byte : {0u, 40u, 64u, 68u, 75u, 86u, 90u, 100u, 158u}) {
    auto bytes = token.encode();
    bytes[byte] ^= 0x01;
    CAPTURE(byte);
    CHECK_FALSE(PermissionToken::parse(bytes).signature_valid());
  }
  CHECK(token.authorizes(scope::kPublish, channel_hash("chan/a")));
  CHECK_FALSE(token.authorizes(scope::kSubscribe, channel_hash("chan/a")));
  CHECK_FALSE(token.authorizes(scope::kPublish, channel_hash("chan/b")));
  CHECK_FALSE(token.authorizes(0, channel_hash("chan/a")));
  CHECK(token_kind([&] { PermissionToken::issue(issuer.keypair(), subject.entity_id(), 0, 1, 0, 0, kNow); }) ==
        "token: zero_ttl");
  const auto forever =
      PermissionToken::issue(issuer.keypair(), subject.entity_id(), 0, 1, UINT32_MAX, 0, UINT64_MAX - 5);
  CHECK(forever.not_after == UINT64_MAX);  // saturates
}

TEST_CASE("delegation: narrower, shallower, same expiry, and refused in the original's order", "[identity][token]") {
  const Identity root = Identity::from_seed(seed_of(0));
  const Identity middle = Identity::from_seed(seed_of(32));
  const Identity leaf = Identity::from_seed(seed_of(64));
  const std::uint16_t channel = channel_hash("jobs");
  const PermissionToken parent =
      PermissionToken::issue(root.keypair(), middle.entity_id(), scope::kPublish | scope::kSubscribe | scope::kDelegate,
                             channel, 100, 2, kNow);

  const PermissionToken child =
      parent.delegate(middle.keypair(), leaf.entity_id(), scope::kSubscribe | scope::kAdmin, kNow + 10);
  CHECK(child.issuer == middle.entity_id());
  CHECK(child.subject == leaf.entity_id());
  CHECK(child.scope == scope::kSubscribe);  // never widened: admin was not the parent's
  CHECK(child.channel_hash == channel);
  CHECK(child.not_before == kNow + 10);
  CHECK(child.not_after == parent.not_after);
  CHECK(child.delegation_depth == 1);
  CHECK(child.signature_valid());

  // Order: validity, then depth, then the delegate scope, then the signer.
  auto forged = parent;
  forged.scope = scope::kDelegate;  // signature no longer matches
  CHECK(token_kind([&] { forged.delegate(leaf.keypair(), leaf.entity_id(), 0, kNow); }) == "token: invalid_signature");
  CHECK(token_kind([&] { parent.delegate(middle.keypair(), leaf.entity_id(), 0, kNow + 100); }) == "token: expired");
  CHECK(token_kind([&] { parent.delegate(middle.keypair(), leaf.entity_id(), 0, kNow - 1); }) ==
        "token: not_yet_valid");
  const auto leaf_only =
      PermissionToken::issue(root.keypair(), middle.entity_id(), scope::kDelegate, channel, 100, 0, kNow);
  CHECK(token_kind([&] { leaf_only.delegate(leaf.keypair(), leaf.entity_id(), 0, kNow); }) ==
        "token: delegation_exhausted");
  const auto no_delegate =
      PermissionToken::issue(root.keypair(), middle.entity_id(), scope::kPublish, channel, 100, 3, kNow);
  CHECK(token_kind([&] { no_delegate.delegate(leaf.keypair(), leaf.entity_id(), 0, kNow); }) ==
        "token: delegation_not_allowed");
  CHECK(token_kind([&] { parent.delegate(leaf.keypair(), leaf.entity_id(), 0, kNow); }) == "token: not_authorized");
}

TEST_CASE("token cache: verified install, same scope replaces, lookups prefer valid, wildcard slot",
          "[identity][token]") {
  const Identity issuer = Identity::from_seed(seed_of(0));
  const Key32 subject = Identity::from_seed(seed_of(32)).entity_id();
  const std::uint16_t channel = channel_hash("chan/a");
  TokenCache cache;
  const auto now = unix_seconds_now();

  auto expired = PermissionToken::issue(issuer.keypair(), subject, scope::kPublish, channel, 1, 0, now - 10);
  cache.install(expired);
  CHECK(cache.size() == 1);
  CHECK(cache.lookup(subject, channel, now)->nonce == expired.nonce);  // only an expired one: still returned
  const auto valid = PermissionToken::issue(issuer.keypair(), subject, scope::kSubscribe, channel, 60, 0, now);
  cache.install(valid);
  CHECK(cache.size() == 2);
  CHECK(cache.lookup(subject, channel, now)->nonce == valid.nonce);  // the valid one first
  const auto replacement = PermissionToken::issue(issuer.keypair(), subject, scope::kPublish, channel, 60, 0, now);
  cache.install(replacement);  // same scope as `expired`: replaces it
  CHECK(cache.size() == 2);
  CHECK(cache.authorizes(subject, scope::kPublish, channel, now));
  CHECK_FALSE(cache.authorizes(subject, scope::kAdmin, channel, now));
  CHECK_FALSE(cache.lookup(subject, channel_hash("other"), now));

  auto tampered = valid;
  tampered.scope |= scope::kAdmin;
  CHECK(token_kind([&] { cache.install(tampered); }) == "token: invalid_signature");

  auto wildcard = PermissionToken::issue(issuer.keypair(), subject, scope::kAdmin | scope::kWildcard, 7, 60, 0, now);
  cache.install(wildcard);
  CHECK(cache.authorizes(subject, scope::kAdmin, channel_hash("anything"), now));

  for (std::uint32_t bits = 1; bits < 64; ++bits) {  // more distinct scopes than a slot keeps
    cache.insert_verified(PermissionToken::issue(issuer.keypair(), subject, bits << 5, channel, 60, 0, now));
  }
  CHECK(cache.size() == TokenCache::kMaxPerSlot + 1);  // the full slot plus the wildcard one
  cache.evict_expired(now + 61);
  CHECK(cache.size() == 0);
}
