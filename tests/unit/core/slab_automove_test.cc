// The slab automover: memcached's decisions (slab_automove.c,
// slab_automove_extstore.c), the moves they request (carried out by the
// SlabRebalancer, see slab_rebalance_test.cc), their counters and the
// -o slab_automove* options.
#include <doctest/doctest.h>

#include <string>

#include "core/item_store.h"
#include "core/slab_automove.h"
#include "core/storage_hooks.h"
#include "memext/lru_maintainer.h"
#include "memext/options.h"
#include "memext/slab_rebalancer.h"
#include "memext/tuning.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

// 900-byte values land in class 12 (chunk 1184, 885 per page); 40-byte
// values in a class below ext_item_size, like extstore's header items.
const std::string kLargeValue(900, 'v');
const std::string kSmallValue(40, 's');
constexpr uint32_t kLargeClass = 12;

EngineConfig extstore_style_config(uint32_t automove) {
  EngineConfig config = small_config(8);
  config.ext.paths.push_back({"/nonexistent/automove", 64ull << 20, ""});
  config.slab_automove = automove;
  return config;
}

const SlabClassStats* slab_of(const Stats& st, uint32_t id) {
  for (const SlabClassStats& c : st.slabs) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

// Engine seconds from 101 on, a few maintainer passes each (the automover
// runs again within the second after a page went back to the pool).
// Each pass lets the rebalancer finish the move the automover requested.
void maintain(LruMaintainer& lru, SlabRebalancer& rebalancer, Micros now) {
  lru.step(now);
  while (rebalancer.step(now) != kRebalancerIdle) {
  }
}

void run_seconds(Engine& engine, LruMaintainer& lru, rel_time_t from, rel_time_t seconds) {
  SlabRebalancer rebalancer(engine);
  for (rel_time_t s = from; s < from + seconds; ++s) {
    engine.set_time(s);
    const Micros base = Micros{s} * 1'000'000;
    for (Micros pass = 0; pass < 8; ++pass) maintain(lru, rebalancer, base + pass * 1'000);
  }
}

core::AutomoveSample sample_with(uint32_t id, uint32_t chunk_size, uint32_t perslab, uint64_t pages,
                                 uint64_t free_chunks) {
  core::AutomoveSample s;
  s.mem_limit_reached = true;
  s.classes[id].chunk_size = chunk_size;
  s.classes[id].chunks_per_page = perslab;
  s.classes[id].total_pages = pages;
  s.classes[id].free_chunks = free_chunks;
  return s;
}

}  // namespace

TEST_CASE("extstore automover: a small class with over 2.5 pages free gives a page to the pool") {
  EngineConfig config = extstore_style_config(1);
  const core::AutomoveSample start = sample_with(3, 120, 8738, 5, 0);
  core::SlabAutomover mover(core::SlabAutomover::Algorithm::kExtstore, config, start);
  // Exactly 2.5 pages free: not more than MIN_PAGES_FOR_RECLAIM.
  CHECK(!mover.run(sample_with(3, 120, 8738, 5, 8738 * 5 / 2)).wants_move());
  const core::AutomoveDecision d = mover.run(sample_with(3, 120, 8738, 5, 8738 * 3));
  CHECK(d.src == 3);
  CHECK(d.dst == 0);
  // The watermark memcheck sets: 1% of all pages, at least 2.
  CHECK(mover.global_pool_watermark() == 2);
}

TEST_CASE("extstore automover: an evicting class is dirty for a window and gives nothing back") {
  EngineConfig config = extstore_style_config(1);
  config.slab_automove_window = 3;
  core::AutomoveSample s = sample_with(3, 120, 8738, 5, 8738 * 3);
  core::SlabAutomover mover(core::SlabAutomover::Algorithm::kExtstore, config, s);
  s.classes[3].evicted = 1;
  CHECK(!mover.run(s).wants_move());
  CHECK(!mover.run(s).wants_move());
  CHECK(!mover.run(s).wants_move());
  // The dirty sample has left the window of three.
  CHECK(mover.run(s).src == 3);
}

TEST_CASE("extstore automover: a large class must stay over 3 pages free for a whole window") {
  EngineConfig config = extstore_style_config(1);
  config.slab_automove_window = 4;
  const core::AutomoveSample s = sample_with(kLargeClass, 1184, 885, 8, 885 * 4);
  core::SlabAutomover mover(core::SlabAutomover::Algorithm::kExtstore, config, s);
  for (int i = 0; i < 3; ++i) CHECK(!mover.run(s).wants_move());
  const core::AutomoveDecision d = mover.run(s);
  CHECK(d.src == static_cast<int>(kLargeClass));
  CHECK(d.dst == 0);
}

TEST_CASE("extstore automover: a pool under its watermark takes a page from the oldest class") {
  EngineConfig config = extstore_style_config(1);
  config.slab_automove_window = 3;
  core::AutomoveSample s = sample_with(kLargeClass, 1184, 885, 300, 0);
  s.classes[kLargeClass].age = 50;
  s.classes[14].chunk_size = 1856;
  s.classes[14].chunks_per_page = 564;
  s.classes[14].total_pages = 100;
  s.classes[14].age = 20;
  core::SlabAutomover mover(core::SlabAutomover::Algorithm::kExtstore, config, s);
  CHECK(!mover.run(s).wants_move());  // sets the watermark: 4 pages of 400
  CHECK(mover.global_pool_watermark() == 4);
  CHECK(!mover.run(s).wants_move());  // the window has not filled
  const core::AutomoveDecision d = mover.run(s);
  CHECK(d.src == static_cast<int>(kLargeClass));
  CHECK(d.dst == 0);
  s.classes[0].total_pages = 4;  // pool back at the watermark
  CHECK(!mover.run(s).wants_move());
}

TEST_CASE("default automover: the oldest class feeds the youngest evicting one") {
  EngineConfig config = small_config(8);
  config.slab_automove_window = 4;
  core::AutomoveSample s = sample_with(5, 184, 5698, 10, 0);
  s.classes[5].age = 1000;
  s.classes[9].chunk_size = 480;
  s.classes[9].chunks_per_page = 2184;
  s.classes[9].total_pages = 10;
  s.classes[9].age = 10;
  core::SlabAutomover mover(core::SlabAutomover::Algorithm::kDefault, config, s);
  core::AutomoveDecision d;
  for (int i = 0; i < 6; ++i) {
    s.classes[9].evicted += 10;
    d = mover.run(s);
  }
  CHECK(d.src == 5);
  CHECK(d.dst == 9);
  // Ages within slab_automove_ratio of each other: no move.
  s.classes[5].age = 11;
  for (int i = 0; i < 6; ++i) {
    s.classes[9].evicted += 10;
    d = mover.run(s);
  }
  CHECK(!d.wants_move());
}

TEST_CASE("a page goes back to the prefilled global pool, its free chunks with it") {
  Engine engine(extstore_style_config(0));
  engine.set_time(100);
  core::StorageHooks hooks(engine);
  core::SlabAllocator& slabs = hooks.slab_allocator();
  for (int i = 0; i < 885 * 3; ++i) engine.set("k" + std::to_string(i), kLargeValue);
  CHECK(slabs.state(kLargeClass).pages == 3);
  CHECK(slabs.global_page_pool() == 5);
  // k0..k884 filled the first page: with them gone, nothing needs rescuing.
  for (int i = 0; i < 885; ++i) engine.remove("k" + std::to_string(i));
  CHECK(reassign_slab_page(engine, kLargeClass, kLargeClass) == SlabReassignResult::kSrcDstSame);
  CHECK(reassign_slab_page(engine, kLargeClass, 0) == SlabReassignResult::kOk);
  SlabRebalancer rebalancer(engine);
  while (rebalancer.step(0) != kRebalancerIdle) {
  }
  CHECK(slabs.state(kLargeClass).pages == 2);
  CHECK(slabs.free_chunks(kLargeClass) == 0);
  CHECK(slabs.global_page_pool() == 6);
  CHECK(reassign_slab_page(engine, 1, 0) == SlabReassignResult::kNoSpare);
  const Stats st = engine.stats();
  CHECK(st.slabs_moved == 1);
  CHECK(st.slab_reassign_rescues == 0);
  CHECK(st.slab_reassign_evictions_nomem == 0);
  CHECK(st.slab_global_page_pool == 6);
  CHECK(st.curr_items == 885 * 2);
}

TEST_CASE("with automove the freed pages of a large class let a small class grow") {
  auto small_class_evictions = [](uint32_t automove, Stats* out) {
    Engine engine(extstore_style_config(automove));
    LruMaintainer lru(engine);
    engine.set_time(100);
    // All 8 pages to the large class, then most of it deleted.
    int n = 0;
    while (engine.stats().slab_global_page_pool > 0) {
      engine.set("big" + std::to_string(n++), kLargeValue);
    }
    for (int i = 0; i < n - 885; ++i) engine.remove("big" + std::to_string(i));
    run_seconds(engine, lru, 101, 40);
    const uint64_t before = engine.stats().evictions;
    for (int i = 0; i < 30'000; ++i) engine.set("hdr" + std::to_string(i), kSmallValue);
    *out = engine.stats();
    return out->evictions - before;
  };
  Stats off;
  Stats on;
  CHECK(small_class_evictions(0, &off) > 10'000);
  CHECK(small_class_evictions(1, &on) == 0);
  CHECK(off.slabs_moved == 0);
  // 7 pages of free chunks: moves continue while more than 2 * 1327 chunks
  // (memcached's truncated 885 * MIN_PAGES_FREE) are free and more than 2.5
  // pages, leaving 2 pages free.
  CHECK(on.slabs_moved == 5);
  CHECK(on.slab_reassign_evictions_nomem == 0);
  const SlabClassStats* large = slab_of(on, kLargeClass);
  REQUIRE(large != nullptr);
  CHECK(large->total_pages == 3);
}

TEST_CASE("without extstore an old class gives a page to a young evicting one") {
  EngineConfig config = small_config(8);
  Engine engine(config);
  LruMaintainer lru(engine);
  engine.set_time(100);
  // Seven pages of never-read large items, then the small class's first page.
  for (int i = 0; i < 885 * 7; ++i) engine.set("big" + std::to_string(i), kLargeValue);
  int small = 0;
  SlabRebalancer rebalancer(engine);
  for (rel_time_t s = 101; s < 150; ++s) {
    engine.set_time(s);
    for (int i = 0; i < 3000; ++i) engine.set("small" + std::to_string(small++), kSmallValue);
    const Micros base = Micros{s} * 1'000'000;
    for (Micros pass = 0; pass < 4; ++pass) maintain(lru, rebalancer, base + pass * 1'000);
  }
  const Stats st = engine.stats();
  CHECK(st.slabs_moved > 0);
  // The large class was full: the moved page's items were evicted.
  CHECK(st.slab_reassign_evictions_nomem >= 885 * st.slabs_moved);
  const SlabClassStats* large = slab_of(st, kLargeClass);
  REQUIRE(large != nullptr);
  CHECK(large->total_pages == 7 - st.slabs_moved);
}

TEST_CASE("slab_automove options parse with memcached's limits") {
  EngineConfig config;
  CHECK(config.slab_automove == 1);
  CHECK(config.slab_automove_ratio == doctest::Approx(0.8));
  CHECK(config.slab_automove_window == 30);
  CHECK(apply_memcached_option(config, "slab_automove", "2").ok());
  CHECK(config.slab_automove == 2);
  CHECK(apply_memcached_option(config, "slab_automove", "0").ok());
  CHECK(config.slab_automove == 0);
  OptionResult bad = apply_memcached_option(config, "slab_automove", "3");
  CHECK(!bad.ok());
  CHECK(bad.error.find("between 0 and 2") != std::string::npos);
  CHECK(apply_memcached_option(config, "slab_automove_ratio", "1").ok());
  CHECK(!apply_memcached_option(config, "slab_automove_ratio", "0").ok());
  CHECK(!apply_memcached_option(config, "slab_automove_ratio", "x").ok());
  CHECK(apply_memcached_option(config, "slab_automove_window", "3").ok());
  CHECK(config.slab_automove_window == 3);
  CHECK(!apply_memcached_option(config, "slab_automove_window", "2").ok());
  CHECK(apply_memcached_option(config, "slab_automove_freeratio", "0.05").ok());
  CHECK(config.ext.slab_automove_freeratio == doctest::Approx(0.05));
  CHECK(apply_memcached_option(config, "no_slab_reassign", "").ok());
  CHECK(!config.slab_reassign);
  CHECK(apply_memcached_suboptions(config, "slab_reassign,slab_automove=1").ok());
  CHECK(config.slab_reassign);
  CHECK(config.slab_automove == 1);
}
