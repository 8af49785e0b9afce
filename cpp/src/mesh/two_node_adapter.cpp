// The two-node adapter over a MeshNode in its two-node dialect: one stream
// per sending shard (stream id = shard id, as the original), received events
// stored in an inbound EventBus so poll() pages them exactly once.
#include "net/mesh/two_node_adapter.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "net/bus/event_bus.hpp"
#include "net/core/error.hpp"
#include "net/mesh/mesh_node.hpp"

namespace net::mesh {
namespace {

constexpr std::uint64_t kPeer = 0;  ///< the two-node dialect's only peer
constexpr auto kReconnectPause = std::chrono::milliseconds(100);
constexpr auto kHandshakeAttempt = std::chrono::milliseconds(1000);

}  // namespace

void TwoNodeConfig::validate() const {
  if (heartbeat_interval < std::chrono::milliseconds(10)) {
    throw Error(ErrorKind::InvalidConfig, "invalid configuration: net heartbeat_interval must be >= 10 ms");
  }
  if (session_timeout <= heartbeat_interval) {
    throw Error(ErrorKind::InvalidConfig,
                "invalid configuration: net session_timeout must be greater than heartbeat_interval");
  }
  inbound.validate();
}

struct TwoNodeAdapter::Impl {
  TwoNodeConfig config;
  bus::EventBus inbound;
  std::unique_ptr<MeshNode> node;
  std::thread connector;
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::vector<std::string_view> views;  ///< scratch of the reactor thread's sink

  explicit Impl(const TwoNodeConfig& cfg) : config(cfg), inbound(cfg.inbound) {
    MeshConfig mesh;
    mesh.bind_address = cfg.bind_address;
    mesh.psk = cfg.psk;
    mesh.heartbeat_interval = cfg.heartbeat_interval;
    mesh.session_timeout = cfg.session_timeout;
    mesh.two_node = true;
    // The connector retries forever, so each attempt can be short: a restarted
    // responder is found within about a second.
    mesh.handshake_timeout = kHandshakeAttempt;
    mesh.handshake_attempts = 1;
    mesh.ordered_reliable = cfg.reliability != TwoNodeReliability::Light;
    if (cfg.role == TwoNodeRole::Responder) mesh.static_secret = cfg.secret_key;
    mesh.event_sink = [this](std::span<const bus::StoredEvent> events) { store(events); };
    node = std::make_unique<MeshNode>(mesh);
    node->start();
    if (cfg.role == TwoNodeRole::Initiator) connector = std::thread([this] { keep_connected(); });
  }

  void store(std::span<const bus::StoredEvent> events) {
    views.clear();
    for (const auto& event : events) views.push_back(event.raw);
    inbound.ingest_batch(views);
  }

  // Handshakes until a session is up, and again whenever it is lost.
  void keep_connected() {
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      if (node->peer_count() == 0) {
        try {
          node->connect(config.peer_address, config.peer_public_key, kPeer);
        } catch (const Error&) {
          // Timed out or shut down; the loop decides.
        }
      }
      lock.lock();
      wake.wait_for(lock, kReconnectPause, [&] { return stopping; });
    }
  }
};

TwoNodeAdapter::TwoNodeAdapter(const TwoNodeConfig& config) {
  config.validate();
  impl_ = std::make_unique<Impl>(config);
}

TwoNodeAdapter::~TwoNodeAdapter() { shutdown(); }

bool TwoNodeAdapter::ready() const { return !impl_->node->is_shut_down() && impl_->node->peer_count() > 0; }

std::size_t TwoNodeAdapter::on_batch(std::span<const bus::StoredEvent> events) {
  const StreamOptions options{impl_->config.reliability == TwoNodeReliability::None ? StreamReliability::FireAndForget
                                                                                    : StreamReliability::Reliable,
                              0, 1};
  if (events.empty()) return 0;
  std::vector<ByteView> payloads;  // one shard's run: one send on its stream
  payloads.reserve(events.size());
  for (const auto& event : events) payloads.push_back(as_bytes(event.raw));
  try {
    const StreamHandle stream = impl_->node->open_stream(kPeer, events.front().shard_id, options);
    impl_->node->send_on_stream(stream, payloads);
  } catch (const Error&) {
    return 0;  // no session (any more): the bus offers them again
  }
  return events.size();
}

std::optional<bus::PollResult> TwoNodeAdapter::poll(const bus::PollRequest& request) {
  return impl_->inbound.poll(request);
}

void TwoNodeAdapter::shutdown() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->node->shutdown();  // wakes a connect() in progress
  if (impl_->connector.joinable()) impl_->connector.join();
  impl_->inbound.shutdown();
}

transport::SocketAddress TwoNodeAdapter::local_address() const { return impl_->node->local_address(); }

}  // namespace net::mesh
