// The announcement's JSON codec. Each wire struct lists its members once, in
// canonical order (members_of below); the writer and the reader both walk
// that list, so the two cannot drift apart. Decoding parses with simdjson's
// DOM, which validates the whole document (syntax, UTF-8, surrogates,
// nothing after it), then reads members by name.
#include "net/capability/announcement.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <concepts>
#include <limits>
#include <tuple>
#include <type_traits>

#include "net/core/error.hpp"
#include "net/transport/socket_address.hpp"

namespace net::capability {
namespace {

namespace dom = simdjson::dom;

// ---- Enums are written as their Rust variant names, indexed by value.

template <class Enum>
struct Variants;
template <>
struct Variants<GpuVendor> {
  static constexpr std::array<std::string_view, 6> names{"Unknown", "Nvidia", "Amd", "Intel", "Apple", "Qualcomm"};
};
template <>
struct Variants<AcceleratorKind> {
  static constexpr std::array<std::string_view, 6> names{"Unknown", "Tpu", "Npu", "Fpga", "Asic", "Dsp"};
};
template <>
struct Variants<Modality> {
  static constexpr std::array<std::string_view, 7> names{"Text", "Image",     "Audio",  "Video",
                                                         "Code", "Embedding", "ToolUse"};
};

template <class T>
concept WireEnum = requires {
  Variants<T>::names;
};

template <class T>
concept WireInteger = std::unsigned_integral<T> && !std::same_as<T, bool>;

template <class T>
inline constexpr bool kIsOptional = false;
template <class T>
inline constexpr bool kIsOptional<std::optional<T>> = true;

// ---- Members of each wire struct, in canonical order.

template <class Owner, class T>
struct Member {
  std::string_view name;
  T Owner::*field;
  bool omitted_when_default;  ///< left out when equal to T{}; may be absent or null when read
};

template <class Owner, class T>
constexpr Member<Owner, T> member(std::string_view name, T Owner::*field) {
  return {name, field, false};
}

template <class Owner, class T>
constexpr Member<Owner, T> omittable(std::string_view name, T Owner::*field) {
  return {name, field, true};
}

constexpr auto members_of(std::type_identity<GpuInfo>) {
  return std::tuple{
      member("vendor", &GpuInfo::vendor),
      member("model", &GpuInfo::model),
      member("vram_mb", &GpuInfo::vram_mb),
      member("compute_units", &GpuInfo::compute_units),
      member("tensor_cores", &GpuInfo::tensor_cores),
      member("fp16_tflops_x10", &GpuInfo::fp16_tflops_x10),
  };
}

constexpr auto members_of(std::type_identity<Accelerator>) {
  return std::tuple{
      member("accel_type", &Accelerator::kind),
      member("model", &Accelerator::model),
      member("memory_mb", &Accelerator::memory_mb),
      member("tops_x10", &Accelerator::tops_x10),
  };
}

constexpr auto members_of(std::type_identity<Hardware>) {
  return std::tuple{
      member("cpu_cores", &Hardware::cpu_cores),
      member("cpu_threads", &Hardware::cpu_threads),
      member("memory_mb", &Hardware::memory_mb),
      member("gpu", &Hardware::gpu),
      member("additional_gpus", &Hardware::additional_gpus),
      member("storage_mb", &Hardware::storage_mb),
      member("network_mbps", &Hardware::network_mbps),
      member("accelerators", &Hardware::accelerators),
  };
}

constexpr auto members_of(std::type_identity<Software>) {
  return std::tuple{
      member("os", &Software::os),
      member("os_version", &Software::os_version),
      member("runtimes", &Software::runtimes),
      member("frameworks", &Software::frameworks),
      member("cuda_version", &Software::cuda_version),
      member("drivers", &Software::drivers),
  };
}

constexpr auto members_of(std::type_identity<Model>) {
  return std::tuple{
      member("model_id", &Model::model_id),
      member("family", &Model::family),
      member("parameters_b_x10", &Model::parameters_b_x10),
      member("context_length", &Model::context_length),
      member("quantization", &Model::quantization),
      member("modalities", &Model::modalities),
      member("tokens_per_sec", &Model::tokens_per_sec),
      member("loaded", &Model::loaded),
  };
}

constexpr auto members_of(std::type_identity<Tool>) {
  return std::tuple{
      member("tool_id", &Tool::tool_id),
      member("name", &Tool::name),
      member("version", &Tool::version),
      member("input_schema", &Tool::input_schema),
      member("output_schema", &Tool::output_schema),
      member("requires", &Tool::requirements),
      member("estimated_time_ms", &Tool::estimated_time_ms),
      member("stateless", &Tool::stateless),
  };
}

constexpr auto members_of(std::type_identity<Limits>) {
  return std::tuple{
      member("max_concurrent_requests", &Limits::max_concurrent_requests),
      member("max_tokens_per_request", &Limits::max_tokens_per_request),
      member("rate_limit_rpm", &Limits::rate_limit_rpm),
      member("max_batch_size", &Limits::max_batch_size),
      member("max_input_bytes", &Limits::max_input_bytes),
      member("max_output_bytes", &Limits::max_output_bytes),
  };
}

constexpr auto members_of(std::type_identity<CapabilitySet>) {
  return std::tuple{
      member("hardware", &CapabilitySet::hardware), member("software", &CapabilitySet::software),
      member("models", &CapabilitySet::models),     member("tools", &CapabilitySet::tools),
      member("tags", &CapabilitySet::tags),         member("limits", &CapabilitySet::limits),
  };
}

constexpr auto members_of(std::type_identity<Announcement>) {
  return std::tuple{
      member("node_id", &Announcement::node_id),
      member("entity_id", &Announcement::entity_id),
      member("version", &Announcement::version),
      member("timestamp_ns", &Announcement::timestamp_ns),
      member("ttl_secs", &Announcement::ttl_secs),
      member("capabilities", &Announcement::capabilities),
      omittable("signature", &Announcement::signature),
      omittable("hop_count", &Announcement::hop_count),
      omittable("reflex_addr", &Announcement::reflex_addr),
  };
}

template <class T>
concept WireStruct = requires {
  members_of(std::type_identity<T>{});
};

// Calls visit(member, index) for each member of T.
template <WireStruct T, class Visit>
void for_each_member(Visit&& visit) {
  static constexpr auto members = members_of(std::type_identity<T>{});
  [&]<std::size_t... I>(std::index_sequence<I...>) { (visit(std::get<I>(members), I), ...); }
  (std::make_index_sequence<std::tuple_size_v<decltype(members)>>{});
}

template <WireStruct T>
constexpr std::size_t member_count() {
  return std::tuple_size_v<decltype(members_of(std::type_identity<T>{}))>;
}

// ---- Writing (serde_json's compact form).

void write(std::string& out, bool value);
template <WireInteger T>
void write(std::string& out, T value);
void write(std::string& out, const std::string& text);
template <WireEnum T>
void write(std::string& out, T value);
template <std::size_t N>
void write(std::string& out, const std::array<std::uint8_t, N>& bytes);
void write(std::string& out, const NameVersion& pair);
template <class T>
void write(std::string& out, const std::optional<T>& value);
template <class T>
void write(std::string& out, const std::vector<T>& items);
template <WireStruct T>
void write(std::string& out, const T& object);

void write_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text, plain_from, i - plain_from);
    plain_from = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(text, plain_from);
  out += '"';
}

