// JetStream adapter: one NATS connection (the client reconnects by itself),
// asynchronous publishes completed per batch, direct gets for poll.
#include "net/brokers/jetstream_adapter.hpp"

#include <nats/nats.h>

#include <atomic>
#include <limits>
#include <mutex>

#include "bus/backend_poll.hpp"
#include "net/brokers/envelope.hpp"
#include "net/brokers/producer_nonce.hpp"
#include "net/core/error.hpp"

namespace net::brokers {
namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorKind::InvalidConfig,
              "invalid configuration: jetstream adapter: invalid configuration: jetstream " + what);
}

// The client's last error text without its "(file.c:line): " prefix, or the status text.
std::string error_text(natsStatus status) {
  std::string_view last = nats_GetLastError(nullptr) != nullptr ? nats_GetLastError(nullptr) : "";
  if (last.starts_with('(')) {
    if (const auto end = last.find("): "); end != std::string_view::npos) last.remove_prefix(end + 3);
  }
  return last.empty() ? natsStatus_GetText(status) : std::string(last);
}

void check(natsStatus status, const char* what) {
  if (status != NATS_OK) {
    throw Error(ErrorKind::Connection, std::string("connection error: ") + what + ": " + error_text(status));
  }
}

constexpr std::uint64_t kGroup = 1000;  ///< positions per dedup-id group (as the Redis adapter's default)

struct MsgDeleter {
  void operator()(natsMsg* msg) const noexcept { natsMsg_Destroy(msg); }
};
using Msg = std::unique_ptr<natsMsg, MsgDeleter>;

}  // namespace

void JetStreamConfig::validate() const {
  if (url.empty()) invalid("url must not be empty");
  if (connect_timeout.count() <= 0) invalid("connect_timeout must be > 0");
  if (request_timeout.count() <= 0) invalid("request_timeout must be > 0");
  if (replicas < 1) invalid("replicas must be >= 1");
  if (max_messages && *max_messages < 0) invalid("max_messages must be >= 0");
  if (max_bytes && *max_bytes < 0) invalid("max_bytes must be >= 0");
  if (max_age && max_age->count() < 0) invalid("max_age must be >= 0");
}

struct JetStreamAdapter::Impl {
  JetStreamConfig config;
  ProducerIds ids;
  std::vector<std::string> streams;   ///< per shard
  std::vector<std::string> subjects;  ///< per shard
  std::vector<bool> stream_ready;     ///< created or found (the writer's)
  natsOptions* options = nullptr;
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;

  std::mutex write_mu;
  natsSubscription* acks = nullptr;  ///< publish acks, under ack_prefix
  std::string ack_prefix;
  std::uint64_t publish_round = 0;
  std::string value;
  std::string dedup_id;
  std::mutex read_mu;
  natsSubscription* replies = nullptr;  ///< direct-get replies, under reply_prefix
  std::string reply_prefix;
  std::uint64_t poll_round = 0;
  std::size_t max_event_size = 0;
  std::atomic<bool> healthy{true};
  std::atomic<bool> stopped{false};

  Impl(const JetStreamConfig& cfg, std::uint16_t num_shards)
      : config(cfg), ids(producer_ids(cfg.producer_nonce_path)), stream_ready(num_shards, false) {
    for (std::uint16_t s = 0; s < num_shards; ++s) {
      streams.push_back(config.prefix + "_shard_" + std::to_string(s));
      subjects.push_back(config.prefix + ".shard." + std::to_string(s));
    }
    try {
      check(natsOptions_Create(&options), "options");
      check(natsOptions_SetURL(options, config.url.c_str()), "url");
      check(natsOptions_SetTimeout(options, config.connect_timeout.count()), "options");
      // After the first connection, reconnect forever; publishes wait in the client's buffer meanwhile.
      check(natsOptions_SetMaxReconnect(options, -1), "options");
      check(natsOptions_SetReconnectWait(options, 100), "options");
      check(natsOptions_SetReconnectBufSize(options, 64 * 1024 * 1024), "options");
      check(natsConnection_Connect(&connection, options), "connect");
      jsOptions js_options;
      jsOptions_Init(&js_options);
      js_options.Wait = config.request_timeout.count();
      check(natsConnection_JetStream(&js, connection, &js_options), "jetstream");
      for (std::uint16_t s = 0; s < num_shards; ++s) ensure_stream(s);
      // Room for the envelope around the event and the Nats-Msg-Id header.
      constexpr std::int64_t kOverhead = 256;
      max_event_size =
          static_cast<std::size_t>(std::max<std::int64_t>(natsConnection_GetMaxPayload(connection) - kOverhead, 0));
    } catch (...) {
      close();
      throw;
    }
  }

