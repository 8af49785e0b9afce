// Random keys and hex text through libsodium (its hex codecs are constant-time).
#include "net/core/bytes.hpp"

#include <sodium.h>

#include <cstdio>
#include <stdexcept>

namespace net {

Key32 random_key32() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialize");
  Key32 key;
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string to_hex(ByteView bytes) {
  if (bytes.empty()) return {};
  std::string text(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(text.data(), text.size(), bytes.data(), bytes.size());
  text.pop_back();
  return text;
}

std::string hex_u64(std::uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  if (hex.empty()) return Bytes{};  // libsodium wants a non-null buffer
  Bytes bytes(hex.size() / 2);
  std::size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(bytes.data(), bytes.size(), hex.data(), hex.size(), nullptr, &written, &end) != 0 ||
      written != bytes.size() || end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  return bytes;
}

}  // namespace net
