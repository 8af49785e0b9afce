#include "net/cortex/memories.hpp"

#include <algorithm>

namespace net::cortex {
namespace {

std::vector<std::string> read_tags(PostcardReader& in) {
  std::vector<std::string> tags(in.count("tags"));
  for (auto& tag : tags) tag = in.string("tag");
  return tags;
}

template <class Writer>
void write_tags(Writer& out, std::span<const std::string> tags) {
  out.varint(tags.size());
  for (const auto& tag : tags) out.string(tag);
}

bool has_tag(const Memory& memory, const std::string& tag) {
  return std::find(memory.tags.begin(), memory.tags.end(), tag) != memory.tags.end();
}

// Pinned / Unpinned: set the flag of a known memory.
bool set_pinned(RecordMap<Memory>& state, PostcardReader& tail, bool pinned) {
  const std::uint64_t id = tail.varint("id");
  const std::uint64_t now = tail.varint("now_ns");
  tail.expect_end(pinned ? "Pinned" : "Unpinned");
  const auto it = state.find(id);
  if (it == state.end()) return false;
  it->second.pinned = pinned;
  it->second.updated_ns = now;
  return true;
}

}  // namespace

bool MemoriesModel::apply(RecordMap<Memory>& state, std::uint8_t dispatch, PostcardReader& tail) {
  switch (dispatch) {
    case kStored: {
      const std::uint64_t id = tail.varint("id");
      std::string content = tail.string("content");
      std::vector<std::string> tags = read_tags(tail);
      std::string source = tail.string("source");
      const std::uint64_t now = tail.varint("now_ns");
      tail.expect_end("Stored");
      auto [it, fresh] = state.try_emplace(id);
      Memory& memory = it->second;
      if (fresh) {
        memory.id = id;
        memory.created_ns = now;
      }
      memory.content = std::move(content);
      memory.tags = std::move(tags);
      memory.source = std::move(source);
      memory.updated_ns = now;
      return true;
    }
    case kRetagged: {
      const std::uint64_t id = tail.varint("id");
      std::vector<std::string> tags = read_tags(tail);
      const std::uint64_t now = tail.varint("now_ns");
      tail.expect_end("Retagged");
      const auto it = state.find(id);
      if (it == state.end()) return false;
      it->second.tags = std::move(tags);
      it->second.updated_ns = now;
      return true;
    }
    case kPinned: return set_pinned(state, tail, true);
    case kUnpinned: return set_pinned(state, tail, false);
    case kDeleted: {
      const std::uint64_t id = tail.varint("id");
      tail.expect_end("Deleted");
      return state.erase(id) > 0;
    }
    default: return false;  // unknown events are skipped
  }
}

template <class Writer>
void MemoriesModel::write(Writer& out, const Memory& memory) {
  out.varint(memory.id);
  out.string(memory.content);
  write_tags(out, memory.tags);
  out.string(memory.source);
  out.varint(memory.created_ns);
  out.varint(memory.updated_ns);
  out.boolean(memory.pinned);
}
template void MemoriesModel::write(PostcardSizer&, const Memory&);
template void MemoriesModel::write(PostcardPlacer&, const Memory&);

Memory MemoriesModel::read(PostcardReader& in) {
  Memory memory;
  memory.id = in.varint("memory id");
  memory.content = in.string("memory content");
  memory.tags = read_tags(in);
  memory.source = in.string("memory source");
  memory.created_ns = in.varint("memory created_ns");
  memory.updated_ns = in.varint("memory updated_ns");
  memory.pinned = in.boolean("memory pinned");
  return memory;
}

bool MemoriesModel::matches(const Memory& memory, const MemoryFilter& filter) {
  if ((filter.source && memory.source != *filter.source) || (filter.pinned && memory.pinned != *filter.pinned) ||
      !filter.times.admits(memory) || (filter.tag && !has_tag(memory, *filter.tag))) {
    return false;
  }
  const auto has = [&](const std::string& tag) { return has_tag(memory, tag); };
  if (!filter.any_tag.empty() && std::none_of(filter.any_tag.begin(), filter.any_tag.end(), has)) return false;
  if (!std::all_of(filter.all_tags.begin(), filter.all_tags.end(), has)) return false;
  return !filter.content_contains || contains_lowercase(memory.content, *filter.content_contains);
}

std::shared_ptr<MemoriesAdapter> MemoriesAdapter::open(redex::Redex& redex, std::uint64_t origin_hash,
                                                       bool persistent) {
  return std::make_shared<MemoriesAdapter>(redex, origin_hash, persistent, nullptr);
}

std::shared_ptr<MemoriesAdapter> MemoriesAdapter::open_from_snapshot(redex::Redex& redex, std::uint64_t origin_hash,
                                                                     const Snapshot& from, bool persistent) {
  return std::make_shared<MemoriesAdapter>(redex, origin_hash, persistent, &from);
}

std::uint64_t MemoriesAdapter::store(std::uint64_t id, std::string_view content, std::span<const std::string> tags,
                                     std::string_view source, std::uint64_t now_ns) {
  Bytes& event = begin_event();
  PostcardWriter tail(event);
  tail.varint(id);
  tail.string(content);
  write_tags(tail, tags);
  tail.string(source);
  tail.varint(now_ns);
  return commit_event(MemoriesModel::kStored, event, "store");
}

std::uint64_t MemoriesAdapter::retag(std::uint64_t id, std::span<const std::string> tags, std::uint64_t now_ns) {
  Bytes& event = begin_event();
  PostcardWriter tail(event);
  tail.varint(id);
  write_tags(tail, tags);
  tail.varint(now_ns);
  return commit_event(MemoriesModel::kRetagged, event, "retag");
}

std::uint64_t MemoriesAdapter::pin(std::uint64_t id, std::uint64_t now_ns) {
  return commit_id_event(MemoriesModel::kPinned, id, now_ns, "pin");
}

std::uint64_t MemoriesAdapter::unpin(std::uint64_t id, std::uint64_t now_ns) {
  return commit_id_event(MemoriesModel::kUnpinned, id, now_ns, "unpin");
}

std::uint64_t MemoriesAdapter::remove(std::uint64_t id) {
  return commit_id_event(MemoriesModel::kDeleted, id, std::nullopt, "delete");
}

}  // namespace net::cortex
