// Arguments are as strict as the original's: bytes (not bytearray) for keys,
// seeds, messages and tokens, a list of str for scopes.
#include "identity.hpp"

#include <nanobind/stl/string.h>

#include <string>

#include "arguments.hpp"
#include "net/capability/capability_set.hpp"
#include "net/core/error.hpp"
#include "net/identity/channel_name.hpp"
#include "net/identity/identity.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace net::python {
namespace {

using identity::Identity;
using identity::PermissionToken;

[[noreturn]] void identity_error(const std::string& detail) { throw Error(ErrorKind::Identity, "identity: " + detail); }

std::string str_argument(nb::handle value, const char* name) {
  if (!PyUnicode_Check(value.ptr())) {
    PyErr_Format(PyExc_TypeError, "argument '%s': '%s' object is not an instance of 'str'", name,
                 Py_TYPE(value.ptr())->tp_name);
    throw nb::python_error();
  }
  return to_str(value, "", name);
}

std::uint64_t int_argument(nb::handle value, const char* name, std::uint64_t max) {
  if (!PyLong_Check(value.ptr())) {
    PyErr_Format(PyExc_TypeError, "argument '%s': '%s' object cannot be interpreted as an integer", name,
                 Py_TYPE(value.ptr())->tp_name);
    throw nb::python_error();
  }
  return to_unsigned(value, "", name, max);
}

nb::bytes to_python(ByteView bytes) { return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }

Key32 key_argument(nb::handle value, const char* name, const char* what) {
  const ByteView bytes = bytes_argument(value, name);
  if (bytes.size() != 32) identity_error(std::string(what) + " must be 32 bytes, got " + std::to_string(bytes.size()));
  Key32 key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

std::uint16_t channel_argument(nb::handle value, const char* name) {
  const std::string channel = str_argument(value, name);
  if (const auto error = identity::channel_name_error(channel)) identity_error("invalid channel name: " + *error);
  return identity::channel_hash(channel);
}

std::uint32_t scope_argument(nb::handle value) {
  if (PyUnicode_Check(value.ptr())) {
    PyErr_SetString(PyExc_TypeError, "argument 'scope': Can't extract `str` to `Vec`");
    throw nb::python_error();
  }
  std::uint32_t bits = 0;
  for (nb::handle item : nb::iter(value)) {
    const std::string name = str_argument(item, "scope");
    const auto bit = identity::scope_bit(name);
    if (!bit) identity_error("unknown scope \"" + name + "\"; expected publish | subscribe | admin | delegate");
    bits |= *bit;
  }
  return bits;
}

PermissionToken token_argument(nb::handle value) { return PermissionToken::parse(bytes_argument(value, "token")); }

nb::bytes token_bytes(const PermissionToken& token) {
  const auto encoded = token.encode();
  return to_python(encoded);
}

nb::list scope_names(std::uint32_t bits) {
  nb::list names;
  for (const char* name : {"publish", "subscribe", "admin", "delegate"})
    if ((bits & *identity::scope_bit(name)) != 0) names.append(name);
  return names;
}

nb::dict parse_token(nb::handle token_bytes_) {
  const PermissionToken token = token_argument(token_bytes_);
  nb::dict fields;
  fields["issuer"] = to_python(token.issuer);
  fields["subject"] = to_python(token.subject);
  fields["scope"] = scope_names(token.scope);
  fields["channel_hash"] = token.channel_hash;
  fields["not_before"] = token.not_before;
  fields["not_after"] = token.not_after;
  fields["delegation_depth"] = token.delegation_depth;
  fields["nonce"] = token.nonce;
  fields["signature"] = to_python(token.signature);
  return fields;
}

}  // namespace

void init_identity(nb::module_& m) {
  nb::class_<Identity>(m, "Identity", "An Ed25519 identity: entity id, derived ids, signatures and its token cache.")
      .def_static("generate", &Identity::generate, "A fresh random identity.")
      .def_static(
          "from_seed", [](nb::handle seed) { return Identity::from_seed(key_argument(seed, "seed", "seed")); },
          "seed"_a, nb::sig("def from_seed(seed: bytes) -> Identity"), "The identity of a 32-byte seed.")
      .def_static(
          "from_bytes", [](nb::handle bytes) { return Identity::from_seed(key_argument(bytes, "bytes", "seed")); },
          "bytes"_a, nb::sig("def from_bytes(bytes: bytes) -> Identity"), "Same as from_seed.")
      .def(
          "to_bytes", [](const Identity& self) { return to_python(self.seed()); },
          "The 32-byte seed: the secret of this identity.")
      .def_prop_ro(
          "entity_id", [](const Identity& self) { return to_python(self.entity_id()); },
          nb::sig("def entity_id(self) -> bytes"))
      .def_prop_ro("origin_hash", &Identity::origin_hash)
      .def_prop_ro("node_id", &Identity::node_id)
      .def_prop_ro("token_cache_len", [](const Identity& self) { return self.tokens().size(); })
      .def(
          "sign",
          [](const Identity& self, nb::handle message) {
            return to_python(self.sign(bytes_argument(message, "message")));
          },
          "message"_a, nb::sig("def sign(self, message: bytes) -> bytes"), "A 64-byte Ed25519 signature.")
      .def(
          "issue_token",
          [](const Identity& self, nb::handle subject, nb::handle scope, nb::handle channel, nb::handle ttl_seconds,
             nb::handle delegation_depth) {
            const Key32 subject_id = key_argument(subject, "subject", "entity_id");
            const std::uint32_t bits = scope_argument(scope);
            const std::uint16_t hash = channel_argument(channel, "channel");
            const auto ttl = static_cast<std::uint32_t>(int_argument(ttl_seconds, "ttl_seconds", UINT32_MAX));
            const auto depth = static_cast<std::uint8_t>(int_argument(delegation_depth, "delegation_depth", 255));
            return token_bytes(self.issue_token(subject_id, bits, hash, ttl, depth));
          },
          "subject"_a, "scope"_a, "channel"_a, "ttl_seconds"_a, "delegation_depth"_a = 0,
          nb::sig("def issue_token(self, subject: bytes, scope: list[str], channel: str, ttl_seconds: int, "
                  "delegation_depth: int = 0) -> bytes"),
          "A 159-byte token signed by this identity, valid from now for ttl_seconds.")
      .def(
          "install_token", [](Identity& self, nb::handle token) { self.tokens().install(token_argument(token)); },
          "token"_a, nb::sig("def install_token(self, token: bytes) -> None"),
          "Caches a token whose signature verifies (expiry and subject are not checked).")
      .def(
          "lookup_token",
          [](const Identity& self, nb::handle subject, nb::handle channel) -> nb::object {
            const Key32 subject_id = key_argument(subject, "subject", "entity_id");
            const std::uint16_t hash = channel_argument(channel, "channel");
            const auto token = self.tokens().lookup(subject_id, hash, identity::unix_seconds_now());
            if (!token) return nb::none();
            return token_bytes(*token);
          },
          "subject"_a, "channel"_a, nb::sig("def lookup_token(self, subject: bytes, channel: str) -> bytes | None"),
          "The cached token for (subject, channel): a currently valid one if any.")
      .def("__repr__", [](const Identity& self) {
        return "Identity(entity_id=0x" + to_hex(self.entity_id()) + ", node_id=" + hex_u64(self.node_id()) + ")";
      });

  m.def("parse_token", &parse_token, "token"_a, nb::sig("def parse_token(token: bytes) -> dict[str, typing.Any]"),
        "A token's fields, without verifying it.");
  m.def(
      "verify_token", [](nb::handle token) { return token_argument(token).signature_valid(); }, "token"_a,
      nb::sig("def verify_token(token: bytes) -> bool"), "Whether the issuer's signature verifies.");
  m.def(
      "token_is_expired", [](nb::handle token) { return token_argument(token).expired(identity::unix_seconds_now()); },
      "token"_a, nb::sig("def token_is_expired(token: bytes) -> bool"),
      "Whether now >= not_after (the signature is ignored).");
  m.def(
      "delegate_token",
      [](const Identity& signer, nb::handle parent, nb::handle new_subject, nb::handle restricted_scope) {
        const PermissionToken parent_token = token_argument(parent);
        const Key32 subject = key_argument(new_subject, "new_subject", "entity_id");
        const std::uint32_t scope = scope_argument(restricted_scope);
        return token_bytes(parent_token.delegate(signer.keypair(), subject, scope, identity::unix_seconds_now()));
      },
      "signer"_a, "parent"_a, "new_subject"_a, "restricted_scope"_a,
      nb::sig("def delegate_token(signer: Identity, parent: bytes, new_subject: bytes, "
              "restricted_scope: list[str]) -> bytes"),
      "A child token for new_subject, signed by the parent's subject, never wider than the parent.");
  m.def(
      "channel_hash", [](nb::handle channel) { return channel_argument(channel, "channel"); }, "channel"_a,
      nb::sig("def channel_hash(channel: str) -> int"), "The 16-bit hash of a channel name.");
  m.def(
      "normalize_gpu_vendor",
      [](nb::handle vendor) {
        return std::string(capability::vendor_name(capability::parse_gpu_vendor(str_argument(vendor, "vendor"))));
      },
      "vendor"_a, nb::sig("def normalize_gpu_vendor(vendor: str) -> str"),
      "nvidia, amd, intel, apple or qualcomm (any case); anything else is \"unknown\".");
}

}  // namespace net::python
