// The slab page mover (core/page_mover.h, driven by memext::SlabRebalancer):
// a page's items rescued, evicted or dropped as memcached 1.6.18 does. The
// expected figures are what Debian's memcached 1.6.18 printed for the same
// commands (-m 16 or -m 64, -o no_lru_crawler), as the integration test
// test_slab_rebalance.py checks against the running binary.
#include <doctest/doctest.h>

#include <string>

#include "core/storage_hooks.h"
#include "memext/slab_rebalancer.h"
#include "memext/tuning.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

// 1000-byte values land in class 12 (chunk 1184, 885 per page).
const std::string kValue(1000, 'v');
constexpr int32_t kClass = 12;
constexpr uint64_t kPerPage = 885;

std::string key(const char* prefix, uint64_t i) {
  return prefix + std::to_string(i);
}

void fill(Engine& engine, const char* prefix, uint64_t count, const std::string& value = kValue) {
  for (uint64_t i = 0; i < count; ++i)
    REQUIRE(engine.set(key(prefix, i), value).result == StoreResult::kStored);
}

// Steps the rebalancer until it has nothing left to do; returns the steps.
uint64_t run_rebalancer(Engine& engine) {
  SlabRebalancer rebalancer(engine);
  Micros now = 1'000'000;
  uint64_t steps = 0;
  while (rebalancer.wants_to_run()) {
    const Micros next = rebalancer.step(now);
    ++steps;
    REQUIRE(steps < 1000);
    if (next == kRebalancerIdle) break;
    now = std::max(now + 1, next);
  }
  CHECK(!rebalancer.wants_to_run());
  return steps;
}

const SlabClassStats* slab_of(const Stats& st, uint32_t id) {
  for (const SlabClassStats& c : st.slabs) {
    if (c.id == id) return &c;
  }
  return nullptr;
}
const SlabClassStats* slab_of(Stats&& st, uint32_t id) = delete;

bool present(Engine& engine, const std::string& k) {
  GetOptions peek;
  peek.bump = false;
  return engine.get(k, peek).hit();
}

}  // namespace

TEST_CASE("a moved page's live items are rescued into free chunks of the class elsewhere") {
  Engine engine(small_config(16));
  engine.set_time(100);
  // a1 gets flags and a TTL: both survive the move, as in memcached.
  for (uint64_t i = 0; i < 3000; ++i) {
    const bool special = i == 1;
    REQUIRE(engine.set(key("a", i), kValue, special ? 77 : 0, special ? 5000 : 0).result ==
            StoreResult::kStored);
  }
  fill(engine, "s", 10, "x");
  for (uint64_t i = 0; i < 3000; i += 2)
    REQUIRE(engine.remove(key("a", i)) == DeleteResult::kDeleted);
  GetOptions peek;
  peek.bump = false;
  const GetResult before = engine.get("a1", peek);
  REQUIRE(before.hit());

  engine.set_time(110);
  REQUIRE(reassign_slab_page(engine, kClass, 1) == SlabReassignResult::kOk);
  // Nothing moves until the rebalancer runs.
  CHECK(engine.stats().slabs_moved == 0);
  run_rebalancer(engine);

  const Stats st = engine.stats();
  CHECK(st.slabs_moved == 1);
  // Page 1 held a0..a884 (memcached hands a fresh page's last chunk out
  // first); its 442 odd keys live on elsewhere in the class.
  CHECK(st.slab_reassign_rescues == 442);
  CHECK(st.slab_reassign_evictions_nomem == 0);
  CHECK(st.slab_reassign_inline_reclaim == 0);
  CHECK(st.slab_reassign_busy_items == 0);
  CHECK(st.slab_reassign_running == 0);
  // memcached relinks each rescued copy: total_items counts it again.
  CHECK(st.total_items == 3010 + 442);
  CHECK(st.curr_items == 1510);
  CHECK(slab_of(st, kClass)->total_pages == 3);
  CHECK(slab_of(st, kClass)->used_chunks == 1500);
  CHECK(slab_of(st, kClass)->free_chunks == 3 * kPerPage - 1500);
  CHECK(slab_of(st, 1)->total_pages == 2);
  for (uint64_t i = 0; i < 3000; ++i) CHECK(present(engine, key("a", i)) == (i % 2 == 1));

  const GetResult after = engine.get("a1", peek);
  REQUIRE(after.hit());
  CHECK(after.value == kValue);
  CHECK(after.info.client_flags == 77);
  CHECK(after.info.exptime == before.info.exptime);
  // As in memcached 1.6.18 (do_item_replace links the copy): a new CAS, the
  // last one handed out since a1 was the page's last live item, and the
  // last access is the move's time.
  CHECK(after.info.cas != before.info.cas);
  CHECK(after.info.cas == st.total_items);
  CHECK(after.info.last_access == 110);
}

