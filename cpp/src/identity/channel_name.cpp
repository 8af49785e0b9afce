#include "net/identity/channel_name.hpp"

#include "net/core/hash.hpp"

namespace net::identity {
namespace {

constexpr std::size_t kMaxLength = 255;

bool allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '/';
}

// The UTF-8 character starting at `at` (the whole sequence, for the message).
std::string_view character_at(std::string_view name, std::size_t at) {
  const auto lead = static_cast<unsigned char>(name[at]);
  const std::size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return name.substr(at, length);
}

}  // namespace

std::optional<std::string> channel_name_error(std::string_view name) {
  if (name.empty()) return "channel name is empty";
  if (name.size() > kMaxLength) {
    return "channel name too long (" + std::to_string(name.size()) + " > " + std::to_string(kMaxLength) + ")";
  }
  if (name.front() == '/' || name.back() == '/') return "invalid channel name format: must not start or end with '/'";
  if (name.find("//") != std::string_view::npos) return "invalid channel name format: must not contain '//'";
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!allowed(name[i])) return "invalid character '" + std::string(character_at(name, i)) + "' in channel name";
  }
  for (std::size_t begin = 0; begin <= name.size();) {
    const std::size_t end = std::min(name.find('/', begin), name.size());
    const std::string_view segment = name.substr(begin, end - begin);
    if (segment == "." || segment == "..") {
      return "invalid channel name format: segment \"" + std::string(segment) + "\" is reserved";
    }
    begin = end + 1;
  }
  return std::nullopt;
}

std::uint16_t channel_hash(std::string_view name) noexcept { return static_cast<std::uint16_t>(xxh3_64(name)); }

}  // namespace net::identity
