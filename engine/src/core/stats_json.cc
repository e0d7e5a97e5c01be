#include <nlohmann/json.hpp>
#include <string>

#include "memext/stats.h"

namespace memext {

nlohmann::json to_json(const Stats& s) {
  nlohmann::json stats = {
      {"curr_items", s.curr_items},
      {"total_items", s.total_items},
      {"bytes", s.bytes},
      {"limit_maxbytes", s.limit_maxbytes},
      {"cmd_get", s.cmd_get},
      {"cmd_set", s.cmd_set},
      {"cmd_flush", s.cmd_flush},
      {"cmd_touch", s.cmd_touch},
      {"get_hits", s.get_hits},
      {"get_misses", s.get_misses},
      {"get_expired", s.get_expired},
      {"get_flushed", s.get_flushed},
      {"delete_misses", s.delete_misses},
      {"delete_hits", s.delete_hits},
      {"incr_misses", s.incr_misses},
      {"incr_hits", s.incr_hits},
      {"decr_misses", s.decr_misses},
      {"decr_hits", s.decr_hits},
      {"cas_misses", s.cas_misses},
      {"cas_hits", s.cas_hits},
      {"cas_badval", s.cas_badval},
      {"touch_hits", s.touch_hits},
      {"touch_misses", s.touch_misses},
      {"evictions", s.evictions},
      {"reclaimed", s.reclaimed},
      {"expired_unfetched", s.expired_unfetched},
      {"evicted_unfetched", s.evicted_unfetched},
      {"evicted_active", s.evicted_active},
      {"outofmemory", s.outofmemory},
      {"lru_maintainer_juggles", s.lru_maintainer_juggles},
      {"lru_crawler_running", s.lru_crawler_running},
      {"lru_crawler_starts", s.lru_crawler_starts},
      {"crawler_reclaimed", s.crawler_reclaimed},
      {"crawler_items_checked", s.crawler_items_checked},
      {"moves_to_cold", s.moves_to_cold},
      {"moves_to_warm", s.moves_to_warm},
      {"moves_within_lru", s.moves_within_lru},
      {"direct_reclaims", s.direct_reclaims},
      {"total_malloced", s.total_malloced},
      {"slab_reassign_rescues", s.slab_reassign_rescues},
      {"slab_reassign_chunk_rescues", s.slab_reassign_chunk_rescues},
      {"slab_reassign_evictions_nomem", s.slab_reassign_evictions_nomem},
      {"slab_reassign_inline_reclaim", s.slab_reassign_inline_reclaim},
      {"slab_reassign_busy_items", s.slab_reassign_busy_items},
      {"slab_reassign_busy_deletes", s.slab_reassign_busy_deletes},
      {"slab_reassign_running", s.slab_reassign_running},
      {"slabs_moved", s.slabs_moved},
      {"slab_global_page_pool", s.slab_global_page_pool},
      {"active_slabs", s.active_slabs},
      {"hash_power_level", s.hash_power_level},
      {"hash_bytes", s.hash_bytes},
      {"malloc_fails", s.malloc_fails},
  };
  nlohmann::json slabs = nlohmann::json::object();
  for (const SlabClassStats& c : s.slabs) {
    slabs[std::to_string(c.id)] = {
        {"chunk_size", c.chunk_size},   {"chunks_per_page", c.chunks_per_page},
        {"total_pages", c.total_pages}, {"total_chunks", c.total_chunks},
        {"used_chunks", c.used_chunks}, {"free_chunks", c.free_chunks},
        {"free_chunks_end", 0},         {"mem_requested", c.mem_requested},
        {"get_hits", c.get_hits},       {"cmd_set", c.cmd_set},
        {"delete_hits", c.delete_hits}, {"incr_hits", c.incr_hits},
        {"decr_hits", c.decr_hits},     {"cas_hits", c.cas_hits},
        {"cas_badval", c.cas_badval},   {"touch_hits", c.touch_hits},
    };
  }
  nlohmann::json items = nlohmann::json::object();
  for (const ItemClassStats& c : s.items) {
    items[std::to_string(c.id)] = {
        {"number", c.number},
        {"number_hot", c.number_hot},
        {"number_warm", c.number_warm},
        {"number_cold", c.number_cold},
        {"number_temp", c.number_temp},
        {"age_hot", c.age_hot},
        {"age_warm", c.age_warm},
        {"age", c.age},
        {"mem_requested", c.mem_requested},
        {"evicted", c.evicted},
        {"evicted_nonzero", c.evicted_nonzero},
        {"evicted_time", c.evicted_time},
        {"outofmemory", c.outofmemory},
        {"tailrepairs", c.tailrepairs},
        {"reclaimed", c.reclaimed},
        {"expired_unfetched", c.expired_unfetched},
        {"evicted_unfetched", c.evicted_unfetched},
        {"evicted_active", c.evicted_active},
        {"crawler_reclaimed", c.crawler_reclaimed},
        {"crawler_items_checked", c.crawler_items_checked},
        {"lrutail_reflocked", c.lrutail_reflocked},
        {"moves_to_cold", c.moves_to_cold},
        {"moves_to_warm", c.moves_to_warm},
        {"moves_within_lru", c.moves_within_lru},
        {"direct_reclaims", c.direct_reclaims},
        {"hits_to_hot", c.hits_to_hot},
        {"hits_to_warm", c.hits_to_warm},
        {"hits_to_cold", c.hits_to_cold},
        {"hits_to_temp", c.hits_to_temp},
    };
  }
  return {{"stats", stats}, {"slabs", slabs}, {"items", items}};
}

}  // namespace memext
