// A new nonce is written to a temporary file in the same directory, synced,
// then renamed into place, so a crash leaves either no file or a whole one.
#include "net/brokers/producer_nonce.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>

#include "net/core/error.hpp"

namespace net::brokers {
namespace {

constexpr std::uint8_t kVersion = 0x01;
constexpr std::size_t kFileSize = 9;

std::uint64_t random_nonzero() {
  std::uint64_t nonce = 0;
  while (nonce == 0) randombytes_buf(&nonce, sizeof nonce);
  return nonce;
}

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error(ErrorKind::InvalidConfig, "failed to load/create producer-nonce file at " + path + ": " + why);
}

std::string os_error(int err) { return std::string(std::strerror(err)) + " (os error " + std::to_string(err) + ")"; }

// The whole file, or nullopt if it does not exist.
std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail(path, os_error(errno));
  }
  std::string bytes(kFileSize + 1, '\0');
  std::size_t got = 0;
  for (;;) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail(path, os_error(err));
    }
    if (n == 0 || (got += static_cast<std::size_t>(n)) == bytes.size()) break;
  }
  ::close(fd);
  bytes.resize(got);
  return bytes;
}

void write_atomically(const std::string& path, const std::array<std::uint8_t, kFileSize>& bytes) {
  const std::filesystem::path target(path);
  std::string name = target.filename().string();
  name.append(".tmp.").append(std::to_string(::getpid())).append(".").append(std::to_string(random_nonzero()));
  const std::string temp = (target.parent_path() / name).string();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, os_error(errno));
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int rename_err = ok ? errno : err;
    ::unlink(temp.c_str());
    fail(path, os_error(rename_err));
  }
  // The rename itself is durable once the directory is synced.
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

std::uint64_t process_nonce() {
  static const std::uint64_t nonce = random_nonzero();
  return nonce;
}

ProducerIds producer_ids(const std::optional<std::string>& nonce_path) {
  if (!nonce_path) return {process_nonce(), 0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {load_or_create_nonce(*nonce_path),
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count())};
}

std::uint64_t load_or_create_nonce(const std::string& path) {
  if (const auto bytes = read_file(path)) {
    if (bytes->size() != kFileSize) fail(path, "expected 9 bytes, found " + std::to_string(bytes->size()));
    if (static_cast<std::uint8_t>((*bytes)[0]) != kVersion)
      fail(path, "unknown version " + std::to_string((*bytes)[0]));
    std::uint64_t nonce = 0;
    for (int i = 7; i >= 0; --i) nonce = (nonce << 8) | static_cast<std::uint8_t>((*bytes)[1 + i]);
    return nonce;
  }
  const std::uint64_t nonce = random_nonzero();
  std::array<std::uint8_t, kFileSize> bytes{kVersion};
  for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<std::uint8_t>(nonce >> (8 * i));
  write_atomically(path, bytes);
  return nonce;
}

}  // namespace net::brokers