void write(std::string& out, bool value) { out += value ? "true" : "false"; }

template <WireInteger T>
void write(std::string& out, T value) {
  char digits[20];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

void write(std::string& out, const std::string& text) { write_string(out, text); }

template <WireEnum T>
void write(std::string& out, T value) {
  write_string(out, Variants<T>::names[static_cast<std::size_t>(value)]);
}

template <std::size_t N>
void write(std::string& out, const std::array<std::uint8_t, N>& bytes) {
  write_string(out, to_hex(bytes));
}

void write(std::string& out, const NameVersion& pair) {
  out += '[';
  write(out, pair.first);
  out += ',';
  write(out, pair.second);
  out += ']';
}

template <class T>
void write(std::string& out, const std::optional<T>& value) {
  if (value) {
    write(out, *value);
  } else {
    out += "null";
  }
}

template <class T>
void write(std::string& out, const std::vector<T>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    write(out, items[i]);
  }
  out += ']';
}

template <WireStruct T>
void write(std::string& out, const T& object) {
  out += '{';
  bool first = true;
  for_each_member<T>([&](const auto& member, std::size_t) {
    const auto& value = object.*member.field;
    if (member.omitted_when_default && value == std::remove_cvref_t<decltype(value)>{}) return;
    if (!first) out += ',';
    first = false;
    write_string(out, member.name);
    out += ':';
    write(out, value);
  });
  out += '}';
}

// ---- Reading (serde_json's rules for these types). Each returns false on
// any mismatch; the caller then drops the whole announcement.

bool read(dom::element element, bool& out);
template <WireInteger T>
bool read(dom::element element, T& out);
bool read(dom::element element, std::string& out);
template <WireEnum T>
bool read(dom::element element, T& out);
template <std::size_t N>
bool read(dom::element element, std::array<std::uint8_t, N>& out);
bool read(dom::element element, NameVersion& out);
template <class T>
bool read(dom::element element, std::optional<T>& out);
template <class T>
bool read(dom::element element, std::vector<T>& out);
template <WireStruct T>
bool read(dom::element element, T& out);