  ~Impl() { close(); }

  void close() {
    for (natsSubscription** sub : {&acks, &replies}) {
      if (*sub != nullptr) natsSubscription_Destroy(*sub);
      *sub = nullptr;
    }
    if (js != nullptr) jsCtx_Destroy(js);
    if (connection != nullptr) {
      natsConnection_Close(connection);
      natsConnection_Destroy(connection);
    }
    if (options != nullptr) natsOptions_Destroy(options);
    js = nullptr;
    connection = nullptr;
    options = nullptr;
  }

  // Finds the shard's stream or creates it. Throws Error(Connection).
  void ensure_stream(std::uint16_t shard) {
    if (stream_ready[shard]) return;
    jsStreamInfo* info = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    natsStatus status = js_GetStreamInfo(&info, js, streams[shard].c_str(), nullptr, &error);
    if (status == NATS_NOT_FOUND) {
      jsStreamConfig stream;
      jsStreamConfig_Init(&stream);
      const char* subject = subjects[shard].c_str();
      stream.Name = streams[shard].c_str();
      stream.Subjects = &subject;
      stream.SubjectsLen = 1;
      stream.Retention = js_LimitsPolicy;
      stream.Storage = js_FileStorage;
      stream.Discard = js_DiscardOld;
      stream.Replicas = config.replicas;
      stream.AllowDirect = true;
      // The server refuses a duplicate window longer than the messages live.
      auto window = config.duplicate_window;
      if (config.max_age && config.max_age->count() > 0) window = std::min(window, *config.max_age);
      stream.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(window).count();
      if (config.max_messages) stream.MaxMsgs = *config.max_messages;
      if (config.max_bytes) stream.MaxBytes = *config.max_bytes;
      if (config.max_age) stream.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(*config.max_age).count();
      status = js_AddStream(&info, js, &stream, nullptr, &error);
    }
    if (info != nullptr) jsStreamInfo_Destroy(info);
    check(status, "stream");
    stream_ready[shard] = true;
  }

  // Publishes every event with a reply subject of ours, then reads the
  // acks: returns how many leading events JetStream stored (or recognized as
  // duplicates of what it stored before). Ids depend only on each event's
  // position, so what a retry sends again carries the ids of the first
  // attempt and the server's duplicate window drops the copies.
  std::size_t publish(std::span<const bus::StoredEvent> events) {
    const std::uint16_t shard = events.front().shard_id;
    ensure_stream(shard);
    ensure_ack_subscription();
    const std::uint64_t start = events.front().sequence;
    const std::string round = std::to_string(++publish_round);
    const std::string mine = ack_prefix + "." + round + ".";
    std::string reply;
    for (const bus::StoredEvent& event : events) {
      value.clear();
      append_envelope(value, event.raw, event.insertion_ts, shard);
      dedup_id.clear();
      append_dedup_id_at(dedup_id, ids.nonce, shard, ids.sequence_base + event.sequence, kGroup);
      reply = mine;
      reply += std::to_string(event.sequence - start);
      natsMsg* raw = nullptr;
      check(natsMsg_Create(&raw, subjects[shard].c_str(), reply.c_str(), value.data(), static_cast<int>(value.size())),
            "publish");
      Msg msg(raw);
      check(natsMsgHeader_Set(msg.get(), "Nats-Msg-Id", dedup_id.c_str()), "publish");
      check(natsConnection_PublishMsg(connection, msg.get()), "publish");
    }
    std::vector<bool> acked(events.size(), false);
    for (std::size_t received = 0; received < events.size();) {
      natsMsg* raw = nullptr;
      const natsStatus status = natsSubscription_NextMsg(&raw, acks, config.request_timeout.count());
      if (status == NATS_NO_RESPONDERS) {  // JetStream is not listening (yet), or the stream is gone
        stream_ready[shard] = false;       // found or created again before the next batch
        ++received;
        continue;
      }
      if (status != NATS_OK) break;
      Msg ack(raw);
      const std::string_view to = natsMsg_GetSubject(ack.get());
      if (!to.starts_with(mine)) continue;  // a late ack of an earlier batch
      const auto index = bus::parse_canonical_u64(to.substr(mine.size()));
      if (!index || *index >= acked.size() || acked[*index]) continue;
      ++received;
      const std::string_view body(natsMsg_GetData(ack.get()),
                                  static_cast<std::size_t>(natsMsg_GetDataLength(ack.get())));
      acked[*index] =
          body.find("\"error\"") == std::string_view::npos && body.find("\"seq\"") != std::string_view::npos;
    }
    std::size_t stored = 0;
    while (stored < acked.size() && acked[stored]) ++stored;
    return stored;
  }

