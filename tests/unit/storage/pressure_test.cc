// memcached's default flusher rule: with ext_item_age at its default (no age
// limit) items go to flash only once free slab memory runs short (the global
// page pool below ext_global_pool_min, and the class short of that many pages
// of free chunks).
#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

TEST_CASE("with default settings the flusher moves items only when memory runs short") {
  EngineConfig config = rig_engine_config(false);
  config.memory_limit = 8ull << 20;
  config.ext.item_age = UINT32_MAX;
  config.ext.paths[0].size_bytes = 64 * kExtPage;
  Rig rig(RigDevice::kMemory, config);
  LruMaintainer lru(rig.engine());
  Micros flusher_wake = 0;
  auto run_background = [&] {
    const Micros now = rig.micros();
    lru.step(now);
    for (int i = 0; i < 100 && flusher_wake <= now; ++i) {
      flusher_wake = rig.ext().flusher_step(now);
    }
  };
  // ~3 MB of 2 KB items: memory is far from full.
  int n = 0;
  for (; n < 1500; ++n) {
    REQUIRE(rig.set(key_for(n), value_for(n, 2000)).result == StoreResult::kStored);
    if (n % 50 == 49) {
      rig.advance(1);
      run_background();
    }
  }
  CHECK(rig.ext().stats().store.objects_written == 0);
  // ~16 MB more: twice the memory limit.
  for (; n < 9500; ++n) {
    REQUIRE(rig.set(key_for(n), value_for(n, 2000)).result == StoreResult::kStored);
    if (n % 50 == 49) {
      rig.advance(1);
      run_background();
    }
  }
  const ExtStoreStats st = rig.ext().stats();
  const Stats ram = rig.engine().stats();
  CHECK(st.store.objects_written > 4000);
  // The flusher kept ahead of the writes: little was evicted unflushed.
  CHECK(ram.evictions < st.store.objects_written / 4);
  int hits = 0;
  for (int i = 0; i < n; ++i) hits += rig.read_is(key_for(i), value_for(i, 2000)) ? 1 : 0;
  CHECK(hits > n * 3 / 4);
  CHECK(rig.ext().stats().badcrc_from_extstore == 0);
}
