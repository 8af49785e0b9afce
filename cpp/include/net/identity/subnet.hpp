// Hierarchical subnets (REFERENCE §7): a SubnetId packs four 8-bit levels
// into a u32 (level 0 most significant; 0 = global), and a SubnetPolicy maps
// a peer's capability tags to the levels of its subnet.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace net::identity {

class SubnetId {
 public:
  static constexpr std::size_t kMaxDepth = 4;

  SubnetId() = default;
  // 1 to 4 levels of 0..255; throws Error(Identity, "identity: subnet: ...") otherwise.
  static SubnetId from_levels(std::span<const std::uint64_t> levels);
  static SubnetId from_packed(std::uint32_t packed) noexcept { return SubnetId(packed); }

  std::uint32_t packed() const noexcept { return packed_; }
  std::size_t depth() const noexcept;  ///< index of the deepest non-zero level + 1; 0 = global
  bool is_global() const noexcept { return packed_ == 0; }
  bool is_ancestor_of(SubnetId other) const noexcept;  ///< a subnet is its own ancestor
  SubnetId parent() const noexcept;
  bool is_sibling_of(SubnetId other) const noexcept;
  std::string to_string() const;  ///< "global" or dotted levels, "3.7"

  bool operator==(const SubnetId&) const = default;

 private:
  explicit SubnetId(std::uint32_t packed) : packed_(packed) {}
  std::uint32_t packed_ = 0;
};

struct SubnetRule {
  std::string tag_prefix;
  std::uint8_t level = 0;                      ///< 0..3
  std::map<std::string, std::uint8_t> values;  ///< tag remainder -> level value 1..255
};

class SubnetPolicy {
 public:
  // Checks level 0..3 and values 1..255 (Error(Identity) with the original's texts).
  void add_rule(const std::string& tag_prefix, std::uint64_t level,
                const std::vector<std::pair<std::string, std::uint64_t>>& values);
  // For each rule in order, the first tag starting with its prefix whose
  // remainder is one of its values sets that level.
  SubnetId assign(std::span<const std::string> tags) const;
  bool empty() const noexcept { return rules_.empty(); }

 private:
  std::vector<SubnetRule> rules_;
};

}  // namespace net::identity
