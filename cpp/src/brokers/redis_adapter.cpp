// Redis adapter: a writer connection per shard, used by the bus's drain
// threads, and a reader connection for poll; each is replaced after an I/O error.
#include "net/brokers/redis_adapter.hpp"

#include <atomic>
#include <mutex>

#include "brokers/redis_connection.hpp"
#include "bus/backend_poll.hpp"
#include "net/brokers/envelope.hpp"
#include "net/brokers/producer_nonce.hpp"
#include "net/core/error.hpp"

namespace net::brokers {
namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorKind::InvalidConfig, "invalid configuration: redis adapter: invalid configuration: redis " + what);
}

// "<ms>-<seq>", both decimal u64.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_stream_id(std::string_view id) {
  const auto dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto ms = bus::parse_canonical_u64(id.substr(0, dash));
  const auto seq = bus::parse_canonical_u64(id.substr(dash + 1));
  if (!ms || !seq) return std::nullopt;
  return std::pair{*ms, *seq};
}

std::string_view text_of(const redisReply* reply) {
  return reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS
             ? std::string_view(reply->str, reply->len)
             : std::string_view();
}

}  // namespace

void RedisConfig::validate() const {
  if (url.empty()) invalid("url must not be empty");
  if (pipeline_size == 0) invalid("pipeline_size must be > 0");
  if (connect_timeout.count() <= 0) invalid("connect_timeout must be > 0");
  if (command_timeout.count() <= 0) invalid("command_timeout must be > 0");
}

// One shard's writing side: its own connection, so the bus can drain every
// shard at once and Redis always has a pipeline to work on.
struct ShardWriter {
  std::mutex mu;
  std::unique_ptr<RedisConnection> connection;
  std::string commands;  ///< scratch
  std::string value;
  std::string dedup_id;
  std::atomic<bool> healthy{true};  ///< its last batch went through whole
};

struct RedisAdapter::Impl {
  RedisConfig config;
  RedisEndpoint endpoint;
  ProducerIds ids;
  std::vector<std::string> keys;  ///< per shard
  std::vector<std::unique_ptr<ShardWriter>> writers;

  std::mutex read_mu;
  std::unique_ptr<RedisConnection> reader;

  std::atomic<bool> stopped{false};

  Impl(const RedisConfig& cfg, std::uint16_t num_shards)
      : config(cfg), endpoint(parse_redis_url(cfg.url)), ids(producer_ids(cfg.producer_nonce_path)) {
    for (std::uint16_t s = 0; s < num_shards; ++s) {
      keys.push_back(config.prefix + ":shard:" + std::to_string(s));
      writers.push_back(std::make_unique<ShardWriter>());
    }
    writers[0]->connection = connect();  // the server is checked here; other shards connect when first used
  }

  std::unique_ptr<RedisConnection> connect() const {
    return std::make_unique<RedisConnection>(endpoint, config.connect_timeout, config.command_timeout);
  }

  void append_xadd(ShardWriter& writer, const bus::StoredEvent& event) const {
    writer.value.clear();
    append_envelope(writer.value, event.raw, event.insertion_ts, event.shard_id);
    writer.dedup_id.clear();
    append_dedup_id_at(writer.dedup_id, ids.nonce, event.shard_id, ids.sequence_base + event.sequence,
                       config.pipeline_size);
    RespCommand xadd(writer.commands, config.max_stream_len ? 10 : 7);
    xadd.arg("XADD").arg(keys[event.shard_id]);
    if (config.max_stream_len) xadd.arg("MAXLEN").arg("~").arg(*config.max_stream_len);
    xadd.arg("*").arg("d").arg(writer.value).arg("dedup_id").arg(writer.dedup_id);
  }

  // One MULTI/EXEC transaction per dedup-id group (pipeline_size positions;
  // the first and last may be partial), all sent in one write. Returns how
  // many leading events were committed. Ids depend only on each event's
  // position, so a retry from anywhere repeats exactly the ids it repeats.
  // After an I/O error the connection is dropped; what was confirmed counts.
  std::size_t write(ShardWriter& writer, std::span<const bus::StoredEvent> events) const {
    writer.commands.clear();
    std::vector<std::size_t> sizes;
    for (std::size_t begin = 0; begin < events.size();) {
      const std::uint64_t position = ids.sequence_base + events[begin].sequence;
      const std::size_t count =
          std::min<std::size_t>(events.size() - begin, config.pipeline_size - position % config.pipeline_size);
      RespCommand(writer.commands, 1).arg("MULTI");
      for (std::size_t i = 0; i < count; ++i) append_xadd(writer, events[begin + i]);
      RespCommand(writer.commands, 1).arg("EXEC");
      sizes.push_back(count);
      begin += count;
    }
    std::size_t committed = 0;
    try {
      writer.connection->send(writer.commands);
      bool failed = false;
      for (const std::size_t count : sizes) {  // every reply is read, so the connection stays in step
        failed |= !read_transaction(*writer.connection, count);
        if (!failed) committed += count;
      }
    } catch (const Error&) {
      writer.connection.reset();
    }
    return committed;
  }

  static bool read_transaction(RedisConnection& connection, std::size_t count) {
    bool queued = connection.reply()->type == REDIS_REPLY_STATUS;
    for (std::size_t i = 0; i < count; ++i) queued &= connection.reply()->type == REDIS_REPLY_STATUS;
    const RedisReply exec = connection.reply();
    bool ok = queued && exec->type == REDIS_REPLY_ARRAY && exec->elements == count;
    for (std::size_t i = 0; ok && i < exec->elements; ++i) ok = exec->element[i]->type == REDIS_REPLY_STRING;
    return ok;
  }

