// Registers NetMesh, NetStream and NetStreamStats. A NetMesh is a mesh node
// with capability discovery and channels on top; what the binding files of
// the mesh share is here.
#pragma once

#include <nanobind/nanobind.h>

#include <string>

#include "net/capability/discovery.hpp"
#include "net/channel/channels.hpp"
#include "net/core/error.hpp"
#include "net/mesh/mesh_node.hpp"

namespace net::python {

struct NetMesh : mesh::MeshNode {
  capability::Discovery discovery;
  channel::Channels channels;

  NetMesh(const mesh::MeshConfig& config, const capability::DiscoveryConfig& discovery_config)
      : MeshNode(config), discovery(*this, discovery_config), channels(*this, discovery) {}
};

void init_mesh(nanobind::module_& m);
// announce_capabilities, find_nodes*, register_channel, subscribe_channel,
// unsubscribe_channel, publish and the channel receivers (bindings/channels.cpp).
void add_channel_methods(nanobind::module_& m, nanobind::class_<NetMesh>& cls);

[[noreturn]] inline void raise(PyObject* type, const std::string& message) {
  PyErr_SetString(type, message.c_str());
  throw nanobind::python_error();
}

[[noreturn]] inline void type_error(const char* message) { raise(PyExc_TypeError, message); }

// Runs `call`, re-raising core errors as "<operation>: <message>" (same class).
template <class Call>
auto with_context(const char* operation, Call&& call) {
  try {
    return call();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::ShutDown) throw;
    throw Error(e.kind(), std::string(operation) + ": " + e.what());
  }
}

inline void require_open(const NetMesh& node) {
  if (node.is_shut_down()) throw Error(ErrorKind::ShutDown, "MeshNode has been shut down");
}

}  // namespace net::python
