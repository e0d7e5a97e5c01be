#include <stdexcept>

#include "memext/slabs.h"

namespace memext {

SlabClassTable::SlabClassTable(const EngineConfig& config)
    : classes_(kMaxSlabClasses),
      item_size_max_(config.item_size_max),
      slab_page_size_(config.slab_page_size),
      slab_chunk_max_(config.slab_chunk_max) {
  // memcached's slabs_init(): sizes grow by the factor with the product
  // truncated to an integer, each rounded up to 8 bytes, until the next one
  // would pass slab_chunk_max / factor; the last class is slab_chunk_max.
  constexpr uint32_t kChunkAlign = 8;
  uint32_t size = kItemHeaderSize + config.chunk_min_size;
  uint32_t id = 0;
  while (++id < kMaxSlabClasses - 1) {
    if (size >= config.slab_chunk_max / config.growth_factor) break;
    if (size % kChunkAlign) size += kChunkAlign - (size % kChunkAlign);
    classes_[id].size = size;
    classes_[id].perslab = config.slab_page_size / size;
    size = static_cast<uint32_t>(size * config.growth_factor);
  }
  largest_ = static_cast<uint8_t>(id);
  classes_[id].size = config.slab_chunk_max;
  classes_[id].perslab = config.slab_page_size / config.slab_chunk_max;
  classes_.resize(id + 1);
}

}  // namespace memext
