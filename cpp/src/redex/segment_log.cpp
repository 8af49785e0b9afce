#include "segment_log.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "net/core/error.hpp"
#include "net/core/hash.hpp"

namespace net::redex {
namespace {

constexpr char kFileHeader[8] = {'R', 'E', 'D', 'E', 'X', 'v', '1', '\n'};
constexpr std::uint32_t kRecordMagic = 0x31305852;  // "RX01"

[[noreturn]] void throw_io(const std::string& what, const std::filesystem::path& path) {
  throw Error(ErrorKind::Redex, "io: " + what + " " + path.string() + ": " + std::strerror(errno));
}

std::string segment_name(std::uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.log", static_cast<unsigned long long>(first_seq));
  return name;
}

void fsync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void encode_header(std::uint8_t* out, const RecordView& record) {
  store_le(out, kRecordMagic);
  store_le(out + 4, static_cast<std::uint32_t>(record.payload.size()));
  store_le(out + 8, record.seq);
  store_le(out + 16, record.timestamp_ns);
  store_le(out + 24, xxh3_64(record.payload.data(), record.payload.size()));
  store_le(out + 32, static_cast<std::uint32_t>(xxh3_64(out, 32)));
}

bool header_valid(const std::uint8_t* at) {
  return load_le<std::uint32_t>(at) == kRecordMagic &&
         load_le<std::uint32_t>(at + 32) == static_cast<std::uint32_t>(xxh3_64(at, 32));
}

Bytes read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_io("open", path);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    throw_io("stat", path);
  }
  Bytes bytes(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      ::close(fd);
      throw_io("read", path);
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return bytes;
}

}  // namespace

SegmentLog::SegmentLog(std::filesystem::path directory, std::vector<Record>& recovered)
    : directory_(std::move(directory)) {
  std::error_code error;
  std::filesystem::create_directories(directory_, error);
  if (error) throw Error(ErrorKind::Redex, "io: create " + directory_.string() + ": " + error.message());
  for (const auto& item : std::filesystem::directory_iterator(directory_)) {
    const std::string name = item.path().filename().string();
    std::uint64_t first_seq = 0;
    const char* digits_end = name.data() + 20;
    if (name.size() != 24 || !name.ends_with(".log") || !item.is_regular_file() ||
        std::from_chars(name.data(), digits_end, first_seq).ptr != digits_end) {
      continue;  // not a segment (a sub-channel's directory, a stray file)
    }
    segments_.push_back({item.path(), first_seq, 0, 0});
  }
  std::sort(segments_.begin(), segments_.end(), [](const auto& a, const auto& b) { return a.first_seq < b.first_seq; });
  for (std::size_t i = 0; i < segments_.size(); ++i) recover(segments_[i], i + 1 == segments_.size(), recovered);
  if (segments_.empty()) {
    open_active(0);
  } else {
    fd_ = ::open(segments_.back().path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) throw_io("open", segments_.back().path);
    struct stat info {};
    ::fstat(fd_, &info);
    active_bytes_ = static_cast<std::uint64_t>(info.st_size);
  }
}

SegmentLog::~SegmentLog() {
  if (fd_ >= 0) ::close(fd_);
}

