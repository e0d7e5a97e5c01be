// The write flusher's pace in virtual time: each step that moves objects
// costs ExtStoreOptions' modelled CPU time, so a write storm faster than
// that leaves items in COLD to be evicted from RAM unflushed, as memcached's
// storage_write_thread falls behind; a slower storm loses none.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "storage_rig.h"

using namespace memext;
using namespace memext::testing;

namespace {

struct StormResult {
  uint64_t evictions = 0;
  uint64_t written = 0;
};

// `sets` distinct 4 KB keys, one every `gap` microseconds of virtual time,
// with the LRU maintainer and the flusher stepped at the times they ask for.
StormResult storm(Micros gap, int sets) {
  EngineConfig config;
  config.memory_limit = 8ull << 20;
  config.phantom = true;
  config.ext.item_age = 0;
  config.ext.item_size = 64;
  config.ext.page_size = 8ull << 20;
  config.ext.wbuf_size = 2ull << 20;
  config.ext.paths.push_back({"pacing", 1ull << 30, ""});
  Engine engine(config);
  LruMaintainer lru(engine);
  PhantomDevice device(1ull << 30);
  ExtStore ext(engine, config.ext, {&device});
  Micros now = 1'000'000;
  engine.set_time(1);
  Micros lru_at = now;
  Micros flusher_at = now;
  for (int i = 0; i < sets; ++i) {
    now += gap;
    engine.set_time(static_cast<rel_time_t>(now / kMicrosPerSecond));
    while (std::min(lru_at, flusher_at) <= now) {
      if (lru_at <= flusher_at) {
        lru_at = std::max(lru.step(lru_at), lru_at + 1);
      } else {
        flusher_at = std::max(ext.flusher_step(flusher_at), flusher_at + 1);
      }
    }
    StoreRequest r;
    const std::string key = key_for(i);
    r.key = key;
    r.value_len = 4096;
    REQUIRE(engine.store(r).result == StoreResult::kStored);
  }
  return {engine.stats().evictions, ext.stats(false).store.objects_written};
}

}  // namespace

TEST_CASE(
    "a write storm faster than the modelled flusher evicts unflushed items; a slow one none") {
  // 4 KB objects cost about 2 + 1.4 * 4.1 us each: some 130K a second.
  const StormResult fast = storm(2, 20'000);  // 500K sets a second
  CHECK(fast.evictions > 5'000);
  CHECK(fast.written < 15'000);
  const StormResult slow = storm(40, 20'000);  // 25K sets a second
  CHECK(slow.evictions == 0);
  CHECK(slow.written > 17'000);
}

namespace {

// Ten 1000-byte items in COLD, ready to flush, behind a flusher that costs
// 10 us an object; `slice_bytes` is ExtStoreOptions::flusher_slice_bytes.
struct TenColdItems {
  explicit TenColdItems(uint32_t slice_bytes) {
    config.phantom = true;
    engine = std::make_unique<Engine>(config);
    lru = std::make_unique<LruMaintainer>(*engine);
    ExtStoreOptions options;
    options.flusher_ns_per_object = 10'000;
    options.flusher_ns_per_kib = 0;
    options.flusher_slice_bytes = slice_bytes;
    ext = std::make_unique<ExtStore>(*engine, config.ext, std::vector<Device*>{&device}, options);
    engine->set_time(100);
    for (int i = 0; i < 10; ++i) {
      StoreRequest r;
      const std::string key = key_for(i);
      r.key = key;
      r.value_len = 1000;
      REQUIRE(engine->store(r).result == StoreResult::kStored);
    }
    engine->set_time(102);
    for (int i = 0; i < 50; ++i) lru->step(now += 1000);
  }
  uint64_t written() const { return ext->stats(false).store.objects_written; }

  EngineConfig config = rig_engine_config(true);
  PhantomDevice device{config.ext.paths[0].size_bytes};
  std::unique_ptr<Engine> engine;
  std::unique_ptr<LruMaintainer> lru;
  std::unique_ptr<ExtStore> ext;
  Micros now = 102'000'000;
};

}  // namespace

TEST_CASE("a moving flusher step wakes after its modelled cost, an idle one after its sleep") {
  TenColdItems t(0);
  CHECK(t.ext->flusher_step(t.now) == t.now + 10 * 10);  // ten objects at 10 us
  CHECK(t.written() == 10);
  CHECK(t.ext->flusher_step(t.now) == t.now + kWriteSleepMin);
}

TEST_CASE("flusher_slice_bytes ends a step after its slice and goes on with the same pass") {
  // Each object is a little over 1000 bytes: a 2500-byte slice ends a step
  // after the object that reaches it, the third.
  TenColdItems t(2500);
  for (uint64_t written : {3, 6, 9}) {
    CHECK(t.ext->flusher_step(t.now) == t.now);  // more of the pass: again at once
    CHECK(t.written() == written);
  }
  // The pass ends with its tenth object and wakes after all ten's cost, as
  // the whole pass in one step does.
  CHECK(t.ext->flusher_step(t.now) == t.now + 10 * 10);
  CHECK(t.written() == 10);
  CHECK(t.ext->flusher_step(t.now) == t.now + kWriteSleepMin);
  TenColdItems whole(0);
  whole.ext->flusher_step(whole.now);
  CHECK(t.engine->stats().evictions == whole.engine->stats().evictions);
  CHECK(t.ext->stats(false).store.bytes_written == whole.ext->stats(false).store.bytes_written);
  for (int i = 0; i < 10; ++i) {
    const GetResult a = t.engine->get(key_for(i));
    const GetResult b = whole.engine->get(key_for(i));
    CHECK(a.source == HitSource::kFlashHeader);
    CHECK(a.location.offset == b.location.offset);
  }
}

// memcached 1.6.18's storage_write_thread sleeps after every pass, from
// 500 us, one more each pass; 1.6.20's runs again at once after moving.
TEST_CASE("1.6.18 pacing: the flusher sleeps after a moving pass too, from 500 us") {
  EngineConfig config = rig_engine_config(true);
  config.phantom = true;
  Engine engine(config);
  LruMaintainer lru(engine);
  PhantomDevice device(config.ext.paths[0].size_bytes);
  ExtStoreOptions options;
  options.flusher_ns_per_object = 10'000;
  options.flusher_ns_per_kib = 0;
  options.flusher_pacing = FlusherPacing::k1_6_18;
  ExtStore ext(engine, config.ext, {&device}, options);
  engine.set_time(100);
  for (int i = 0; i < 10; ++i) {
    StoreRequest r;
    const std::string key = key_for(i);
    r.key = key;
    r.value_len = 1000;
    REQUIRE(engine.store(r).result == StoreResult::kStored);
  }
  engine.set_time(102);
  Micros now = 102'000'000;
  for (int i = 0; i < 50; ++i) lru.step(now += 1000);
  CHECK(ext.flusher_step(now) == now + 10 * 10 + kWriteSleepMin1618);
  CHECK(ext.stats(false).store.objects_written == 10);
  CHECK(ext.flusher_step(now) == now + kWriteSleepMin1618 + 1);
  CHECK(ext.flusher_step(now) == now + kWriteSleepMin1618 + 2);
}
