// Byte helpers shared by the crypto and wire code: fixed-size keys,
// little-endian loads and stores, and hex text (as the Python API spells keys).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace net {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using Key32 = std::array<std::uint8_t, 32>;

inline ByteView as_bytes(std::string_view text) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

template <class T>
T load_le(const std::uint8_t* p) noexcept {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
  return value;
}

template <class T>
void store_le(std::uint8_t* p, T value) noexcept {
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

// 32 bytes from libsodium's CSPRNG (the secret of a fresh key).
Key32 random_key32();

std::string to_hex(ByteView bytes);

// "0x" and the lowercase hex digits of `value`, no padding ("0x3039"): how ids appear in messages.
std::string hex_u64(std::uint64_t value);

// Exactly `size` bytes from 2*size hex digits (either case); nullopt otherwise.
std::optional<Bytes> from_hex(std::string_view hex);

}  // namespace net
