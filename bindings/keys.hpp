// NetKeypair and generate_net_keypair(): the Noise static X25519 keypair of
// a responder, both halves as 64 lowercase hex characters (API.md §3).
#pragma once

#include <nanobind/nanobind.h>

namespace net::python {

void init_keys(nanobind::module_& m);

}  // namespace net::python
