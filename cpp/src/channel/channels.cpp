#include "net/channel/channels.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "net/capability/discovery.hpp"
#include "net/channel/auth_guard.hpp"
#include "net/channel/membership.hpp"
#include "net/channel/rate_limits.hpp"
#include "net/core/clock.hpp"
#include "net/core/error.hpp"
#include "net/identity/channel_name.hpp"
#include "net/identity/token_cache.hpp"
#include "net/mesh/mesh_node.hpp"

namespace net::channel {
namespace {

constexpr std::uint64_t kPublishStreamBase = std::uint64_t{1} << 48;
// A publish cannot wait for credit, so its streams get 16 times the default
// window: a subscriber (or the publisher's reactor) descheduled for tens of
// milliseconds, as happens with many nodes on few cores, does not turn a
// burst into refusals. At most this much is in flight to one subscriber.
constexpr std::uint32_t kPublishWindowBytes = 1 << 20;
constexpr unsigned kMaxDelegationHops = 16;

std::int64_t now_ns() { return static_cast<std::int64_t>(monotonic_ns()); }

// Subscribe and Unsubscribe nonces come from one counter per process, from 1.
std::uint64_t next_nonce() {
  static std::atomic<std::uint64_t> counter{1};
  return counter.fetch_add(1);
}

[[noreturn]] void throw_for_ack(const Ack& ack) {
  switch (ack.reason) {
    case AckReason::Unauthorized: throw Error(ErrorKind::ChannelAuth, "channel: unauthorized");
    case AckReason::UnknownChannel: throw Error(ErrorKind::Channel, "channel: unknown channel");
    case AckReason::RateLimited: throw Error(ErrorKind::Channel, "channel: rate limited");
    case AckReason::TooManyChannels: throw Error(ErrorKind::Channel, "channel: too many channels");
    case AckReason::None: break;
  }
  throw Error(ErrorKind::Channel, "channel: rejected (None)");
}

// The subscribers of one of our channels: broadcast members, and queue
// groups of which one member (in turn) gets each message.
struct Roster {
  std::set<std::uint64_t> broadcast;
  struct Group {
    std::vector<std::uint64_t> members;
    std::size_t next = 0;
  };
  std::map<std::string, Group> groups;

  void add(std::uint64_t peer, const std::string& group) {
    remove(peer);
    if (group.empty()) {
      broadcast.insert(peer);
    } else {
      groups[group].members.push_back(peer);
    }
  }
  void remove(std::uint64_t peer) {
    broadcast.erase(peer);
    for (auto it = groups.begin(); it != groups.end();) {
      std::erase(it->second.members, peer);
      it = it->second.members.empty() ? groups.erase(it) : std::next(it);
    }
  }
  bool contains(std::uint64_t peer) const {
    if (broadcast.contains(peer)) return true;
    for (const auto& [name, group] : groups)
      if (std::find(group.members.begin(), group.members.end(), peer) != group.members.end()) return true;
    return false;
  }
  std::vector<std::uint64_t> recipients() {
    std::vector<std::uint64_t> out(broadcast.begin(), broadcast.end());
    for (auto& [name, group] : groups) out.push_back(group.members[group.next++ % group.members.size()]);
    return out;
  }
};

struct Inbox {
  std::deque<ChannelMessage> messages;
  std::size_t openers = 0;  ///< open_inbox calls not closed yet
};

}  // namespace

void check_channel_name(const std::string& name) {
  if (const auto reason = identity::channel_name_error(name)) {
    throw Error(ErrorKind::Channel, "channel: invalid name: " + *reason);
  }
}

struct Channels::Impl {
  mesh::MeshNode& node;
  capability::Discovery& discovery;
  ChannelsConfig config;
  identity::TokenCache tokens;  ///< thread-safe on its own

  // Publisher state and pending requests.
  mutable std::mutex mu;
  std::condition_variable acked;
  ChannelRegistry registry;
  AuthGuard guard;
  AuthThrottle throttle;
  std::map<std::string, Roster> rosters;
  std::unordered_map<std::uint64_t, std::set<std::string>> channels_of_peer;
  std::map<std::string, TokenBucket> buckets;
  std::unordered_map<std::uint64_t, std::optional<Ack>> pending;  ///< by nonce
  std::uint64_t rate_limited = 0;

  // Subscriber state, read by the channel tap under the node's lock: never
  // held while calling the node.
  mutable std::mutex inbox_mu;
  std::condition_variable inbox_filled;
  std::map<std::pair<std::uint64_t, std::uint16_t>, std::set<std::string>> subscriptions;  ///< (publisher, hash)
  std::map<std::string, Inbox> inboxes;
  std::uint64_t inbox_dropped = 0;

