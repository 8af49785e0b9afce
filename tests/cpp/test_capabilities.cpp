// Capabilities: the announcement wire vector byte for byte, the JSON escape
// rules, what the decoder accepts and refuses, signatures, filters, scopes,
// the index's version and expiry rules, and the announcement dedup.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

#include "net/capability/announcement.hpp"
#include "net/capability/announcement_dedup.hpp"
#include "net/capability/capability_index.hpp"
#include "net/identity/node_ids.hpp"
#include "vectors.hpp"

using namespace net;
using namespace net::capability;

namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;
// What a query over 10,000 nodes may take; sanitizers slow every memory access several-fold.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr auto kQueryBudget = std::chrono::milliseconds(20);
#else
constexpr auto kQueryBudget = std::chrono::milliseconds(1);
#endif
constexpr std::uint64_t kNow = 1'800'000'000 * kSecond;

crypto::Ed25519Keypair keypair_of(std::uint8_t first) {
  Key32 seed;
  for (std::size_t i = 0; i < 32; ++i) seed[i] = static_cast<std::uint8_t>(first + i);
  return crypto::Ed25519Keypair::from_seed(seed);
}

GpuInfo gpu(std::string_view vendor, std::string model, std::uint32_t vram_mb) {
  GpuInfo info;
  info.vendor = parse_gpu_vendor(vendor);
  info.model = std::move(model);
  info.vram_mb = vram_mb;
  return info;
}

Model model(std::string id, std::initializer_list<std::string_view> modalities, std::uint32_t context_length = 0) {
  Model m;
  m.model_id = std::move(id);
  m.context_length = context_length;
  for (const auto name : modalities) add_modality(m, parse_modality(name));
  return m;
}

Tool tool(std::string id) {
  Tool t;
  t.tool_id = std::move(id);
  return t;
}

// The CapabilitySet the binding builds from the vector's python_input,
// assembled field by field with the same conversions.
CapabilitySet vector_capabilities() {
  CapabilitySet caps;
  Hardware& hw = caps.hardware;
  hw.cpu_cores = saturate_u16(16);
  hw.cpu_threads = saturate_u16(32);
  hw.memory_mb = 65536;
  hw.gpu = gpu("nvidia", "RTX 4090", 24576);
  hw.gpu->compute_units = saturate_u16(128);
  hw.gpu->tensor_cores = saturate_u16(512);
  hw.gpu->fp16_tflops_x10 = fp16_tflops_x10_stored(825);
  hw.additional_gpus.push_back(gpu("AMD", "MI300X", 196608));
  hw.additional_gpus[0].fp16_tflops_x10 = fp16_tflops_x10_stored(13074);
  hw.storage_mb = 2000000;
  hw.network_mbps = 10000;
  Accelerator npu;
  npu.kind = parse_accelerator_kind("npu");
  npu.model = "Hexagon";
  npu.tops_x10 = saturate_u16(450);
  hw.accelerators.push_back(npu);

  Software& sw = caps.software;
  sw.os = "linux";
  sw.os_version = "6.8.0";
  sw.runtimes = {{"python", "3.11"}, {"node", "20.11"}};
  sw.frameworks = {{"pytorch", "2.3.0"}};
  sw.cuda_version = "12.4";

  Model llama = model("llama-3.1-8b", {"code", "tool-use"}, 131072);
  llama.family = "llama";
  llama.parameters_b_x10 = 80;
  llama.quantization = "q4_k_m";
  llama.tokens_per_sec = 95;
  llama.loaded = true;
  Model clip = model("clip-vit", {"image", "embedding"});
  clip.family = "clip";
  caps.models = {llama, clip};

  Tool search = tool("web.search");
  search.name = "Web search";
  search.version = "2.0.1";
  search.input_schema = R"({"type":"object","properties":{"q":{"type":"string"}}})";
  search.requirements = {"net"};
  search.estimated_time_ms = 350;
  Tool shell = tool("shell");
  shell.name = "Shell \"sandboxed\"";
  shell.stateless = false;
  caps.tools = {search, shell};

  caps.tags = {"gpu",
               "region:eu-west",
               "scope:tenant:acme",
               "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80",
               "quote\" back\\slash /",
               std::string("ctl\n\t\x01\x1f\x7f")};
  caps.limits = {8, 8192, 600, 16, 1048576, 4194304};
  return caps;
}

Announcement vector_announcement() {
  const auto vector = test_vectors::root()["capability_announcement"];
  Announcement a;
  a.entity_id = test_vectors::key(vector["entity_id"]);
  a.node_id = test_vectors::u64(vector["node_id_u64"]);
  a.version = test_vectors::u64(vector["version"]);
  a.timestamp_ns = test_vectors::u64(vector["timestamp_ns"]);
  a.ttl_secs = static_cast<std::uint32_t>(test_vectors::u64(vector["ttl_secs"]));
  a.capabilities = vector_capabilities();
  return a;
}

std::string vector_text(const char* key) {
  return std::string(test_vectors::root()["capability_announcement"][key].get_string().value());
}

