// Pub/sub channels on a mesh (REFERENCE §4): a publisher registers channel
// configs and authorizes subscribers (membership subprotocol 0x0A00, AuthGuard,
// tokens, capability filters, subnet visibility, a per-peer failure throttle
// and a token-expiry sweep); publish fans a payload out to the subscribers on
// stream 2^48 | channel hash. Subscribers receive into per-channel inboxes.
//
// Beyond the original: tokens must be rooted at the publisher (issued by it or
// delegated from a token it issued), a presented token is kept only when it
// authorized its subscriber, reliable channels ride reliable streams, and
// max_rate_pps limits the publisher.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/bus/event.hpp"
#include "net/channel/channel_config.hpp"
#include "net/identity/permission_token.hpp"

namespace net::mesh {
class MeshNode;
}
namespace net::capability {
class Discovery;
}

namespace net::channel {

struct ChannelsConfig {
  std::chrono::milliseconds ack_timeout{5000};
  std::chrono::milliseconds token_sweep_interval{30000};
  std::size_t max_channels_per_peer = 1024;
  std::size_t inbox_capacity = 1 << 20;  ///< messages kept per channel inbox; beyond, the oldest go (counted)
};

enum class OnFailure { BestEffort, FailFast, Collect };

struct PublishOptions {
  bool reliable = false;  ///< also when the channel is registered reliable
  OnFailure on_failure = OnFailure::BestEffort;
};

struct PublishReport {
  std::size_t attempted = 0;
  std::size_t delivered = 0;
  std::vector<std::pair<std::uint64_t, std::string>> errors;  ///< (subscriber node id, message)
};

struct ChannelMessage {
  std::uint64_t publisher = 0;
  std::string channel;
  bus::StoredEvent event;  ///< the payload in event.raw
};

struct ChannelCounters {
  std::uint64_t rate_limited = 0;   ///< publishes refused by max_rate_pps
  std::uint64_t inbox_dropped = 0;  ///< received messages pushed out of a full inbox or left in a closed one
};

class Channels {
 public:
  // Registers with the node; both must outlive this. Its destructor shuts the node down.
  Channels(mesh::MeshNode& node, capability::Discovery& discovery, ChannelsConfig config = {});
  ~Channels();
  Channels(const Channels&) = delete;
  Channels& operator=(const Channels&) = delete;

  // Errors are Error(Channel, "channel: ...") in the original's texts, and
  // Error(ChannelAuth, "channel: unauthorized") for a refused subscriber.
  void register_channel(ChannelConfig config);
  // Blocks until the publisher's Ack or the ack timeout.
  void subscribe(std::uint64_t publisher, const std::string& channel,
                 const std::optional<identity::PermissionToken>& token = std::nullopt);
  void unsubscribe(std::uint64_t publisher, const std::string& channel);
  PublishReport publish(const std::string& channel, ByteView payload, const PublishOptions& options = {});
  // Trusts a token for this node's decisions (a parent of delegated subscriber
  // tokens, or a grant to this node itself). Verifies its signature.
  void install_token(const identity::PermissionToken& token);

  // Starts keeping the channel's messages (from every publisher it is
  // subscribed at) in an inbox; until then they go to MeshNode::poll().
  // Opens are counted: the inbox closes at the close matching the last open
  // (its unread messages count as inbox_dropped), and messages go to poll()
  // again.
  void open_inbox(const std::string& channel);
  void close_inbox(const std::string& channel);
  // Up to `limit` messages of the channel's inbox, waiting up to `wait` for
  // the first; none at once when the inbox is not open.
  std::vector<ChannelMessage> receive(const std::string& channel, std::size_t limit, std::chrono::nanoseconds wait);
  ChannelCounters counters() const;
  // Current subscribers of one of our channels.
  std::vector<std::uint64_t> subscribers(const std::string& channel) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "channel: invalid name: <reason>" unless `name` is a channel name.
void check_channel_name(const std::string& name);

}  // namespace net::channel
