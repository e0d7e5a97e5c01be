#include "storage/engine_access.h"

#include <algorithm>

namespace memext::storage {

SlabPressure EngineAccess::slab_pressure(double freeratio) const {
  const EngineConfig& config = hooks_.config();
  const uint64_t page = hooks_.slab_classes().slab_page_size();
  SlabPressure p;
  p.global_pages = hooks_.global_page_pool();
  uint64_t total_pages = config.memory_limit / page;
  if (!config.ext.enabled()) {
    // An engine configured without ext_path does not pre-fill its pool:
    // memory it has not malloced yet is what memcached would hold there.
    const Stats st = engine_.stats();
    const uint64_t unmalloced =
        st.limit_maxbytes > st.total_malloced ? st.limit_maxbytes - st.total_malloced : 0;
    p.global_pages += unmalloced / page;
    total_pages = std::max(st.limit_maxbytes, st.total_malloced) / page;
  }
  p.pool_min = std::max<uint64_t>(2, static_cast<uint64_t>(total_pages * freeratio));
  return p;
}

}  // namespace memext::storage
