// The wire test vectors (tests/data/wire_vectors.json, checked against the
// original's nodes) for the crypto and wire tests, read with simdjson.
#pragma once

#include <simdjson.h>

#include <string>

#include "net/core/bytes.hpp"

namespace test_vectors {

inline simdjson::dom::element root() {
  static simdjson::dom::parser parser;
  static const simdjson::dom::element document = parser.load(NET_TEST_DATA_DIR "/wire_vectors.json");
  return document;
}

inline net::Bytes hex(simdjson::dom::element value) {
  const auto bytes = net::from_hex(std::string_view(value.get_string().value()));
  if (!bytes) throw std::runtime_error("bad hex in vectors: " + std::string(value.get_string().value()));
  return *bytes;
}

inline net::Key32 key(simdjson::dom::element value) {
  const net::Bytes bytes = hex(value);
  if (bytes.size() != 32) throw std::runtime_error("vector key is not 32 bytes");
  net::Key32 out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

inline std::uint64_t u64(simdjson::dom::element value) { return value.get_uint64().value(); }

inline net::Bytes bytes_of(const net::Key32& k) { return net::Bytes(k.begin(), k.end()); }

}  // namespace test_vectors
