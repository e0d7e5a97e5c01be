// memext/slabs.h — memcached's slab class geometry.
//
// The table of chunk sizes that `memcached -vv` prints: class 1 holds a
// 48-byte item header plus -n bytes, each next class is -f times larger
// (8-byte aligned) until slab_chunk_max / f, and the last class is
// slab_chunk_max. Immutable after construction; thread-safe to share.
#pragma once

#include <cstdint>
#include <vector>

#include "memext/config.h"

namespace memext {

// memcached's sizeof(item) on 64-bit builds, and its chunk header (item_chunk).
inline constexpr uint32_t kItemHeaderSize = 48;
inline constexpr uint32_t kItemChunkHeaderSize = 48;
inline constexpr uint32_t kCasSize = 8;
inline constexpr uint32_t kClientFlagsSize = 4;   // stored only when flags != 0
inline constexpr uint32_t kItemHdrDataSize = 12;  // extstore's item_hdr payload
inline constexpr uint32_t kKeyMaxLength = 250;
inline constexpr uint32_t kMaxSlabClasses = 64;  // memcached's MAX_NUMBER_OF_SLAB_CLASSES

struct SlabClassInfo {
  uint32_t size = 0;     // chunk size in bytes
  uint32_t perslab = 0;  // chunks per page
};

class SlabClassTable {
 public:
  explicit SlabClassTable(const EngineConfig& config);

  // memcached's slabs_clsid(): the smallest class whose chunk holds `size`,
  // largest() for sizes above slab_chunk_max (chunked), 0 when size is 0 or
  // above item_size_max.
  uint8_t clsid(uint64_t size) const {
    if (size == 0 || size > item_size_max_) return 0;
    if (size >= classes_[largest_].size) return largest_;
    // Chunk sizes strictly increase with the class id: binary search.
    uint32_t low = 1, high = largest_;
    while (low < high) {
      const uint32_t mid = (low + high) / 2;
      if (classes_[mid].size < size) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return static_cast<uint8_t>(low);
  }

  uint8_t largest() const { return largest_; }  // memcached's power_largest
  const SlabClassInfo& operator[](uint32_t id) const { return classes_[id]; }
  uint32_t slab_page_size() const { return slab_page_size_; }
  uint32_t slab_chunk_max() const { return slab_chunk_max_; }
  // The bytes of one page of class `id` (memcached's do_slabs_newslab): a
  // full slab_page_size, unless the largest chunk size is the page size;
  // then perslab * size.
  uint64_t page_bytes(uint32_t id) const {
    if (slab_chunk_max_ != slab_page_size_) return slab_page_size_;
    return uint64_t{classes_[id].size} * classes_[id].perslab;
  }
  // What preallocating one page per class takes (slab_prealloc).
  uint64_t prealloc_bytes() const {
    uint64_t sum = 0;
    for (uint32_t id = 1; id <= largest_; ++id) sum += page_bytes(id);
    return sum;
  }

 private:
  std::vector<SlabClassInfo> classes_;  // index 0 unused, like memcached
  uint8_t largest_ = 0;
  uint32_t item_size_max_ = 0;
  uint32_t slab_page_size_ = 0;
  uint32_t slab_chunk_max_ = 0;
};

// memcached's ITEM_ntotal for an item about to be stored: header + key + 1 +
// client flags (when non-zero) + value with its "\r\n" + CAS.
inline uint64_t item_total_size(uint32_t nkey, uint32_t nbytes_with_crlf, uint32_t client_flags,
                                bool use_cas) {
  return uint64_t{kItemHeaderSize} + nkey + 1 + (client_flags != 0 ? kClientFlagsSize : 0) +
         nbytes_with_crlf + (use_cas ? kCasSize : 0);
}

}  // namespace memext