void SegmentLog::recover(Segment& segment, bool last, std::vector<Record>& out) {
  const Bytes bytes = read_file(segment.path);
  std::size_t valid_end = sizeof kFileHeader;
  if (bytes.size() < sizeof kFileHeader || std::memcmp(bytes.data(), kFileHeader, sizeof kFileHeader) != 0) {
    ++corrupt_;  // no header: nothing here can be trusted
    valid_end = 0;
  } else {
    std::size_t at = sizeof kFileHeader;
    while (at + kRecordHeaderSize <= bytes.size()) {
      if (!header_valid(bytes.data() + at)) {
        // Resync on the next valid header; without one, the rest is a torn tail.
        std::size_t next = at + 1;
        while (next + kRecordHeaderSize <= bytes.size() && !header_valid(bytes.data() + next)) ++next;
        if (next + kRecordHeaderSize > bytes.size()) break;
        ++corrupt_;
        at = next;
        continue;
      }
      const std::uint8_t* header = bytes.data() + at;
      const std::size_t length = load_le<std::uint32_t>(header + 4);
      if (at + kRecordHeaderSize + length > bytes.size()) break;  // torn: the payload never made it
      Record record;
      record.seq = load_le<std::uint64_t>(header + 8);
      record.timestamp_ns = load_le<std::uint64_t>(header + 16);
      const std::uint8_t* payload = header + kRecordHeaderSize;
      at += kRecordHeaderSize + length;
      valid_end = at;
      const bool in_order = out.empty() || record.seq > out.back().seq;
      if (xxh3_64(payload, length) != load_le<std::uint64_t>(header + 24) || !in_order) {
        ++corrupt_;
        continue;
      }
      record.payload.assign(payload, payload + length);
      if (segment.records++ == 0) segment.first_seq = std::min(segment.first_seq, record.seq);
      segment.last_seq = record.seq;
      out.push_back(std::move(record));
    }
  }
  if (last && (valid_end == 0 || valid_end < bytes.size())) {
    // A torn tail: cut it so new records follow the last whole one (after a
    // file header, written anew when it was missing).
    if (valid_end == 0) {
      const int fd = ::open(segment.path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
      if (fd < 0 || ::write(fd, kFileHeader, sizeof kFileHeader) != sizeof kFileHeader || ::fsync(fd) != 0) {
        throw_io("rewrite", segment.path);
      }
      ::close(fd);
    } else if (::truncate(segment.path.c_str(), static_cast<off_t>(valid_end)) != 0) {
      throw_io("truncate", segment.path);
    }
  }
}

void SegmentLog::open_active(std::uint64_t first_seq) {
  if (fd_ >= 0) {
    if (::fdatasync(fd_) != 0) throw_io("fdatasync", segments_.back().path);  // the segment it leaves
    ::close(fd_);
  }
  Segment segment{directory_ / segment_name(first_seq), first_seq, 0, 0};
  fd_ = ::open(segment.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_io("create", segment.path);
  if (::write(fd_, kFileHeader, sizeof kFileHeader) != sizeof kFileHeader || ::fdatasync(fd_) != 0) {
    throw_io("write", segment.path);
  }
  fsync_directory(directory_);
  active_bytes_ = sizeof kFileHeader;
  segments_.push_back(std::move(segment));
}

void SegmentLog::append(std::span<const RecordView> records) {
  if (broken_)
    throw Error(ErrorKind::Redex, "io: " + segments_.back().path.string() + ": unusable after a failed write");
  constexpr std::size_t kPerCall = 512;  // two iovecs each, within IOV_MAX
  std::vector<std::uint8_t> headers(kRecordHeaderSize * std::min(records.size(), kPerCall));
  std::vector<iovec> parts;
  while (!records.empty()) {
    if (active_bytes_ >= kSegmentBytes) open_active(records.front().seq);
    const auto run = records.first(std::min(records.size(), kPerCall));
    parts.clear();
    std::size_t total = 0;
    for (std::size_t i = 0; i < run.size(); ++i) {
      std::uint8_t* header = headers.data() + i * kRecordHeaderSize;
      encode_header(header, run[i]);
      parts.push_back({header, kRecordHeaderSize});
      if (!run[i].payload.empty()) {
        parts.push_back({const_cast<std::uint8_t*>(run[i].payload.data()), run[i].payload.size()});
      }
      total += kRecordHeaderSize + run[i].payload.size();
    }
    // writev may write less than asked (a signal, a full disk): go on from where it stopped.
    std::size_t written = 0;
    std::size_t first = 0;
    while (written < total) {
      const ssize_t n =
          ::writev(fd_, parts.data() + first, static_cast<int>(std::min<std::size_t>(parts.size() - first, IOV_MAX)));
      if (n < 0) {
        if (errno == EINTR) continue;
        // Cut what part of the run made it, so the seqs never written whole can be written again.
        const int error = errno;
        if (::ftruncate(fd_, static_cast<off_t>(active_bytes_)) != 0) broken_ = true;
        errno = error;
        throw_io("write", segments_.back().path);
      }
      written += static_cast<std::size_t>(n);
      for (std::size_t left = static_cast<std::size_t>(n); left > 0;) {
        const std::size_t take = std::min(left, parts[first].iov_len);
        parts[first].iov_base = static_cast<std::uint8_t*>(parts[first].iov_base) + take;
        parts[first].iov_len -= take;
        left -= take;
        if (parts[first].iov_len == 0) ++first;
      }
    }
    Segment& active = segments_.back();
    if (active.records == 0) active.first_seq = run.front().seq;
    active.records += run.size();
    active.last_seq = run.back().seq;
    active_bytes_ += total;
    records = records.subspan(run.size());
  }
}

std::uint64_t SegmentLog::end_seq() const noexcept {
  std::uint64_t end = 0;
  for (const Segment& segment : segments_)
    end = std::max(end, segment.records ? segment.last_seq + 1 : segment.first_seq);
  return end;
}

void SegmentLog::sync() {
  if (::fdatasync(fd_) != 0) throw_io("fdatasync", segments_.back().path);
}

SegmentLog::DetachedSync SegmentLog::detach_sync() const {
  // A description of its own, not a dup: the kernel reports a writeback
  // error once per open file description, and this one must not take it
  // from a sync through fd_.
  const int fd = ::open(segments_.back().path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw_io("open", segments_.back().path);
  return {fd, segments_.back().path};
}

SegmentLog::DetachedSync::~DetachedSync() { ::close(fd_); }

void SegmentLog::DetachedSync::run() {
  if (::fdatasync(fd_) != 0) throw_io("fdatasync", path_);
}

void SegmentLog::drop_before(std::uint64_t first_retained) {
  while (segments_.size() > 1 && (segments_.front().records == 0 || segments_.front().last_seq < first_retained)) {
    std::error_code ignored;
    std::filesystem::remove(segments_.front().path, ignored);
    segments_.erase(segments_.begin());
  }
}

}  // namespace net::redex