// `json` with the first `from` replaced by `to`; `from` must occur.
std::string replaced(std::string json, std::string_view from, std::string_view to) {
  const auto at = json.find(from);
  REQUIRE(at != std::string::npos);
  return json.replace(at, from.size(), to);
}

// The signed vector body, with `from` replaced by `to`, decoded.
std::optional<Announcement> decode_edited(std::string_view from, std::string_view to) {
  return decode_announcement(replaced(vector_text("announcement_json"), from, to));
}

// The signed vector body with `members` added at its end, decoded.
std::optional<Announcement> decode_appended(std::string_view members) {
  std::string json = vector_text("announcement_json");
  json.insert(json.size() - 1, members);
  return decode_announcement(json);
}

std::string encoded_tag(const std::string& tag) {
  Announcement a;
  a.capabilities.tags = {tag};
  const std::string json = encode_announcement(a);
  const auto start = json.find("\"tags\":[") + 8;
  return json.substr(start, json.find("],\"limits\"") - start);
}

Announcement announcement_of(std::uint64_t node_id, std::uint64_t version, CapabilitySet caps = {}) {
  Announcement a;
  a.node_id = node_id;
  a.version = version;
  a.timestamp_ns = kNow;
  a.ttl_secs = 300;
  a.capabilities = std::move(caps);
  return a;
}

CapabilitySet tagged(std::initializer_list<std::string> tags) {
  CapabilitySet caps;
  caps.tags = tags;
  return caps;
}

}  // namespace

TEST_CASE("capability announcement: the wire vector byte for byte", "[capability]") {
  const auto vector = test_vectors::root()["capability_announcement"];
  const auto origin = keypair_of(0);
  Announcement a = vector_announcement();
  CHECK(a.entity_id == origin.public_key());
  CHECK(a.node_id == identity::node_id_of(origin.public_key()));

  CHECK(signed_bytes(a) == vector_text("signed_bytes_json"));
  CHECK(signed_bytes(a).size() == test_vectors::u64(vector["signed_bytes_len"]));
  sign_announcement(a, origin);
  REQUIRE(a.signature);
  CHECK(to_hex(*a.signature) == vector_text("signature"));
  CHECK(encode_announcement(a) == vector_text("announcement_json"));
  CHECK(verify_announcement(a));

  Announcement forwarded = a;
  forwarded.hop_count = 1;
  CHECK(encode_announcement(forwarded) == vector_text("forwarded_hop1_json"));
  CHECK(verify_announcement(forwarded));  // hop_count is outside the signature
  CHECK(signed_bytes(forwarded) == vector_text("signed_bytes_json"));

  const auto decoded = decode_announcement(vector_text("announcement_json"));
  REQUIRE(decoded);
  CHECK(*decoded == a);
  CHECK(verify_announcement(*decoded));
  const auto relayed = decode_announcement(vector_text("forwarded_hop1_json"));
  REQUIRE(relayed);
  CHECK(relayed->hop_count == 1);
  CHECK(encode_announcement(*relayed) == vector_text("forwarded_hop1_json"));
}

TEST_CASE("capability announcement: strings escape only quote, backslash and control characters", "[capability]") {
  const char* expected[32] = {"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
                              "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
                              "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
                              "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  for (int c = 0; c < 32; ++c) {
    CAPTURE(c);
    const char text[] = {'a', static_cast<char>(c), 'b'};
    CHECK(encoded_tag(std::string(text, 3)) == std::string("\"a").append(expected[c]).append("b\""));
  }
  CHECK(encoded_tag("\"") == R"("\"")");
  CHECK(encoded_tag("\\") == R"("\\")");
  CHECK(encoded_tag("/") == R"("/")");
  CHECK(encoded_tag("\x7f") == "\"\x7f\"");
  CHECK(encoded_tag("") == R"("")");
  // Non-ASCII is written as raw UTF-8: é, 日本, an astral emoji, U+2028, U+2029, U+FEFF.
  for (const char* raw :
       {"\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xef\xbb\xbf"}) {
    CHECK(encoded_tag(raw) == std::string("\"").append(raw).append("\""));
  }
}

TEST_CASE("capability announcement: integers in plain decimal up to each field's maximum", "[capability]") {
  Announcement a;
  a.node_id = UINT64_MAX;
  a.version = UINT64_MAX;
  a.timestamp_ns = UINT64_MAX;
  a.ttl_secs = UINT32_MAX;
  a.capabilities.hardware.cpu_cores = UINT16_MAX;
  a.capabilities.hardware.storage_mb = UINT64_MAX;
  a.hop_count = 255;
  const std::string json = encode_announcement(a);
  CHECK(json.starts_with(R"({"node_id":18446744073709551615,"entity_id":")" + std::string(64, '0') +
                         R"(","version":18446744073709551615,"timestamp_ns":18446744073709551615,)"
                         R"("ttl_secs":4294967295,"capabilities":{"hardware":{"cpu_cores":65535,)"));
  CHECK(json.find(R"("storage_mb":18446744073709551615)") != std::string::npos);
  CHECK(json.ends_with(R"("max_output_bytes":0}},"hop_count":255})"));
  const auto decoded = decode_announcement(json);
  REQUIRE(decoded);
  CHECK(*decoded == a);

  a.reflex_addr = "203.0.113.7:4000";
  CHECK(encode_announcement(a).ends_with(R"("hop_count":255,"reflex_addr":"203.0.113.7:4000"})"));
  CHECK(signed_bytes(a).ends_with(R"(}},"reflex_addr":"203.0.113.7:4000"})"));
}

