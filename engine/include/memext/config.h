// memext/config.h — the settings of one engine instance.
//
// EngineConfig carries memcached's own settings (-m, -f, -n, -I, the -o LRU
// options and every -o ext_* option) with memcached 1.6.18's defaults, so the
// server and the simulator configure the engine the same way. options.h parses
// memcached's command-line spelling into these structs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "memext/time.h"

namespace memext {

// One `-o ext_path=FILE:SIZE[:bucket]`. memcached accepts a bucket name after
// the size (default, compact, chunked, lowttl); empty means "default".
struct ExtPathConfig {
  std::string path;
  uint64_t size_bytes = 0;
  std::string bucket;
};

// How compaction picks its victim page. kFixed is memcached's rule (a page
// whose live bytes are under ext_max_frag of its size); kSlewed is memext's
// variant that raises the threshold as free pages run out.
enum class ExtFragPolicy : uint8_t { kSlewed, kFixed };

// Every -o ext_* option, in memcached's units. Defaults are memcached 1.6.18's
// (storage_init_config); zero compact_under/drop_under mean "1/4 of the
// pages", resolved by the storage layer once the file sizes are known.
struct ExtConfig {
  std::vector<ExtPathConfig> paths;                    // ext_path, repeatable
  uint64_t page_size = 64ull << 20;                    // ext_page_size (given in MB)
  uint64_t wbuf_size = 4ull << 20;                     // ext_wbuf_size (given in MB)
  uint32_t threads = 1;                                // ext_threads
  uint32_t io_depth = 1;                               // ext_io_depth
  uint32_t item_size = 512;                            // ext_item_size (bytes)
  uint32_t item_age = UINT32_MAX;                      // ext_item_age (seconds; max = no limit)
  uint32_t low_ttl = 0;                                // ext_low_ttl (seconds)
  uint32_t recache_rate = 2000;                        // ext_recache_rate
  uint32_t compact_under = 0;                          // ext_compact_under (pages)
  uint32_t drop_under = 0;                             // ext_drop_under (pages)
  double max_frag = 0.8;                               // ext_max_frag
  bool drop_unread = false;                            // ext_drop_unread
  uint32_t max_sleep_us = 1'000'000;                   // ext_max_sleep (microseconds)
  double slab_automove_freeratio = 0.01;               // slab_automove_freeratio
  ExtFragPolicy frag_policy = ExtFragPolicy::kSlewed;  // ext_frag_policy (memext)

  bool enabled() const { return !paths.empty(); }
};

struct EngineConfig {
  // Slab geometry (memcached: -m, -f, -n, -I, -o slab_chunk_max).
  uint64_t memory_limit = 64ull << 20;  // -m, bytes (memcached takes MB)
  double growth_factor = 1.25;          // -f
  uint32_t chunk_min_size = 48;         // -n: key+value+flags space in class 1
  uint32_t item_size_max = 1u << 20;    // -I
  uint32_t slab_page_size = 1u << 20;   // memcached's fixed 1 MB page
  uint32_t slab_chunk_max = 1u << 19;   // -o slab_chunk_max (given in KB)
  bool evict_to_free = true;            // -M turns this off (OOM instead)
  // memcached's preallocated item memory (-L, and -e's memory file): one
  // slab page per class at start (slabs_preallocate), which needs -m to
  // hold them all (check_config); slab_prefill_global also puts the rest
  // of -m into the global page pool (slabs_prefill_global, as -e does and
  // as ext_path always does).
  bool slab_prealloc = false;
  bool slab_prefill_global = false;
  bool use_cas = true;  // -C turns this off

  // Segmented LRU (memcached's -o lru_maintainer defaults).
  bool lru_segmented = true;     // -o no_lru_maintainer / no_lru_segmented = flat
  bool lru_maintainer = true;    // whether LruMaintainer should be run
  uint32_t hot_lru_pct = 20;     // -o hot_lru_pct
  uint32_t warm_lru_pct = 40;    // -o warm_lru_pct
  double hot_max_factor = 0.2;   // -o hot_max_factor
  double warm_max_factor = 2.0;  // -o warm_max_factor
  bool temp_lru = false;         // set by -o temporary_ttl
  uint32_t temporary_ttl = 61;   // -o temporary_ttl

  // LRU crawler (memext/lru_crawler.h): on by default as in memcached; its
  // autoexpire crawls are scheduled only with the LRU maintainer.
  bool lru_crawler = true;           // -o lru_crawler / no_lru_crawler, `lru_crawler enable`
  uint32_t lru_crawler_sleep = 100;  // -o lru_crawler_sleep: µs per kCrawlsPerSleep items
  uint32_t lru_crawler_tocrawl = 0;  // -o lru_crawler_tocrawl: items per LRU per crawl, 0 = all

  // Slab page mover, run by LruMaintainer about once a second. With ext_path
  // it is memcached's slab_automove_extstore (pages back to the global pool,
  // ext.slab_automove_freeratio sets the pool watermark), else memcached's
  // age-balancing slab_automove. memcached's 2 also reassigns a page on every
  // eviction; memext runs 2 as 1.
  bool slab_reassign = true;           // -o slab_reassign / no_slab_reassign
  uint32_t slab_automove = 1;          // -o slab_automove=0|1|2
  double slab_automove_ratio = 0.8;    // -o slab_automove_ratio (0 < r <= 1)
  uint32_t slab_automove_window = 30;  // -o slab_automove_window (> 2)

  // Storage mode: phantom keeps sizes only (no value bytes), with accounting
  // identical to real mode.
  bool phantom = false;

  // Unix seconds of rel_time_t 0; converts absolute exptimes (> 30 days).
  int64_t process_started = 0;

  ExtConfig ext;
};

}  // namespace memext
