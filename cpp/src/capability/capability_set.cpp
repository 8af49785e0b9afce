// The lenient name matching and integer conversions of the capability dict.
#include "net/capability/capability_set.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

namespace net::capability {
namespace {

template <class Enum>
struct Spelling {
  std::string_view text;  ///< lower case
  Enum value;
};

constexpr std::array<Spelling<GpuVendor>, 5> kVendors{{{"nvidia", GpuVendor::Nvidia},
                                                       {"amd", GpuVendor::Amd},
                                                       {"intel", GpuVendor::Intel},
                                                       {"apple", GpuVendor::Apple},
                                                       {"qualcomm", GpuVendor::Qualcomm}}};

constexpr std::array<Spelling<AcceleratorKind>, 5> kAcceleratorKinds{{{"tpu", AcceleratorKind::Tpu},
                                                                      {"npu", AcceleratorKind::Npu},
                                                                      {"fpga", AcceleratorKind::Fpga},
                                                                      {"asic", AcceleratorKind::Asic},
                                                                      {"dsp", AcceleratorKind::Dsp}}};

constexpr std::array<Spelling<Modality>, 9> kModalities{{{"text", Modality::Text},
                                                         {"image", Modality::Image},
                                                         {"audio", Modality::Audio},
                                                         {"video", Modality::Video},
                                                         {"code", Modality::Code},
                                                         {"embedding", Modality::Embedding},
                                                         {"tool-use", Modality::ToolUse},
                                                         {"tool_use", Modality::ToolUse},
                                                         {"tooluse", Modality::ToolUse}}};

bool equals_ignoring_case(std::string_view text, std::string_view lower) noexcept {
  return std::equal(text.begin(), text.end(), lower.begin(), lower.end(),
                    [](char a, char b) { return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b; });
}

template <class Enum, std::size_t N>
Enum lookup(const std::array<Spelling<Enum>, N>& spellings, std::string_view text, Enum otherwise) noexcept {
  for (const auto& spelling : spellings)
    if (equals_ignoring_case(text, spelling.text)) return spelling.value;
  return otherwise;
}

}  // namespace

GpuVendor parse_gpu_vendor(std::string_view text) noexcept { return lookup(kVendors, text, GpuVendor::Unknown); }

std::string_view vendor_name(GpuVendor vendor) noexcept {
  for (const auto& spelling : kVendors)
    if (spelling.value == vendor) return spelling.text;
  return "unknown";
}

AcceleratorKind parse_accelerator_kind(std::string_view text) noexcept {
  return lookup(kAcceleratorKinds, text, AcceleratorKind::Unknown);
}

Modality parse_modality(std::string_view text) noexcept { return lookup(kModalities, text, Modality::Text); }

void add_modality(Model& model, Modality modality) {
  if (std::find(model.modalities.begin(), model.modalities.end(), modality) == model.modalities.end())
    model.modalities.push_back(modality);
}

std::uint16_t saturate_u16(std::uint64_t value) noexcept {
  return static_cast<std::uint16_t>(std::min<std::uint64_t>(value, std::numeric_limits<std::uint16_t>::max()));
}

std::uint32_t fp16_tflops_x10_stored(std::uint64_t value) noexcept {
  const float tflops = static_cast<float>(value) / 10.0f;
  const float stored = tflops * 10.0f;
  if (stored >= 4294967296.0f) return std::numeric_limits<std::uint32_t>::max();
  return static_cast<std::uint32_t>(stored);
}

}  // namespace net::capability