TEST_CASE("capability announcement: the decoder reads anything serde_json would", "[capability]") {
  const std::string base = vector_text("announcement_json");
  const auto original = decode_announcement(base);
  REQUIRE(original);
  const auto same_and_verifies = [&](const std::string& json) {
    const auto decoded = decode_announcement(json);
    REQUIRE(decoded);
    CHECK(*decoded == *original);
    CHECK(verify_announcement(*decoded));
  };

  SECTION("members in another order") {
    const std::string node_member = R"("node_id":13655593967979566325,)";
    std::string json = replaced(base, node_member, "");
    json.insert(json.size() - 1, std::string(",").append(node_member, 0, node_member.size() - 1));
    same_and_verifies(json);
    same_and_verifies(replaced(base, R"("cpu_cores":16,"cpu_threads":32,)", R"("cpu_threads":32,"cpu_cores":16,)"));
  }
  SECTION("whitespace between tokens") {
    std::string json = replaced(base, R"({"node_id":)", " \t\n{ \"node_id\" :\r\n ");
    json = replaced(json, R"(,"version":1,)", " ,\n  \"version\" : 1 , ");
    json = replaced(json, R"([["python","3.11"],)", "[ [ \"python\" , \"3.11\" ] ,\n");
    same_and_verifies(json + " \n\t\r ");
  }
  SECTION("escapes of any kind, in values and member names") {
    same_and_verifies(replaced(base, "\"Web search\"", R"("W\u0065b search")"));
    same_and_verifies(replaced(base, "\"node_id\"", R"("n\u006fde_id")"));
    same_and_verifies(replaced(base, "back\\\\slash /", R"(back\\slash \/)"));
    same_and_verifies(replaced(base, "caf\xc3\xa9", R"(caf\u00E9)"));
    same_and_verifies(replaced(base, "\xf0\x9f\x9a\x80", R"(\ud83d\ude80)"));
    same_and_verifies(replaced(base, "ctl\\n", R"(ctl\u000a)"));
    same_and_verifies(replaced(base, "\x7f\"]", R"(\u007f"])"));
  }
  SECTION("unknown members anywhere") {
    std::string json = replaced(base, R"({"node_id")", R"({"future":{"a":[1,2.5,-3e9,null,"x"]},"node_id")");
    json = replaced(json, R"("cpu_cores")", R"("fan_rpm":1200,"cpu_cores")");
    json = replaced(json, R"("model_id":"clip-vit")", R"("model_id":"clip-vit","license":"mit")");
    same_and_verifies(json);
  }
  SECTION("absent and null Option members") {
    const auto decoded = decode_edited(R"("cuda_version":"12.4",)", "");
    REQUIRE(decoded);
    CHECK_FALSE(decoded->capabilities.software.cuda_version);
    CHECK_FALSE(verify_announcement(*decoded));  // content changed

    for (const char* member : {R"("quantization":null,)", R"("input_schema":null,)", R"("output_schema":null,)"}) {
      CAPTURE(member);
      same_and_verifies(replaced(base, member, ""));
    }
    std::string json = replaced(base, R"("gpu":{)", R"("gpu":null,"was_gpu":{)");
    const auto no_gpu = decode_announcement(json);
    REQUIRE(no_gpu);
    CHECK_FALSE(no_gpu->capabilities.hardware.gpu);

    const auto unsigned_copy = decode_edited(R"(,"signature":")", R"(,"signature":null,"old":")");
    REQUIRE(unsigned_copy);
    CHECK_FALSE(unsigned_copy->signature);
    CHECK_FALSE(verify_announcement(*unsigned_copy));
    same_and_verifies(replaced(base, R"(,"signature")", R"(,"hop_count":null,"reflex_addr":null,"signature")"));
  }
  SECTION("hex in either case") {
    const std::string entity = to_hex(original->entity_id);
    std::string upper_entity = entity;
    for (char& c : upper_entity) c = static_cast<char>(std::toupper(c));
    std::string json = replaced(base, entity, upper_entity);
    std::string signature = to_hex(*original->signature);
    std::string upper_signature = signature;
    for (char& c : upper_signature) c = static_cast<char>(std::toupper(c));
    same_and_verifies(replaced(json, signature, upper_signature));
  }
  SECTION("a hop count up to 255 and a reflex address") {
    const auto hop = decode_appended(R"(,"hop_count":255)");
    REQUIRE(hop);
    CHECK(hop->hop_count == 255);
    const auto v6 = decode_appended(R"(,"reflex_addr":"[2001:db8::1]:9000")");
    REQUIRE(v6);
    CHECK(v6->reflex_addr == "[2001:db8::1]:9000");
    CHECK_FALSE(verify_announcement(*v6));  // the origin did not sign a reflex address
  }
}

