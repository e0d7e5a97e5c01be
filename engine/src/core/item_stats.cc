// Snapshot of the counters into memext::Stats (memcached's `stats`,
// `stats slabs` and `stats items` aggregation).
#include <cassert>

#include "core/item_store.h"

namespace memext::core {

Stats ItemStore::stats() const {
  assert(!bumps_.pending());  // Precondition: deferred bumps applied (apply_deferred_bumps)
  Stats s;
  s.curr_items = counters_.curr_items;
  s.total_items = counters_.total_items;
  s.bytes = counters_.curr_bytes;
  s.limit_maxbytes = config_.memory_limit;
  // Gets served under the shared lock counted in per-thread stripes.
  const bool shared = shared_gets_used_.load(std::memory_order_relaxed);
  auto class_get_hits = [&](uint32_t id) {
    return class_counters_[id].get_hits + (shared ? shared_gets_.class_get_hits(id) : 0);
  };
  auto lru_hits = [&](uint32_t id, LruSegment segment) {
    const uint32_t lru = lru_id(id, segment);
    return lru_counters_[lru].hits + (shared ? shared_gets_.lru_hits(lru) : 0);
  };
  s.cmd_get = counters_.cmd_get + (shared ? shared_gets_.cmd_get() : 0);
  s.cmd_flush = counters_.cmd_flush;
  s.cmd_touch = counters_.cmd_touch;
  s.get_misses = counters_.get_misses + (shared ? shared_gets_.get_misses() : 0);
  s.get_expired = counters_.get_expired;
  s.get_flushed = counters_.get_flushed;
  s.delete_misses = counters_.delete_misses;
  s.incr_misses = counters_.incr_misses;
  s.decr_misses = counters_.decr_misses;
  s.cas_misses = counters_.cas_misses;
  s.touch_misses = counters_.touch_misses;
  s.lru_maintainer_juggles = counters_.lru_maintainer_juggles;
  s.total_malloced = slabs_.total_malloced();
  s.ext_header_items = counters_.header_items;
  s.ext_header_bytes = counters_.header_chunk_bytes;
  s.slab_global_page_pool = slabs_.global_page_pool();
  const SlabAllocator::MoveCounters& moves = slabs_.move_counters();
  s.slab_reassign_rescues = moves.slab_reassign_rescues;
  s.slab_reassign_chunk_rescues = moves.slab_reassign_chunk_rescues;
  s.slab_reassign_evictions_nomem = moves.slab_reassign_evictions_nomem;
  s.slab_reassign_inline_reclaim = moves.slab_reassign_inline_reclaim;
  s.slab_reassign_busy_items = moves.slab_reassign_busy_items;
  s.slab_reassign_busy_deletes = moves.slab_reassign_busy_deletes;
  s.slab_reassign_running = slabs_.move().phase == SlabAllocator::Move::Phase::kRunning ? 1 : 0;
  s.slabs_moved = moves.slabs_moved;
  s.hash_power_level = index_.power();
  s.hash_bytes = index_.bytes();

  for (uint32_t id = 1; id <= classes_.largest(); ++id) {
    const ClassCounters& cc = class_counters_[id];
    const uint64_t get_hits = class_get_hits(id);
    s.get_hits += get_hits;
    s.cmd_set += cc.cmd_set;
    s.delete_hits += cc.delete_hits;
    s.incr_hits += cc.incr_hits;
    s.decr_hits += cc.decr_hits;
    s.cas_hits += cc.cas_hits;
    s.cas_badval += cc.cas_badval;
    s.touch_hits += cc.touch_hits;

    const SlabAllocator::ClassState& st = slabs_.state(id);
    if (st.pages > 0) {
      SlabClassStats slab;
      slab.id = id;
      slab.chunk_size = classes_[id].size;
      slab.chunks_per_page = classes_[id].perslab;
      slab.total_pages = st.pages;
      slab.total_chunks = st.pages * classes_[id].perslab;
      // memcached's: everything not on the free list is used (during a move
      // that includes the chunks the mover has claimed).
      slab.free_chunks = st.free_chunks;
      slab.used_chunks = slab.total_chunks - st.free_chunks;
      slab.mem_requested = st.requested;
      slab.get_hits = get_hits;
      slab.cmd_set = cc.cmd_set;
      slab.delete_hits = cc.delete_hits;
      slab.incr_hits = cc.incr_hits;
      slab.decr_hits = cc.decr_hits;
      slab.cas_hits = cc.cas_hits;
      slab.cas_badval = cc.cas_badval;
      slab.touch_hits = cc.touch_hits;
      s.slabs.push_back(slab);
    }

    ItemClassStats items;
    items.id = id;
    const LruList& hot = lrus_[lru_id(id, LruSegment::kHot)];
    const LruList& warm = lrus_[lru_id(id, LruSegment::kWarm)];
    const LruList& cold = lrus_[lru_id(id, LruSegment::kCold)];
    const LruList& temp = lrus_[lru_id(id, LruSegment::kTemp)];
    items.number_hot = hot.count;
    items.number_warm = warm.count;
    items.number_cold = cold.count;
    items.number_temp = temp.count;
    items.number = hot.count + warm.count + cold.count + temp.count;
    if (hot.tail != kNoItem) items.age_hot = now_ - item(hot.tail).time;
    if (warm.tail != kNoItem) items.age_warm = now_ - item(warm.tail).time;
    if (cold.tail != kNoItem) items.age = now_ - item(cold.tail).time;
    items.mem_requested = hot.bytes + warm.bytes + cold.bytes + temp.bytes;
    for (uint32_t seg = 0; seg < kLruSegments; ++seg) {
      const LruCounters& lc = lru_counters_[id * kLruSegments + seg];
      items.evicted += lc.evicted;
      items.evicted_nonzero += lc.evicted_nonzero;
      if (lc.evicted_time != 0) items.evicted_time = lc.evicted_time;
      items.outofmemory += lc.outofmemory;
      items.reclaimed += lc.reclaimed;
      items.expired_unfetched += lc.expired_unfetched;
      items.evicted_unfetched += lc.evicted_unfetched;
      items.evicted_active += lc.evicted_active;
      items.lrutail_reflocked += lc.lrutail_reflocked;
      items.moves_to_cold += lc.moves_to_cold;
      items.moves_to_warm += lc.moves_to_warm;
      items.moves_within_lru += lc.moves_within_lru;
      items.direct_reclaims += lc.direct_reclaims;
    }
    items.hits_to_hot = lru_hits(id, LruSegment::kHot);
    items.hits_to_warm = lru_hits(id, LruSegment::kWarm);
    items.hits_to_cold = lru_hits(id, LruSegment::kCold);
    items.hits_to_temp = lru_hits(id, LruSegment::kTemp);

    s.evictions += items.evicted;
    s.reclaimed += items.reclaimed;
    s.expired_unfetched += items.expired_unfetched;
    s.evicted_unfetched += items.evicted_unfetched;
    s.evicted_active += items.evicted_active;
    s.outofmemory += items.outofmemory;
    s.moves_to_cold += items.moves_to_cold;
    s.moves_to_warm += items.moves_to_warm;
    s.moves_within_lru += items.moves_within_lru;
    s.direct_reclaims += items.direct_reclaims;
    // memcached prints a class under `stats items` while it holds items.
    if (items.number > 0) s.items.push_back(items);
  }
  s.active_slabs = s.slabs.size();
  return s;
}

uint64_t ItemStore::metadata_bytes() const {
  uint64_t key_bytes = heap_bytes_;
  if (!config_.phantom) key_bytes = 0;  // real mode: heap buffers are mostly values
  return pool_.size() * (uint64_t{1} << kPoolShift) * sizeof(Item) + index_.bytes() +
         index_.hint_bytes() + key_bytes + chunk_charges_.size() * 64 + location_bytes() +
         chunk_refs_.size() * (uint64_t{1} << kPoolShift) * sizeof(ChunkRef) +
         slabs_.bookkeeping_bytes();
}

}  // namespace memext::core
