// Runtime tuning (memext/tuning.h): memcached's `slabs reassign`,
// `slabs automove`, `cache_memlimit` and `lru tune|mode|temp_ttl` applied to
// a running engine.
#include <doctest/doctest.h>

#include <string>

#include "memext/lru_maintainer.h"
#include "memext/options.h"
#include "memext/slab_rebalancer.h"
#include "memext/slabs.h"
#include "memext/tuning.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

// 900-byte values land in class 12 (chunk 1184, 885 per page).
const std::string kLargeValue(900, 'v');
constexpr uint32_t kLargeClass = 12;
constexpr uint64_t kPerPage = 885;

// The lookups return pointers into `st`, so a temporary Stats (engine.stats()
// passed straight in) would leave them dangling: refused at compile time.
const SlabClassStats* slab_of(const Stats& st, uint32_t id) {
  for (const SlabClassStats& c : st.slabs) {
    if (c.id == id) return &c;
  }
  return nullptr;
}
const SlabClassStats* slab_of(Stats&& st, uint32_t id) = delete;

const ItemClassStats* items_of(const Stats& st, uint32_t id) {
  for (const ItemClassStats& c : st.items) {
    if (c.id == id) return &c;
  }
  return nullptr;
}
const ItemClassStats* items_of(Stats&& st, uint32_t id) = delete;

uint64_t pages_of(Engine& engine, uint32_t id) {
  const Stats st = engine.stats();
  const SlabClassStats* slab = slab_of(st, id);
  return slab == nullptr ? 0 : slab->total_pages;
}

void fill_large(Engine& engine, const std::string& prefix, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) engine.set(prefix + std::to_string(i), kLargeValue);
}

// `slabs reassign` only requests the move: the rebalancer carries it out.
SlabReassignResult reassign_now(Engine& engine, int32_t src, int32_t dst) {
  const SlabReassignResult result = reassign_slab_page(engine, src, dst);
  SlabRebalancer rebalancer(engine);
  while (rebalancer.step(0) != kRebalancerIdle) {
  }
  return result;
}

void run_seconds(Engine& engine, LruMaintainer& lru, rel_time_t from, rel_time_t seconds) {
  for (rel_time_t s = from; s < from + seconds; ++s) {
    engine.set_time(s);
    for (Micros pass = 0; pass < 8; ++pass) lru.step(Micros{s} * 1'000'000 + pass * 1'000);
  }
}

}  // namespace

TEST_CASE("slabs reassign moves a page out of a full class, evicting what it held") {
  Engine engine(small_config(8));
  engine.set_time(100);
  fill_large(engine, "k", kPerPage * 3);
  engine.set("small", "x");
  REQUIRE(pages_of(engine, kLargeClass) == 3);
  REQUIRE(pages_of(engine, 1) == 1);

  CHECK(reassign_now(engine, kLargeClass, 1) == SlabReassignResult::kOk);
  const Stats st = engine.stats();
  CHECK(slab_of(st, kLargeClass)->total_pages == 2);
  CHECK(slab_of(st, 1)->total_pages == 2);
  CHECK(st.slabs_moved == 1);
  CHECK(st.slab_reassign_evictions_nomem == kPerPage);
  CHECK(st.curr_items == kPerPage * 2 + 1);
  CHECK(value_of(engine, "small") == "x");
}

TEST_CASE("slabs reassign refuses what memcached refuses, and touches nothing then") {
  Engine engine(small_config(8));
  engine.set_time(100);
  fill_large(engine, "k", kPerPage * 2);
  engine.set("small", "x");
  CHECK(reassign_slab_page(engine, kLargeClass, kLargeClass) == SlabReassignResult::kSrcDstSame);
  CHECK(reassign_slab_page(engine, -1, -1) == SlabReassignResult::kSrcDstSame);
  CHECK(reassign_slab_page(engine, kLargeClass, 99) == SlabReassignResult::kBadClass);
  CHECK(reassign_slab_page(engine, -2, 1) == SlabReassignResult::kBadClass);
  CHECK(reassign_slab_page(engine, 1, kLargeClass) == SlabReassignResult::kNoSpare);
  // No extstore: nothing was preallocated into the global page pool.
  CHECK(reassign_slab_page(engine, 0, 1) == SlabReassignResult::kNoSpare);
  const Stats st = engine.stats();
  CHECK(st.slabs_moved == 0);
  CHECK(st.slab_reassign_evictions_nomem == 0);
  CHECK(st.curr_items == kPerPage * 2 + 1);
}

TEST_CASE("slabs reassign -1 picks the next class with a page to spare") {
  Engine engine(small_config(8));
  engine.set_time(100);
  fill_large(engine, "k", kPerPage * 2);
  engine.set("small", "x");
  CHECK(reassign_now(engine, -1, 1) == SlabReassignResult::kOk);
  CHECK(pages_of(engine, kLargeClass) == 1);
  CHECK(pages_of(engine, 1) == 2);
  // Now class 1 is the only one with two pages, and it is the destination.
  CHECK(reassign_slab_page(engine, -1, 1) == SlabReassignResult::kBadClass);
  CHECK(reassign_now(engine, -1, kLargeClass) == SlabReassignResult::kOk);
  CHECK(pages_of(engine, kLargeClass) == 2);
}

TEST_CASE("cache_memlimit raised lets classes grow without evicting") {
  Engine engine(small_config(8));
  engine.set_time(100);
  fill_large(engine, "a", kPerPage * 10);
  const Stats full = engine.stats();
  REQUIRE(full.evictions > 0);
  REQUIRE(full.total_malloced <= (8u << 20));

  set_memory_limit(engine, 16u << 20);
  CHECK(engine.config().memory_limit == (16u << 20));
  fill_large(engine, "b", kPerPage * 7);
  const Stats grown = engine.stats();
  CHECK(grown.evictions == full.evictions);
  CHECK(grown.limit_maxbytes == (16u << 20));
  CHECK(grown.total_malloced > (14u << 20));
}

