// NB_MODULE for net._net: each area registers its own classes.
#include <nanobind/nanobind.h>

#include "brokers.hpp"
#include "bus.hpp"
#include "cortex.hpp"
#include "errors.hpp"
#include "identity.hpp"
#include "keys.hpp"
#include "mesh.hpp"
#include "redex.hpp"

NB_MODULE(_net, m) {
  m.doc() = "net: native engine (libnet) of the event bus and encrypted mesh";
  net::python::init_errors(m);
  net::python::init_bus(m);
  net::python::init_brokers(m);
  net::python::init_keys(m);
  net::python::init_identity(m);
  net::python::init_mesh(m);
  net::python::init_redex(m);
  net::python::init_cortex(m);
}
