// storage/engine_access.h — the RAM engine as the extstore layer sees it:
// core::StorageHooks plus memcached's flusher view of slab memory
// (slabs_available_chunks, global_page_pool_size and the automover's
// ext_global_pool_min), derived in one place. Not thread-safe; the engine's
// thread only.
#pragma once

#include <cstdint>

#include "core/storage_hooks.h"
#include "memext/engine.h"

namespace memext::storage {

// Whether the flusher must push items out regardless of age.
struct SlabPressure {
  // global_page_pool_size(): pages not yet given to any class. With extstore
  // the engine pre-fills the pool with all of -m, as memcached does.
  uint64_t global_pages = 0;
  // settings.ext_global_pool_min as slab_automove_extstore sets it: all slab
  // pages times slab_automove_freeratio, at least 2.
  uint64_t pool_min = 0;

  // Pages a class should have free in chunks (memcached's target_pages).
  uint64_t target_pages() const { return global_pages < pool_min ? pool_min - global_pages : 0; }
};

class EngineAccess {
 public:
  explicit EngineAccess(Engine& engine) : engine_(engine), hooks_(engine) {}

  core::StorageHooks& hooks() { return hooks_; }
  const core::StorageHooks& hooks() const { return hooks_; }

  SlabPressure slab_pressure(double freeratio) const;

 private:
  Engine& engine_;
  core::StorageHooks hooks_;
};

}  // namespace memext::storage