  Impl(mesh::MeshNode& n, capability::Discovery& d, ChannelsConfig c) : node(n), discovery(d), config(c) {}

  const Key32& own_entity() const { return node.identity().public_key(); }

  // ---- authorization (publisher side) -------------------------------------

  // A token counts when it is signed, current, and issued by this node or
  // delegated to its issuer by a token that itself counts.
  bool rooted(const identity::PermissionToken& token, std::uint16_t channel, std::uint64_t now, unsigned hops) const {
    if (token.issuer == own_entity()) return true;
    if (hops == 0) return false;
    for (const auto& parent : tokens.grants(token.issuer, identity::scope::kDelegate, channel, now)) {
      if (parent.delegation_depth > token.delegation_depth && rooted(parent, channel, now, hops - 1)) return true;
    }
    return false;
  }

  bool token_grants(const identity::PermissionToken& token, const Key32& subject, std::uint32_t action,
                    std::uint16_t channel, std::uint64_t now) const {
    return token.subject == subject && token.authorizes(action, channel) && now >= token.not_before &&
           !token.expired(now) && rooted(token, channel, now, kMaxDelegationHops);
  }

  bool cache_grants(const Key32& subject, std::uint32_t action, std::uint16_t channel, std::uint64_t now) const {
    for (const auto& token : tokens.grants(subject, action, channel, now))
      if (rooted(token, channel, now, kMaxDelegationHops)) return true;
    return false;
  }

  // Steps 3-8 of REFERENCE §4.4 (with our token rules); mu held.
  AckReason authorize(std::uint64_t peer, const Subscribe& request, const std::optional<ChannelConfig>& config) {
    if (!config) return AckReason::UnknownChannel;
    if (!subnet_visible(node.config().subnet, discovery.subnet_of(peer), config->visibility)) {
      return AckReason::Unauthorized;
    }
    if (!config->has_acl()) return AckReason::None;
    const auto entity = discovery.entity_of(peer);
    if (config->subscribe_caps && !config->subscribe_caps->matches(discovery.capabilities_of(peer))) {
      return AckReason::Unauthorized;
    }
    if (!config->require_token) return AckReason::None;
    if (!entity) return AckReason::Unauthorized;  // no signed announcement binds the peer to an identity
    const std::uint16_t hash = identity::channel_hash(request.channel);
    const std::uint64_t now = identity::unix_seconds_now();
    if (request.token.size() == identity::PermissionToken::kSize) {
      const auto presented = identity::PermissionToken::parse(request.token);
      if (presented.signature_valid() && token_grants(presented, *entity, identity::scope::kSubscribe, hash, now)) {
        tokens.insert_verified(presented);  // kept: it authorized its own subject, here
        return AckReason::None;
      }
    }
    return cache_grants(*entity, identity::scope::kSubscribe, hash, now) ? AckReason::None : AckReason::Unauthorized;
  }

  Ack on_subscribe(std::uint64_t peer, const Subscribe& request) {
    std::lock_guard lock(mu);
    const std::int64_t now = now_ns();
    Ack ack{request.nonce, false, AckReason::None};
    auto& held = channels_of_peer[peer];
    if (throttle.throttled(peer, now)) {
      ack.reason = AckReason::RateLimited;
    } else if (!held.contains(request.channel) && held.size() >= config.max_channels_per_peer) {
      ack.reason = AckReason::TooManyChannels;
    } else {
      ack.reason = authorize(peer, request, registry.exact(request.channel));
      ack.accepted = ack.reason == AckReason::None;
    }
    if (ack.accepted) {
      guard.allow(peer, request.channel);
      rosters[request.channel].add(peer, request.queue_group);
      held.insert(request.channel);
      throttle.clear(peer);
    } else if (ack.reason != AckReason::TooManyChannels && ack.reason != AckReason::RateLimited) {
      throttle.record_failure(peer, now);
    }
    if (held.empty()) channels_of_peer.erase(peer);
    return ack;
  }

  // mu held.
  void drop_subscriber(std::uint64_t peer, const std::string& channel) {
    guard.revoke(peer, channel);
    if (const auto roster = rosters.find(channel); roster != rosters.end()) {
      roster->second.remove(peer);
      if (roster->second.broadcast.empty() && roster->second.groups.empty()) rosters.erase(roster);
    }
    if (const auto held = channels_of_peer.find(peer); held != channels_of_peer.end()) {
      held->second.erase(channel);
      if (held->second.empty()) channels_of_peer.erase(held);
    }
  }

