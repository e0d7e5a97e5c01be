#include "core/page_mover.h"

#include "core/item_store.h"

namespace memext::core {

SlabAllocator::Reassign move_slab_page(ItemStore& store, SlabAllocator& slabs, uint32_t src,
                                       uint32_t dst, bool may_evict) {
  const uint32_t largest = store.classes().largest();
  // Evict only for a move SlabAllocator::reassign can make.
  if (src != 0 && src != dst && src <= largest && dst <= largest) {
    const uint32_t perslab = store.classes()[src].perslab;
    uint64_t evicted = 0;
    for (uint32_t tries = 0; may_evict && slabs.free_chunks(src) < perslab && tries < 2 * perslab;
         ++tries) {
      if (slabs.state(src).pages < 2) break;
      const int removed = store.pull_tail(src, LruSegment::kCold, 0, kPullEvict, 0, nullptr);
      if (removed > 0) {
        evicted += static_cast<uint64_t>(removed);
      } else if (store.pull_tail(src, LruSegment::kHot, 0, 0, 0, nullptr) <= 0 &&
                 store.pull_tail(src, LruSegment::kWarm, 0, 0, 0, nullptr) <= 0) {
        break;
      }
    }
    slabs.count_evictions_nomem(evicted);
  }
  const SlabAllocator::Reassign result = slabs.reassign(src, dst);
  if (result == SlabAllocator::Reassign::kOk) {
    if (EventSink* sink = store.logging(log_stream::kSysevents)) sink->slab_move(src, dst);
  }
  return result;
}

}  // namespace memext::core
