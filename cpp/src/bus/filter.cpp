// Filter parsing and evaluation. The grammar is untagged: a JSON object is
// tried as $and, $or, $not, $eq, then {path, value}; the first shape that fits
// wins, as serde's untagged enum of the original does. Equality is JSON-value
// equality with serde_json's number rule: integers equal integers, floats
// equal floats, 1 != 1.0.
#include "net/bus/filter.hpp"

#include <simdjson.h>
#include <charconv>
#include <string>

#include "net/core/error.hpp"

namespace net::bus {

namespace dom = simdjson::dom;

struct Filter::Node {
  enum class Kind { And, Or, Not, Equals } kind;
  std::vector<std::unique_ptr<Node>> children;
  std::vector<std::string> path;  ///< Equals: dot-separated segments; empty = whole document
  dom::document expected_document;
  dom::element expected;
};

namespace {

using Node = Filter::Node;

std::unique_ptr<Node> build(dom::element element);

std::unique_ptr<Node> build_list(Node::Kind kind, dom::object object, const char* key) {
  dom::array items;
  if (object[key].get_array().get(items) != simdjson::SUCCESS) return nullptr;
  auto node = std::make_unique<Node>();
  node->kind = kind;
  for (dom::element item : items) {
    auto child = build(item);
    if (!child) return nullptr;
    node->children.push_back(std::move(child));
  }
  return node;
}

std::unique_ptr<Node> build_equals(dom::object object) {
  std::string_view path;
  dom::element value;
  if (object["path"].get_string().get(path) != simdjson::SUCCESS) return nullptr;
  if (object["value"].get(value) != simdjson::SUCCESS) return nullptr;
  auto node = std::make_unique<Node>();
  node->kind = Node::Kind::Equals;
  if (!path.empty()) {
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = path.find('.', start);
      node->path.emplace_back(path.substr(start, dot - start));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  // Keep a private copy of the expected value: the filter's parser is temporary.
  const std::string text = simdjson::minify(value);
  dom::parser parser;
  if (parser.parse_into_document(node->expected_document, text).get(node->expected) != simdjson::SUCCESS) {
    return nullptr;
  }
  return node;
}

std::unique_ptr<Node> build(dom::element element) {
  dom::object object;
  if (element.get_object().get(object) != simdjson::SUCCESS) return nullptr;
  if (auto node = build_list(Node::Kind::And, object, "$and")) return node;
  if (auto node = build_list(Node::Kind::Or, object, "$or")) return node;
  dom::element inner;
  if (object["$not"].get(inner) == simdjson::SUCCESS) {
    if (auto child = build(inner)) {
      auto node = std::make_unique<Node>();
      node->kind = Node::Kind::Not;
      node->children.push_back(std::move(child));
      return node;
    }
  }
  dom::object wrapped;
  if (object["$eq"].get_object().get(wrapped) == simdjson::SUCCESS) {
    if (auto node = build_equals(wrapped)) return node;
  }
  return build_equals(object);
}

bool is_integer(dom::element_type type) {
  return type == dom::element_type::INT64 || type == dom::element_type::UINT64;
}

bool json_equal(dom::element a, dom::element b) {
  const auto ta = a.type();
  const auto tb = b.type();
  if (is_integer(ta) && is_integer(tb)) {
    if (ta == tb) return ta == dom::element_type::INT64 ? int64_t(a) == int64_t(b) : uint64_t(a) == uint64_t(b);
    return false;  // one is negative or above INT64_MAX, the other is not
  }
  if (ta != tb) return false;
  switch (ta) {
    case dom::element_type::DOUBLE: return double(a) == double(b);
    case dom::element_type::STRING: return std::string_view(a) == std::string_view(b);
    case dom::element_type::BOOL: return bool(a) == bool(b);
    case dom::element_type::NULL_VALUE: return true;
    case dom::element_type::ARRAY: {
      dom::array xs = a, ys = b;
      if (xs.size() != ys.size()) return false;
      for (auto x = xs.begin(), y = ys.begin(); x != xs.end(); ++x, ++y)
        if (!json_equal(*x, *y)) return false;
      return true;
    }
    case dom::element_type::OBJECT: {
      dom::object xs = a, ys = b;
      if (xs.size() != ys.size()) return false;
      for (auto [key, value] : xs) {
        dom::element other;
        if (ys.at_key(key).get(other) != simdjson::SUCCESS || !json_equal(value, other)) return false;
      }
      return true;
    }
    default: return false;
  }
}

bool lookup(dom::element document, const std::vector<std::string>& path, dom::element& out) {
  dom::element current = document;
  for (const std::string& segment : path) {
    if (current.is_object()) {
      if (dom::object(current).at_key(segment).get(current) != simdjson::SUCCESS) return false;
    } else if (current.is_array()) {
      std::size_t index = 0;
      const auto [ptr, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
      if (ec != std::errc() || ptr != segment.data() + segment.size() || segment.empty()) return false;
      if (dom::array(current).at(index).get(current) != simdjson::SUCCESS) return false;
    } else {
      return false;
    }
  }
  out = current;
  return true;
}

bool evaluate(const Node& node, dom::element document) {
  switch (node.kind) {
    case Node::Kind::And:
      if (node.children.empty()) return false;
      for (const auto& child : node.children)
        if (!evaluate(*child, document)) return false;
      return true;
    case Node::Kind::Or:
      for (const auto& child : node.children)
        if (evaluate(*child, document)) return true;
      return false;
    case Node::Kind::Not: return !evaluate(*node.children.front(), document);
    case Node::Kind::Equals: {
      dom::element found;
      return lookup(document, node.path, found) && json_equal(found, node.expected);
    }
  }
  return false;
}

}  // namespace

Filter::Filter(std::unique_ptr<Node> root) : root_(std::move(root)) {}
Filter::Filter(Filter&&) noexcept = default;
Filter& Filter::operator=(Filter&&) noexcept = default;
Filter::~Filter() = default;

Filter Filter::parse(std::string_view json) {
  dom::parser parser;
  dom::element root;
  if (const auto error = parser.parse(json.data(), json.size()).get(root); error != simdjson::SUCCESS) {
    throw Error(ErrorKind::InvalidFilter, std::string("invalid filter JSON: ") + simdjson::error_message(error));
  }
  auto node = build(root);
  if (!node) throw Error(ErrorKind::InvalidFilter, "data did not match any variant of untagged enum Filter");
  return Filter(std::move(node));
}

void Filter::retain_matching(std::vector<StoredEvent>& events) const {
  dom::parser parser;
  std::size_t kept = 0;
  for (auto& event : events) {
    dom::element document;
    // Copied into the parser's padded buffer: the bytes after an event may be
    // written by a producer at this moment.
    if (parser.parse(event.raw.data(), event.raw.size()).get(document) != simdjson::SUCCESS) continue;
    if (!evaluate(*root_, document)) continue;
    if (&events[kept] != &event) events[kept] = std::move(event);
    ++kept;
  }
  events.resize(kept);
}

}  // namespace net::bus
