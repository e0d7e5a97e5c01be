// memext/tuning.h — changing a running engine's settings, as memcached's
// runtime commands do: `lru tune|mode|temp_ttl`, `slabs automove`,
// `slabs reassign` and `cache_memlimit` (memcached-protocol.txt).
//
// memext-server maps its text commands onto these calls and the results onto
// memcached's reply lines. A setting takes effect from the next operation or
// LruMaintainer step that reads it, and Engine::config() shows it (`stats
// settings`). Not thread-safe: call under whatever serializes the engine.
#pragma once

#include <cstdint>

#include "memext/engine.h"

namespace memext {

enum class LruTuneResult : uint8_t {
  kOk,
  kPctsAbove80,        // hot + warm above 80 percent
  kFactorNotPositive,  // hot_max_factor or warm_max_factor <= 0
};

// memcached's `lru tune <hot pct> <warm pct> <hot max factor> <warm max factor>`.
LruTuneResult tune_lru(Engine& engine, uint32_t hot_lru_pct, uint32_t warm_lru_pct,
                       double hot_max_factor, double warm_max_factor);

// memcached's `lru mode flat|segmented`. Going flat, the LRU maintainer moves
// the HOT and WARM items into COLD over its next passes.
void set_lru_segmented(Engine& engine, bool segmented);

// memcached's `lru temp_ttl <ttl>`: items stored with a TTL up to `ttl` go to
// the TEMP LRU; a negative ttl turns the TEMP LRU off (temporary_ttl stays).
void set_temporary_ttl(Engine& engine, int32_t ttl);

// memcached's `slabs automove 0|1|2` (the automover runs 2 as 1).
void set_slab_automove(Engine& engine, uint32_t mode);
// memcached's `slabs automove ratio <r>`: the setting only; like memcached's,
// the automover keeps the ratio it started with.
void set_slab_automove_ratio(Engine& engine, double ratio);

// memcached's slabs_adjust_mem_limit (`cache_memlimit`): slab classes may grow
// to the new limit; pages in the global pool above it are given back. False
// (nothing changed) when the item memory was preallocated (slab_prealloc).
bool set_memory_limit(Engine& engine, uint64_t bytes);

// memcached's reassign_result_type.
enum class SlabReassignResult : uint8_t {
  kOk,
  kBusy,        // REASSIGN_RUNNING: a page move is already requested or under way
  kBadClass,    // a class outside 0 (the global page pool) .. largest
  kNoSpare,     // the source has fewer than two pages
  kSrcDstSame,  // source and destination are the same class
};

// memcached's `slabs reassign <src> <dst>`: requests the move of one page
// from class `src` (-1: the next class with a page to spare) to `dst`; class
// 0 is the global page pool. As memcached hands the move to its rebalancer
// thread, the move itself happens in SlabRebalancer's steps
// (memext/slab_rebalancer.h); kOk means it was scheduled.
SlabReassignResult reassign_slab_page(Engine& engine, int32_t src, int32_t dst);

}  // namespace memext
