#include "storage/engine_access.h"

#include <algorithm>

#include "core/item_store.h"

namespace memext::storage {

core::ItemHandle EngineAccess::find(std::string_view key) const {
  const uint32_t n = engine_.internals().find(key);
  return n == core::kNoItem ? core::kNoHandle : n;
}

bool EngineAccess::is_flushed(core::ItemHandle handle) const {
  core::ItemStore& store = engine_.internals();
  return store.is_flushed(store.item(handle));
}

SlabPressure EngineAccess::slab_pressure(double freeratio) const {
  const Stats st = engine_.stats();
  const uint64_t page = hooks_.slab_classes().slab_page_size();
  SlabPressure p;
  const uint64_t unmalloced =
      st.limit_maxbytes > st.total_malloced ? st.limit_maxbytes - st.total_malloced : 0;
  p.global_pages = st.slab_global_page_pool + unmalloced / page;
  const uint64_t total_pages = std::max<uint64_t>(st.limit_maxbytes, st.total_malloced) / page;
  p.pool_min = std::max<uint64_t>(2, static_cast<uint64_t>(total_pages * freeratio));
  for (const SlabClassStats& s : st.slabs) {
    if (s.id < kMaxSlabClasses) p.free_chunks[s.id] = s.free_chunks;
  }
  return p;
}

}  // namespace memext::storage
