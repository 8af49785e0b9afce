#include "cortex_records.hpp"

#include <new>
#include <string>

namespace nb = nanobind;

namespace net::python {
namespace {

template <class Record>
struct RecordObject {
  PyObject_HEAD Record record;
};

template <class Record>
PyTypeObject* record_type = nullptr;

template <class Record>
const Record& record_of(PyObject* self) {
  return reinterpret_cast<RecordObject<Record>*>(self)->record;
}

template <class Record>
void dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  reinterpret_cast<RecordObject<Record>*>(self)->record.~Record();
  PyObject_Free(self);
  Py_DECREF(type);
}

template <class Record>
PyObject* richcompare(PyObject* self, PyObject* other, int op) {
  if (Py_TYPE(other) != record_type<Record> || (op != Py_EQ && op != Py_NE)) Py_RETURN_NOTIMPLEMENTED;
  const bool equal = record_of<Record>(self) == record_of<Record>(other);
  return PyBool_FromLong(equal == (op == Py_EQ));
}

PyObject* text(std::string_view value) {
  return PyUnicode_FromStringAndSize(value.data(), static_cast<Py_ssize_t>(value.size()));
}

// A string as Rust's Debug prints it: quoted, with \" and \\ escaped.
std::string debug_quoted(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// Hash of a tuple of new references (stolen).
template <class... Items>
Py_hash_t hash_of(Items*... items) {
  PyObject* tuple = PyTuple_Pack(sizeof...(Items), items...);
  (Py_XDECREF(items), ...);
  if (tuple == nullptr) return -1;
  const Py_hash_t hash = PyObject_Hash(tuple);
  Py_DECREF(tuple);
  return hash;
}

template <class Record, std::uint64_t Record::*field>
PyObject* get_u64(PyObject* self, void*) {
  return PyLong_FromUnsignedLongLong(record_of<Record>(self).*field);
}

template <class Record, std::string Record::*field>
PyObject* get_text(PyObject* self, void*) {
  return text(record_of<Record>(self).*field);
}

const char* status_name(cortex::TaskStatus status) {
  return status == cortex::TaskStatus::Completed ? "completed" : "pending";
}

PyObject* task_status(PyObject* self, void*) {
  return PyUnicode_InternFromString(status_name(record_of<cortex::Task>(self).status));
}

PyObject* tags_list(const std::vector<std::string>& tags) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(tags.size()));
  if (list == nullptr) return nullptr;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    PyObject* tag = text(tags[i]);
    if (tag == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), tag);
  }
  return list;
}

PyObject* memory_tags(PyObject* self, void*) { return tags_list(record_of<cortex::Memory>(self).tags); }

PyObject* memory_pinned(PyObject* self, void*) { return PyBool_FromLong(record_of<cortex::Memory>(self).pinned); }

Py_hash_t task_hash(PyObject* self) {
  const auto& task = record_of<cortex::Task>(self);
  return hash_of(PyLong_FromUnsignedLongLong(task.id), text(task.title), PyLong_FromLong(static_cast<int>(task.status)),
                 PyLong_FromUnsignedLongLong(task.created_ns), PyLong_FromUnsignedLongLong(task.updated_ns));
}

Py_hash_t memory_hash(PyObject* self) {
  const auto& memory = record_of<cortex::Memory>(self);
  PyObject* tags = tags_list(memory.tags);
  PyObject* tag_tuple = tags ? PyList_AsTuple(tags) : nullptr;
  Py_XDECREF(tags);
  return hash_of(PyLong_FromUnsignedLongLong(memory.id), text(memory.content), tag_tuple, text(memory.source),
                 PyLong_FromUnsignedLongLong(memory.created_ns), PyLong_FromUnsignedLongLong(memory.updated_ns),
                 PyBool_FromLong(memory.pinned));
}

PyObject* task_repr(PyObject* self) {
  const auto& task = record_of<cortex::Task>(self);
  return text("Task(id=" + std::to_string(task.id) + ", title=" + debug_quoted(task.title) + ", status=\"" +
              status_name(task.status) + "\", created_ns=" + std::to_string(task.created_ns) +
              ", updated_ns=" + std::to_string(task.updated_ns) + ")");
}