TEST_CASE("capability announcement: the decoder refuses what serde_json refuses", "[capability]") {
  SECTION("a required member missing") {
    for (const char* key : {R"("ttl_secs")", R"("limits")", R"("node_id")", R"("entity_id")", R"("capabilities")",
                            R"("drivers")", R"("loaded")", R"("stateless")", R"("tops_x10")", R"("modalities")",
                            R"("fp16_tflops_x10")", R"("requires")", R"("tags")"}) {
      CAPTURE(key);
      CHECK_FALSE(decode_edited(key, R"("renamed")"));
    }
  }
  SECTION("a member given twice") {
    CHECK_FALSE(decode_edited(R"({"node_id")", R"({"version":2,"node_id")"));
    CHECK_FALSE(decode_edited(R"("cpu_cores":16,)", R"("cpu_cores":16,"cpu_cores":16,)"));
    CHECK_FALSE(decode_edited(R"("gpu":{"vendor":"Nvidia",)", R"("gpu":{"vendor":"Nvidia","vendor":"Nvidia",)"));
    CHECK_FALSE(decode_edited(R"(,"signature")", R"(,"signature":null,"signature")"));
  }
  SECTION("an enum that is not an exact variant name") {
    CHECK_FALSE(decode_edited(R"("Nvidia")", R"("nvidia")"));
    CHECK_FALSE(decode_edited(R"("Nvidia")", R"("NVIDIA")"));
    CHECK_FALSE(decode_edited(R"("Nvidia")", "1"));
    CHECK_FALSE(decode_edited(R"("ToolUse")", R"("tool_use")"));
    CHECK_FALSE(decode_edited(R"("Npu")", R"("npu")"));
    CHECK_FALSE(decode_edited(R"("Npu")", "2"));
  }
  SECTION("numbers that are not integers of the field's width") {
    CHECK_FALSE(decode_edited(R"("ttl_secs":300)", R"("ttl_secs":300.0)"));
    CHECK_FALSE(decode_edited(R"("ttl_secs":300)", R"("ttl_secs":3e2)"));
    CHECK_FALSE(decode_edited(R"("ttl_secs":300)", R"("ttl_secs":-300)"));
    CHECK_FALSE(decode_edited(R"("ttl_secs":300)", R"("ttl_secs":4294967296)"));
    CHECK_FALSE(decode_edited(R"("ttl_secs":300)", R"("ttl_secs":"300")"));
    CHECK_FALSE(decode_edited(R"("cpu_cores":16)", R"("cpu_cores":65536)"));
    CHECK_FALSE(decode_edited(R"("tops_x10":450)", R"("tops_x10":65536)"));
    CHECK_FALSE(decode_edited(R"("node_id":13655593967979566325)", R"("node_id":18446744073709551616)"));
    CHECK_FALSE(decode_appended(R"(,"hop_count":256)"));
    CHECK_FALSE(decode_appended(R"(,"hop_count":-1)"));
    CHECK_FALSE(decode_edited(R"("version":1)", R"("version":01)"));
  }
  SECTION("strings that are not Unicode") {
    CHECK_FALSE(decode_edited("\"gpu\",", R"("\ud800",)"));
    CHECK_FALSE(decode_edited("\"gpu\",", R"("\udc00",)"));
    CHECK_FALSE(decode_edited("\"gpu\",", R"("\ud83dx",)"));
    CHECK_FALSE(decode_edited("\"gpu\",", "\"\xff\","));
    CHECK_FALSE(decode_edited("\"gpu\",", "\"\xc3\","));
    CHECK_FALSE(decode_edited("\"gpu\",", "\"\xed\xa0\x80\","));  // an encoded surrogate
    CHECK_FALSE(decode_edited("\"gpu\",", "\"a\nb\","));          // raw control character
  }
  SECTION("anything after the JSON, or no JSON object") {
    const std::string base = vector_text("announcement_json");
    CHECK_FALSE(decode_announcement(base + "x"));
    CHECK_FALSE(decode_announcement(base + "{}"));
    CHECK_FALSE(decode_announcement(base.substr(0, base.size() - 1)));
    for (const char* text : {"", " ", "null", "[]", "{}", "1", "\"x\""}) {
      CAPTURE(text);
      CHECK_FALSE(decode_announcement(text));
    }
  }
  SECTION("wrong types and shapes") {
    CHECK_FALSE(decode_edited(R"("loaded":true)", R"("loaded":1)"));
    CHECK_FALSE(decode_edited(R"("stateless":false)", R"("stateless":"false")"));
    CHECK_FALSE(decode_edited(R"("tags":[)", R"("tags":"gpu","x":[)"));
    CHECK_FALSE(decode_edited(R"("tags":[)", R"("tags":null,"x":[)"));
    CHECK_FALSE(decode_edited(R"("gpu":{)", R"("gpu":[],"x":{)"));
    CHECK_FALSE(decode_edited(R"("additional_gpus":[)", R"("additional_gpus":[null,)"));
    CHECK_FALSE(decode_edited(R"(["pytorch","2.3.0"])", R"(["pytorch","2.3.0","cu121"])"));
    CHECK_FALSE(decode_edited(R"(["pytorch","2.3.0"])", R"(["pytorch"])"));
    CHECK_FALSE(decode_edited(R"(["pytorch","2.3.0"])", R"(["pytorch",2])"));
    CHECK_FALSE(decode_edited(R"("os":"linux")", R"("os":null)"));
    CHECK_FALSE(decode_edited(R"("quantization":null)", R"("quantization":4)"));
    CHECK_FALSE(decode_edited(R"("entity_id":"03)", R"("entity_id":")"));
    CHECK_FALSE(decode_edited(R"("entity_id":"03)", R"("entity_id":"0g)"));
    CHECK_FALSE(decode_edited(R"(,"signature":"f9)", R"(,"signature":")"));
    CHECK_FALSE(decode_appended(R"(,"reflex_addr":"not an address")"));
    CHECK_FALSE(decode_appended(R"(,"reflex_addr":4000)"));
  }
}

