// What a node announces about itself (REFERENCE §6.1, §6.2): hardware,
// software, models, tools, tags and limits, with the field widths of the wire
// form, plus the lenient string matching and the integer conversions the
// Python dict goes through before it is signed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace net::capability {

enum class GpuVendor { Unknown, Nvidia, Amd, Intel, Apple, Qualcomm };
enum class AcceleratorKind { Unknown, Tpu, Npu, Fpga, Asic, Dsp };
enum class Modality { Text, Image, Audio, Video, Code, Embedding, ToolUse };

struct GpuInfo {
  GpuVendor vendor = GpuVendor::Unknown;
  std::string model;
  std::uint32_t vram_mb = 0;
  std::uint16_t compute_units = 0;
  std::uint16_t tensor_cores = 0;
  std::uint32_t fp16_tflops_x10 = 0;

  bool operator==(const GpuInfo&) const = default;
};

struct Accelerator {
  AcceleratorKind kind = AcceleratorKind::Unknown;  ///< "accel_type" on the wire
  std::string model;
  std::uint32_t memory_mb = 0;
  std::uint16_t tops_x10 = 0;

  bool operator==(const Accelerator&) const = default;
};

struct Hardware {
  std::uint16_t cpu_cores = 0;
  std::uint16_t cpu_threads = 0;
  std::uint32_t memory_mb = 0;
  std::optional<GpuInfo> gpu;
  std::vector<GpuInfo> additional_gpus;
  std::uint64_t storage_mb = 0;
  std::uint32_t network_mbps = 0;
  std::vector<Accelerator> accelerators;

  bool operator==(const Hardware&) const = default;
};

using NameVersion = std::pair<std::string, std::string>;

struct Software {
  std::string os;
  std::string os_version;
  std::vector<NameVersion> runtimes;
  std::vector<NameVersion> frameworks;
  std::optional<std::string> cuda_version;
  std::vector<NameVersion> drivers;

  bool operator==(const Software&) const = default;
};

struct Model {
  std::string model_id;
  std::string family;
  std::uint32_t parameters_b_x10 = 0;
  std::uint32_t context_length = 0;
  std::optional<std::string> quantization;
  std::vector<Modality> modalities{Modality::Text};  ///< every model the API builds starts with Text
  std::uint32_t tokens_per_sec = 0;
  bool loaded = false;

  bool operator==(const Model&) const = default;
};

struct Tool {
  std::string tool_id;
  std::string name;
  std::string version = "1.0.0";
  std::optional<std::string> input_schema;
  std::optional<std::string> output_schema;
  std::vector<std::string> requirements;  ///< "requires" on the wire (a C++ keyword)
  std::uint32_t estimated_time_ms = 0;
  bool stateless = true;

  bool operator==(const Tool&) const = default;
};

struct Limits {
  std::uint32_t max_concurrent_requests = 0;
  std::uint32_t max_tokens_per_request = 0;
  std::uint32_t rate_limit_rpm = 0;
  std::uint32_t max_batch_size = 0;
  std::uint32_t max_input_bytes = 0;
  std::uint32_t max_output_bytes = 0;

  bool operator==(const Limits&) const = default;
};

struct CapabilitySet {
  Hardware hardware;
  Software software;
  std::vector<Model> models;
  std::vector<Tool> tools;
  std::vector<std::string> tags;
  Limits limits;

  bool operator==(const CapabilitySet&) const = default;
};

// Case-insensitive nvidia|amd|intel|apple|qualcomm; anything else is Unknown.
GpuVendor parse_gpu_vendor(std::string_view text) noexcept;
// "nvidia" ... "qualcomm" or "unknown": what normalize_gpu_vendor returns.
std::string_view vendor_name(GpuVendor vendor) noexcept;
// Case-insensitive tpu|npu|fpga|asic|dsp; anything else is Unknown.
AcceleratorKind parse_accelerator_kind(std::string_view text) noexcept;
// Case-insensitive text|image|audio|video|code|embedding|tool-use|tool_use|tooluse;
// anything else is Text.
Modality parse_modality(std::string_view text) noexcept;
// Appends the modality unless the model already lists it.
void add_modality(Model& model, Modality modality);

// 16-bit fields given as wider integers stop at 65535 instead of wrapping.
std::uint16_t saturate_u16(std::uint64_t value) noexcept;
// The value the original stores for fp16_tflops_x10 = v: it keeps v / 10 as
// an f32 and multiplies back, so ((float)v / 10.0f) * 10.0f truncated toward
// zero, saturating at u32::MAX. Exact up to 10485762; 16777217 -> 16777216.
std::uint32_t fp16_tflops_x10_stored(std::uint64_t value) noexcept;

}  // namespace net::capability