  void ensure_ack_subscription() {
    if (acks != nullptr) return;
    ack_prefix = new_inbox();
    check(natsConnection_SubscribeSync(&acks, connection, (ack_prefix + ".>").c_str()), "publish");
    natsSubscription_SetPendingLimits(acks, -1, -1);
  }

  static std::string new_inbox() {
    natsInbox* inbox = nullptr;
    check(natsInbox_Create(&inbox), "inbox");
    std::string name = inbox;
    natsInbox_Destroy(inbox);
    return name;
  }

  // Where a shard's stream starts and ends now; nullopt if it cannot be read.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> stream_bounds(std::size_t shard) {
    jsStreamInfo* info = nullptr;
    if (js_GetStreamInfo(&info, js, streams[shard].c_str(), nullptr, nullptr) != NATS_OK) return std::nullopt;
    const std::pair bounds{info->State.FirstSeq, info->State.Msgs == 0 ? 0 : info->State.LastSeq};
    jsStreamInfo_Destroy(info);
    return bounds;
  }

  void ensure_reply_subscription() {
    if (replies != nullptr) return;
    reply_prefix = new_inbox();
    check(natsConnection_SubscribeSync(&replies, connection, (reply_prefix + ".>").c_str()), "poll");
    natsSubscription_SetPendingLimits(replies, -1, -1);
  }

  // Direct gets of every sequence in the window, all sent before the first
  // reply is read. Replies carry this poll's number, so a late reply to an
  // earlier poll that timed out is recognized and dropped.
  std::vector<Msg> direct_get_range(std::size_t shard, std::uint64_t start, std::uint64_t end) {
    const std::string round = std::to_string(++poll_round);
    const std::string subject = "$JS.API.DIRECT.GET." + streams[shard];
    for (std::uint64_t seq = start; seq < end; ++seq) {
      const std::string reply = reply_prefix + "." + round + "." + std::to_string(seq - start);
      const std::string body = "{\"seq\":" + std::to_string(seq) + "}";
      check(natsConnection_PublishRequest(connection, subject.c_str(), reply.c_str(), body.data(),
                                          static_cast<int>(body.size())),
            "poll");
    }
    std::vector<Msg> slots(end - start);
    const std::string mine = reply_prefix + "." + round + ".";
    for (std::size_t received = 0; received < slots.size();) {
      natsMsg* raw = nullptr;
      if (natsSubscription_NextMsg(&raw, replies, config.request_timeout.count()) != NATS_OK) break;
      Msg msg(raw);
      const std::string_view to = natsMsg_GetSubject(msg.get());
      if (!to.starts_with(mine)) continue;
      const auto index = bus::parse_canonical_u64(to.substr(mine.size()));
      if (!index || *index >= slots.size() || slots[*index]) continue;
      slots[*index] = std::move(msg);
      ++received;
    }
    return slots;
  }

  std::vector<bus::ShardPage> fetch(const bus::CursorIds& positions, std::size_t count) {
    std::vector<bus::ShardPage> pages(streams.size());
    std::lock_guard lock(read_mu);
    if (stopped.load()) return pages;
    try {
      ensure_reply_subscription();
    } catch (const Error&) {
      return pages;
    }
    for (std::size_t s = 0; s < streams.size(); ++s) {
      const auto bounds = stream_bounds(s);
      if (!bounds) continue;  // skipped like the original's failed shards
      const std::uint64_t after = positions[s] ? *bus::parse_canonical_u64(*positions[s]) : 0;
      if (after == std::numeric_limits<std::uint64_t>::max()) continue;  // nothing can follow it
      const std::uint64_t start = std::max(after + 1, bounds->first);
      if (start > bounds->second) continue;
      const std::uint64_t end = std::min(start + count, bounds->second + 1);
      pages[s].has_more = bounds->second >= end;
      std::vector<Msg> slots;
      try {
        slots = direct_get_range(s, start, end);
      } catch (const Error&) {
        continue;
      }
      for (std::size_t i = 0; i < slots.size(); ++i) {
        if (!slots[i]) {  // no reply in time: the page ends before it
          pages[s].has_more = true;
          break;
        }
        const char* status = nullptr;
        if (natsMsgHeader_Get(slots[i].get(), "Status", &status) == NATS_OK) {
          // 404 from our only server: the message was removed, skip it. With
          // replicas a follower that lags answers 404 too, and any other status
          // is a failure: the page ends here and the next poll asks again.
          if (std::string_view(status) != "404" || config.replicas > 1) {
            pages[s].has_more = true;
            break;
          }
          pages[s].last_examined = std::to_string(start + i);
          continue;
        }
        pages[s].last_examined = std::to_string(start + i);
        std::shared_ptr<natsMsg> msg(slots[i].release(), MsgDeleter());
        const std::string_view data(natsMsg_GetData(msg.get()),
                                    static_cast<std::size_t>(natsMsg_GetDataLength(msg.get())));
        auto envelope = parse_envelope(data);
        if (!envelope) continue;  // skipped, but the cursor moves past it
        pages[s].events.push_back(
            stored_event(std::move(*envelope), msg, start + i, 0, bus::StoredEvent::IdForm::Sequence));
      }
    }
    return pages;
  }
};