TEST_CASE("capability announcement: the signature covers the decoded content", "[capability]") {
  const auto origin = keypair_of(0);
  Announcement a = vector_announcement();
  a.reflex_addr = "198.51.100.2:7000";
  sign_announcement(a, origin);
  CHECK(verify_announcement(a));
  const auto decoded = decode_announcement(encode_announcement(a));
  REQUIRE(decoded);
  CHECK(verify_announcement(*decoded));

  Announcement without_reflex = a;
  without_reflex.reflex_addr.reset();
  CHECK_FALSE(verify_announcement(without_reflex));
  Announcement retagged = a;
  retagged.capabilities.tags.push_back("admin");
  CHECK_FALSE(verify_announcement(retagged));
  Announcement other_key = a;
  other_key.entity_id = keypair_of(32).public_key();
  CHECK_FALSE(verify_announcement(other_key));
  Announcement flipped = a;
  (*flipped.signature)[10] ^= 0x01;
  CHECK_FALSE(verify_announcement(flipped));
  Announcement unsigned_copy = a;
  unsigned_copy.signature.reset();
  CHECK_FALSE(verify_announcement(unsigned_copy));
}

TEST_CASE("capability set: lenient names, modalities and integer conversions", "[capability]") {
  CHECK(parse_gpu_vendor("NVIDIA") == GpuVendor::Nvidia);
  CHECK(parse_gpu_vendor("Amd") == GpuVendor::Amd);
  CHECK(parse_gpu_vendor("QUALCOMM") == GpuVendor::Qualcomm);
  CHECK(parse_gpu_vendor("apple") == GpuVendor::Apple);
  CHECK(parse_gpu_vendor("intel ") == GpuVendor::Unknown);
  CHECK(parse_gpu_vendor("") == GpuVendor::Unknown);
  CHECK(vendor_name(parse_gpu_vendor("InTeL")) == "intel");
  CHECK(vendor_name(parse_gpu_vendor("matrox")) == "unknown");

  CHECK(parse_accelerator_kind("TPU") == AcceleratorKind::Tpu);
  CHECK(parse_accelerator_kind("FPGA") == AcceleratorKind::Fpga);
  CHECK(parse_accelerator_kind("Dsp") == AcceleratorKind::Dsp);
  CHECK(parse_accelerator_kind("asic") == AcceleratorKind::Asic);
  CHECK(parse_accelerator_kind("gpu") == AcceleratorKind::Unknown);

  CHECK(parse_modality("tool-use") == Modality::ToolUse);
  CHECK(parse_modality("TOOL_USE") == Modality::ToolUse);
  CHECK(parse_modality("ToolUse") == Modality::ToolUse);
  CHECK(parse_modality("Video") == Modality::Video);
  CHECK(parse_modality("AUDIO") == Modality::Audio);
  CHECK(parse_modality("bogus") == Modality::Text);
  const Model m = model("m", {"image", "tool-use", "CODE", "bogus", "text"});
  CHECK(m.modalities == std::vector{Modality::Text, Modality::Image, Modality::ToolUse, Modality::Code});
  CHECK(Model{}.modalities == std::vector{Modality::Text});
  CHECK(Tool{}.version == "1.0.0");
  CHECK(Tool{}.stateless);

  CHECK(saturate_u16(65535) == 65535);
  CHECK(saturate_u16(70000) == 65535);
  CHECK(saturate_u16(UINT32_MAX) == 65535);

  for (std::uint64_t v : {0ull, 1ull, 825ull, 13074ull, 1000000ull, 10485762ull}) CHECK(fp16_tflops_x10_stored(v) == v);
  CHECK(fp16_tflops_x10_stored(10485763) == 10485762);
  CHECK(fp16_tflops_x10_stored(10485767) == 10485768);
  CHECK(fp16_tflops_x10_stored(16777217) == 16777216);
  CHECK(fp16_tflops_x10_stored(33554433) == 33554432);
  CHECK(fp16_tflops_x10_stored(123456789) == 123456792);
  CHECK(fp16_tflops_x10_stored(4294967295) == 4294967295);
}