TEST_CASE("free chunks of the page met while rescuing are reclaimed inline") {
  Engine engine(small_config(16));
  engine.set_time(100);
  fill(engine, "a", 2 * kPerPage + 1);
  fill(engine, "s", 10, "x");
  // Freed last, page 1's chunks sit at the head of the free list.
  for (uint64_t i : {900, 901, 902, 10, 11, 12, 13}) {
    REQUIRE(engine.remove(key("a", i)) == DeleteResult::kDeleted);
  }
  REQUIRE(reassign_slab_page(engine, kClass, 1) == SlabReassignResult::kOk);
  run_rebalancer(engine);
  const Stats st = engine.stats();
  CHECK(st.slab_reassign_rescues == 881);
  CHECK(st.slab_reassign_inline_reclaim == 4);
  CHECK(st.slab_reassign_evictions_nomem == 0);
  CHECK(slab_of(st, kClass)->total_pages == 2);
  CHECK(slab_of(st, kClass)->free_chunks == 6);
  uint64_t hits = 0;
  for (uint64_t i = 0; i <= 2 * kPerPage; ++i) hits += present(engine, key("a", i)) ? 1 : 0;
  CHECK(hits == 2 * kPerPage + 1 - 7);
}

TEST_CASE("items that find no free chunk are evicted, expired ones dropped uncounted") {
  Engine engine(small_config(16));
  engine.set_time(100);
  fill(engine, "a", 2 * kPerPage);
  fill(engine, "s", 10, "x");
  for (uint64_t i = 20; i < 30; ++i) REQUIRE(engine.touch(key("a", i), 1) == TouchResult::kTouched);
  for (uint64_t i : {1000, 1001, 1002})
    REQUIRE(engine.remove(key("a", i)) == DeleteResult::kDeleted);
  engine.set_time(103);
  REQUIRE(reassign_slab_page(engine, kClass, 1) == SlabReassignResult::kOk);
  run_rebalancer(engine);
  const Stats st = engine.stats();
  // Page 1 (a884 in slot 0 .. a0 in slot 884): three items find page 2's
  // three free chunks, ten are expired, the other 872 are evicted.
  CHECK(st.slab_reassign_rescues == 3);
  CHECK(st.slab_reassign_evictions_nomem == 872);
  CHECK(st.slab_reassign_inline_reclaim == 0);
  // Neither LRU evictions nor reclaims: memcached counts them nowhere else.
  CHECK(st.evictions == 0);
  CHECK(st.reclaimed == 0);
  CHECK(st.expired_unfetched == 0);
  CHECK(st.curr_items == kPerPage + 10);
  CHECK(slab_of(st, kClass)->total_pages == 1);
  CHECK(slab_of(st, kClass)->free_chunks == 0);
  for (uint64_t i = 0; i < 2 * kPerPage; ++i) {
    const bool kept = (i >= 882 && i < 885) || (i >= kPerPage && (i < 1000 || i > 1002));
    CHECK(present(engine, key("a", i)) == kept);
  }
  // The source keeps its last page.
  CHECK(reassign_slab_page(engine, kClass, 1) == SlabReassignResult::kNoSpare);
}

TEST_CASE("chunked items: a data chunk is rescued alone, an evicted item takes another pass") {
  // 600000-byte values: a header chunk, one 512 KB chunk (class 39, two per
  // page) and a tail chunk. Six of them fill class 39's three pages.
  const std::string large(600000, 'L');
  SUBCASE("no free chunk: both items of page 1 go") {
    Engine engine(small_config(64));
    engine.set_time(100);
    fill(engine, "b", 6, large);
    fill(engine, "s", 10, "x");
    REQUIRE(reassign_slab_page(engine, 39, 1) == SlabReassignResult::kOk);
    run_rebalancer(engine);
    const Stats st = engine.stats();
    // memcached 1.6.18: b1's chunk (slot 0) finds nothing and b1 is freed,
    // its chunk back on the list; looking for room for b0 the mover takes
    // that chunk inline, then evicts b0; a second pass collects b0's chunk.
    CHECK(st.slab_reassign_evictions_nomem == 2);
    CHECK(st.slab_reassign_inline_reclaim == 1);
    CHECK(st.slab_reassign_busy_items == 2);
    CHECK(st.slab_reassign_rescues == 0);
    CHECK(st.slab_reassign_chunk_rescues == 0);
    CHECK(!present(engine, "b0"));
    CHECK(!present(engine, "b1"));
    for (uint64_t i = 2; i < 6; ++i) CHECK(value_of(engine, key("b", i)) == large);
    CHECK(slab_of(st, 39)->total_pages == 2);
    CHECK(slab_of(st, 39)->used_chunks == 4);
  }
  SUBCASE("one free chunk: b1's chunk is rescued, b0 evicted") {
    Engine engine(small_config(64));
    engine.set_time(100);
    fill(engine, "b", 6, large);
    fill(engine, "s", 10, "x");
    REQUIRE(engine.remove("b5") == DeleteResult::kDeleted);
    REQUIRE(reassign_slab_page(engine, 39, 1) == SlabReassignResult::kOk);
    run_rebalancer(engine);
    const Stats st = engine.stats();
    CHECK(st.slab_reassign_chunk_rescues == 1);
    CHECK(st.slab_reassign_evictions_nomem == 1);
    CHECK(st.slab_reassign_busy_items == 1);
    CHECK(st.slab_reassign_inline_reclaim == 0);
    CHECK(st.slab_reassign_rescues == 0);
    CHECK(!present(engine, "b0"));
    for (uint64_t i = 1; i < 5; ++i) CHECK(value_of(engine, key("b", i)) == large);
    // b1's CAS is untouched: a data chunk's rescue relinks no item.
    CHECK(st.total_items == 16);
  }
}

