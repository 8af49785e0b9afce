// Identity, permission tokens and the identity-layer module functions
// (API.md §5): Identity, TokenError's users, parse_token, verify_token,
// token_is_expired, delegate_token, channel_hash, normalize_gpu_vendor.
#pragma once

#include <nanobind/nanobind.h>

namespace net::python {

void init_identity(nanobind::module_& m);

}  // namespace net::python