TEST_CASE("capability filter: every key", "[capability]") {
  const CapabilitySet caps = vector_capabilities();  // 65536 MB, Nvidia 24576 + Amd 196608 VRAM
  CapabilitySet bare;
  CHECK(CapabilityFilter{}.matches(caps));
  CHECK(CapabilityFilter{}.matches(bare));

  CapabilityFilter f;
  f.require_tags = {"gpu", "scope:tenant:acme"};
  CHECK(f.matches(caps));
  f.require_tags.push_back("GPU");
  CHECK_FALSE(f.matches(caps));

  f = {};
  f.require_models = {"nope", "clip-vit"};
  CHECK(f.matches(caps));
  f.require_models = {"nope", "llama"};
  CHECK_FALSE(f.matches(caps));
  CHECK_FALSE(f.matches(bare));

  f = {};
  f.require_tools = {"shell", "other"};
  CHECK(f.matches(caps));
  f.require_tools = {"Shell"};
  CHECK_FALSE(f.matches(caps));

  f = {};
  f.min_memory_mb = 65536;
  CHECK(f.matches(caps));
  f.min_memory_mb = 65537;
  CHECK_FALSE(f.matches(caps));
  f.min_memory_mb = 0;
  CHECK(f.matches(bare));

  f = {};
  f.require_gpu = true;
  CHECK(f.matches(caps));
  CHECK_FALSE(f.matches(bare));
  CapabilitySet only_additional;
  only_additional.hardware.additional_gpus.push_back(gpu("nvidia", "A100", 40960));
  CHECK_FALSE(f.matches(only_additional));

  f = {};
  f.gpu_vendor = parse_gpu_vendor("NVIDIA");
  CHECK(f.matches(caps));
  f.gpu_vendor = GpuVendor::Amd;  // only an additional GPU is AMD
  CHECK_FALSE(f.matches(caps));
  f.gpu_vendor = GpuVendor::Nvidia;
  CHECK_FALSE(f.matches(only_additional));
  f.gpu_vendor = GpuVendor::Unknown;
  CHECK_FALSE(f.matches(bare));

  f = {};
  f.min_vram_mb = 24576 + 196608;  // the sum over primary and additional GPUs
  CHECK(f.matches(caps));
  f.min_vram_mb = 24576 + 196609;
  CHECK_FALSE(f.matches(caps));
  f.min_vram_mb = 40960;
  CHECK(f.matches(only_additional));
  CapabilitySet many;
  for (int i = 0; i < 3; ++i) many.hardware.additional_gpus.push_back(gpu("amd", "x", UINT32_MAX));
  f.min_vram_mb = UINT32_MAX;  // summed without wrapping
  CHECK(f.matches(many));

  f = {};
  f.min_context_length = 131072;
  CHECK(f.matches(caps));
  f.min_context_length = 131073;
  CHECK_FALSE(f.matches(caps));
  f.min_context_length = 0;
  CHECK_FALSE(f.matches(bare));  // no model at all

  f = {};
  f.require_modalities = {Modality::Code, Modality::Embedding};  // from two different models
  CHECK(f.matches(caps));
  f.require_modalities = {Modality::Text};
  CHECK(f.matches(caps));
  CHECK_FALSE(f.matches(bare));
  f.require_modalities = {Modality::Audio};
  CHECK_FALSE(f.matches(caps));

  f = {};
  f.require_tags = {"gpu"};
  f.min_memory_mb = 1;
  f.require_gpu = true;
  f.min_context_length = 200000;  // all keys must hold
  CHECK_FALSE(f.matches(caps));
}

TEST_CASE("capability scope: derived from tags, strictest wins", "[capability]") {
  using Kind = NodeScope::Kind;
  const auto scope_of = [](std::initializer_list<std::string> tags) {
    const std::vector<std::string> list(tags);
    return NodeScope::from_tags(list);
  };
  CHECK(scope_of({}).kind == Kind::Global);
  CHECK(scope_of({"gpu", "scope:global", "scope:tenant:", "scope:region:"}).kind == Kind::Global);
  CHECK(scope_of({"scope:tenant:acme", "scope:subnet-local"}) == NodeScope{Kind::SubnetLocal, {}, {}});
  CHECK(scope_of({"scope:tenant:acme", "scope:region:eu", "scope:tenant:beta", "scope:global"}) ==
        NodeScope{Kind::Restricted, {"acme", "beta"}, {"eu"}});
  CHECK(scope_of({"scope:region:us"}) == NodeScope{Kind::Restricted, {}, {"us"}});
  CHECK(scope_of({"scope:subnet-local:x", "tenant:acme"}).kind == Kind::Global);
}