  void on_membership(std::uint64_t peer, ByteView body) {
    const auto message = decode_membership(body);
    if (!message) return;  // as the original: dropped, no Ack
    std::optional<Ack> reply;
    if (const auto* subscribe = std::get_if<Subscribe>(&*message)) {
      reply = on_subscribe(peer, *subscribe);
    } else if (const auto* unsubscribe = std::get_if<Unsubscribe>(&*message)) {
      std::lock_guard lock(mu);
      drop_subscriber(peer, unsubscribe->channel);
      reply = Ack{unsubscribe->nonce, true, AckReason::None};
    } else {
      const auto& ack = std::get<Ack>(*message);
      std::lock_guard lock(mu);
      if (const auto it = pending.find(ack.nonce); it != pending.end() && !it->second) {
        it->second = ack;
        acked.notify_all();
      }
    }
    if (reply) {
      try {
        node.send_message(peer, kMembershipSubprotocol, encode_membership(*reply));
      } catch (const Error&) {
        // The peer went away meanwhile; its request times out on its side.
      }
    }
  }

  // Revokes subscribers of require_token channels whose tokens ran out.
  void sweep_tokens() {
    std::lock_guard lock(mu);
    const std::uint64_t now = identity::unix_seconds_now();
    std::vector<std::pair<std::uint64_t, std::string>> expired;
    for (const auto& [channel, roster] : rosters) {
      const auto config = registry.exact(channel);
      if (!config || !config->require_token) continue;
      const std::uint16_t hash = identity::channel_hash(channel);
      for (const std::uint64_t peer : recipients_of(roster)) {
        const auto entity = discovery.entity_of(peer);
        if (!entity || !cache_grants(*entity, identity::scope::kSubscribe, hash, now))
          expired.emplace_back(peer, channel);
      }
    }
    for (const auto& [peer, channel] : expired) drop_subscriber(peer, channel);
    tokens.evict_expired(now);
  }

  static std::vector<std::uint64_t> recipients_of(const Roster& roster) {
    std::vector<std::uint64_t> out(roster.broadcast.begin(), roster.broadcast.end());
    for (const auto& [name, group] : roster.groups) out.insert(out.end(), group.members.begin(), group.members.end());
    return out;
  }

  // ---- subscriber side -----------------------------------------------------

  Ack request(std::uint64_t publisher, const std::string& channel, const MembershipMessage& message,
              std::uint64_t nonce) {
    if (!node.has_session(publisher)) {
      throw Error(ErrorKind::Channel, "channel: connection error: no session to publisher " + hex_u64(publisher));
    }
    {
      std::lock_guard lock(mu);
      pending[nonce];
    }
    std::optional<Ack> ack;
    try {
      node.send_message(publisher, kMembershipSubprotocol, encode_membership(message));
      // In slices, so a node shut down meanwhile ends the wait at once.
      const auto deadline = std::chrono::steady_clock::now() + config.ack_timeout;
      std::unique_lock lock(mu);
      while (!pending[nonce] && !node.is_shut_down() && std::chrono::steady_clock::now() < deadline) {
        acked.wait_for(lock, std::min<std::chrono::steady_clock::duration>(
                                 std::chrono::milliseconds(100), deadline - std::chrono::steady_clock::now()));
      }
      ack = pending[nonce];
      pending.erase(nonce);
    } catch (const Error& e) {
      {
        std::lock_guard lock(mu);
        pending.erase(nonce);
      }
      if (e.kind() == ErrorKind::ShutDown) throw;
      throw Error(ErrorKind::Channel, std::string("channel: ") + e.what());
    }
    if (!ack && node.is_shut_down()) throw Error(ErrorKind::ShutDown, "MeshNode has been shut down");
    if (!ack) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(config.ack_timeout).count();
      throw Error(ErrorKind::Channel, "channel: connection error: membership ack timeout (" + std::to_string(seconds) +
                                          "s) for channel " + channel);
    }
    if (!ack->accepted) throw_for_ack(*ack);
    return *ack;
  }

  void remember_subscription(std::uint64_t publisher, const std::string& channel, bool subscribed) {
    std::lock_guard lock(inbox_mu);
    const auto key = std::make_pair(publisher, identity::channel_hash(channel));
    if (subscribed) {
      subscriptions[key].insert(channel);
    } else if (const auto it = subscriptions.find(key); it != subscriptions.end()) {
      it->second.erase(channel);
      if (it->second.empty()) subscriptions.erase(it);
    }
  }