bool read(dom::element element, bool& out) { return element.get_bool().get(out) == simdjson::SUCCESS; }

// Integers only (a fraction or exponent makes a double), not negative, and
// within T: simdjson's get_uint64 refuses doubles and negative integers.
template <WireInteger T>
bool read(dom::element element, T& out) {
  std::uint64_t value = 0;
  if (element.get_uint64().get(value) != simdjson::SUCCESS || value > std::numeric_limits<T>::max()) return false;
  out = static_cast<T>(value);
  return true;
}

bool read(dom::element element, std::string& out) {
  std::string_view text;
  if (element.get_string().get(text) != simdjson::SUCCESS) return false;
  out.assign(text);
  return true;
}

template <WireEnum T>
bool read(dom::element element, T& out) {
  std::string_view text;
  if (element.get_string().get(text) != simdjson::SUCCESS) return false;
  const auto& names = Variants<T>::names;
  const auto found = std::find(names.begin(), names.end(), text);
  if (found == names.end()) return false;
  out = static_cast<T>(found - names.begin());
  return true;
}

template <std::size_t N>
bool read(dom::element element, std::array<std::uint8_t, N>& out) {
  std::string_view text;
  if (element.get_string().get(text) != simdjson::SUCCESS) return false;
  const auto bytes = from_hex(text);
  if (!bytes || bytes->size() != N) return false;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return true;
}

// A tuple (String, String): an array of exactly two strings.
bool read(dom::element element, NameVersion& out) {
  dom::array items;
  if (element.get_array().get(items) != simdjson::SUCCESS || items.size() != 2) return false;
  auto item = items.begin();
  if (!read(*item, out.first)) return false;
  ++item;
  return read(*item, out.second);
}

template <class T>
bool read(dom::element element, std::optional<T>& out) {
  if (element.is_null()) {
    out.reset();
    return true;
  }
  return read(element, out.emplace());
}

template <class T>
bool read(dom::element element, std::vector<T>& out) {
  dom::array items;
  if (element.get_array().get(items) != simdjson::SUCCESS) return false;
  out.clear();
  out.reserve(items.size());
  for (const dom::element item : items)
    if (!read(item, out.emplace_back())) return false;
  return true;
}

// Members in any order; unknown ones ignored; each known one at most once;
// every one present except Option members and the omittable ones.
template <WireStruct T>
bool read(dom::element element, T& out) {
  dom::object fields;
  if (element.get_object().get(fields) != simdjson::SUCCESS) return false;
  std::array<bool, member_count<T>()> seen{};
  for (const dom::key_value_pair field : fields) {
    bool ok = true;
    for_each_member<T>([&](const auto& member, std::size_t index) {
      if (field.key != member.name) return;
      auto& target = out.*member.field;
      using Value = std::remove_cvref_t<decltype(target)>;
      if (seen[index]) {
        ok = false;
      } else if (member.omitted_when_default && field.value.is_null()) {
        target = Value{};
      } else {
        ok = read(field.value, target);
      }
      seen[index] = true;
    });
    if (!ok) return false;
  }
  bool complete = true;
  for_each_member<T>([&](const auto& member, std::size_t index) {
    using Value = std::remove_cvref_t<decltype(out.*member.field)>;
    if (!seen[index] && !member.omitted_when_default && !kIsOptional<Value>) complete = false;
  });
  return complete;
}

bool is_socket_address(std::string_view text) {
  try {
    transport::SocketAddress::parse(text);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

std::string encode_announcement(const Announcement& announcement) {
  std::string out;
  out.reserve(1024);
  write(out, announcement);
  return out;
}

std::string signed_bytes(const Announcement& announcement) {
  Announcement unsigned_copy = announcement;
  unsigned_copy.signature.reset();
  unsigned_copy.hop_count = 0;
  return encode_announcement(unsigned_copy);
}

void sign_announcement(Announcement& announcement, const crypto::Ed25519Keypair& origin) {
  announcement.signature = origin.sign(as_bytes(signed_bytes(announcement)));
}

bool verify_announcement(const Announcement& announcement) {
  return announcement.signature &&
         crypto::ed25519_verify(announcement.entity_id, as_bytes(signed_bytes(announcement)), *announcement.signature);
}

std::optional<Announcement> decode_announcement(std::string_view json) {
  thread_local dom::parser parser;
  dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  Announcement announcement;
  if (!read(root, announcement)) return std::nullopt;
  if (announcement.reflex_addr && !is_socket_address(*announcement.reflex_addr)) return std::nullopt;
  return announcement;
}

}  // namespace net::capability