TEST_CASE("capability scope: which candidates each scope filter admits", "[capability]") {
  using F = ScopeFilter::Kind;
  const std::vector<std::string> tenant_tags{"scope:tenant:acme"};
  const std::vector<std::string> region_tags{"scope:region:eu"};
  const std::vector<std::string> both_tags{"scope:tenant:acme", "scope:region:eu"};
  const std::vector<std::string> local_tags{"scope:subnet-local"};
  const NodeScope global{};
  const NodeScope tenant = NodeScope::from_tags(tenant_tags);
  const NodeScope region = NodeScope::from_tags(region_tags);
  const NodeScope both = NodeScope::from_tags(both_tags);
  const NodeScope local = NodeScope::from_tags(local_tags);

  const ScopeFilter any{};
  for (const NodeScope* s : {&global, &tenant, &region, &both}) CHECK(scope_matches(*s, any, false));
  CHECK_FALSE(scope_matches(local, any, true));

  const ScopeFilter global_only{F::GlobalOnly, {}};
  CHECK(scope_matches(global, global_only, false));
  for (const NodeScope* s : {&tenant, &region, &both, &local}) CHECK_FALSE(scope_matches(*s, global_only, true));

  const ScopeFilter same_subnet{F::SameSubnet, {}};
  for (const NodeScope* s : {&global, &tenant, &region, &both, &local}) {
    CHECK(scope_matches(*s, same_subnet, true));
    CHECK_FALSE(scope_matches(*s, same_subnet, false));
  }

  const ScopeFilter acme = ScopeFilter::restricted_to(F::Tenants, {"", "other", "acme"});
  CHECK(acme.values == std::vector<std::string>{"other", "acme"});
  CHECK(scope_matches(global, acme, false));
  CHECK(scope_matches(tenant, acme, false));
  CHECK(scope_matches(both, acme, false));
  CHECK_FALSE(scope_matches(region, acme, false));
  CHECK_FALSE(scope_matches(local, acme, true));
  CHECK_FALSE(scope_matches(tenant, ScopeFilter::restricted_to(F::Tenants, {"beta"}), false));

  const ScopeFilter eu = ScopeFilter::restricted_to(F::Regions, {"eu"});
  CHECK(scope_matches(global, eu, false));
  CHECK(scope_matches(region, eu, false));
  CHECK(scope_matches(both, eu, false));
  CHECK_FALSE(scope_matches(tenant, eu, false));
  CHECK_FALSE(scope_matches(local, eu, true));

  CHECK(ScopeFilter::restricted_to(F::Tenants, {}).kind == F::Any);
  CHECK(ScopeFilter::restricted_to(F::Regions, {"", ""}).kind == F::Any);
}

TEST_CASE("capability index: newest version per node replaces the entry", "[capability]") {
  CapabilityIndex index;
  CHECK(index.query({}).empty());
  CHECK(index.index(announcement_of(7, 2, tagged({"a"})), kNow));
  CHECK_FALSE(index.index(announcement_of(7, 2, tagged({"b"})), kNow));  // equal version, other content
  CHECK_FALSE(index.index(announcement_of(7, 1, tagged({"c"})), kNow));
  REQUIRE(index.find(7));
  CHECK(index.find(7)->tags == std::vector<std::string>{"a"});
  CHECK(index.index(announcement_of(7, 3, tagged({"d"})), kNow));
  CHECK(index.find(7)->tags == std::vector<std::string>{"d"});
  CHECK(index.size() == 1);
  CHECK(index.find(8) == nullptr);

  index.remove(7);
  CHECK(index.size() == 0);
  CHECK(index.index(announcement_of(7, 1), kNow));  // a removed node starts over
  index.remove(99);
  CHECK(index.size() == 1);
}

TEST_CASE("capability index: expiry by timestamp and ttl, and gc", "[capability]") {
  const auto aged = [](std::uint64_t node_id, std::uint64_t timestamp_ns, std::uint32_t ttl_secs) {
    Announcement a = announcement_of(node_id, 1);
    a.timestamp_ns = timestamp_ns;
    a.ttl_secs = ttl_secs;
    return a;
  };
  CapabilityIndex index;
  CHECK_FALSE(index.index(aged(1, kNow - 400 * kSecond, 300), kNow));
  CHECK_FALSE(index.index(aged(1, kNow - 300 * kSecond, 300), kNow));
  CHECK(index.index(aged(2, kNow - 299 * kSecond - kSecond / 2, 300), kNow));  // 299.5 s old: age 299
  CHECK_FALSE(index.index(aged(3, 0, 300), kNow));
  CHECK(index.index(aged(4, kNow + 3600 * kSecond, 300), kNow));  // future: age 0
  CHECK(index.index(aged(5, 0, 0), kNow));                        // ttl 0: never expired on arrival
  CHECK(index.index(aged(6, kNow - 100 * kSecond, 300), kNow));
  CHECK(index.index(aged(7, UINT64_MAX, UINT32_MAX), kNow));
  CHECK(index.size() == 5);

  // Lifetimes: node 2 has 0.5 s left, node 6 200 s, node 4 the full 300 s
  // (not 3900), node 5 none at all, node 7 saturates.
  CHECK(index.gc(kNow) == 1);
  CHECK(index.find(5) == nullptr);
  CHECK(index.gc(kNow + kSecond / 2 - 1) == 0);
  CHECK(index.gc(kNow + kSecond / 2) == 1);
  CHECK(index.find(2) == nullptr);
  CHECK(index.gc(kNow + 200 * kSecond) == 1);
  CHECK(index.find(6) == nullptr);
  CHECK(index.gc(kNow + 300 * kSecond - 1) == 0);
  CHECK(index.gc(kNow + 300 * kSecond) == 1);
  CHECK(index.find(4) == nullptr);
  REQUIRE(index.find(7));
  CHECK(index.size() == 1);
}

