// Dict conversions for capabilities. Integer fields take anything with
// __index__, as PyO3's extraction does; containers read as lists of dicts or
// pairs must be real lists, plain string lists any non-str sequence.
#include "capabilities.hpp"

#include <optional>
#include <string>
#include <vector>

#include "arguments.hpp"

namespace nb = nanobind;

namespace net::python {
namespace {

using namespace capability;

constexpr std::uint64_t kU32Max = 0xFFFFFFFF;

[[noreturn]] void type_error(const std::string& message) {
  PyErr_SetString(PyExc_TypeError, message.c_str());
  throw nb::python_error();
}

[[noreturn]] void not_convertible(nb::handle value, const char* target) {
  PyErr_Format(PyExc_TypeError, "'%s' object cannot be converted to '%s'", Py_TYPE(value.ptr())->tp_name, target);
  throw nb::python_error();
}

std::string field_text(nb::handle value) {
  if (!PyUnicode_Check(value.ptr())) not_convertible(value, "PyString");
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(value.ptr(), &size);
  if (text == nullptr) throw nb::python_error();
  return std::string(text, static_cast<std::size_t>(size));
}

// Any non-str sequence of str.
std::vector<std::string> field_strings(nb::handle value, const char* key) {
  if (PyUnicode_Check(value.ptr())) type_error("Can't extract `str` to `Vec`");
  if (!PySequence_Check(value.ptr())) type_error(std::string("field \"") + key + "\" must be a list");
  const nb::object items = nb::steal(PySequence_Fast(value.ptr(), ""));
  if (!items.is_valid()) throw nb::python_error();
  std::vector<std::string> strings;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items.ptr()); ++i)
    strings.push_back(field_text(PySequence_Fast_GET_ITEM(items.ptr(), i)));
  return strings;
}

// One dict's keys; an absent key and a None value are the same.
class Fields {
 public:
  explicit Fields(nb::handle dict) : dict_(nb::borrow(dict)) {}

  std::optional<nb::object> get(const char* key) const {
    PyObject* value = PyDict_GetItemString(dict_.ptr(), key);
    if (value == nullptr || value == Py_None) return std::nullopt;
    return nb::borrow(value);
  }

  std::optional<std::uint64_t> unsigned_int(const char* key, std::uint64_t max) const {
    const auto value = get(key);
    if (!value) return std::nullopt;
    const nb::object integer = nb::steal(PyNumber_Index(value->ptr()));
    if (!integer.is_valid()) throw nb::python_error();
    return int_in_range(integer, max);
  }
  std::optional<std::uint32_t> optional_u32(const char* key) const {
    const auto value = unsigned_int(key, kU32Max);
    if (!value) return std::nullopt;
    return static_cast<std::uint32_t>(*value);
  }
  std::uint32_t u32(const char* key) const { return optional_u32(key).value_or(0); }
  // A u32 that a 16-bit field keeps as at most 65535.
  std::uint16_t saturated_u16(const char* key) const { return saturate_u16(u32(key)); }

  std::optional<std::string> optional_text(const char* key) const {
    const auto value = get(key);
    if (!value) return std::nullopt;
    return field_text(*value);
  }
  std::string text(const char* key, const char* otherwise = "") const { return optional_text(key).value_or(otherwise); }

  bool flag(const char* key, bool otherwise) const {
    const auto value = get(key);
    if (!value) return otherwise;
    if (!PyBool_Check(value->ptr())) not_convertible(*value, "PyBool");
    return value->ptr() == Py_True;
  }

  std::vector<std::string> strings(const char* key) const {
    const auto value = get(key);
    return value ? field_strings(*value, key) : std::vector<std::string>{};
  }

  std::optional<Fields> dict(const char* key) const {
    const auto value = get(key);
    if (!value) return std::nullopt;
    if (!PyDict_Check(value->ptr())) type_error(std::string("field \"") + key + "\" must be a dict");
    return Fields(*value);
  }

