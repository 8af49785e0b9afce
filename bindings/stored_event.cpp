// The StoredEvent type.
#include "stored_event.hpp"

#include <new>
#include <string>

#include "json_python.hpp"
#include "plain_type.hpp"

namespace nb = nanobind;

namespace net::python {
namespace {

struct StoredEventObject {
  PyObject_HEAD bus::StoredEvent event;
};

PyTypeObject* stored_event_type = nullptr;

const bus::StoredEvent& event_of(PyObject* self) { return reinterpret_cast<StoredEventObject*>(self)->event; }

PyObject* get_id(PyObject* self, void*) {
  return guarded([&] { return new_text(event_of(self).id()); });
}

PyObject* get_raw(PyObject* self, void*) {
  const std::string_view raw = event_of(self).raw;
  PyObject* text = PyUnicode_DecodeUTF8(raw.data(), static_cast<Py_ssize_t>(raw.size()), nullptr);
  if (text != nullptr) return text;
  PyErr_Clear();  // not UTF-8: the original shows ""
  return new_text("");
}

PyObject* get_insertion_ts(PyObject* self, void*) { return PyLong_FromUnsignedLongLong(event_of(self).insertion_ts); }

PyObject* get_shard_id(PyObject* self, void*) { return PyLong_FromUnsignedLong(event_of(self).shard_id); }

PyObject* parse(PyObject* self, PyObject*) {
  return guarded([&] { return loads(event_of(self).raw).release().ptr(); });
}

PyObject* repr(PyObject* self) {
  return guarded([&] {
    const bus::StoredEvent& event = event_of(self);
    return new_text("StoredEvent(id='" + event.id() + "', shard_id=" + std::to_string(event.shard_id) +
                    ", insertion_ts=" + std::to_string(event.insertion_ts) + ")");
  });
}

PyGetSetDef getters[] = {
    {"id", get_id, nullptr, "The event's id in its backend.", nullptr},
    {"raw", get_raw, nullptr, "The event's text (\"\" if its bytes are not UTF-8).", nullptr},
    {"insertion_ts", get_insertion_ts, nullptr, "Insertion time, CLOCK_MONOTONIC nanoseconds.", nullptr},
    {"shard_id", get_shard_id, nullptr, "Shard the event was stored in.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMethodDef methods[] = {
    {"parse", parse, METH_NOARGS, "The event's JSON as Python objects (json.loads semantics)."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc_reused<StoredEventObject>)},
    {Py_tp_repr, reinterpret_cast<void*>(repr)},
    {Py_tp_getset, getters},
    {Py_tp_methods, methods},
    {Py_tp_doc, const_cast<char*>("An event returned by poll().")},
    {0, nullptr},
};

PyType_Spec spec = {"net._net.StoredEvent", sizeof(StoredEventObject), 0, kPlainTypeFlags, slots};

}  // namespace

void init_stored_event(nb::module_& m) { stored_event_type = add_plain_type(m, "StoredEvent", spec); }

nb::list stored_event_list(std::vector<bus::StoredEvent>&& events) {
  nb::list list = nb::steal<nb::list>(PyList_New(static_cast<Py_ssize_t>(events.size())));
  if (!list.is_valid()) throw nb::python_error();
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto* object = new_plain<StoredEventObject>(stored_event_type);
    if (object == nullptr) throw nb::python_error();  // the list frees what it holds
    new (&object->event) bus::StoredEvent(std::move(events[i]));
    PyList_SET_ITEM(list.ptr(), static_cast<Py_ssize_t>(i), reinterpret_cast<PyObject*>(object));
  }
  return list;
}

}  // namespace net::python
