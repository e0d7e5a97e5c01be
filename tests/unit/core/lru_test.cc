#include <doctest/doctest.h>

#include <string>

#include "core/item_store.h"
#include "memext/lru_maintainer.h"
#include "memext/options.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

// A value that puts items in class 12 (chunk 1184, 885 per 1 MB page).
const std::string kValue(900, 'v');
constexpr uint32_t kClass = 12;

// A copy, so callers may pass engine.stats() directly; id 0 when absent.
ItemClassStats items_of(const Stats& st, uint32_t id) {
  for (const ItemClassStats& c : st.items) {
    if (c.id == id) return c;
  }
  return {};
}

}  // namespace

TEST_CASE("new items enter HOT; the juggle caps HOT at hot_lru_pct of the class") {
  Engine engine(small_config());
  engine.set_time(100);
  for (int i = 0; i < 10; ++i) engine.set("k" + std::to_string(i), kValue);
  ItemClassStats before = items_of(engine.stats(), kClass);
  REQUIRE(before.id == kClass);
  CHECK(before.number_hot == 10);
  CHECK(engine.internals().juggle(kClass) > 0);
  ItemClassStats after = items_of(engine.stats(), kClass);
  CHECK(after.number_hot == 2);
  CHECK(after.number_cold == 8);
  CHECK(after.moves_to_cold == 8);
  // The oldest items went first: k0 is now the COLD tail.
  const core::LruList& cold = engine.internals().lru(kClass, LruSegment::kCold);
  const core::Item& tail = engine.internals().item(cold.tail);
  CHECK(engine.internals().key_of(tail) == "k0");
}

TEST_CASE("an item hit twice in COLD moves to WARM at once") {
  Engine engine(small_config());
  engine.set_time(100);
  for (int i = 0; i < 10; ++i) engine.set("k" + std::to_string(i), kValue);
  engine.internals().juggle(kClass);
  CHECK(engine.get("k0").info.lru == LruSegment::kCold);
  engine.set_time(105);
  engine.get("k0");  // second hit: ACTIVE, and COLD -> WARM
  GetResult third = engine.get("k0");
  CHECK(third.info.lru == LruSegment::kWarm);
  CHECK(third.info.last_access == 105);
  CHECK(!third.info.active);  // the move clears ACTIVE
  ItemClassStats c = items_of(engine.stats(), kClass);
  CHECK(c.number_warm == 1);
  CHECK(c.moves_to_warm == 1);
  CHECK(c.hits_to_cold == 2);
  CHECK(c.hits_to_warm == 1);
}

TEST_CASE("active items at the HOT tail go to WARM; active WARM tail items stay in WARM") {
  Engine engine(small_config());
  engine.set_time(100);
  for (int i = 0; i < 10; ++i) engine.set("k" + std::to_string(i), kValue);
  engine.get("k0");
  engine.get("k0");  // ACTIVE while in HOT
  engine.internals().juggle(kClass);
  CHECK(engine.get("k0").info.lru == LruSegment::kWarm);
  engine.get("k0");  // FETCHED already: ACTIVE again
  ItemClassStats c = items_of(engine.stats(), kClass);
  CHECK(c.moves_to_warm == 1);
  engine.internals().juggle(kClass);
  c = items_of(engine.stats(), kClass);
  CHECK(c.moves_within_lru == 1);
  CHECK(engine.get("k0").info.lru == LruSegment::kWarm);
}

TEST_CASE("HOT items older than hot_max_factor x COLD age drop to COLD") {
  Engine engine(small_config());
  engine.set_time(100);
  // Keys of one length so every item has the same size.
  for (int i = 10; i < 20; ++i) engine.set("a" + std::to_string(i), kValue);
  engine.internals().juggle(kClass);  // 2 HOT (a18, a19), 8 COLD, cold age 0
  engine.set_time(200);
  for (int i = 10; i < 50; ++i) engine.set("b" + std::to_string(i), kValue);
  // total 50 items: HOT limit 10 items by size. COLD age 100 -> hot age 20:
  // a18/a19 (age 100) leave HOT by age, then the size cap trims the rest.
  engine.internals().juggle(kClass);
  ItemClassStats c = items_of(engine.stats(), kClass);
  CHECK(c.number_hot == 10);
  CHECK(engine.get("a19").info.lru == LruSegment::kCold);
  CHECK(engine.get("b40").info.lru == LruSegment::kHot);
  CHECK(engine.get("b39").info.lru == LruSegment::kCold);
}

