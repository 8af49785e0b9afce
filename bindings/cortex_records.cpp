#include "cortex_records.hpp"

#include <cstddef>
#include <cstring>
#include <new>
#include <string>

#include "plain_type.hpp"

namespace nb = nanobind;

namespace net::python {
namespace {

using cortex::Memory;
using cortex::Task;

// A Memory holds its record.
struct MemoryObject {
  PyObject_HEAD Memory record;
};

PyTypeObject* memory_type = nullptr;

const Memory& memory_of(PyObject* self) { return reinterpret_cast<MemoryObject*>(self)->record; }

// A Task keeps its title in the object itself (ob_size bytes): one pymalloc
// allocation per Task, where a std::string title over 15 bytes would be a
// second one, and list_tasks makes thousands per call.
struct TaskObject {
  PyObject_VAR_HEAD std::uint64_t id;
  std::uint64_t created_ns;
  std::uint64_t updated_ns;
  cortex::TaskStatus status;
  char title[1];
};

const TaskObject& task_of(PyObject* self) { return *reinterpret_cast<const TaskObject*>(self); }

std::string_view title_of(const TaskObject& task) { return {task.title, static_cast<std::size_t>(Py_SIZE(&task))}; }

PyTypeObject* task_type = nullptr;

PyObject* new_task(const Task& task) {
  auto* object = PyObject_NewVar(TaskObject, task_type, static_cast<Py_ssize_t>(task.title.size()));
  if (object == nullptr) throw nb::python_error();
  object->id = task.id;
  object->created_ns = task.created_ns;
  object->updated_ns = task.updated_ns;
  object->status = task.status;
  std::memcpy(object->title, task.title.data(), task.title.size());
  return reinterpret_cast<PyObject*>(object);
}

PyObject* memory_richcompare(PyObject* self, PyObject* other, int op) {
  if (Py_TYPE(other) != memory_type || (op != Py_EQ && op != Py_NE)) Py_RETURN_NOTIMPLEMENTED;
  const bool equal = memory_of(self) == memory_of(other);
  return PyBool_FromLong(equal == (op == Py_EQ));
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

template <std::uint64_t Memory::*field>
PyObject* memory_u64(PyObject* self, void*) {
  return PyLong_FromUnsignedLongLong(memory_of(self).*field);
}

template <std::uint64_t TaskObject::*field>
PyObject* task_u64(PyObject* self, void*) {
  return PyLong_FromUnsignedLongLong(task_of(self).*field);
}

PyObject* task_title(PyObject* self, void*) { return new_text(title_of(task_of(self))); }

PyObject* task_richcompare(PyObject* self, PyObject* other, int op) {
  if (Py_TYPE(other) != task_type || (op != Py_EQ && op != Py_NE)) Py_RETURN_NOTIMPLEMENTED;
  const TaskObject& a = task_of(self);
  const TaskObject& b = task_of(other);
  const bool equal = a.id == b.id && a.status == b.status && a.created_ns == b.created_ns &&
                     a.updated_ns == b.updated_ns && title_of(a) == title_of(b);
  return PyBool_FromLong(equal == (op == Py_EQ));
}

template <std::string Memory::*field>
PyObject* memory_text(PyObject* self, void*) {
  return new_text(memory_of(self).*field);
}

const char* status_name(cortex::TaskStatus status) {
  return status == cortex::TaskStatus::Completed ? "completed" : "pending";
}

PyObject* task_status(PyObject* self, void*) { return PyUnicode_InternFromString(status_name(task_of(self).status)); }

PyObject* tags_list(const std::vector<std::string>& tags) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(tags.size()));
  if (list == nullptr) return nullptr;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    PyObject* tag = new_text(tags[i]);
    if (tag == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), tag);
  }
  return list;
}

PyObject* memory_tags(PyObject* self, void*) { return tags_list(memory_of(self).tags); }

PyObject* memory_pinned(PyObject* self, void*) { return PyBool_FromLong(memory_of(self).pinned); }

Py_hash_t task_hash(PyObject* self) {
  const TaskObject& task = task_of(self);
  return hash_of(PyLong_FromUnsignedLongLong(task.id), new_text(title_of(task)),
                 PyLong_FromLong(static_cast<int>(task.status)), PyLong_FromUnsignedLongLong(task.created_ns),
                 PyLong_FromUnsignedLongLong(task.updated_ns));
}

Py_hash_t memory_hash(PyObject* self) {
  const auto& memory = memory_of(self);
  PyObject* tags = tags_list(memory.tags);
  PyObject* tag_tuple = tags ? PyList_AsTuple(tags) : nullptr;
  Py_XDECREF(tags);
  return hash_of(PyLong_FromUnsignedLongLong(memory.id), new_text(memory.content), tag_tuple, new_text(memory.source),
                 PyLong_FromUnsignedLongLong(memory.created_ns), PyLong_FromUnsignedLongLong(memory.updated_ns),
                 PyBool_FromLong(memory.pinned));
}