TEST_CASE("cache_memlimit lowered gives back the global pool's pages above it") {
  EngineConfig config = small_config(8);
  config.ext.paths.push_back({"/nonexistent/tuning", 64ull << 20, ""});
  Engine engine(config);
  REQUIRE(engine.stats().slab_global_page_pool == 8);
  set_memory_limit(engine, 5u << 20);
  Stats st = engine.stats();
  CHECK(st.slab_global_page_pool == 5);
  CHECK(st.total_malloced == (5u << 20));
  // Raising it again mallocs nothing up front: classes grow into it.
  set_memory_limit(engine, 8u << 20);
  st = engine.stats();
  CHECK(st.slab_global_page_pool == 5);
  CHECK(st.total_malloced == (5u << 20));
}

TEST_CASE("slabs automove switched on at runtime starts the automover") {
  EngineConfig config = small_config(8);
  config.slab_automove = 0;
  Engine engine(config);
  LruMaintainer lru(engine);
  run_seconds(engine, lru, 100, 3);
  CHECK(lru.automove_runs() == 0);
  set_slab_automove(engine, 1);
  run_seconds(engine, lru, 103, 3);
  CHECK(lru.automove_runs() == 3);
  set_slab_automove(engine, 0);
  run_seconds(engine, lru, 106, 3);
  CHECK(lru.automove_runs() == 3);
  set_slab_automove_ratio(engine, 0.5);
  CHECK(engine.config().slab_automove_ratio == 0.5);
}

TEST_CASE("lru tune checks memcached's limits before changing anything") {
  Engine engine(small_config(8));
  CHECK(tune_lru(engine, 60, 21, 0.1, 2.0) == LruTuneResult::kPctsAbove80);
  CHECK(tune_lru(engine, 10, 25, 0, 2.0) == LruTuneResult::kFactorNotPositive);
  CHECK(tune_lru(engine, 10, 25, 0.1, -1) == LruTuneResult::kFactorNotPositive);
  CHECK(engine.config().hot_lru_pct == EngineConfig{}.hot_lru_pct);
  CHECK(tune_lru(engine, 10, 25, 0.3, 1.5) == LruTuneResult::kOk);
  CHECK(engine.config().hot_lru_pct == 10);
  CHECK(engine.config().warm_lru_pct == 25);
  CHECK(engine.config().hot_max_factor == 0.3);
  CHECK(engine.config().warm_max_factor == 1.5);
}

TEST_CASE("lru mode flat: the maintainer drains HOT into COLD, new items go to COLD") {
  Engine engine(small_config(8));
  LruMaintainer lru(engine);
  engine.set_time(100);
  for (int i = 0; i < 50; ++i) engine.set("f" + std::to_string(i), "value");
  const Stats before_stats = engine.stats();
  const ItemClassStats* before = items_of(before_stats, 1);
  REQUIRE(before != nullptr);
  REQUIRE(before->number_hot == 50);

  set_lru_segmented(engine, false);
  run_seconds(engine, lru, 101, 3);
  engine.set("later", "value");
  const Stats st = engine.stats();
  CHECK(items_of(st, 1)->number_hot == 0);
  CHECK(items_of(st, 1)->number_cold == 51);
}

TEST_CASE("lru temp_ttl sends short-TTL items to the TEMP LRU until switched off") {
  Engine engine(small_config(8));
  engine.set_time(100);
  set_temporary_ttl(engine, 100);
  CHECK(engine.config().temp_lru);
  CHECK(store(engine, StoreMode::kSet, "short", "x", 0, 0, 50).result == StoreResult::kStored);
  CHECK(store(engine, StoreMode::kSet, "long", "x", 0, 0, 500).result == StoreResult::kStored);
  const Stats with_temp = engine.stats();
  CHECK(items_of(with_temp, 1)->number_temp == 1);

  set_temporary_ttl(engine, -1);
  CHECK(!engine.config().temp_lru);
  CHECK(engine.config().temporary_ttl == 100);
  CHECK(store(engine, StoreMode::kSet, "short2", "x", 0, 0, 50).result == StoreResult::kStored);
  const Stats temp_off = engine.stats();
  CHECK(items_of(temp_off, 1)->number_temp == 1);
}

TEST_CASE("slab_prealloc: a page per class at start, -m fixed; prefill puts the rest in the pool") {
  EngineConfig config = small_config(64);
  config.slab_prealloc = true;
  const SlabClassTable classes(config);
  REQUIRE(classes.largest() == 39);
  {
    Engine engine(config);
    const Stats st = engine.stats();
    CHECK(st.total_malloced == classes.prealloc_bytes());
    CHECK(st.slab_global_page_pool == 0);
    // memcached cannot resize preallocated memory.
    CHECK_FALSE(set_memory_limit(engine, 128u << 20));
    CHECK(engine.config().memory_limit == (64u << 20));
  }
  config.slab_prefill_global = true;
  Engine engine(config);
  const Stats st = engine.stats();
  CHECK(st.total_malloced == (64u << 20));
  CHECK(st.slab_global_page_pool == 64 - 39);
  // -m below a page per class is refused, in memcached's words.
  config.memory_limit = 38u << 20;
  const ConfigProblem problem = check_config(config);
  CHECK(problem.memcached_line ==
        "Error while preallocating slab memory!\nIf using -L or other prealloc options, max "
        "memory must be at least 39 megabytes.");
  CHECK(problem.memcached_exit_status == 1);
  config.memory_limit = 39u << 20;
  CHECK(check_config(config).empty());
}
