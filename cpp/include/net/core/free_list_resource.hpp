// FreeListResource: a std::pmr::memory_resource for node-based containers
// used under one lock. Blocks of up to 256 bytes come from per-size free
// lists carved out of 64 KiB slabs, so allocating a node is a pop and freeing
// it a push; larger blocks (a hash map's bucket array) go to operator new.
// Not thread-safe. Freed blocks are reused, and the slabs go back to the
// system when the resource is destroyed.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <memory_resource>
#include <new>
#include <utility>
#include <vector>

namespace net {

class FreeListResource final : public std::pmr::memory_resource {
 public:
  FreeListResource() = default;
  FreeListResource(const FreeListResource&) = delete;
  FreeListResource& operator=(const FreeListResource&) = delete;

 private:
  static constexpr std::size_t kGranule = 16;  ///< size classes step by it; blocks are aligned to it
  static constexpr std::size_t kMaxPooled = 256;
  static constexpr std::size_t kSlabBytes = 64 << 10;

  struct FreeBlock {
    FreeBlock* next;
  };
  struct alignas(kGranule) Granule {
    std::byte bytes[kGranule];
  };

  static std::size_t size_class(std::size_t bytes) noexcept { return bytes == 0 ? 0 : (bytes - 1) / kGranule; }

  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    if (bytes > kMaxPooled || alignment > kGranule) return ::operator new(bytes, std::align_val_t(alignment));
    FreeBlock*& head = free_[size_class(bytes)];
    if (head != nullptr) return std::exchange(head, head->next);
    const std::size_t granules = size_class(bytes) + 1;
    if (slab_left_ < granules) {
      slabs_.push_back(std::make_unique_for_overwrite<Granule[]>(kSlabBytes / kGranule));
      slab_next_ = slabs_.back().get();
      slab_left_ = kSlabBytes / kGranule;
    }
    slab_left_ -= granules;
    return std::exchange(slab_next_, slab_next_ + granules);
  }

  void do_deallocate(void* block, std::size_t bytes, std::size_t alignment) override {
    if (bytes > kMaxPooled || alignment > kGranule) return ::operator delete(block, std::align_val_t(alignment));
    FreeBlock*& head = free_[size_class(bytes)];
    head = ::new (block) FreeBlock{head};
  }

  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  std::array<FreeBlock*, kMaxPooled / kGranule> free_{};
  std::vector<std::unique_ptr<Granule[]>> slabs_;
  Granule* slab_next_ = nullptr;
  std::size_t slab_left_ = 0;  ///< granules
};

}  // namespace net