  // The node's channel tap: under the node's lock, on the reactor thread.
  bool on_channel_event(std::uint64_t publisher, std::uint16_t hash, bus::StoredEvent& event) {
    std::lock_guard lock(inbox_mu);
    const auto names = subscriptions.find({publisher, hash});
    if (names == subscriptions.end()) return false;
    bool taken = false;
    for (const auto& name : names->second) {
      const auto inbox = inboxes.find(name);
      if (inbox == inboxes.end()) continue;
      auto& messages = inbox->second.messages;
      if (messages.size() >= config.inbox_capacity) {
        messages.pop_front();
        ++inbox_dropped;
      }
      messages.push_back({publisher, name, event});
      taken = true;
    }
    if (taken) inbox_filled.notify_all();
    return taken;
  }
};

Channels::Channels(mesh::MeshNode& node, capability::Discovery& discovery, ChannelsConfig config)
    : impl_(std::make_unique<Impl>(node, discovery, config)) {
  Impl* impl = impl_.get();
  node.on_message(kMembershipSubprotocol,
                  [impl](std::uint64_t peer, ByteView body) { impl->on_membership(peer, body); });
  node.set_channel_tap([impl](std::uint64_t publisher, std::uint16_t hash, bus::StoredEvent& event) {
    return impl->on_channel_event(publisher, hash, event);
  });
  node.every(config.token_sweep_interval, [impl] { impl->sweep_tokens(); });
}

Channels::~Channels() {
  impl_->node.shutdown();
  impl_->acked.notify_all();
  impl_->inbox_filled.notify_all();
}

void Channels::register_channel(ChannelConfig config) {
  check_channel_name(config.name);
  std::lock_guard lock(impl_->mu);
  if (config.max_rate_pps > 0) {
    impl_->buckets.insert_or_assign(config.name, TokenBucket(config.max_rate_pps));
  } else {
    impl_->buckets.erase(config.name);
  }
  impl_->registry.put(std::move(config));
}

void Channels::subscribe(std::uint64_t publisher, const std::string& channel,
                         const std::optional<identity::PermissionToken>& token) {
  check_channel_name(channel);
  Subscribe message{next_nonce(), channel, {}, {}};
  if (token) {
    const auto bytes = token->encode();
    message.token.assign(bytes.begin(), bytes.end());
  }
  // Remembered first: a publish that overtakes the Ack must find the receiver.
  impl_->remember_subscription(publisher, channel, true);
  try {
    impl_->request(publisher, channel, message, message.nonce);
  } catch (...) {
    impl_->remember_subscription(publisher, channel, false);
    throw;
  }
}

void Channels::unsubscribe(std::uint64_t publisher, const std::string& channel) {
  check_channel_name(channel);
  const Unsubscribe message{next_nonce(), channel};
  impl_->request(publisher, channel, message, message.nonce);
  impl_->remember_subscription(publisher, channel, false);
}

