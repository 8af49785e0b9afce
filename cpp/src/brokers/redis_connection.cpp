#include "brokers/redis_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "net/core/error.hpp"

namespace net::brokers {
namespace {

[[noreturn]] void fail(std::string_view detail) { throw Error(ErrorKind::Connection, connection_error_text(detail)); }

std::optional<int> parse_int(std::string_view text, int max) {
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < 0 || value > max) {
    return std::nullopt;
  }
  return value;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int byte = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, byte, 16).ptr == text.data() + i + 3) {
      out += static_cast<char>(byte);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

std::string connection_error_text(std::string_view detail) {
  std::string text = "connection error: " + std::string(detail);
  for (int err = 1; err < 134; ++err) {
    if (detail == std::strerror(err)) return text + " (os error " + std::to_string(err) + ")";
  }
  return text;
}

RedisEndpoint parse_redis_url(std::string_view url) {
  RedisEndpoint endpoint;
  if (url.starts_with("unix://")) {
    std::string_view rest = url.substr(7);
    if (const auto query = rest.find('?'); query != std::string_view::npos) {
      const std::string_view params = rest.substr(query + 1);
      rest = rest.substr(0, query);
      if (!params.starts_with("db=") || !parse_int(params.substr(3), 1 << 20))
        fail("invalid database in " + std::string(url));
      endpoint.db = *parse_int(params.substr(3), 1 << 20);
    }
    if (rest.empty()) fail("missing socket path in " + std::string(url));
    endpoint.unix_path = std::string(rest);
    return endpoint;
  }
  if (url.starts_with("rediss://")) fail("TLS (rediss://) is not supported by this build");
  if (!url.starts_with("redis://")) fail("invalid URL, expected redis:// or unix://: " + std::string(url));
  std::string_view rest = url.substr(8);
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      const auto number = parse_int(db, 1 << 20);
      if (!number) fail("invalid database in " + std::string(url));
      endpoint.db = *number;
    }
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = credentials.find(':');
    endpoint.username = percent_decode(credentials.substr(0, colon));
    if (colon != std::string_view::npos) endpoint.password = percent_decode(credentials.substr(colon + 1));
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {  // [IPv6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) fail("invalid host in " + std::string(url));
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') fail("invalid host in " + std::string(url));
      port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) fail("missing host in " + std::string(url));
  endpoint.host = std::string(host);
  if (!port.empty()) {
    const auto number = parse_int(port, 65535);
    if (!number || *number == 0) fail("invalid port in " + std::string(url));
    endpoint.port = *number;
  }
  return endpoint;
}

RespCommand::RespCommand(std::string& out, std::size_t argument_count) : out_(out) {
  out_ += '*';
  out_ += std::to_string(argument_count);
  out_ += "\r\n";
}

RespCommand& RespCommand::arg(std::string_view value) {
  char length[24];
  length[0] = '$';
  const auto [end, ec] = std::to_chars(length + 1, length + sizeof length, value.size());
  out_.append(length, end);
  out_ += "\r\n";
  out_ += value;
  out_ += "\r\n";
  return *this;
}

RespCommand& RespCommand::arg(std::uint64_t value) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  return arg(std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

RedisConnection::RedisConnection(const RedisEndpoint& endpoint, std::chrono::milliseconds connect_timeout,
                                 std::chrono::milliseconds command_timeout) {
  const timeval connect_tv = to_timeval(connect_timeout);
  context_.reset(endpoint.unix_path.empty() ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, connect_tv)
                                            : redisConnectUnixWithTimeout(endpoint.unix_path.c_str(), connect_tv));
  if (!context_) fail("out of memory");
  if (context_->err != 0) fail(context_->errstr);
  if (redisSetTimeout(context_.get(), to_timeval(command_timeout)) != REDIS_OK) fail_io();
  std::string setup;
  if (!endpoint.password.empty()) {
    if (endpoint.username.empty()) {
      RespCommand(setup, 2).arg("AUTH").arg(endpoint.password);
    } else {
      RespCommand(setup, 3).arg("AUTH").arg(endpoint.username).arg(endpoint.password);
    }
  }
  if (endpoint.db != 0) RespCommand(setup, 2).arg("SELECT").arg(static_cast<std::uint64_t>(endpoint.db));
  RespCommand(setup, 1).arg("PING");
  append(setup);
  std::size_t replies = (endpoint.password.empty() ? 0 : 1) + (endpoint.db != 0 ? 1 : 0) + 1;
  while (replies-- > 0) {
    RedisReply r = reply();
    if (r->type == REDIS_REPLY_ERROR) fail(std::string_view(r->str, r->len));
  }
}

void RedisConnection::append(std::string_view commands) {
  if (redisAppendFormattedCommand(context_.get(), commands.data(), commands.size()) != REDIS_OK) fail_io();
}

void RedisConnection::send(std::string_view commands) {
  while (!commands.empty()) {
    const ssize_t n = ::send(context_->fd, commands.data(), commands.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      context_->err = REDIS_ERR_IO;
      std::snprintf(context_->errstr, sizeof context_->errstr, "%s",
                    errno == EAGAIN || errno == EWOULDBLOCK ? "Redis command timeout" : std::strerror(errno));
      fail_io();
    }
    commands.remove_prefix(static_cast<std::size_t>(n));
  }
}

RedisReply RedisConnection::reply() {
  void* raw = nullptr;
  if (context_->err != 0 || redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) fail_io();
  return RedisReply(static_cast<redisReply*>(raw));
}

RedisReply RedisConnection::command(std::string_view resp) {
  append(resp);
  RedisReply r = reply();
  if (r->type == REDIS_REPLY_ERROR) throw Error(ErrorKind::Connection, "redis error: " + std::string(r->str, r->len));
  return r;
}

bool RedisConnection::broken() const noexcept { return !context_ || context_->err != 0; }

void RedisConnection::fail_io() {
  std::string why = context_->err != 0 ? context_->errstr : "I/O error";
  if (context_->err == 0) context_->err = REDIS_ERR_IO;  // never reuse a half-read stream
  if (why == "Resource temporarily unavailable") why = "Redis command timeout";
  fail(why);
}

}  // namespace net::brokers
