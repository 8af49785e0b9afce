// The IngestResult type: read-only shard_id and timestamp, a repr, no
// constructor from Python ("cannot create 'net._net.IngestResult' instances").
#include "ingest_result.hpp"

#include <string>

#include "plain_type.hpp"

namespace nb = nanobind;

namespace net::python {
namespace {

struct IngestResultObject {
  PyObject_HEAD std::uint64_t timestamp;
  std::uint16_t shard_id;
};

PyTypeObject* ingest_result_type = nullptr;

PyObject* get_shard_id(PyObject* self, void*) {
  return PyLong_FromUnsignedLong(reinterpret_cast<IngestResultObject*>(self)->shard_id);
}

PyObject* get_timestamp(PyObject* self, void*) {
  return PyLong_FromUnsignedLongLong(reinterpret_cast<IngestResultObject*>(self)->timestamp);
}

PyObject* repr(PyObject* self) {
  return guarded([&] {
    const auto* result = reinterpret_cast<IngestResultObject*>(self);
    return new_text("IngestResult(shard_id=" + std::to_string(result->shard_id) +
                    ", timestamp=" + std::to_string(result->timestamp) + ")");
  });
}

PyGetSetDef getters[] = {
    {"shard_id", get_shard_id, nullptr, "Shard the event was stored in.", nullptr},
    {"timestamp", get_timestamp, nullptr, "Insertion time, CLOCK_MONOTONIC nanoseconds.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc_reused<IngestResultObject>)},
    {Py_tp_repr, reinterpret_cast<void*>(repr)},
    {Py_tp_getset, getters},
    {Py_tp_doc, const_cast<char*>("Where and when an event was stored.")},
    {0, nullptr},
};

PyType_Spec spec = {"net._net.IngestResult", sizeof(IngestResultObject), 0, kPlainTypeFlags, slots};

}  // namespace

void init_ingest_result(nb::module_& m) { ingest_result_type = add_plain_type(m, "IngestResult", spec); }

nb::object make_ingest_result(const bus::IngestResult& result) {
  auto* object = new_plain<IngestResultObject>(ingest_result_type);
  if (object == nullptr) throw nb::python_error();
  object->timestamp = result.timestamp;
  object->shard_id = result.shard_id;
  return nb::steal(reinterpret_cast<PyObject*>(object));
}

}  // namespace net::python
