// Large buffers mapped straight from the kernel, optionally with every page
// faulted in by one call (MAP_POPULATE) instead of one fault per 4 KiB write.
#pragma once

#include <cstddef>
#include <memory>

namespace net {

struct PageBufferDeleter {
  void operator()(void* data) const noexcept;
};

using PageBuffer = std::unique_ptr<char[], PageBufferDeleter>;

// 16-byte aligned, zero-filled. Throws std::bad_alloc on failure.
PageBuffer allocate_pages(std::size_t size, bool populate);

inline constexpr std::size_t kHeaderWords = 2;  ///< mapping length + padding before the data

}  // namespace net
