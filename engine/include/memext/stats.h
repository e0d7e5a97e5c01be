// memext/stats.h — one snapshot of the RAM engine's counters, with
// memcached's stat names.
//
// The server's `stats`, `stats slabs` and `stats items` output and the
// simulator's JSON report both come from this struct, so a name here means
// what it means in memcached 1.6.18. Plain data; copy freely.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace memext {

// `stats slabs` for one slab class.
struct SlabClassStats {
  uint32_t id = 0;
  uint32_t chunk_size = 0;
  uint32_t chunks_per_page = 0;
  uint64_t total_pages = 0;
  uint64_t total_chunks = 0;
  uint64_t used_chunks = 0;
  uint64_t free_chunks = 0;
  uint64_t mem_requested = 0;  // bytes requested by the chunks in use
  uint64_t get_hits = 0;
  uint64_t cmd_set = 0;
  uint64_t delete_hits = 0;
  uint64_t incr_hits = 0;
  uint64_t decr_hits = 0;
  uint64_t cas_hits = 0;
  uint64_t cas_badval = 0;
  uint64_t touch_hits = 0;
};

// `stats items` for one slab class (summed over its HOT/WARM/COLD/TEMP LRUs,
// as memcached prints it). Ages are seconds.
struct ItemClassStats {
  uint32_t id = 0;
  uint64_t number = 0;
  uint64_t number_hot = 0;
  uint64_t number_warm = 0;
  uint64_t number_cold = 0;
  uint64_t number_temp = 0;
  uint32_t age_hot = 0;
  uint32_t age_warm = 0;
  uint32_t age = 0;  // age of the COLD tail
  uint64_t mem_requested = 0;
  uint64_t evicted = 0;
  uint64_t evicted_nonzero = 0;
  uint32_t evicted_time = 0;  // age of the last evicted item
  uint64_t outofmemory = 0;
  uint64_t tailrepairs = 0;
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_active = 0;
  uint64_t crawler_reclaimed = 0;
  uint64_t crawler_items_checked = 0;
  uint64_t lrutail_reflocked = 0;
  uint64_t moves_to_cold = 0;
  uint64_t moves_to_warm = 0;
  uint64_t moves_within_lru = 0;
  uint64_t direct_reclaims = 0;
  uint64_t hits_to_hot = 0;
  uint64_t hits_to_warm = 0;
  uint64_t hits_to_cold = 0;
  uint64_t hits_to_temp = 0;
};

struct Stats {
  // `stats` (the engine's part; connections and rusage are the server's).
  uint64_t curr_items = 0;
  uint64_t total_items = 0;
  uint64_t bytes = 0;
  uint64_t limit_maxbytes = 0;
  uint64_t cmd_get = 0;
  uint64_t cmd_set = 0;
  uint64_t cmd_flush = 0;
  uint64_t cmd_touch = 0;
  uint64_t get_hits = 0;
  uint64_t get_misses = 0;
  uint64_t get_expired = 0;
  uint64_t get_flushed = 0;
  uint64_t delete_misses = 0;
  uint64_t delete_hits = 0;
  uint64_t incr_misses = 0;
  uint64_t incr_hits = 0;
  uint64_t decr_misses = 0;
  uint64_t decr_hits = 0;
  uint64_t cas_misses = 0;
  uint64_t cas_hits = 0;
  uint64_t cas_badval = 0;
  uint64_t touch_hits = 0;
  uint64_t touch_misses = 0;
  uint64_t evictions = 0;
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_active = 0;
  uint64_t outofmemory = 0;  // memext: sum of per-class outofmemory
  uint64_t lru_maintainer_juggles = 0;
  // The LRU crawler's (LruCrawler::add_stats fills them; 0 without one).
  uint64_t lru_crawler_running = 0;
  uint64_t lru_crawler_starts = 0;
  uint64_t crawler_reclaimed = 0;
  uint64_t crawler_items_checked = 0;
  uint64_t moves_to_cold = 0;
  uint64_t moves_to_warm = 0;
  uint64_t moves_within_lru = 0;
  uint64_t direct_reclaims = 0;
  uint64_t total_malloced = 0;  // bytes of slab pages granted
  // memext: the extstore header items linked now (one per object whose value
  // is on flash) and the slab chunk bytes they hold in RAM. `bytes` counts
  // these items at their flash object's full size, as memcached does.
  uint64_t ext_header_items = 0;
  uint64_t ext_header_bytes = 0;
  uint64_t slab_global_page_pool = 0;  // pages in the global pool
  // The slab page mover (memcached's slab_rebalance stats, see
  // core/page_mover.h). busy_deletes stays 0: memext holds no item across
  // engine calls, so none stays busy the way memcached's referenced ones do.
  uint64_t slab_reassign_rescues = 0;
  uint64_t slab_reassign_chunk_rescues = 0;
  uint64_t slab_reassign_evictions_nomem = 0;
  uint64_t slab_reassign_inline_reclaim = 0;
  uint64_t slab_reassign_busy_items = 0;
  uint64_t slab_reassign_busy_deletes = 0;
  uint64_t slab_reassign_running = 0;
  uint64_t slabs_moved = 0;
  uint64_t active_slabs = 0;  // classes with at least one page
  uint32_t hash_power_level = 0;
  uint64_t hash_bytes = 0;
  uint64_t malloc_fails = 0;

  // Per class, only classes that memcached would print (pages > 0 for slabs,
  // items > 0 for items), ordered by class id.
  std::vector<SlabClassStats> slabs;
  std::vector<ItemClassStats> items;
};

// {"stats": {...}, "slabs": {"1": {...}}, "items": {"1": {...}}} with
// memcached's names as keys.
nlohmann::json to_json(const Stats& stats);

}  // namespace memext