PyObject* memory_repr(PyObject* self) {
  const auto& memory = record_of<cortex::Memory>(self);
  std::string tags;
  for (const auto& tag : memory.tags) tags += (tags.empty() ? "" : ", ") + debug_quoted(tag);
  return text("Memory(id=" + std::to_string(memory.id) + ", content=" + debug_quoted(memory.content) + ", tags=[" +
              tags + "], source=" + debug_quoted(memory.source) + ", pinned=" + (memory.pinned ? "true" : "false") +
              ", created_ns=" + std::to_string(memory.created_ns) +
              ", updated_ns=" + std::to_string(memory.updated_ns) + ")");
}

using cortex::Memory;
using cortex::Task;

PyGetSetDef task_getters[] = {
    {"id", get_u64<Task, &Task::id>, nullptr, nullptr, nullptr},
    {"title", get_text<Task, &Task::title>, nullptr, nullptr, nullptr},
    {"status", task_status, nullptr, "\"pending\" or \"completed\".", nullptr},
    {"created_ns", get_u64<Task, &Task::created_ns>, nullptr, nullptr, nullptr},
    {"updated_ns", get_u64<Task, &Task::updated_ns>, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyGetSetDef memory_getters[] = {
    {"id", get_u64<Memory, &Memory::id>, nullptr, nullptr, nullptr},
    {"content", get_text<Memory, &Memory::content>, nullptr, nullptr, nullptr},
    {"tags", memory_tags, nullptr, "A new list on each access.", nullptr},
    {"source", get_text<Memory, &Memory::source>, nullptr, nullptr, nullptr},
    {"created_ns", get_u64<Memory, &Memory::created_ns>, nullptr, nullptr, nullptr},
    {"updated_ns", get_u64<Memory, &Memory::updated_ns>, nullptr, nullptr, nullptr},
    {"pinned", memory_pinned, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot task_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc<Task>)},
    {Py_tp_repr, reinterpret_cast<void*>(task_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(task_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(richcompare<Task>)},
    {Py_tp_getset, task_getters},
    {Py_tp_doc, const_cast<char*>("A task as the fold holds it.")},
    {0, nullptr},
};

PyType_Slot memory_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc<Memory>)},
    {Py_tp_repr, reinterpret_cast<void*>(memory_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(memory_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(richcompare<Memory>)},
    {Py_tp_getset, memory_getters},
    {Py_tp_doc, const_cast<char*>("A memory as the fold holds it.")},
    {0, nullptr},
};

constexpr unsigned kFlags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE;
PyType_Spec task_spec = {"net._net.Task", sizeof(RecordObject<Task>), 0, kFlags, task_slots};
PyType_Spec memory_spec = {"net._net.Memory", sizeof(RecordObject<Memory>), 0, kFlags, memory_slots};

template <class Record>
void add_type(nb::module_& m, const char* name, PyType_Spec& spec) {
  PyObject* type = PyType_FromSpec(&spec);
  if (type == nullptr) throw nb::python_error();
  record_type<Record> = reinterpret_cast<PyTypeObject*>(type);  // the module keeps it alive
  m.attr(name) = nb::steal(type);
}

// A list of `count` new objects, the i-th record constructed by make(i, where).
template <class Record, class Make>
nb::list records_to_list(std::size_t count, Make&& make) {
  nb::list out = nb::steal<nb::list>(PyList_New(static_cast<Py_ssize_t>(count)));
  for (std::size_t i = 0; i < count; ++i) {
    auto* object = PyObject_New(RecordObject<Record>, record_type<Record>);
    if (object == nullptr) throw nb::python_error();
    make(i, &object->record);
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), reinterpret_cast<PyObject*>(object));
  }
  return out;
}

template <class Record>
nb::list moved_to_list(std::vector<Record>&& records) {
  return records_to_list<Record>(records.size(),
                                 [&](std::size_t i, Record* at) { new (at) Record(std::move(records[i])); });
}

template <class Record>
nb::list copied_to_list(std::span<const Record* const> records) {
  return records_to_list<Record>(records.size(), [&](std::size_t i, Record* at) { new (at) Record(*records[i]); });
}

}  // namespace

void init_cortex_records(nb::module_& m) {
  add_type<Task>(m, "Task", task_spec);
  add_type<Memory>(m, "Memory", memory_spec);
}

nb::list to_list(std::vector<Task>&& tasks) { return moved_to_list(std::move(tasks)); }
nb::list to_list(std::vector<Memory>&& memories) { return moved_to_list(std::move(memories)); }
nb::list to_list(std::span<const Task* const> tasks) { return copied_to_list(tasks); }
nb::list to_list(std::span<const Memory* const> memories) { return copied_to_list(memories); }

}  // namespace net::python
