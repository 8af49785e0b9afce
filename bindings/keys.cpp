// The keypair is a value class: no constructor from Python, read-only, and
// its repr never shows the secret.
#include "keys.hpp"

#include <nanobind/stl/string.h>

#include <string>

#include "net/crypto/x25519.hpp"

namespace nb = nanobind;

namespace net::python {
namespace {

struct NetKeypair {
  std::string public_key;
  std::string secret_key;
};

NetKeypair generate_net_keypair() {
  const auto pair = crypto::X25519Keypair::generate();
  return {to_hex(pair.public_key), to_hex(pair.secret_key)};
}

}  // namespace

void init_keys(nb::module_& m) {
  nb::class_<NetKeypair>(m, "NetKeypair", "A Noise static keypair (X25519), hex-encoded.")
      .def_ro("public_key", &NetKeypair::public_key, "64 lowercase hex characters; share with initiators.")
      .def_ro("secret_key", &NetKeypair::secret_key, "64 lowercase hex characters; keep it secret.")
      .def("__repr__", [](const NetKeypair& k) {
        return "NetKeypair(public_key='" + k.public_key.substr(0, 8) + "...', secret_key='[REDACTED]')";
      });
  m.def("generate_net_keypair", &generate_net_keypair, "A fresh random Noise static keypair (X25519).");
}

}  // namespace net::python