JetStreamAdapter::JetStreamAdapter(const JetStreamConfig& config, std::uint16_t num_shards) {
  config.validate();
  impl_ = std::make_unique<Impl>(config, num_shards);
}

JetStreamAdapter::~JetStreamAdapter() { shutdown(); }

bool JetStreamAdapter::ready() const { return !impl_->stopped.load(); }

std::size_t JetStreamAdapter::on_batch(std::span<const bus::StoredEvent> events) {
  std::lock_guard lock(impl_->write_mu);
  if (impl_->stopped.load() || events.empty()) return 0;
  try {
    const std::size_t stored = impl_->publish(events);
    impl_->healthy = stored == events.size();
    return stored;
  } catch (const Error&) {
    impl_->healthy = false;
    return 0;
  }
}

std::optional<bus::PollResult> JetStreamAdapter::poll(const bus::PollRequest& request) {
  const bus::BackendPoll backend{
      static_cast<std::uint16_t>(impl_->streams.size()),
      [](std::string_view id) { return bus::parse_canonical_u64(id).has_value(); },
      [this](const bus::CursorIds& positions, std::size_t count) { return impl_->fetch(positions, count); }};
  return bus::poll_backend(request, backend);
}

std::size_t JetStreamAdapter::max_event_size() const { return impl_->max_event_size; }

bool JetStreamAdapter::is_healthy() const { return impl_->healthy.load() && !impl_->stopped.load(); }

void JetStreamAdapter::shutdown() {
  if (impl_->stopped.exchange(true)) return;
  std::scoped_lock lock(impl_->write_mu, impl_->read_mu);
  impl_->close();
}

std::string JetStreamAdapter::stream_name(std::uint16_t shard_id) const { return impl_->streams.at(shard_id); }

std::string JetStreamAdapter::subject(std::uint16_t shard_id) const { return impl_->subjects.at(shard_id); }

}  // namespace net::brokers