PyObject* task_repr(PyObject* self) {
  return guarded([&] {
    const TaskObject& task = task_of(self);
    return new_text("Task(id=" + std::to_string(task.id) + ", title=" + debug_quoted(title_of(task)) + ", status=\"" +
                    status_name(task.status) + "\", created_ns=" + std::to_string(task.created_ns) +
                    ", updated_ns=" + std::to_string(task.updated_ns) + ")");
  });
}

PyObject* memory_repr(PyObject* self) {
  return guarded([&] {
    const auto& memory = memory_of(self);
    std::string tags;
    for (const auto& tag : memory.tags) tags += (tags.empty() ? "" : ", ") + debug_quoted(tag);
    return new_text("Memory(id=" + std::to_string(memory.id) + ", content=" + debug_quoted(memory.content) +
                    ", tags=[" + tags + "], source=" + debug_quoted(memory.source) + ", pinned=" +
                    (memory.pinned ? "true" : "false") + ", created_ns=" + std::to_string(memory.created_ns) +
                    ", updated_ns=" + std::to_string(memory.updated_ns) + ")");
  });
}

PyGetSetDef task_getters[] = {
    {"id", task_u64<&TaskObject::id>, nullptr, nullptr, nullptr},
    {"title", task_title, nullptr, nullptr, nullptr},
    {"status", task_status, nullptr, "\"pending\" or \"completed\".", nullptr},
    {"created_ns", task_u64<&TaskObject::created_ns>, nullptr, nullptr, nullptr},
    {"updated_ns", task_u64<&TaskObject::updated_ns>, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyGetSetDef memory_getters[] = {
    {"id", memory_u64<&Memory::id>, nullptr, nullptr, nullptr},
    {"content", memory_text<&Memory::content>, nullptr, nullptr, nullptr},
    {"tags", memory_tags, nullptr, "A new list on each access.", nullptr},
    {"source", memory_text<&Memory::source>, nullptr, nullptr, nullptr},
    {"created_ns", memory_u64<&Memory::created_ns>, nullptr, nullptr, nullptr},
    {"updated_ns", memory_u64<&Memory::updated_ns>, nullptr, nullptr, nullptr},
    {"pinned", memory_pinned, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot task_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc_plain<TaskObject>)},
    {Py_tp_repr, reinterpret_cast<void*>(task_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(task_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(task_richcompare)},
    {Py_tp_getset, task_getters},
    {Py_tp_doc, const_cast<char*>("A task as the fold holds it.")},
    {0, nullptr},
};

PyType_Slot memory_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc_reused<MemoryObject>)},
    {Py_tp_repr, reinterpret_cast<void*>(memory_repr)},
    {Py_tp_hash, reinterpret_cast<void*>(memory_hash)},
    {Py_tp_richcompare, reinterpret_cast<void*>(memory_richcompare)},
    {Py_tp_getset, memory_getters},
    {Py_tp_doc, const_cast<char*>("A memory as the fold holds it.")},
    {0, nullptr},
};

PyType_Spec task_spec = {"net._net.Task", offsetof(TaskObject, title), 1, kPlainTypeFlags, task_slots};
PyType_Spec memory_spec = {"net._net.Memory", sizeof(MemoryObject), 0, kPlainTypeFlags, memory_slots};

// A list of `count` new objects, the i-th made by make(i).
template <class Make>
nb::list objects_to_list(std::size_t count, Make&& make) {
  nb::list out = nb::steal<nb::list>(PyList_New(static_cast<Py_ssize_t>(count)));
  for (std::size_t i = 0; i < count; ++i) PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), make(i));
  return out;
}

// A Memory object holding `memory`, moved or copied in.
template <class From>
PyObject* new_memory(From&& memory) {
  auto* object = new_plain<MemoryObject>(memory_type);
  if (object == nullptr) throw nb::python_error();
  new (&object->record) Memory(std::forward<From>(memory));
  return reinterpret_cast<PyObject*>(object);
}

}  // namespace

void init_cortex_records(nb::module_& m) {
  task_type = add_plain_type(m, "Task", task_spec);
  memory_type = add_plain_type(m, "Memory", memory_spec);
}

nb::list to_list(std::vector<Task>&& tasks) {
  return objects_to_list(tasks.size(), [&](std::size_t i) { return new_task(tasks[i]); });
}
nb::list to_list(std::vector<Memory>&& memories) {
  return objects_to_list(memories.size(), [&](std::size_t i) { return new_memory(std::move(memories[i])); });
}
nb::list to_list(std::span<const Task* const> tasks) {
  return objects_to_list(tasks.size(), [&](std::size_t i) { return new_task(*tasks[i]); });
}
nb::list to_list(std::span<const Memory* const> memories) {
  return objects_to_list(memories.size(), [&](std::size_t i) { return new_memory(*memories[i]); });
}

}  // namespace net::python
