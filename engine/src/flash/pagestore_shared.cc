// PageStore's reads under the shared side of the EngineLock (see
// memext/pagestore.h): they read page and wbuf state that only the
// exclusive side writes, and write nothing but page pins and the read
// counts' per-thread stripes (count_read_shared, pagestore.cc).
#include <atomic>
#include <cassert>

#include "flash/page_pins.h"
#include "memext/pagestore.h"

namespace memext {

// The shared side only reads page state (written under the exclusive side
// alone) and adds a pin; everything prepare_read would change beyond that
// sends the caller to the exclusive side.
ReadPlan PageStore::prepare_read_shared(uint32_t page_id, uint64_t page_version, uint32_t offset,
                                        uint32_t len) {
  ReadPlan plan;
  Page* const p = open_read(page_id, page_version, offset, len, &plan);
  const char* wbuf_data = nullptr;
  if (p == nullptr || locate(*p, page_id, offset, len, &wbuf_data) != ReadSource::kDevice) {
    return plan;
  }
  plan_device_read(*p, offset, &plan);
  plan.pin_stripe = pins_->pin(page_id);
  count_read_shared(len);
  return plan;
}

// Wbufs are written, filled, flushed and reassigned only under the
// exclusive side (a concurrent store's header unlink touches page counts
// alone), so the bytes stay put for the whole shared hold.
ReadPlan PageStore::prepare_wbuf_read_shared(uint32_t page_id, uint64_t page_version,
                                             uint32_t offset, uint32_t len) {
  ReadPlan plan;
  Page* const p = open_read(page_id, page_version, offset, len, &plan);
  const char* wbuf_data = nullptr;
  if (p != nullptr && locate(*p, page_id, offset, len, &wbuf_data) == ReadSource::kWbuf) {
    plan.source = ReadSource::kWbuf;
    plan.wbuf_data = wbuf_data;
  }
  return plan;
}

bool PageStore::unpin_needs_exclusive(const ReadPlan& plan) const {
  assert(plan.source == ReadSource::kDevice && plan.page_id < pages_.size());
  const Page& p = pages_[plan.page_id];
  // obj_count: a concurrent store's delete may lower it beside this read,
  // never to 0 (delete_keeps_page).
  const uint64_t objects =
      std::atomic_ref<const uint64_t>(p.obj_count).load(std::memory_order_relaxed);
  return p.free || (!p.active && (objects == 0 || p.closed));
}

void PageStore::unpin_shared(const ReadPlan& plan) {
  assert(!unpin_needs_exclusive(plan));
  // The page is not waiting to be freed, and cannot start to before this
  // shared hold ends, so this pin is never the one that keeps it.
  pins_->unpin(plan.page_id, plan.pin_stripe);
}

}  // namespace memext