TEST_CASE("capability index: filtered and scoped queries", "[capability]") {
  CapabilityIndex index;
  CapabilitySet gpu_node = tagged({"gpu"});
  gpu_node.hardware.gpu = gpu("nvidia", "L4", 24576);
  index.index(announcement_of(1, 1, gpu_node), kNow);
  index.index(announcement_of(2, 1, tagged({"scope:tenant:acme"})), kNow);
  index.index(announcement_of(3, 1, tagged({"scope:region:eu", "gpu"})), kNow);
  index.index(announcement_of(4, 1, tagged({"scope:subnet-local", "gpu"})), kNow);
  const auto sorted = [](std::vector<std::uint64_t> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  using Ids = std::vector<std::uint64_t>;

  CHECK(sorted(index.query({})) == Ids{1, 2, 3, 4});
  CapabilityFilter tagged_gpu;
  tagged_gpu.require_tags = {"gpu"};
  CHECK(sorted(index.query(tagged_gpu)) == Ids{1, 3, 4});

  std::vector<std::uint64_t> asked;
  const auto subnet_of_even = [&](std::uint64_t id) {
    asked.push_back(id);
    return id % 2 == 0;
  };
  using F = ScopeFilter::Kind;
  CHECK(sorted(index.query_scoped({}, {}, subnet_of_even)) == Ids{1, 2, 3});
  CHECK(asked.empty());  // only a same_subnet scope asks
  CHECK(sorted(index.query_scoped(tagged_gpu, {}, subnet_of_even)) == Ids{1, 3});
  CHECK(sorted(index.query_scoped({}, {F::GlobalOnly, {}}, subnet_of_even)) == Ids{1});
  CHECK(sorted(index.query_scoped({}, ScopeFilter::restricted_to(F::Tenants, {"acme"}), subnet_of_even)) == Ids{1, 2});
  CHECK(sorted(index.query_scoped({}, ScopeFilter::restricted_to(F::Regions, {"eu"}), subnet_of_even)) == Ids{1, 3});
  CHECK(sorted(index.query_scoped(tagged_gpu, {F::SameSubnet, {}}, subnet_of_even)) == Ids{4});
  CHECK(sorted(asked) == Ids{1, 3, 4});  // only the nodes listed under the required tag

  index.remove(1);  // the last entry moves into the hole; lookups still work
  CHECK(sorted(index.query({})) == Ids{2, 3, 4});
  REQUIRE(index.find(4));
  CHECK(index.find(4)->tags == std::vector<std::string>{"scope:subnet-local", "gpu"});
}

TEST_CASE("capability index: a query over 10,000 nodes takes well under a millisecond", "[capability]") {
  CapabilityIndex index;
  for (std::uint64_t id = 1; id <= 10'000; ++id) {
    CapabilitySet caps = tagged({"worker", id % 100 == 0 ? "gpu" : "cpu"});
    caps.hardware.memory_mb = static_cast<std::uint32_t>(id);
    caps.models.push_back(model(std::string("m").append(std::to_string(id % 10)), {"text"}, 4096));
    index.index(announcement_of(id, 1, std::move(caps)), kNow);
  }
  CapabilityFilter filter;
  filter.min_memory_mb = 9'000;
  auto best = std::chrono::nanoseconds::max();
  std::size_t found = 0;
  for (int run = 0; run < 5; ++run) {
    const auto start = std::chrono::steady_clock::now();
    found = index.query(filter).size();
    best = std::min(best, std::chrono::steady_clock::now() - start);
  }
  CHECK(found == 1'001);
  CHECK(best < kQueryBudget);
}

TEST_CASE("announcement dedup: pairs are kept 600 s", "[capability]") {
  AnnouncementDedup dedup;
  CHECK_FALSE(dedup.contains(1, 1));
  dedup.record(1, 1, kNow);
  dedup.record(1, 2, kNow + 10 * kSecond);
  CHECK(dedup.contains(1, 1));
  CHECK(dedup.contains(1, 2));
  CHECK_FALSE(dedup.contains(2, 1));
  dedup.prune(kNow + 600 * kSecond - 1);
  CHECK(dedup.size() == 2);
  dedup.prune(kNow + 600 * kSecond);
  CHECK_FALSE(dedup.contains(1, 1));
  CHECK(dedup.contains(1, 2));
  dedup.prune(kNow + 610 * kSecond);
  CHECK(dedup.size() == 0);
}

TEST_CASE("capability index: tag queries follow replacements, removals and expiry", "[capability]") {
  CapabilityIndex index;
  CapabilityFilter a, b;
  a.require_tags = {"a"};
  b.require_tags = {"b", "a"};
  index.index(announcement_of(1, 1, tagged({"a"})), kNow);
  index.index(announcement_of(2, 1, tagged({"a", "b"})), kNow);
  CHECK(index.query(b) == std::vector<std::uint64_t>{2});
  index.index(announcement_of(1, 2, tagged({"b", "a"})), kNow);  // node 1 now has both
  auto both = index.query(b);
  std::sort(both.begin(), both.end());
  CHECK(both == std::vector<std::uint64_t>{1, 2});
  index.index(announcement_of(2, 2, tagged({"c"})), kNow);
  CHECK(index.query(b) == std::vector<std::uint64_t>{1});
  index.remove(1);
  CHECK(index.query(a).empty());
  CHECK(index.query(b).empty());
}
