// One blocking hiredis connection: URL parsing (redis://[user:password@]host
// [:port][/db] and unix:///path[?db=N]), connect with a timeout, AUTH, SELECT
// and PING, RESP command encoding, and replies that free themselves.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace net::brokers {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  ///< non-empty: connect to this socket instead
  std::string username;
  std::string password;
  int db = 0;
};

// Throws Error(Connection, "connection error: <why>") for a URL it cannot use.
RedisEndpoint parse_redis_url(std::string_view url);

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using RedisReply = std::unique_ptr<redisReply, ReplyDeleter>;

// Appends one command in RESP to `out`.
class RespCommand {
 public:
  RespCommand(std::string& out, std::size_t argument_count);
  RespCommand& arg(std::string_view value);
  RespCommand& arg(std::uint64_t value);

 private:
  std::string& out_;
};

class RedisConnection {
 public:
  // Connects, authenticates, selects the db and sends PING. Throws
  // Error(Connection, "connection error: <why> (os error N)").
  RedisConnection(const RedisEndpoint& endpoint, std::chrono::milliseconds connect_timeout,
                  std::chrono::milliseconds command_timeout);

  // Queues RESP-encoded commands; nothing is sent until a reply is read.
  void append(std::string_view commands);
  // Sends RESP-encoded commands now, straight from `commands` (hiredis's own
  // buffer would copy them and shift its remainder after every partial write).
  void send(std::string_view commands);
  // The next reply. Throws Error(Connection) on I/O failure or timeout, after
  // which the connection is broken() and must be replaced.
  RedisReply reply();
  // One command, one reply; throws Error(Connection) also for an error reply.
  RedisReply command(std::string_view resp);
  bool broken() const noexcept;

 private:
  [[noreturn]] void fail_io();
  struct ContextDeleter {
    void operator()(redisContext* context) const noexcept { redisFree(context); }
  };
  std::unique_ptr<redisContext, ContextDeleter> context_;
};

// "connection error: <hiredis's text> (os error N)", the os error when the
// text is one of strerror's.
std::string connection_error_text(std::string_view detail);

}  // namespace net::brokers
