// core/slab_automove.h — memcached's slab page automovers (slab_automove.c
// and slab_automove_extstore.c): decide, from once-a-second samples of the
// slab and item counters, which page should move where.
//
// Both keep a window of the last slab_automove_window samples per class. A
// class is "dirty" in a sample when it evicted, ran out of memory or grew a
// page. The extstore algorithm gives pages back to the global pool (dst 0)
// from clean classes holding more than 2.5 pages of free chunks (classes
// with chunks above ext_item_size only after a whole window of more than
// 3 pages free), and from the class with the oldest COLD tail while the pool
// is under its watermark (all pages * slab_automove_freeratio, at least 2).
// The default algorithm also reclaims to the pool and otherwise moves a page
// from the oldest class to the youngest evicting one when their ages differ
// by more than slab_automove_ratio. Decisions wait until the window filled
// once. Pure decision logic; the page move is SlabAllocator::reassign. Not
// thread-safe; owned by LruMaintainer.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "memext/config.h"
#include "memext/slabs.h"

namespace memext::core {

// memcached's item_stats_automove + slab_stats_automove for one class.
struct AutomoveClassSample {
  uint64_t evicted = 0;      // cumulative
  uint64_t outofmemory = 0;  // cumulative
  uint64_t age = 0;          // seconds since the COLD tail's last access
  uint64_t free_chunks = 0;
  uint64_t total_pages = 0;
  uint32_t chunks_per_page = 0;
  uint32_t chunk_size = 0;
};

// Class 0 is the global page pool (its total_pages = pool pages).
struct AutomoveSample {
  std::array<AutomoveClassSample, kMaxSlabClasses> classes{};
  bool mem_limit_reached = false;
};

// src/dst -1 = no move; dst 0 = the global page pool.
struct AutomoveDecision {
  int src = -1;
  int dst = -1;
  bool wants_move() const { return src != -1 && dst != -1; }
};

class SlabAutomover {
 public:
  enum class Algorithm : uint8_t { kDefault, kExtstore };

  // `initial` is memcached's dry run filling the "before" samples.
  SlabAutomover(Algorithm algorithm, const EngineConfig& config, const AutomoveSample& initial);

  AutomoveDecision run(const AutomoveSample& sample);

  Algorithm algorithm() const { return algorithm_; }
  // settings.ext_global_pool_min as the extstore algorithm last set it (0
  // before its first run and for the default algorithm).
  uint64_t global_pool_watermark() const { return global_pool_watermark_; }

 private:
  struct WindowData {
    uint64_t age = 0;
    uint64_t dirty = 0;
    uint64_t evicted = 0;
    uint32_t excess_free = 0;
  };

  AutomoveDecision run_default(const AutomoveSample& after);
  AutomoveDecision run_extstore(const AutomoveSample& after);
  WindowData& current_window(uint32_t clsid);
  WindowData window_sum(uint32_t clsid) const;
  // Fills the current window slot of `clsid` from before/after; returns it.
  WindowData& record(uint32_t clsid, const AutomoveSample& after);

  Algorithm algorithm_;
  uint32_t window_size_;
  double max_age_ratio_;
  double free_ratio_;
  uint32_t item_size_;
  uint64_t window_cur_ = 0;
  uint64_t global_pool_watermark_ = 0;
  std::vector<WindowData> windows_;  // kMaxSlabClasses * window_size_
  AutomoveSample before_;
};

}  // namespace memext::core
