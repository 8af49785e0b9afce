// The poll filter language of the original (REFERENCE.md §1.9): equality at a
// dot path, combined with $and / $or / $not, evaluated on events with simdjson.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "net/bus/event.hpp"

namespace net::bus {

class Filter {
 public:
  // Throws Error(InvalidFilter, ...) for text that is not JSON or not a filter.
  static Filter parse(std::string_view json);

  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;
  ~Filter();

  // Removes, in place and keeping order, the events that do not match. Events
  // whose bytes are not JSON never match.
  void retain_matching(std::vector<StoredEvent>& events) const;

  struct Node;

 private:
  explicit Filter(std::unique_ptr<Node> root);
  std::unique_ptr<Node> root_;
};

}  // namespace net::bus
