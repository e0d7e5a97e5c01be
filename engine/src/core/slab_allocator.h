// core/slab_allocator.h — memcached's slab page and chunk accounting.
//
// No bytes are handed out here: the allocator counts pages per class and
// chunks in use exactly as memcached's slabs.c would, so the item layer can
// charge each item its chunk(s) and learn when memory is exhausted. Pages
// come from the global page pool first, otherwise they are "malloced" under
// memcached's rule: a class may always get its first page, further pages
// only while total_malloced + page <= limit. Pages never move back between
// classes (memcached's slab rebalancer/automover is not modelled). Not
// thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "memext/config.h"
#include "memext/slabs.h"

namespace memext::core {

class SlabAllocator {
 public:
  struct ClassState {
    uint64_t pages = 0;
    uint64_t used_chunks = 0;
    uint64_t requested = 0;  // bytes asked for by the chunks in use
  };

  SlabAllocator(const EngineConfig& config, const SlabClassTable& classes)
      : classes_(classes), mem_limit_(config.memory_limit), state_(kMaxSlabClasses) {
    // memcached's do_slabs_newslab: pages are a full slab_page_size unless the
    // page holds exactly one largest chunk size, then perslab * size.
    full_pages_ = classes.slab_chunk_max() != classes.slab_page_size();
    // memcached with extstore calls slabs_prefill_global(): all of -m is
    // malloced up front into the global page pool, which the classes (and
    // the extstore slab automover) then draw from.
    if (config.ext.enabled()) {
      while (mem_malloced_ < mem_limit_) {
        mem_malloced_ += classes.slab_page_size();
        ++global_pool_pages_;
      }
    }
  }

  // memcached's slabs_alloc: a free chunk of class `id`, growing the class by
  // one page when it has none. False when the class cannot grow.
  bool alloc(uint32_t id, uint32_t requested) {
    ClassState& cls = state_[id];
    if (cls.used_chunks == cls.pages * classes_[id].perslab && !new_page(id)) return false;
    ++cls.used_chunks;
    cls.requested += requested;
    return true;
  }

  void free(uint32_t id, uint32_t requested) {
    ClassState& cls = state_[id];
    --cls.used_chunks;
    cls.requested -= requested;
  }

  const ClassState& state(uint32_t id) const { return state_[id]; }
  uint64_t total_malloced() const { return mem_malloced_; }
  uint64_t global_page_pool() const { return global_pool_pages_; }
  bool mem_limit_reached() const { return mem_limit_reached_; }

 private:
  bool new_page(uint32_t id) {
    ClassState& cls = state_[id];
    const uint64_t len = full_pages_ ? classes_.slab_page_size()
                                     : uint64_t{classes_[id].size} * classes_[id].perslab;
    if (mem_limit_ != 0 && mem_malloced_ + len > mem_limit_ && cls.pages > 0 &&
        global_pool_pages_ == 0) {
      mem_limit_reached_ = true;
      return false;
    }
    if (global_pool_pages_ > 0) {
      --global_pool_pages_;
    } else {
      mem_malloced_ += len;
    }
    ++cls.pages;
    return true;
  }

  const SlabClassTable& classes_;
  uint64_t mem_limit_;
  bool full_pages_ = true;
  std::vector<ClassState> state_;
  uint64_t mem_malloced_ = 0;
  uint64_t global_pool_pages_ = 0;  // pages malloced but not given to a class
  bool mem_limit_reached_ = false;
};

}  // namespace memext::core
