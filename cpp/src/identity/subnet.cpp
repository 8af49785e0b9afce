#include "net/identity/subnet.hpp"

#include "net/core/error.hpp"

namespace net::identity {
namespace {

[[noreturn]] void subnet_error(const std::string& detail) {
  throw Error(ErrorKind::Identity, "identity: subnet: " + detail);
}

std::uint32_t mask(std::size_t depth) noexcept {
  return depth == 0 ? 0 : ~std::uint32_t{0} << (8 * (SubnetId::kMaxDepth - depth));
}

std::uint8_t level_of(std::uint32_t packed, std::size_t level) noexcept {
  return static_cast<std::uint8_t>(packed >> (8 * (SubnetId::kMaxDepth - 1 - level)));
}

}  // namespace

SubnetId SubnetId::from_levels(std::span<const std::uint64_t> levels) {
  if (levels.empty()) subnet_error("levels must have at least one entry");
  if (levels.size() > kMaxDepth) {
    subnet_error("levels must have at most 4 entries, got " + std::to_string(levels.size()));
  }
  std::uint32_t packed = 0;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] > 0xFF) {
      subnet_error("level " + std::to_string(i) + " value " + std::to_string(levels[i]) + " exceeds u8 range");
    }
    packed |= static_cast<std::uint32_t>(levels[i]) << (8 * (kMaxDepth - 1 - i));
  }
  return SubnetId(packed);
}

std::size_t SubnetId::depth() const noexcept {
  for (std::size_t level = kMaxDepth; level > 0; --level) {
    if (level_of(packed_, level - 1) != 0) return level;
  }
  return 0;
}

bool SubnetId::is_ancestor_of(SubnetId other) const noexcept {
  const std::uint32_t m = mask(depth());
  return (packed_ & m) == (other.packed_ & m);
}

SubnetId SubnetId::parent() const noexcept {
  const std::size_t d = depth();
  return d == 0 ? *this : SubnetId(packed_ & mask(d - 1));
}

bool SubnetId::is_sibling_of(SubnetId other) const noexcept {
  return depth() >= 1 && depth() == other.depth() && parent() == other.parent() && *this != other;
}

std::string SubnetId::to_string() const {
  if (is_global()) return "global";
  std::string text;
  for (std::size_t level = 0; level < depth(); ++level) {
    if (level > 0) text += '.';
    text += std::to_string(level_of(packed_, level));
  }
  return text;
}

void SubnetPolicy::add_rule(const std::string& tag_prefix, std::uint64_t level,
                            const std::vector<std::pair<std::string, std::uint64_t>>& values) {
  if (level > 0xFF) subnet_error("rule level value " + std::to_string(level) + " exceeds u8 range");
  if (level >= SubnetId::kMaxDepth) subnet_error("rule level must be 0..=3, got " + std::to_string(level));
  SubnetRule rule{tag_prefix, static_cast<std::uint8_t>(level), {}};
  for (const auto& [tag, value] : values) {
    if (value > 0xFF) {
      subnet_error("rule value for " + tag + " value " + std::to_string(value) + " exceeds u8 range");
    }
    if (value == 0) subnet_error("rule value for \"" + tag + "\" must be in 1..=255 (0 is reserved)");
    rule.values[tag] = static_cast<std::uint8_t>(value);
  }
  rules_.push_back(std::move(rule));
}

SubnetId SubnetPolicy::assign(std::span<const std::string> tags) const {
  std::array<std::uint64_t, SubnetId::kMaxDepth> levels{};
  for (const SubnetRule& rule : rules_) {
    for (const std::string& tag : tags) {
      if (!tag.starts_with(rule.tag_prefix)) continue;
      const auto value = rule.values.find(tag.substr(rule.tag_prefix.size()));
      if (value == rule.values.end()) continue;
      levels[rule.level] = value->second;
      break;
    }
  }
  return SubnetId::from_levels(levels);
}

}  // namespace net::identity
