// Anonymous mappings populated up front: one mmap call faults in every page,
// far cheaper than a page fault per 4 KiB on first write.
#include "net/core/page_buffer.hpp"

#include <sys/mman.h>

#include <new>

namespace net {

void PageBufferDeleter::operator()(void* data) const noexcept {
  const auto* header = static_cast<const std::size_t*>(data) - kHeaderWords;
  munmap(const_cast<std::size_t*>(header), header[0]);
}

PageBuffer allocate_pages(std::size_t size, bool populate) {
  const std::size_t length = size + kHeaderWords * sizeof(std::size_t);
  void* mapping =
      mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
  if (mapping == MAP_FAILED) throw std::bad_alloc();
  auto* header = static_cast<std::size_t*>(mapping);
  header[0] = length;
  return PageBuffer(reinterpret_cast<char*>(header + kHeaderWords));
}

}  // namespace net