  // A real list; each item converted by `convert` (which may run Python code,
  // so items are held while converted).
  template <class Convert>
  void for_each_in_list(const char* key, Convert&& convert) const {
    const auto value = get(key);
    if (!value) return;
    if (!PyList_Check(value->ptr())) type_error(std::string("field \"") + key + "\" must be a list");
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value->ptr()); ++i)
      convert(nb::borrow(PyList_GET_ITEM(value->ptr(), i)));
  }

  template <class Convert>
  void for_each_dict(const char* key, Convert&& convert) const {
    for_each_in_list(key, [&](nb::handle item) {
      if (!PyDict_Check(item.ptr())) type_error(std::string(key) + " items must be dicts");
      convert(Fields(item));
    });
  }

  // [[name, version], ...]: entries with fewer than two items are skipped.
  std::vector<NameVersion> pairs(const char* key) const {
    std::vector<NameVersion> pairs;
    for_each_in_list(key, [&](nb::handle entry) {
      std::vector<std::string> items = field_strings(entry, key);
      if (items.size() >= 2) pairs.emplace_back(std::move(items[0]), std::move(items[1]));
    });
    return pairs;
  }

 private:
  nb::object dict_;
};

Fields top_level(nb::handle dict) {
  if (!PyDict_Check(dict.ptr())) not_convertible(dict, "PyDict");
  return Fields(dict);
}

GpuInfo gpu_from(const Fields& fields) {
  GpuInfo gpu;
  gpu.vendor = parse_gpu_vendor(fields.text("vendor"));
  gpu.model = fields.text("model");
  gpu.vram_mb = fields.u32("vram_mb");
  gpu.compute_units = fields.saturated_u16("compute_units");
  gpu.tensor_cores = fields.saturated_u16("tensor_cores");
  gpu.fp16_tflops_x10 = fp16_tflops_x10_stored(fields.u32("fp16_tflops_x10"));
  return gpu;
}

Accelerator accelerator_from(const Fields& fields) {
  Accelerator accelerator;
  accelerator.kind = parse_accelerator_kind(fields.text("kind"));
  accelerator.model = fields.text("model");
  accelerator.memory_mb = fields.u32("memory_mb");
  accelerator.tops_x10 = fields.saturated_u16("tops_x10");
  return accelerator;
}

Hardware hardware_from(const Fields& fields) {
  Hardware hardware;
  // Threads count only with cores; cores alone give as many threads.
  const auto cores = fields.unsigned_int("cpu_cores", kU32Max);
  const auto threads = fields.unsigned_int("cpu_threads", kU32Max);
  if (cores) {
    hardware.cpu_cores = saturate_u16(*cores);
    hardware.cpu_threads = saturate_u16(threads.value_or(*cores));
  }
  hardware.memory_mb = fields.u32("memory_mb");
  if (const auto gpu = fields.dict("gpu")) hardware.gpu = gpu_from(*gpu);
  fields.for_each_dict("additional_gpus",
                       [&](const Fields& gpu) { hardware.additional_gpus.push_back(gpu_from(gpu)); });
  hardware.storage_mb = fields.unsigned_int("storage_mb", UINT64_MAX).value_or(0);
  hardware.network_mbps = fields.u32("network_mbps");
  fields.for_each_dict("accelerators", [&](const Fields& accelerator) {
    hardware.accelerators.push_back(accelerator_from(accelerator));
  });
  return hardware;
}

Software software_from(const Fields& fields) {
  Software software;
  software.os = fields.text("os");
  software.os_version = fields.text("os_version");
  software.runtimes = fields.pairs("runtimes");
  software.frameworks = fields.pairs("frameworks");
  software.cuda_version = fields.optional_text("cuda_version");
  software.drivers = fields.pairs("drivers");
  return software;
}

