// CortEX memories (REFERENCE §11.2, channel "cortex/memories"): the Memory
// record, its filter, the fold of Stored/Retagged/Pinned/Unpinned/Deleted
// events, and MemoriesAdapter, whose writes append those events.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/cortex/adapter.hpp"
#include "net/cortex/postcard.hpp"
#include "net/cortex/query.hpp"

namespace net::cortex {

struct Memory {
  std::uint64_t id = 0;
  std::string content;
  std::vector<std::string> tags;
  std::string source;
  std::uint64_t created_ns = 0;
  std::uint64_t updated_ns = 0;
  bool pinned = false;
  bool operator==(const Memory&) const = default;
};

struct MemoryFilter {
  std::optional<std::string> source;            ///< exact
  std::optional<std::string> content_contains;  ///< lowercase
  std::optional<std::string> tag;
  std::vector<std::string> any_tag;   ///< empty: no constraint
  std::vector<std::string> all_tags;  ///< empty: no constraint
  std::optional<bool> pinned;
  TimeBounds times;
  OrderBy order_by = OrderBy::IdAsc;
  std::optional<std::uint32_t> limit;
};

struct MemoriesModel {
  using Record = Memory;
  using Filter = MemoryFilter;
  static constexpr const char* kChannel = "cortex/memories";
  static constexpr const char* kAdapter = "MemoriesAdapter";
  enum Dispatch : std::uint8_t { kStored = 0x10, kRetagged = 0x11, kPinned = 0x12, kUnpinned = 0x13, kDeleted = 0x14 };

  static bool apply(RecordMap<Memory>& state, std::uint8_t dispatch, PostcardReader& tail);
  template <class Writer>  // PostcardSizer or PostcardPlacer (snapshots)
  static void write(Writer& out, const Memory& memory);
  static Memory read(PostcardReader& in);
  static bool matches(const Memory& memory, const MemoryFilter& filter);
};

class MemoriesAdapter final : public Adapter<MemoriesModel> {
 public:
  // Error(Cortex, "MemoriesAdapter open failed: ...").
  static std::shared_ptr<MemoriesAdapter> open(redex::Redex& redex, std::uint64_t origin_hash, bool persistent);
  // Error(Cortex, "MemoriesAdapter open_from_snapshot failed: ...").
  static std::shared_ptr<MemoriesAdapter> open_from_snapshot(redex::Redex& redex, std::uint64_t origin_hash,
                                                             const Snapshot& from, bool persistent);

  std::uint64_t store(std::uint64_t id, std::string_view content, std::span<const std::string> tags,
                      std::string_view source, std::uint64_t now_ns);
  std::uint64_t retag(std::uint64_t id, std::span<const std::string> tags, std::uint64_t now_ns);
  std::uint64_t pin(std::uint64_t id, std::uint64_t now_ns);
  std::uint64_t unpin(std::uint64_t id, std::uint64_t now_ns);
  std::uint64_t remove(std::uint64_t id);  ///< the original's delete

  MemoriesAdapter(redex::Redex& redex, std::uint64_t origin_hash, bool persistent, const Snapshot* from)
      : Adapter(redex, origin_hash, persistent, from) {}
};

}  // namespace net::cortex
