// Large buffers mapped straight from the kernel, optionally with every page
// faulted in by one call instead of one fault per 4 KiB on first write.
// Buffers of 2 MiB and more are aligned to 2 MiB and asked to be backed by
// transparent huge pages: one fault then maps 2 MiB, about six times cheaper
// than 512 small faults.
#pragma once

#include <cstddef>
#include <memory>

namespace net {

struct PageBufferDeleter {
  std::size_t length = 0;  ///< of the whole mapping, which starts at the data
  void operator()(char* data) const noexcept;
};

using PageBuffer = std::unique_ptr<char[], PageBufferDeleter>;

inline constexpr std::size_t kHugePageSize = std::size_t{2} << 20;

// Zero-filled, at least 4 KiB aligned. Throws std::bad_alloc on failure.
PageBuffer allocate_pages(std::size_t size, bool populate);

// How long the mapping of allocate_pages(size) is.
std::size_t mapped_length(std::size_t size) noexcept;

// The storage of PageAllocator arrays of `size` bytes (2 MiB and more):
// exactly 2 MiB is a ChunkPool chunk, larger is allocate_pages.
char* allocate_array_pages(std::size_t size);
void free_array_pages(char* data, std::size_t size) noexcept;

// An allocator for large growing arrays (std::vector): from 2 MiB on their
// storage is huge pages, below that the heap's.
template <class T>
struct PageAllocator {
  using value_type = T;
  PageAllocator() = default;
  template <class U>
  PageAllocator(const PageAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n * sizeof(T) < kHugePageSize) return std::allocator<T>().allocate(n);
    return reinterpret_cast<T*>(allocate_array_pages(n * sizeof(T)));
  }
  void deallocate(T* data, std::size_t n) noexcept {
    if (n * sizeof(T) < kHugePageSize) return std::allocator<T>().deallocate(data, n);
    free_array_pages(reinterpret_cast<char*>(data), n * sizeof(T));
  }
  friend bool operator==(const PageAllocator&, const PageAllocator&) noexcept { return true; }
};

}  // namespace net