  // Up to `count` entries of an XRANGE reply, after `cursor` (the range was
  // asked from the cursor inclusive, so an entry with that id is skipped).
  bus::ShardPage page_of(RedisReply reply, std::size_t count, const std::optional<std::string>& cursor) const {
    bus::ShardPage page;
    if (reply->type != REDIS_REPLY_ARRAY) return page;  // e.g. WRONGTYPE: skipped like a failed shard
    // Keeps the reply alive for the events that point into it.
    const std::shared_ptr<const redisReply> reply_owner(reply.release(), ReplyDeleter());
    const redisReply* entries = reply_owner.get();
    std::size_t first = 0;
    if (cursor && entries->elements > 0 && entries->element[0]->type == REDIS_REPLY_ARRAY &&
        entries->element[0]->elements > 0 && text_of(entries->element[0]->element[0]) == *cursor) {
      first = 1;
    }
    page.has_more = entries->elements - first > count;
    const std::size_t examined = first + std::min(entries->elements - first, count);
    for (std::size_t i = first; i < examined; ++i) {
      const redisReply* entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
      const std::string_view id = text_of(entry->element[0]);
      const auto parsed_id = parse_stream_id(id);
      if (!parsed_id) continue;
      page.last_examined = std::string(id);
      const redisReply* fields = entry->element[1];
      if (fields->type != REDIS_REPLY_ARRAY) continue;
      for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
        if (text_of(fields->element[f]) != "d") continue;
        auto envelope = parse_envelope(text_of(fields->element[f + 1]));
        if (!envelope) break;  // unparsable: skipped, but the cursor moves past it
        page.events.push_back(stored_event(std::move(*envelope), reply_owner, parsed_id->first, parsed_id->second,
                                           bus::StoredEvent::IdForm::StreamPair));
        break;
      }
    }
    return page;
  }

  // One pipelined XRANGE per shard, from the cursor inclusive (the exclusive
  // "(id" form needs Redis 6.2; older servers answer it with an error). A
  // shard whose read fails is returned empty (its cursor stays), as the
  // original skips failed shards.
  std::vector<bus::ShardPage> fetch(const bus::CursorIds& positions, std::size_t count) {
    std::vector<bus::ShardPage> pages(keys.size());
    std::lock_guard lock(read_mu);
    if (stopped.load()) return pages;
    try {
      if (!reader || reader->broken()) reader = connect();
      std::string query;
      for (std::size_t s = 0; s < keys.size(); ++s) {
        const std::string start = positions[s] ? *positions[s] : std::string("-");
        const std::uint64_t fetch = count + (positions[s] ? 2 : 1);  // the cursor's entry, one to see more
        RespCommand(query, 6).arg("XRANGE").arg(keys[s]).arg(start).arg("+").arg("COUNT").arg(fetch);
      }
      reader->append(query);
      for (std::size_t s = 0; s < keys.size(); ++s) pages[s] = page_of(reader->reply(), count, positions[s]);
    } catch (const Error&) {
      reader.reset();
    }
    return pages;
  }
};

RedisAdapter::RedisAdapter(const RedisConfig& config, std::uint16_t num_shards) {
  config.validate();
  impl_ = std::make_unique<Impl>(config, num_shards);
}

RedisAdapter::~RedisAdapter() { shutdown(); }

bool RedisAdapter::ready() const { return !impl_->stopped.load(); }

std::size_t RedisAdapter::on_batch(std::span<const bus::StoredEvent> events) {
  if (events.empty()) return 0;
  ShardWriter& writer = *impl_->writers.at(events.front().shard_id);
  std::lock_guard lock(writer.mu);
  if (impl_->stopped.load()) return 0;
  try {
    if (!writer.connection || writer.connection->broken()) writer.connection = impl_->connect();
  } catch (const Error&) {
    writer.healthy = false;  // reconnected on the next batch; the bus backs off meanwhile
    return 0;
  }
  const std::size_t committed = impl_->write(writer, events);
  writer.healthy = committed == events.size();
  return committed;
}

std::optional<bus::PollResult> RedisAdapter::poll(const bus::PollRequest& request) {
  const bus::BackendPoll backend{
      static_cast<std::uint16_t>(impl_->keys.size()),
      [](std::string_view id) { return parse_stream_id(id).has_value(); },
      [this](const bus::CursorIds& positions, std::size_t count) { return impl_->fetch(positions, count); }};
  return bus::poll_backend(request, backend);
}

bool RedisAdapter::is_healthy() const {
  if (impl_->stopped.load()) return false;
  for (const auto& writer : impl_->writers)
    if (!writer->healthy.load()) return false;
  return true;
}

void RedisAdapter::shutdown() {
  if (impl_->stopped.exchange(true)) return;
  for (auto& writer : impl_->writers) {
    std::lock_guard lock(writer->mu);
    writer->connection.reset();
  }
  std::lock_guard lock(impl_->read_mu);
  impl_->reader.reset();
}

std::uint64_t RedisAdapter::producer_nonce() const noexcept { return impl_->ids.nonce; }

std::size_t RedisAdapter::max_event_size() const {
  // Redis refuses a bulk argument over proto-max-bulk-len (512 MiB by
  // default) and closes the connection; the envelope and the command need room.
  return (std::size_t{512} << 20) - 1024;
}

std::string RedisAdapter::stream_key(std::uint16_t shard_id) const { return impl_->keys.at(shard_id); }

}  // namespace net::brokers
