#include "memext/tuning.h"

#include "core/item_store.h"
#include "core/storage_hooks.h"

namespace memext {

LruTuneResult tune_lru(Engine& engine, uint32_t hot_lru_pct, uint32_t warm_lru_pct,
                       double hot_max_factor, double warm_max_factor) {
  if (uint64_t{hot_lru_pct} + warm_lru_pct > 80) return LruTuneResult::kPctsAbove80;
  // As memcached compares: a NaN factor passes.
  if (hot_max_factor <= 0 || warm_max_factor <= 0) return LruTuneResult::kFactorNotPositive;
  EngineConfig& config = core::StorageHooks(engine).mutable_config();
  config.hot_lru_pct = hot_lru_pct;
  config.warm_lru_pct = warm_lru_pct;
  config.hot_max_factor = hot_max_factor;
  config.warm_max_factor = warm_max_factor;
  return LruTuneResult::kOk;
}

void set_lru_segmented(Engine& engine, bool segmented) {
  core::StorageHooks(engine).mutable_config().lru_segmented = segmented;
}

void set_temporary_ttl(Engine& engine, int32_t ttl) {
  EngineConfig& config = core::StorageHooks(engine).mutable_config();
  config.temp_lru = ttl >= 0;
  if (ttl >= 0) config.temporary_ttl = static_cast<uint32_t>(ttl);
}

void set_slab_automove(Engine& engine, uint32_t mode) {
  core::StorageHooks(engine).mutable_config().slab_automove = mode;
}

void set_slab_automove_ratio(Engine& engine, double ratio) {
  core::StorageHooks(engine).mutable_config().slab_automove_ratio = ratio;
}

bool set_memory_limit(Engine& engine, uint64_t bytes) {
  core::StorageHooks hooks(engine);
  if (hooks.mutable_config().slab_prealloc) return false;
  hooks.mutable_config().memory_limit = bytes;
  hooks.slab_allocator().set_mem_limit(bytes);
  return true;
}

SlabReassignResult reassign_slab_page(Engine& engine, int32_t src, int32_t dst) {
  using Reassign = core::SlabAllocator::Reassign;
  core::SlabAllocator& slabs = core::StorageHooks(engine).slab_allocator();
  // memcached's do_slabs_reassign, in its order of checks.
  if (slabs.move().phase != core::SlabAllocator::Move::Phase::kIdle) {
    return SlabReassignResult::kBusy;
  }
  if (src == dst) return SlabReassignResult::kSrcDstSame;
  if (src == -1 && dst >= 0) src = slabs.pick_any_source(static_cast<uint32_t>(dst));
  switch (slabs.request_move(src, dst)) {
    case Reassign::kOk:
      return SlabReassignResult::kOk;
    case Reassign::kRunning:
      return SlabReassignResult::kBusy;
    case Reassign::kBadClass:
      return SlabReassignResult::kBadClass;
    case Reassign::kNoSpare:
      return SlabReassignResult::kNoSpare;
    case Reassign::kSrcDstSame:
      break;
  }
  return SlabReassignResult::kSrcDstSame;
}

}  // namespace memext
