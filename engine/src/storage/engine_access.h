// storage/engine_access.h — the RAM engine as the extstore layer sees it:
// core::StorageHooks plus the few read-only looks memcached's storage.c takes
// that the hooks do not offer (a side-effect-free lookup by key, and
// slabs_available_chunks / global_page_pool_size for the flusher). Kept in
// one place so they can move into StorageHooks without touching the rest.
// Not thread-safe; the engine's thread only.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/storage_hooks.h"
#include "memext/engine.h"

namespace memext::storage {

// memcached's view of slab memory when the write flusher runs.
struct SlabPressure {
  // global_page_pool_size(): pages not yet given to any class. memcached
  // with extstore pre-fills the global pool with all of -m, so memory never
  // handed out counts as pooled here.
  uint64_t global_pages = 0;
  // settings.ext_global_pool_min as slab_automove_extstore sets it: all slab
  // pages times slab_automove_freeratio, at least 2.
  uint64_t pool_min = 0;
  std::array<uint64_t, kMaxSlabClasses> free_chunks{};  // slabs_available_chunks
};

class EngineAccess {
 public:
  explicit EngineAccess(Engine& engine) : engine_(engine), hooks_(engine) {}

  core::StorageHooks& hooks() { return hooks_; }
  const core::StorageHooks& hooks() const { return hooks_; }
  Engine& engine() { return engine_; }

  // The linked item for key, without bumping or reclaiming; kNoHandle if none.
  core::ItemHandle find(std::string_view key) const;
  // memcached's item_is_flushed for a linked item.
  bool is_flushed(core::ItemHandle handle) const;

  SlabPressure slab_pressure(double freeratio) const;

 private:
  Engine& engine_;
  core::StorageHooks hooks_;
};

}  // namespace memext::storage
