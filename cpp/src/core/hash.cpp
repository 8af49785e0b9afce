// XXH3 from libxxhash, inlined into this one translation unit.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "net/core/hash.hpp"

namespace net {

std::uint64_t xxh3_64(const void* data, std::size_t size) noexcept { return XXH3_64bits(data, size); }

}  // namespace net
