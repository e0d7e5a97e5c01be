// The slab automover under extstore: memcached gives the pages that
// flushing empties in the large classes back to the global page pool, so the
// small class holding header items can grow instead of evicting headers.
// Without it the header class keeps the one page it got first.
#include "memext/slab_rebalancer.h"
#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

struct PressureRun {
  Stats ram;
  uint64_t header_class_pages = 0;
  uint64_t header_class_evicted = 0;
};

constexpr int kItems = 24'000;

// 2000-byte items into 8 MB of RAM and 64 MB of (phantom) flash, with the
// maintainer (with the page moves it requests) and flusher run every
// engine second.
PressureRun run_pressure(uint32_t automove) {
  EngineConfig config = rig_engine_config(true);
  config.memory_limit = 8ull << 20;
  config.ext.item_age = UINT32_MAX;  // memcached's default: flush when memory runs short
  config.ext.paths[0].size_bytes = 256 * kExtPage;
  config.slab_automove = automove;
  Rig rig(RigDevice::kPhantom, config);
  LruMaintainer lru(rig.engine());
  SlabRebalancer rebalancer(rig.engine());
  Micros flusher_wake = 0;
  auto run_background = [&] {
    const Micros now = rig.micros();
    for (Micros pass = 0; pass < 4; ++pass) {
      lru.step(now + pass * 1'000);
      while (rebalancer.step(now + pass * 1'000) != kRebalancerIdle) {
      }
    }
    for (int i = 0; i < 100 && flusher_wake <= now; ++i) {
      flusher_wake = rig.ext().flusher_step(now);
    }
  };
  for (int n = 0; n < kItems; ++n) {
    REQUIRE(rig.set(key_for(n), value_for(n, 2000)).result == StoreResult::kStored);
    if (n % 40 == 39) {
      rig.advance(1);
      run_background();
    }
  }
  PressureRun run;
  run.ram = rig.engine().stats();
  // Header items are the only small items: the lowest class holding items.
  REQUIRE(!run.ram.items.empty());
  const uint32_t header_class = run.ram.items.front().id;
  for (const SlabClassStats& c : run.ram.slabs) {
    if (c.id == header_class) run.header_class_pages = c.total_pages;
  }
  for (const ItemClassStats& c : run.ram.items) {
    if (c.id == header_class) run.header_class_evicted = c.evicted;
  }
  return run;
}

}  // namespace

TEST_CASE("under memory pressure the automover stops headers evicting headers") {
  const PressureRun off = run_pressure(0);
  const PressureRun on = run_pressure(1);
  INFO("header class evictions: off " << off.header_class_evicted << ", on "
                                      << on.header_class_evicted);
  CHECK(off.ram.slabs_moved == 0);
  CHECK(on.ram.slabs_moved > 0);
  CHECK(on.header_class_pages > off.header_class_pages);
  CHECK(off.header_class_evicted > 1000);
  CHECK(on.header_class_evicted * 4 < off.header_class_evicted);
  CHECK(off.ram.curr_items < kItems - 1000);
  // memcached's extstore automover takes a page from the oldest large class
  // whenever the pool is under its watermark, and the page's items that
  // were not flushed yet and find no free chunk are evicted
  // (slab_reassign_evictions_nomem); no key is lost any other way.
  INFO("moves " << on.ram.slabs_moved << ", rescues " << on.ram.slab_reassign_rescues);
  CHECK(on.ram.curr_items + on.ram.slab_reassign_evictions_nomem + on.ram.evictions == kItems);
}
