// NetMesh's capability and channel methods, and the channel receivers (ours:
// the original cannot receive a channel's messages in Python). Waits release
// the GIL; a receiver waits in short slices so Ctrl-C and shutdown end it.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cmath>
#include <utility>

#include "arguments.hpp"
#include "capabilities.hpp"
#include "interruptible.hpp"
#include "mesh.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace net::python {
namespace {

struct ChannelMessage {
  std::string channel;
  std::uint64_t publisher = 0;
  nb::bytes payload;
};

// Messages of one channel from every publisher this mesh subscribed to it at.
// Each receiver holds one count on the channel's inbox: the inbox lives until
// the last receiver of the channel is closed or collected.
struct ChannelReceiver {
  nb::object mesh;  ///< keeps the NetMesh alive
  std::string channel;
  bool closed = false;

  ChannelReceiver(nb::object owner, std::string name) : mesh(std::move(owner)), channel(std::move(name)) {}
  ChannelReceiver(ChannelReceiver&& other) noexcept
      : mesh(std::move(other.mesh)), channel(std::move(other.channel)), closed(std::exchange(other.closed, true)) {}
  ChannelReceiver& operator=(ChannelReceiver&&) = delete;
  ~ChannelReceiver() {  // Python collects it with the GIL held
    try {
      close();
    } catch (const std::exception&) {
      // The mesh is gone or failing: its inboxes go with it.
    }
  }

  NetMesh& node() const { return nb::cast<NetMesh&>(mesh); }

  // The next message, waiting up to `timeout` seconds (None, or longer than
  // kForever: for ever); None on timeout.
  std::optional<ChannelMessage> receive(std::optional<double> timeout) {
    constexpr double kForever = 1e9;  // about 32 years
    if (timeout && std::isnan(*timeout)) raise(PyExc_ValueError, "receive() timeout must be a number, not NaN");
    const auto deadline =
        timeout && *timeout < kForever
            ? std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                     std::chrono::duration<double>(std::max(*timeout, 0.0)))
            : std::chrono::steady_clock::time_point::max();
    NetMesh& mesh_node = node();  // with the GIL: it reads the Python object
    for (;;) {
      if (closed) return std::nullopt;
      require_open(mesh_node);
      const auto now = std::chrono::steady_clock::now();
      const auto wait = std::min<std::chrono::nanoseconds>(kWaitSlice, deadline - now);
      std::vector<channel::ChannelMessage> got;
      {
        nb::gil_scoped_release unlocked;
        got = mesh_node.channels.receive(channel, 1, std::max<std::chrono::nanoseconds>(wait, {}));
      }
      if (!got.empty()) {
        const auto& event = got.front().event;
        return ChannelMessage{got.front().channel, got.front().publisher,
                              nb::bytes(event.raw.data(), event.raw.size())};
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      if (PyErr_CheckSignals() != 0) throw nb::python_error();
    }
  }

  void close() {
    if (closed) return;
    closed = true;
    if (!node().is_shut_down()) node().channels.close_inbox(channel);
  }
};

channel::OnFailure on_failure_from(const std::optional<std::string>& text) {
  if (!text || *text == "best_effort") return channel::OnFailure::BestEffort;
  if (*text == "fail_fast") return channel::OnFailure::FailFast;
  if (*text == "collect") return channel::OnFailure::Collect;
  throw Error(ErrorKind::Channel, "channel: invalid on_failure \"" + *text + "\"");
}

bool reliable_from(const std::optional<std::string>& text) {
  if (!text || *text == "fire_and_forget") return false;
  if (*text == "reliable") return true;
  throw Error(ErrorKind::Channel, "channel: invalid reliability \"" + *text + "\"");
}

std::optional<identity::PermissionToken> token_from(nb::handle token) {
  if (token.is_none()) return std::nullopt;
  return identity::PermissionToken::parse(bytes_argument(token, "token"));
}

nb::dict report_dict(const channel::PublishReport& report) {
  nb::list errors;
  for (const auto& [node_id, message] : report.errors) {
    nb::dict error;
    error["node_id"] = node_id;
    error["message"] = message;
    errors.append(error);
  }
  nb::dict out;
  out["attempted"] = report.attempted;
  out["delivered"] = report.delivered;
  out["errors"] = errors;
  return out;
}

}  // namespace