TEST_CASE("a move runs in steps: BUSY while it runs, then the page is in the global pool") {
  Engine engine(small_config(16));
  engine.set_time(100);
  fill(engine, "a", 3 * kPerPage);
  for (uint64_t i = 0; i < 3 * kPerPage; i += 3)
    REQUIRE(engine.remove(key("a", i)) == DeleteResult::kDeleted);
  REQUIRE(reassign_slab_page(engine, kClass, 0) == SlabReassignResult::kOk);
  CHECK(reassign_slab_page(engine, kClass, 1) == SlabReassignResult::kBusy);
  SlabRebalancer rebalancer(engine);
  CHECK(rebalancer.step(0) == 0);  // 256 of 885 slots: more to do at once
  CHECK(engine.stats().slab_reassign_running == 1);
  CHECK(reassign_slab_page(engine, kClass, 1) == SlabReassignResult::kBusy);
  Micros now = 0;
  while (rebalancer.step(now) != kRebalancerIdle) ++now;
  const Stats st = engine.stats();
  CHECK(st.slab_reassign_running == 0);
  CHECK(st.slabs_moved == 1);
  CHECK(st.slab_global_page_pool == 1);
  CHECK(st.slab_reassign_rescues == 590);
  CHECK(slab_of(st, kClass)->total_pages == 2);
  // The pool gives its page to the next class that grows.
  fill(engine, "s", 1, "x");
  CHECK(engine.stats().slab_global_page_pool == 0);
  CHECK(engine.stats().total_malloced == 3u << 20);
}

TEST_CASE("extstore headers in the moved page are rescued with their flash location") {
  // Header items (48 + key + 1 + 12 + 8 bytes) share class 1 with small items.
  Engine engine(small_config(16));
  engine.set_time(100);
  RecordingListener listener;
  core::StorageHooks hooks(engine);
  hooks.set_header_unlink_listener(&listener);
  const uint64_t per_page = engine.slab_classes()[1].perslab;
  fill(engine, "s", per_page, "x");
  fill(engine, "h", 10);
  // Twenty chunks of page 1 freed, then ten headers written into them.
  for (uint64_t i = 100; i < 120; ++i)
    REQUIRE(engine.remove(key("s", i)) == DeleteResult::kDeleted);
  for (uint32_t i = 0; i < 10; ++i) {
    const core::ItemHandle h = hooks.find(key("h", i));
    REQUIRE(hooks.replace_with_header(h, ExtLocation{1, 1, i * 4096, 1080}));
  }
  fill(engine, "t", 11, "x");  // ten into page 1, one starts page 2
  REQUIRE(engine.stats().slabs[0].total_pages == 2);
  // Five more free chunks in page 1 (so page 2's free chunks hold the rest),
  // taken inline as the first rescues look for room.
  for (uint64_t i = 0; i < 5; ++i) REQUIRE(engine.remove(key("s", i)) == DeleteResult::kDeleted);
  REQUIRE(reassign_slab_page(engine, 1, kClass) == SlabReassignResult::kOk);
  run_rebalancer(engine);
  const Stats st = engine.stats();
  CHECK(st.slab_reassign_rescues == per_page - 5);
  CHECK(st.slab_reassign_inline_reclaim == 5);
  CHECK(st.slab_reassign_evictions_nomem == 0);
  CHECK(listener.unlinked.empty());
  for (uint32_t i = 0; i < 10; ++i) {
    const GetResult r = engine.get(key("h", i));
    REQUIRE(r.source == HitSource::kFlashHeader);
    CHECK(r.location == ExtLocation{1, 1, i * 4096, 1080});
  }
  CHECK(st.ext_header_items == 10);
}
