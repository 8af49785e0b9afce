// The disk side of a persistent RedEX file (docs/storage.md): a directory of
// segment files "<first seq, 20 digits>.log", each an 8-byte header then
// records of a 36-byte header (magic, length, seq, timestamp, xxh3 of the
// payload, a check of the header itself) and the payload. Recovery keeps
// every record whose checks pass, skips damaged ones (counted), resyncs on
// the next valid header and truncates a torn tail. Not thread-safe: its file
// locks around it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "net/core/bytes.hpp"

namespace net::redex {

struct Record {
  std::uint64_t seq = 0;
  std::uint64_t timestamp_ns = 0;
  Bytes payload;
};

struct RecordView {
  std::uint64_t seq = 0;
  std::uint64_t timestamp_ns = 0;
  ByteView payload;
};

class SegmentLog {
 public:
  static constexpr std::size_t kRecordHeaderSize = 36;
  static constexpr std::uint64_t kSegmentBytes = 64ull << 20;  ///< a segment is closed past this size

  // Opens (creating) the directory and recovers what it holds, in seq order.
  // Errors: Error(Redex, "io: ...").
  SegmentLog(std::filesystem::path directory, std::vector<Record>& recovered);
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Writes the records (seqs increasing) with one writev per 512 records.
  void append(std::span<const RecordView> records);
  void sync();  ///< fdatasync of the active segment

  // The active segment's fdatasync, to run without the file's lock: appends
  // go on meanwhile (a rotation syncs the segment it leaves). It holds a
  // descriptor of the segment opened for it, which run() syncs and the
  // destructor closes; run() throws Error(Redex, "io: ...") when the sync
  // fails.
  class DetachedSync {
   public:
    DetachedSync(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
    DetachedSync(const DetachedSync&) = delete;
    DetachedSync& operator=(const DetachedSync&) = delete;
    ~DetachedSync();
    void run();

   private:
    int fd_;
    std::filesystem::path path_;
  };
  DetachedSync detach_sync() const;
  // Deletes whole segments every record of which has a seq below `first_retained`.
  void drop_before(std::uint64_t first_retained);
  std::uint64_t corrupt_records() const noexcept { return corrupt_; }
  // The seq after the last one the segments have held (a new segment's name
  // keeps it even when every record before was dropped).
  std::uint64_t end_seq() const noexcept;

 private:
  struct Segment {
    std::filesystem::path path;
    std::uint64_t first_seq = 0;
    std::uint64_t last_seq = 0;  ///< valid when records > 0
    std::uint64_t records = 0;
  };
  void recover(Segment& segment, bool last, std::vector<Record>& out);
  void open_active(std::uint64_t first_seq);

  std::filesystem::path directory_;
  std::vector<Segment> segments_;  ///< the last one is active
  int fd_ = -1;                    ///< the active segment, O_APPEND
  std::uint64_t active_bytes_ = 0;
  std::uint64_t corrupt_ = 0;
  bool broken_ = false;  ///< a failed write could not be cut back: nothing more is written
};

}  // namespace net::redex
