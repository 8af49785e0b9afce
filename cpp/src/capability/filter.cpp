// CapabilityFilter::matches, key by key as REFERENCE §6.5 lists them.
#include "net/capability/filter.hpp"

#include <algorithm>

namespace net::capability {
namespace {

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::uint64_t total_vram_mb(const Hardware& hardware) {
  std::uint64_t total = hardware.gpu ? hardware.gpu->vram_mb : 0;
  for (const GpuInfo& gpu : hardware.additional_gpus) total += gpu.vram_mb;
  return total;
}

}  // namespace

bool CapabilityFilter::matches(const CapabilitySet& capabilities) const {
  const Hardware& hardware = capabilities.hardware;
  const auto& models = capabilities.models;
  const auto& tools = capabilities.tools;

  for (const std::string& tag : require_tags)
    if (!contains(capabilities.tags, tag)) return false;
  if (!require_models.empty() && std::none_of(models.begin(), models.end(), [&](const Model& model) {
        return contains(require_models, model.model_id);
      })) {
    return false;
  }
  if (!require_tools.empty() && std::none_of(tools.begin(), tools.end(),
                                             [&](const Tool& tool) { return contains(require_tools, tool.tool_id); })) {
    return false;
  }
  if (min_memory_mb && hardware.memory_mb < *min_memory_mb) return false;
  if (require_gpu && !hardware.gpu) return false;
  if (gpu_vendor && (!hardware.gpu || hardware.gpu->vendor != *gpu_vendor)) return false;
  if (min_vram_mb && total_vram_mb(hardware) < *min_vram_mb) return false;
  if (min_context_length && std::none_of(models.begin(), models.end(), [&](const Model& model) {
        return model.context_length >= *min_context_length;
      })) {
    return false;
  }
  for (const Modality modality : require_modalities) {
    if (std::none_of(models.begin(), models.end(), [&](const Model& model) {
          return std::find(model.modalities.begin(), model.modalities.end(), modality) != model.modalities.end();
        })) {
      return false;
    }
  }
  return true;
}

}  // namespace net::capability
