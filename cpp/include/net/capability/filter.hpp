// The capability filter of find_nodes and of a channel's publish_caps and
// subscribe_caps (REFERENCE §6.5): every key given must hold.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/capability/capability_set.hpp"

namespace net::capability {

struct CapabilityFilter {
  std::vector<std::string> require_tags;    ///< every one present
  std::vector<std::string> require_models;  ///< at least one model_id listed
  std::vector<std::string> require_tools;   ///< at least one tool_id listed
  std::optional<std::uint32_t> min_memory_mb;
  bool require_gpu = false;                         ///< a primary GPU
  std::optional<GpuVendor> gpu_vendor;              ///< the primary GPU's; no primary GPU fails
  std::optional<std::uint32_t> min_vram_mb;         ///< primary plus additional GPUs
  std::optional<std::uint32_t> min_context_length;  ///< of some model
  std::vector<Modality> require_modalities;         ///< each listed by some model

  // An empty filter matches every set.
  bool matches(const CapabilitySet& capabilities) const;
};

}  // namespace net::capability
