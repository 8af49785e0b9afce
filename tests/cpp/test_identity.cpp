// identity/: subnet ids (packing, depth, ancestry, siblings) and subnet policies.
#include <catch2/catch.hpp>

#include "net/core/error.hpp"
#include "net/identity/subnet.hpp"

using namespace net;
using namespace net::identity;

namespace {

SubnetId subnet(std::initializer_list<std::uint64_t> levels) {
  const std::vector<std::uint64_t> list(levels);
  return SubnetId::from_levels(list);
}

}  // namespace

TEST_CASE("subnet ids pack level 0 into the top byte", "[identity]") {
  CHECK(subnet({3, 7}).packed() == 0x03070000);
  CHECK(subnet({3, 7}).depth() == 2);
  CHECK(subnet({3, 7}).to_string() == "3.7");
  CHECK(subnet({0}).is_global());
  CHECK(subnet({0}).to_string() == "global");
  CHECK(subnet({1, 2, 3, 4}).packed() == 0x01020304);
}

TEST_CASE("subnet ancestry and siblings", "[identity]") {
  CHECK(subnet({3}).is_ancestor_of(subnet({3, 7})));
  CHECK(subnet({3, 7}).is_ancestor_of(subnet({3, 7})));
  CHECK_FALSE(subnet({3, 7}).is_ancestor_of(subnet({3})));
  CHECK(SubnetId{}.is_ancestor_of(subnet({9, 9})));
  CHECK(subnet({3, 7}).parent() == subnet({3}));
  CHECK(subnet({3, 7}).is_sibling_of(subnet({3, 8})));
  CHECK_FALSE(subnet({3, 7}).is_sibling_of(subnet({4, 7})));
  CHECK_FALSE(subnet({3, 7}).is_sibling_of(subnet({3, 7})));
}

TEST_CASE("subnet levels are validated with the original's messages", "[identity]") {
  CHECK_THROWS_WITH(SubnetId::from_levels({}), "identity: subnet: levels must have at least one entry");
  CHECK_THROWS_WITH(subnet({1, 2, 3, 4, 5}), "identity: subnet: levels must have at most 4 entries, got 5");
  CHECK_THROWS_WITH(subnet({1, 256}), "identity: subnet: level 1 value 256 exceeds u8 range");
}

TEST_CASE("subnet policies: rules in order, first matching tag per rule", "[identity]") {
  SubnetPolicy policy;
  policy.add_rule("region:", 0, {{"eu", 1}, {"us", 2}});
  policy.add_rule("zone:", 1, {{"a", 10}});
  const std::vector<std::string> tags = {"gpu", "region:us", "zone:a", "region:eu"};
  CHECK(policy.assign(tags) == subnet({2, 10}));
  CHECK(policy.assign(std::vector<std::string>{"zone:b"}).is_global());
  CHECK_THROWS_WITH(policy.add_rule("x", 4, {}), "identity: subnet: rule level must be 0..=3, got 4");
  CHECK_THROWS_WITH(policy.add_rule("x", 300, {}), "identity: subnet: rule level value 300 exceeds u8 range");
  CHECK_THROWS_WITH(policy.add_rule("x", 0, {{"t", 0}}),
                    "identity: subnet: rule value for \"t\" must be in 1..=255 (0 is reserved)");
  CHECK_THROWS_WITH(policy.add_rule("x", 0, {{"t", 256}}),
                    "identity: subnet: rule value for t value 256 exceeds u8 range");
}