Model model_from(const Fields& fields) {
  Model model;
  model.model_id = fields.text("model_id");
  model.family = fields.text("family");
  model.parameters_b_x10 = fields.u32("parameters_b_x10");
  model.context_length = fields.u32("context_length");
  model.quantization = fields.optional_text("quantization");
  for (const std::string& name : fields.strings("modalities")) add_modality(model, parse_modality(name));
  model.tokens_per_sec = fields.u32("tokens_per_sec");
  model.loaded = fields.flag("loaded", false);
  return model;
}

Tool tool_from(const Fields& fields) {
  Tool tool;
  tool.tool_id = fields.text("tool_id");
  tool.name = fields.text("name");
  tool.version = fields.text("version", "1.0.0");
  tool.input_schema = fields.optional_text("input_schema");
  tool.output_schema = fields.optional_text("output_schema");
  tool.requirements = fields.strings("requires");
  tool.estimated_time_ms = fields.u32("estimated_time_ms");
  tool.stateless = fields.flag("stateless", true);
  return tool;
}

Limits limits_from(const Fields& fields) {
  Limits limits;
  limits.max_concurrent_requests = fields.u32("max_concurrent_requests");
  limits.max_tokens_per_request = fields.u32("max_tokens_per_request");
  limits.rate_limit_rpm = fields.u32("rate_limit_rpm");
  limits.max_batch_size = fields.u32("max_batch_size");
  limits.max_input_bytes = fields.u32("max_input_bytes");
  limits.max_output_bytes = fields.u32("max_output_bytes");
  return limits;
}

// "tenant": "x" as a one-item list (nothing when absent).
std::vector<std::string> single(const std::optional<std::string>& value) {
  return value ? std::vector<std::string>{*value} : std::vector<std::string>{};
}

}  // namespace

CapabilitySet capability_set_from(nb::handle caps) {
  const Fields fields = top_level(caps);
  CapabilitySet set;
  if (const auto hardware = fields.dict("hardware")) set.hardware = hardware_from(*hardware);
  if (const auto software = fields.dict("software")) set.software = software_from(*software);
  fields.for_each_dict("models", [&](const Fields& model) { set.models.push_back(model_from(model)); });
  fields.for_each_dict("tools", [&](const Fields& tool) { set.tools.push_back(tool_from(tool)); });
  set.tags = fields.strings("tags");
  if (const auto limits = fields.dict("limits")) set.limits = limits_from(*limits);
  return set;
}

CapabilityFilter capability_filter_from(nb::handle filter) {
  const Fields fields = top_level(filter);
  CapabilityFilter result;
  result.require_tags = fields.strings("require_tags");
  result.require_models = fields.strings("require_models");
  result.require_tools = fields.strings("require_tools");
  result.min_memory_mb = fields.optional_u32("min_memory_mb");
  result.require_gpu = fields.flag("require_gpu", false);
  if (const auto vendor = fields.optional_text("gpu_vendor")) result.gpu_vendor = parse_gpu_vendor(*vendor);
  result.min_vram_mb = fields.optional_u32("min_vram_mb");
  result.min_context_length = fields.optional_u32("min_context_length");
  for (const std::string& name : fields.strings("require_modalities"))
    result.require_modalities.push_back(parse_modality(name));
  return result;
}

ScopeFilter scope_filter_from(nb::handle scope) {
  using Kind = ScopeFilter::Kind;
  const Fields fields = top_level(scope);
  const std::string kind = fields.text("kind", "any");
  if (kind == "global_only" || kind == "globalOnly") return {Kind::GlobalOnly, {}};
  if (kind == "same_subnet" || kind == "sameSubnet") return {Kind::SameSubnet, {}};
  if (kind == "tenant") return ScopeFilter::restricted_to(Kind::Tenants, single(fields.optional_text("tenant")));
  if (kind == "tenants") return ScopeFilter::restricted_to(Kind::Tenants, fields.strings("tenants"));
  if (kind == "region") return ScopeFilter::restricted_to(Kind::Regions, single(fields.optional_text("region")));
  if (kind == "regions") return ScopeFilter::restricted_to(Kind::Regions, fields.strings("regions"));
  return {};
}

}  // namespace net::python
