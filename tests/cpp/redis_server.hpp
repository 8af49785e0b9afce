// A real redis-server for a test: started on a free loopback port in a
// temporary directory (append-only file on), stopped by pid.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "brokers/redis_connection.hpp"
#include "net/core/error.hpp"

namespace net::test {

class RedisServer {
 public:
  RedisServer() : dir_(std::filesystem::temp_directory_path() / ("net-redis-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    start();
  }
  ~RedisServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--dir", dir_.c_str(),
               "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--loglevel", "warning", "--logfile",
               "redis.log", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 500; ++i) {  // up to 5 s for it to answer
      try {
        brokers::RedisConnection probe(brokers::parse_redis_url(url()), std::chrono::milliseconds(200),
                                       std::chrono::milliseconds(200));
        return;
      } catch (const Error&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    throw std::runtime_error("redis-server did not start");
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);  // a clean shutdown flushes the append-only file
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace net::test
