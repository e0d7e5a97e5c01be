// core/slab_allocator.h — memcached's slab page and chunk accounting.
//
// No bytes are handed out here: the allocator counts pages per class and
// chunks in use exactly as memcached's slabs.c would, so the item layer can
// charge each item its chunk(s) and learn when memory is exhausted. Pages
// come from the global page pool first, otherwise they are "malloced" under
// memcached's rule: a class may always get its first page, further pages
// only while total_malloced + page <= limit. Not thread-safe.
//
// Page moves (memcached's slabs_reassign and slab_rebalance_*) are modelled
// as accounting too, and that is an approximation: items are malloc-backed
// and nothing records which item sits in which page, so moving a page out
// of class C takes one page worth of free chunks (chunks_per_page) from C.
// memcached instead empties one concrete page, rescuing its live items into
// free chunks elsewhere in C (slab_reassign_rescues) and evicting those that
// find none (slab_reassign_evictions_nomem). A move is therefore allowed only
// while C has at least chunks_per_page free chunks — the case the extstore
// automover picks (classes with plenty of free chunks), where every rescue
// would succeed. Rescues stay 0: relocating an item between chunks of the
// same class changes no count here, and which items would have sat in the
// page is unknown. The caller frees chunks first (evicting COLD tails) when
// it wants to move a page out of a full class.
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

  // memcached's reassign_result_type; kNoFreeChunks is memext's: the model
  // cannot relocate live items, so the source must hold a page of free chunks.
  enum class Reassign : uint8_t { kOk, kBadClass, kNoSpare, kSrcDstSame, kNoFreeChunks };

  // memcached's slab_rebalance counters (`stats` names).
  struct MoveCounters {
    uint64_t slabs_moved = 0;
    uint64_t slab_reassign_rescues = 0;
    uint64_t slab_reassign_evictions_nomem = 0;
  };

  SlabAllocator(const EngineConfig& config, const SlabClassTable& classes)
      : classes_(classes),
        mem_limit_(config.memory_limit),
        release_pages_(config.slab_reassign),
        state_(kMaxSlabClasses) {
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
      mem_limit_reached_ = true;  // as slabs_prefill_global leaves it
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

  // memcached's slabs_reassign(src, dst) followed by the whole rebalance of
  // one page. Class 0 is the global page pool, as source or destination.
  // The source keeps at least one page (REASSIGN_NOSPARE below two).
  Reassign reassign(uint32_t src, uint32_t dst) {
    const uint32_t largest = classes_.largest();
    if (src == dst) return Reassign::kSrcDstSame;
    if (src > largest || dst > largest) return Reassign::kBadClass;
    if (src == 0) {
      if (global_pool_pages_ < 2) return Reassign::kNoSpare;
      --global_pool_pages_;
    } else {
      ClassState& from = state_[src];
      if (from.pages < 2) return Reassign::kNoSpare;
      if (free_chunks(src) < classes_[src].perslab) return Reassign::kNoFreeChunks;
      --from.pages;
    }
    if (dst == 0) {
      ++global_pool_pages_;
      release_pool_pages();
    } else {
      ++state_[dst].pages;
    }
    ++moves_.slabs_moved;
    return Reassign::kOk;
  }

  // memcached's slabs_reassign_pick_any: the next class after the last one
  // picked (round robin, skipping `dst`) that has a page to spare; -1 if none.
  int32_t pick_any_source(uint32_t dst) {
    const uint32_t largest = classes_.largest();
    for (uint32_t tries = largest; tries > 0; --tries) {
      pick_any_cursor_ = pick_any_cursor_ >= largest ? 1 : pick_any_cursor_ + 1;
      if (pick_any_cursor_ != dst && state_[pick_any_cursor_].pages > 1) {
        return static_cast<int32_t>(pick_any_cursor_);
      }
    }
    return -1;
  }

  // memcached's slabs_adjust_mem_limit: classes may grow up to the new limit;
  // pool pages above it are released (memory_release).
  void set_mem_limit(uint64_t bytes) {
    mem_limit_ = bytes;
    mem_limit_reached_ = false;
    release_pool_pages();
  }

  // Items a page move had to evict for want of free chunks.
  void count_evictions_nomem(uint64_t n) { moves_.slab_reassign_evictions_nomem += n; }

  uint64_t free_chunks(uint32_t id) const {
    return state_[id].pages * classes_[id].perslab - state_[id].used_chunks;
  }
  const MoveCounters& move_counters() const { return moves_; }
  const ClassState& state(uint32_t id) const { return state_[id]; }
  uint64_t total_malloced() const { return mem_malloced_; }
  uint64_t global_page_pool() const { return global_pool_pages_; }
  bool mem_limit_reached() const { return mem_limit_reached_; }

 private:
  // memcached's memory_release: pool pages above the limit are freed (only
  // with slab_reassign, which is what brings pages back to the pool).
  void release_pool_pages() {
    if (!release_pages_ || mem_limit_ == 0) return;
    while (mem_malloced_ > mem_limit_ && global_pool_pages_ > 0) {
      --global_pool_pages_;
      mem_malloced_ -= classes_.slab_page_size();
    }
  }

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
  bool release_pages_;
  bool full_pages_ = true;
  std::vector<ClassState> state_;
  uint64_t mem_malloced_ = 0;
  uint64_t global_pool_pages_ = 0;  // pages malloced but not given to a class
  bool mem_limit_reached_ = false;
  uint32_t pick_any_cursor_ = 0;
  MoveCounters moves_;
};

}  // namespace memext::core
