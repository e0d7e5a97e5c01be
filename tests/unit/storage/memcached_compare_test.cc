// Counters compared with memcached 1.6.18 run as a black box:
//   memcached -m 64 -o ext_path=/tmp/x:256m,ext_item_age=0
//   set key:0..key:99 with 1000-byte values, wait for the flusher, then
//   delete key:5 and get key:7.
// It printed: objects_written/used 100, bytes_written/used 106490,
// page_allocs 1, pages_used 2, pages_free 2; after the delete and get:
// objects_used 99, bytes_used 105426, get_extstore 1, objects_read 1,
// bytes_read 1064.
#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

TEST_CASE("extstore counters match memcached 1.6.18 for the same commands") {
  EngineConfig config;
  config.memory_limit = 64ull << 20;
  config.process_started = 1'700'000'000;
  config.ext.item_age = 0;
  config.ext.paths.push_back({"/tmp/x", 256ull << 20, ""});
  Engine engine(config);
  engine.set_time(10);
  // Sizes only: the counters do not depend on the bytes.
  PhantomDevice device(256ull << 20);
  ExtStore ext(engine, config.ext, {&device});
  LruMaintainer lru(engine);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(engine.set(key_for(i), std::string(1000, 'x')).result == StoreResult::kStored);
  }
  engine.set_time(14);
  Micros now = 14'000'000;
  for (int i = 0; i < 10; ++i) lru.step(now + i * 1000);
  while (ext.flusher_step(now) == now) {
  }
  ExtStoreStats st = ext.stats();
  CHECK(st.store.objects_written == 100);
  CHECK(st.store.objects_used == 100);
  CHECK(st.store.bytes_written == 106490);
  CHECK(st.store.bytes_used == 106490);
  CHECK(st.store.page_allocs == 1);
  CHECK(st.store.pages_used == 2);
  CHECK(st.store.pages_free == 2);
  CHECK(engine.stats().curr_items == 100);

  CHECK(engine.remove("key:5") == DeleteResult::kDeleted);
  const GetResult header = engine.get("key:7");
  REQUIRE(header.source == HitSource::kFlashHeader);
  CHECK(ext.read_sync("key:7", header).hit());
  st = ext.stats();
  CHECK(st.store.objects_used == 99);
  CHECK(st.store.bytes_used == 105426);
  CHECK(st.get_extstore == 1);
  CHECK(st.store.objects_read == 1);
  CHECK(st.store.bytes_read == 1064);
}
