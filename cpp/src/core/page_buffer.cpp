// Anonymous mappings, huge-page backed from 2 MiB on, populated up front on
// request.
#include "net/core/page_buffer.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <new>

#include "net/core/chunk_pool.hpp"

namespace net {

namespace {

constexpr std::size_t kSmallPageSize = 4096;

void* map_anonymous(std::size_t length, int extra_flags) {
  void* mapping = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
  if (mapping == MAP_FAILED) throw std::bad_alloc();
  return mapping;
}

// Maps `length` (a multiple of 2 MiB) at a 2 MiB boundary: over-maps by one
// huge page and gives back the unaligned head and tail.
char* map_huge_aligned(std::size_t length) {
  char* mapping = static_cast<char*>(map_anonymous(length + kHugePageSize, 0));
  const auto address = reinterpret_cast<std::uintptr_t>(mapping);
  char* aligned = mapping + ((kHugePageSize - address % kHugePageSize) % kHugePageSize);
  if (aligned > mapping) munmap(mapping, static_cast<std::size_t>(aligned - mapping));
  char* end = mapping + length + kHugePageSize;
  if (aligned + length < end) munmap(aligned + length, static_cast<std::size_t>(end - (aligned + length)));
  madvise(aligned, length, MADV_HUGEPAGE);  // a hint: without THP the pages are small
  return aligned;
}

// Faults every page in now. MADV_POPULATE_WRITE needs Linux 5.14; before that
// one write per small page does the same.
void populate_pages(char* data, std::size_t length) {
  if (madvise(data, length, MADV_POPULATE_WRITE) == 0) return;
  for (std::size_t offset = 0; offset < length; offset += kSmallPageSize) {
    *static_cast<volatile char*>(data + offset) = 0;
  }
}

}  // namespace

void PageBufferDeleter::operator()(char* data) const noexcept { munmap(data, length); }

std::size_t mapped_length(std::size_t size) noexcept {
  const std::size_t page = size < kHugePageSize ? kSmallPageSize : kHugePageSize;
  return (std::max<std::size_t>(size, 1) + page - 1) / page * page;
}

PageBuffer allocate_pages(std::size_t size, bool populate) {
  const std::size_t length = mapped_length(size);
  if (size < kHugePageSize) {
    return PageBuffer(static_cast<char*>(map_anonymous(length, populate ? MAP_POPULATE : 0)),
                      PageBufferDeleter{length});
  }
  char* data = map_huge_aligned(length);
  PageBuffer buffer(data, PageBufferDeleter{length});
  if (populate) populate_pages(data, length);
  return buffer;
}

char* allocate_array_pages(std::size_t size) {
  if (size == ChunkPool::kChunkSize) return ChunkPool::instance().acquire().release();
  return allocate_pages(size, false).release();
}

void free_array_pages(char* data, std::size_t size) noexcept {
  PageBuffer pages(data, PageBufferDeleter{mapped_length(size)});
  if (size == ChunkPool::kChunkSize) ChunkPool::instance().release(std::move(pages));
}

}  // namespace net