PublishReport Channels::publish(const std::string& channel, ByteView payload, const PublishOptions& options) {
  check_channel_name(channel);
  const std::uint16_t hash = identity::channel_hash(channel);
  std::vector<std::uint64_t> recipients;
  std::optional<ChannelConfig> config;
  {
    std::lock_guard lock(impl_->mu);
    config = impl_->registry.exact(channel);
    if (config && config->publish_caps && !config->publish_caps->matches(impl_->discovery.local_capabilities())) {
      // This node is the root of its channels' tokens, so only the caps can deny it.
      throw Error(ErrorKind::Channel, "channel: connection error: channel: publish denied by channel ACL");
    }
    if (const auto bucket = impl_->buckets.find(channel);
        bucket != impl_->buckets.end() && !bucket->second.take(now_ns())) {
      ++impl_->rate_limited;
      throw Error(ErrorKind::Channel,
                  "channel: rate limited: max_rate_pps " + std::to_string(bucket->second.rate()) + " exceeded");
    }
    const auto roster = impl_->rosters.find(channel);
    if (roster != impl_->rosters.end()) recipients = roster->second.recipients();
    const auto visibility = config ? config->visibility : Visibility::Global;
    const std::uint64_t now = identity::unix_seconds_now();
    std::vector<std::uint64_t> revoked;
    std::erase_if(recipients, [&](std::uint64_t peer) {
      if (!subnet_visible(impl_->node.config().subnet, impl_->discovery.subnet_of(peer), visibility)) return true;
      if (!impl_->guard.allowed(peer, channel)) return true;
      if (config && config->require_token) {
        const auto entity = impl_->discovery.entity_of(peer);
        if (!entity || !impl_->cache_grants(*entity, identity::scope::kSubscribe, hash, now)) {
          revoked.push_back(peer);
          return true;
        }
      }
      return false;
    });
    for (const std::uint64_t peer : revoked) impl_->drop_subscriber(peer, channel);
  }
  mesh::StreamOptions stream;
  stream.reliability = (options.reliable || (config && config->reliable)) ? mesh::StreamReliability::Reliable
                                                                          : mesh::StreamReliability::FireAndForget;
  stream.window_bytes = kPublishWindowBytes;
  stream.channel_hash = hash;
  stream.priority = config ? config->priority : 0;
  const std::uint64_t stream_id = kPublishStreamBase | hash;
  const auto error_text = [&](const Error& e) {
    return e.kind() == ErrorKind::Backpressure ? "publish: stream " + hex_u64(stream_id) + " backpressured"
                                               : std::string(e.what());
  };
  // fail_fast stops at the first failure. (A failed sendmmsg is known only
  // after the batch: peers after one it failed for were sent to, but are not
  // counted, as if the publish had stopped there.)
  const bool fail_fast = options.on_failure == OnFailure::FailFast;
  const auto results = impl_->node.send_to_each(recipients, stream_id, stream, payload,
                                                {.coalesce = true, .stop_at_first_failure = fail_fast});
  PublishReport report;
  for (std::size_t i = 0; i < results.size(); ++i) {
    ++report.attempted;
    if (!results[i]) {
      ++report.delivered;
      continue;
    }
    report.errors.emplace_back(recipients[i], error_text(*results[i]));
    if (fail_fast) break;
  }
  if (options.on_failure == OnFailure::BestEffort && report.attempted > 0 && report.delivered == 0) {
    const auto& [peer, message] = report.errors.front();
    throw Error(ErrorKind::Channel, "channel: connection error: all " + std::to_string(report.attempted) +
                                        " peers failed (first: " + hex_u64(peer) + ": " + message + ")");
  }
  return report;
}

void Channels::install_token(const identity::PermissionToken& token) { impl_->tokens.install(token); }

void Channels::open_inbox(const std::string& channel) {
  check_channel_name(channel);
  std::lock_guard lock(impl_->inbox_mu);
  ++impl_->inboxes[channel].openers;
}

void Channels::close_inbox(const std::string& channel) {
  std::lock_guard lock(impl_->inbox_mu);
  const auto inbox = impl_->inboxes.find(channel);
  if (inbox == impl_->inboxes.end()) return;
  if (inbox->second.openers > 1) {
    --inbox->second.openers;
    return;
  }
  impl_->inbox_dropped += inbox->second.messages.size();  // received, never read
  impl_->inboxes.erase(inbox);
  impl_->inbox_filled.notify_all();
}

std::vector<ChannelMessage> Channels::receive(const std::string& channel, std::size_t limit,
                                              std::chrono::nanoseconds wait) {
  check_channel_name(channel);
  std::unique_lock lock(impl_->inbox_mu);
  const auto open = impl_->inboxes.find(channel);
  if (open == impl_->inboxes.end()) return {};  // not opened, or closed (by another thread, maybe)
  auto* inbox = &open->second;
  if (inbox->messages.empty() && wait.count() > 0) {
    impl_->inbox_filled.wait_for(lock, wait, [&] {
      const auto it = impl_->inboxes.find(channel);
      return impl_->node.is_shut_down() || it == impl_->inboxes.end() || !it->second.messages.empty();
    });
    const auto it = impl_->inboxes.find(channel);
    if (it == impl_->inboxes.end()) return {};  // closed while waiting
    inbox = &it->second;
  }
  std::vector<ChannelMessage> out;
  while (!inbox->messages.empty() && out.size() < limit) {
    out.push_back(std::move(inbox->messages.front()));
    inbox->messages.pop_front();
  }
  return out;
}

ChannelCounters Channels::counters() const {
  ChannelCounters out;
  {
    std::lock_guard lock(impl_->mu);
    out.rate_limited = impl_->rate_limited;
  }
  std::lock_guard lock(impl_->inbox_mu);
  out.inbox_dropped = impl_->inbox_dropped;
  return out;
}

std::vector<std::uint64_t> Channels::subscribers(const std::string& channel) const {
  std::lock_guard lock(impl_->mu);
  const auto roster = impl_->rosters.find(channel);
  if (roster == impl_->rosters.end()) return {};
  return Impl::recipients_of(roster->second);
}

}  // namespace net::channel