TEST_CASE("eviction takes the COLD tail in insertion order and spares active items") {
  Engine engine(small_config(2));
  engine.set_time(100);
  const int fill = 885 * 2;  // two pages: the class's first page plus the 2 MB limit
  for (int i = 0; i < fill; ++i) engine.set("k" + std::to_string(i), kValue, 0, i % 2 ? 1000 : 0);
  engine.get("k0");
  engine.get("k0");  // ACTIVE: pulled from HOT into WARM instead of COLD
  Stats full = engine.stats();
  CHECK(full.evictions == 0);
  CHECK(full.total_malloced == 2u << 20);
  engine.set_time(150);
  for (int i = 0; i < 3; ++i) engine.set("new" + std::to_string(i), kValue);
  Stats st = engine.stats();
  CHECK(st.evictions == 3);
  CHECK(st.evicted_unfetched == 3);
  CHECK(engine.get("k0").hit());
  CHECK(!engine.get("k1").hit());
  CHECK(!engine.get("k2").hit());
  CHECK(!engine.get("k3").hit());
  CHECK(engine.get("k4").hit());
  ItemClassStats c = items_of(st, kClass);
  CHECK(c.evicted == 3);
  CHECK(c.evicted_nonzero == 2);  // k1 and k3 had an exptime
  CHECK(c.evicted_time == 50);
  CHECK(st.curr_items == static_cast<uint64_t>(fill));
}

TEST_CASE("each class may take its first page past the limit, then must evict") {
  Engine engine(small_config(2));
  engine.set_time(10);
  engine.set("big", std::string(5000, 'x'));
  engine.set("small", "x");
  engine.set("mid", std::string(300, 'x'));
  engine.set("huge", std::string(200000, 'x'));
  Stats st = engine.stats();
  CHECK(st.total_malloced == 4u << 20);  // 4 classes, one page each, limit 2 MB
  CHECK(st.active_slabs == 4);
  CHECK(st.curr_items == 4);
}

TEST_CASE("with -M a full class answers out of memory") {
  EngineConfig config = small_config(2);
  config.evict_to_free = false;
  Engine engine(config);
  engine.set_time(10);
  for (int i = 0; i < 885 * 2; ++i) {
    REQUIRE(engine.set("k" + std::to_string(i), kValue).result == StoreResult::kStored);
  }
  CHECK(engine.set("one_more", kValue).result == StoreResult::kOutOfMemory);
  Stats st = engine.stats();
  CHECK(st.outofmemory == 1);
  CHECK(st.evictions == 0);
}

TEST_CASE("TEMP LRU holds short-TTL items and is never evicted") {
  EngineConfig config = small_config(2);
  REQUIRE(apply_memcached_option(config, "temporary_ttl", "61").ok());
  Engine engine(config);
  engine.set_time(10);
  engine.set("short", kValue, 0, 60);
  engine.set("long", kValue, 0, 62);
  CHECK(engine.get("short").info.lru == LruSegment::kTemp);
  CHECK(engine.get("long").info.lru == LruSegment::kHot);
  for (int i = 0; i < 885 * 2; ++i) engine.set("k" + std::to_string(i), kValue);
  CHECK(engine.get("short").hit());
  CHECK(!engine.get("long").hit());
  engine.set_time(71);
  CHECK(engine.internals().juggle(kClass) > 0);  // reclaims the expired TEMP item
  CHECK(engine.stats().reclaimed == 1);
}

TEST_CASE("flat LRU (no_lru_maintainer) keeps everything in COLD") {
  EngineConfig config = small_config();
  REQUIRE(apply_memcached_option(config, "no_lru_maintainer", "").ok());
  Engine engine(config);
  engine.set_time(10);
  engine.set("k", kValue);
  CHECK(engine.get("k").info.lru == LruSegment::kCold);
}

TEST_CASE("LruMaintainer backs off per class from 1 ms by 1/8 up to 1 s") {
  Engine engine(small_config());
  engine.set_time(10);
  LruMaintainer maintainer(engine);
  Micros now = 0;
  Micros next = maintainer.step(now);
  CHECK(next == 1000);
  next = maintainer.step(next);
  CHECK(next == 1000 + 1125);
  for (int i = 0; i < 200; ++i) {
    now = next;
    next = maintainer.step(now);
  }
  CHECK(next - now == kMaxLruMaintainerSleep);
  CHECK(engine.stats().lru_maintainer_juggles == 202);
}

TEST_CASE("LruMaintainer wakes sooner when a class has work") {
  Engine engine(small_config());
  engine.set_time(10);
  LruMaintainer maintainer(engine);
  Micros now = 0;
  for (int i = 0; i < 50; ++i) now = maintainer.step(now);
  for (int i = 0; i < 10; ++i) engine.set("k" + std::to_string(i), kValue);
  // The class with items is juggled at its next turn and moves items.
  Micros next = now;
  for (int i = 0; i < 5; ++i) next = maintainer.step(next);
  ItemClassStats c = items_of(engine.stats(), kClass);
  CHECK(c.number_cold == 8);
}