void add_channel_methods(nb::module_& m, nb::class_<NetMesh>& cls) {
  nb::class_<ChannelMessage>(m, "ChannelMessage", "One message received on a channel (ours).")
      .def_ro("channel", &ChannelMessage::channel)
      .def_ro("publisher", &ChannelMessage::publisher, "The publisher's node id.")
      .def_ro("payload", &ChannelMessage::payload)
      .def("__repr__", [](const ChannelMessage& message) {
        return "ChannelMessage(channel=" + message.channel + ", publisher=" + hex_u64(message.publisher) +
               ", payload=<" + std::to_string(nb::len(message.payload)) + " bytes>)";
      });

  nb::class_<ChannelReceiver>(m, "ChannelReceiver",
                              "The messages of one channel, from every publisher this mesh subscribed to it at "
                              "(NetMesh.channel(), ours). Iterating blocks until the next message; the iteration "
                              "ends when the receiver is closed or the mesh shut down.")
      .def_ro("channel", &ChannelReceiver::channel)
      .def("receive", &ChannelReceiver::receive, "timeout"_a = nb::none(),
           nb::sig("def receive(self, timeout: float | None = None) -> ChannelMessage | None"),
           "The next message; waits up to timeout seconds (None: until one comes) and returns None when none did.")
      .def("close", &ChannelReceiver::close,
           "Ends this receiver (also done when it is collected); once the channel's last receiver is closed, its "
           "messages go to poll() again.")
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); })
      .def("__next__",
           [](ChannelReceiver& receiver) {
             try {
               if (auto message = receiver.receive(std::nullopt)) return std::move(*message);
             } catch (const Error& e) {
               if (e.kind() != ErrorKind::ShutDown) throw;
             }
             throw nb::stop_iteration();
           })
      .def("__enter__", [](nb::handle self) { return nb::borrow(self); })
      .def(
          "__exit__", [](ChannelReceiver& receiver, nb::handle, nb::handle, nb::handle) { receiver.close(); },
          "_exc_type"_a.none(), "_exc_val"_a.none(), "_exc_tb"_a.none());

  cls.def(
         "announce_capabilities",
         [](NetMesh& node, nb::handle caps) {
           require_open(node);
           const capability::CapabilitySet set = capability_set_from(caps);
           nb::gil_scoped_release unlocked;
           with_context("capability", [&] { node.discovery.announce(set); });
         },
         "caps"_a, nb::sig("def announce_capabilities(self, caps: dict) -> None"),
         "Signs and sends this node's capabilities to its peers, and indexes them here at once.")
      .def(
          "find_nodes",
          [](NetMesh& node, nb::handle filter) {
            require_open(node);
            return node.discovery.find(capability_filter_from(filter));
          },
          "filter"_a, nb::sig("def find_nodes(self, filter: dict) -> list[int]"))
      .def(
          "find_nodes_scoped",
          [](NetMesh& node, nb::handle filter, nb::handle scope) {
            require_open(node);
            return node.discovery.find_scoped(capability_filter_from(filter), scope_filter_from(scope));
          },
          "filter"_a, "scope"_a, nb::sig("def find_nodes_scoped(self, filter: dict, scope: dict) -> list[int]"))
      .def(
          "register_channel",
          [](NetMesh& node, const std::string& name, std::optional<std::string> visibility,
             std::optional<bool> reliable, std::optional<bool> require_token, nb::handle priority,
             nb::handle max_rate_pps, nb::handle publish_caps, nb::handle subscribe_caps) {
            require_open(node);
            channel::check_channel_name(name);
            channel::ChannelConfig config;
            config.name = name;
            if (visibility) {
              const auto parsed = channel::parse_visibility(*visibility);
              if (!parsed) {
                throw Error(ErrorKind::Channel, "channel: invalid visibility \"" + *visibility +
                                                    "\" (expected subnet-local | parent-visible | exported | global)");
              }
              config.visibility = *parsed;
            }
            config.reliable = reliable.value_or(false);
            config.require_token = require_token.value_or(false);
            if (!priority.is_none()) {
              config.priority = static_cast<std::uint8_t>(to_unsigned(priority, "register_channel", "priority", 0xFF));
            }
            if (!max_rate_pps.is_none()) {
              config.max_rate_pps =
                  static_cast<std::uint32_t>(to_unsigned(max_rate_pps, "register_channel", "max_rate_pps", 0xFFFFFFFF));
            }
            if (!publish_caps.is_none()) config.publish_caps = capability_filter_from(publish_caps);
            if (!subscribe_caps.is_none()) config.subscribe_caps = capability_filter_from(subscribe_caps);
            node.channels.register_channel(std::move(config));
          },
          "name"_a, nb::kw_only(), "visibility"_a = nb::none(), "reliable"_a = nb::none(),
          "require_token"_a = nb::none(), "priority"_a = nb::none(), "max_rate_pps"_a = nb::none(),
          "publish_caps"_a = nb::none(), "subscribe_caps"_a = nb::none(),
          nb::sig("def register_channel(self, name: str, *, visibility: str | None = None, "
                  "reliable: bool | None = None, require_token: bool | None = None, priority: int | None = None, "
                  "max_rate_pps: int | None = None, publish_caps: dict | None = None, "
                  "subscribe_caps: dict | None = None) -> None"))
      .def(
          "subscribe_channel",
          [](NetMesh& node, nb::handle publisher_node_id, const std::string& channel, nb::handle token) {
            require_open(node);
            const auto publisher = to_unsigned(publisher_node_id, "subscribe_channel", "publisher_node_id", UINT64_MAX);
            channel::check_channel_name(channel);
            const auto parsed = token_from(token);
            nb::gil_scoped_release unlocked;
            node.channels.subscribe(publisher, channel, parsed);
          },
          "publisher_node_id"_a, "channel"_a, "token"_a = nb::none(),
          nb::sig("def subscribe_channel(self, publisher_node_id: int, channel: str, token: bytes | None = None) "
                  "-> None"),
          "Asks the publisher to add this node to the channel; waits (GIL released) for its answer, at most 5 s.")
      .def(
          "unsubscribe_channel",
          [](NetMesh& node, nb::handle publisher_node_id, const std::string& channel) {
            require_open(node);
            const auto publisher =
                to_unsigned(publisher_node_id, "unsubscribe_channel", "publisher_node_id", UINT64_MAX);
            nb::gil_scoped_release unlocked;
            node.channels.unsubscribe(publisher, channel);
          },
          "publisher_node_id"_a, "channel"_a,
          nb::sig("def unsubscribe_channel(self, publisher_node_id: int, channel: str) -> None"))
      .def(
          "publish",
          [](NetMesh& node, const std::string& channel, nb::handle payload, std::optional<std::string> reliability,
             std::optional<std::string> on_failure, nb::handle max_inflight) {
            require_open(node);
            channel::check_channel_name(channel);
            const ByteView bytes = bytes_argument(payload, "payload");
            channel::PublishOptions options;
            options.reliable = reliable_from(reliability);
            options.on_failure = on_failure_from(on_failure);
            if (!max_inflight.is_none()) to_unsigned(max_inflight, "publish", "max_inflight", 0xFFFFFFFF);
            channel::PublishReport report;
            {
              nb::gil_scoped_release unlocked;
              report = node.channels.publish(channel, bytes, options);
            }
            return report_dict(report);
          },
          "channel"_a, "payload"_a, nb::kw_only(), "reliability"_a = nb::none(), "on_failure"_a = nb::none(),
          "max_inflight"_a = nb::none(),
          nb::sig("def publish(self, channel: str, payload: bytes, *, reliability: str | None = None, "
                  "on_failure: str | None = None, max_inflight: int | None = None) -> dict"),
          "Sends payload to every subscriber of the channel; returns {attempted, delivered, errors}.")
      .def(
          "channel",
          [](nb::handle self, const std::string& name) {
            NetMesh& node = nb::cast<NetMesh&>(self);
            require_open(node);
            node.channels.open_inbox(name);
            return ChannelReceiver(nb::borrow(self), name);
          },
          "name"_a, nb::sig("def channel(self, name: str) -> ChannelReceiver"),
          "A receiver of the channel's messages (ours). Open it before subscribing to miss none; until one is "
          "open, the channel's messages go to poll().")
      .def(
          "install_token",
          [](NetMesh& node, nb::handle token) {
            require_open(node);
            node.channels.install_token(*token_from(token));
          },
          "token"_a, nb::sig("def install_token(self, token: bytes) -> None"),
          "Trusts a token in this node's channel decisions (ours), e.g. the parent of tokens delegated to "
          "subscribers. Its signature must verify.");
}

}  // namespace net::python
