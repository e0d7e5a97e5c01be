// Engine::try_store_concurrent (stores under EngineLock's mutator side,
// beside shared gets): on one thread it must give every answer, item and
// stat that store() gives; it declines what it may not do beside readers;
// across threads, gets running beside a concurrent store's replace and its
// evictions' backward-shift deletes must never miss a key that is present
// nor return another key's value. Built in the TSan build as well
// (tests/run_all.sh), where a missing happens-before is a reported race.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "memext/engine.h"
#include "memext/engine_lock.h"
#include "memext/events.h"
#include "memext/lru_maintainer.h"
#include "memext/stats.h"

#include "store_like_server.h"

using namespace memext;

namespace {

EngineConfig small_cache(uint64_t megabytes) {
  EngineConfig config;
  config.memory_limit = megabytes << 20;
  return config;
}

std::string key_of(uint32_t k) {
  return "key:" + std::to_string(k);
}

std::string value_of(uint32_t k, uint32_t version, size_t size) {
  std::string v = key_of(k) + "#" + std::to_string(version) + "#";
  v.resize(size, static_cast<char>('a' + version % 26));
  return v;
}

// The stats a concurrent store must leave exactly as store() does.
std::vector<uint64_t> counts_of(const Stats& s) {
  return {s.curr_items, s.total_items, s.evictions, s.cmd_set,    s.get_hits,
          s.get_misses, s.cas_misses,  s.cas_hits,  s.cas_badval, s.bytes};
}

}  // namespace

TEST_CASE("concurrent stores on one thread: store()'s answers, items and stats") {
  Engine plain(small_cache(4));
  Engine concurrent(small_cache(4));
  plain.set_time(100);
  concurrent.set_time(100);
  std::mt19937_64 rng(7);
  uint64_t served_concurrently = 0;
  for (int i = 0; i < 40'000; ++i) {
    const uint32_t k = static_cast<uint32_t>(rng() % 3000);
    const std::string key = key_of(k);
    const uint32_t pick = static_cast<uint32_t>(rng() % 16);
    if (pick < 6) {
      const GetResult a = plain.get(key);
      const GetResult b = concurrent.get(key);
      REQUIRE(a.source == b.source);
      REQUIRE(a.value == b.value);
      REQUIRE(a.info.cas == b.info.cas);
      REQUIRE(a.info.lru == b.info.lru);
      continue;
    }
    const std::string value = value_of(k, static_cast<uint32_t>(i), 200 + rng() % 3000);
    StoreRequest request;
    request.key = key;
    request.value = value;
    request.mode = pick < 12   ? StoreMode::kSet
                   : pick < 13 ? StoreMode::kAdd
                   : pick < 14 ? StoreMode::kReplace
                   : pick < 15 ? StoreMode::kAppend
                               : StoreMode::kCas;
    if (request.mode == StoreMode::kCas) {
      const GetResult seen = plain.get(key);
      concurrent.get(key);
      request.cas = seen.info.cas + (rng() % 2);  // a match or a stale CAS
    }
    const StoreOutcome expected = plain.store(request);
    PreparedStore prepared = concurrent.prepare_store(request);
    std::optional<StoreOutcome> got = concurrent.try_store_concurrent(request, prepared);
    if (got) {
      ++served_concurrently;
    } else {
      concurrent.catch_up();  // what the exclusive side's hook does first
      got = concurrent.store(request, prepared);
    }
    REQUIRE(got->result == expected.result);
    REQUIRE(got->cas == expected.cas);
    // The server's exclusive holders (clock, maintainer) come now and then.
    if (i % 997 == 0) concurrent.catch_up();
  }
  concurrent.catch_up();
  CHECK(counts_of(plain.stats()) == counts_of(concurrent.stats()));
  CHECK(plain.stats().evictions > 1000);  // the cache was under pressure
  // Only append declines here (and nothing else, on one thread).
  CHECK(served_concurrently > 20'000);
  for (uint32_t k = 0; k < 3000; ++k) {
    REQUIRE(plain.get(key_of(k)).value == concurrent.get(key_of(k)).value);
  }
}

namespace {

class MutationWatcher final : public EventSink {
 public:
  MutationWatcher() { set_streams(log_stream::kMutations); }
  void item_get(const ItemGetEvent&) override {}
  void item_store(const ItemStoreEvent&) override { ++stores; }
  void eviction(const ItemLeaveEvent&) override {}
  void extstore_write(const ItemLeaveEvent&) override {}
  void compaction(const CompactEvent&) override {}
  void slab_move(uint32_t, uint32_t) override {}
  int stores = 0;
};

}  // namespace

TEST_CASE("concurrent stores decline what only the exclusive side may do") {
  Engine engine(small_cache(64));
  engine.set_time(100);
  // The first store of an engine allocates its record pool: exclusive.
  engine.set("first", "x");
  StoreRequest request;
  request.key = "k";
  request.value = "v";
  PreparedStore prepared;

  SUBCASE("append and prepend") {
    request.mode = StoreMode::kAppend;
    CHECK_FALSE(engine.try_store_concurrent(request, prepared).has_value());
    request.mode = StoreMode::kPrepend;
    CHECK_FALSE(engine.try_store_concurrent(request, prepared).has_value());
    CHECK(engine.stats().cmd_set == 1);  // "first" only: nothing done or counted
  }
  SUBCASE("a watcher attached: its lines come in lock order") {
    MutationWatcher watcher;
    engine.set_event_sink(&watcher);
    CHECK_FALSE(engine.try_store_concurrent(request, prepared).has_value());
    CHECK(watcher.stores == 0);
    engine.set_event_sink(nullptr);
    CHECK(engine.try_store_concurrent(request, prepared).has_value());
  }
  SUBCASE("too many unlinked records waiting for an exclusive holder") {
    int stored = 0;
    for (; stored < 100'000; ++stored) {
      PreparedStore p = engine.prepare_store(request);
      if (!engine.try_store_concurrent(request, p)) break;  // each replaces "k"
    }
    CHECK(stored > 1000);
    CHECK(stored < 100'000);
    engine.catch_up();
    PreparedStore p = engine.prepare_store(request);
    CHECK(engine.try_store_concurrent(request, p).has_value());
    CHECK(engine.get("k").value == "v");
    CHECK(engine.stats().curr_items == 2);  // "first" and "k"
  }
}

TEST_CASE("gets beside concurrent stores: no false miss, no other key's value") {
  // Stable keys (small values) are stored once and then only replaced, so
  // they are always present; churn keys (4 KB values, another slab class)
  // overflow the cache, so the concurrent store evicts and the hash table's
  // backward shift moves stable keys' entries under the readers' probes.
  Engine engine(small_cache(8));
  engine.set_time(100);
  // Without the maintainer's juggles, gets would bump everything to WARM
  // and leave the stores nothing in COLD to evict.
  LruMaintainer maintainer(engine);
  EngineLock lock;
  lock.set_on_exclusive([](void* e) { static_cast<Engine*>(e)->catch_up(); }, &engine);
  constexpr uint32_t kStable = 2000;
  for (uint32_t k = 0; k < kStable; ++k) engine.set(key_of(k), value_of(k, 0, 100));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong_value{0};
  std::atomic<uint64_t> stable_misses{0};
  std::atomic<uint64_t> shared_served{0};
  std::atomic<uint64_t> concurrent_stores{0};

  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!stop.load(std::memory_order_relaxed)) {
      const uint32_t k = static_cast<uint32_t>(rng() % (kStable * 2));
      const std::string key = k < kStable ? key_of(k) : "churn:" + std::to_string(k);
      std::string copied;
      const bool hit = memext::testing::get_like_server(engine, lock, key, copied, &shared_served);
      if (k < kStable && !hit) stable_misses.fetch_add(1);
      if (hit && copied.rfind(key + "#", 0) != 0) wrong_value.fetch_add(1);
    }
  };
  std::thread r1(reader, 1);
  std::thread r2(reader, 2);
  std::thread writer([&] {
    std::mt19937_64 rng(3);
    for (uint32_t i = 1; i <= 30'000; ++i) {
      const bool churn = i % 2 == 0;
      const uint32_t k = churn ? kStable + static_cast<uint32_t>(rng() % kStable)
                               : static_cast<uint32_t>(rng() % kStable);
      const std::string key = churn ? "churn:" + std::to_string(k) : key_of(k);
      std::string value = value_of(k, i, churn ? 4000 : 100);
      value.replace(0, key_of(k).size(), key);
      StoreRequest request;
      request.key = key;
      request.value = value;
      const StoreOutcome outcome =
          memext::testing::store_like_server(engine, lock, request, concurrent_stores);
      // Stable keys' class keeps free chunks (a replace frees one); a churn
      // store can find its class's memory all in WARM, the readers keeping
      // every item ACTIVE faster than the maintainer moves them back to
      // COLD, and fail as memcached's does (outofmemory).
      if (churn) {
        CHECK((outcome.result == StoreResult::kStored ||
               outcome.result == StoreResult::kOutOfMemory));
      } else {
        CHECK(outcome.result == StoreResult::kStored);
      }
      // The server's clock and maintainer take the exclusive side now and then.
      if (i % 100 == 0) {
        std::lock_guard exclusive(lock);
        engine.set_time(100 + i / 500);
        maintainer.step(Micros{i} * 1000);
      }
    }
    stop = true;
  });
  writer.join();
  r1.join();
  r2.join();
  std::lock_guard exclusive(lock);
  CHECK(wrong_value.load() == 0);
  CHECK(stable_misses.load() == 0);
  CHECK(engine.stats().evictions > 1000);
  CHECK(concurrent_stores.load() > 20'000);
  CHECK(shared_served.load() > 0);
  for (uint32_t k = 0; k < kStable; ++k) CHECK(engine.get(key_of(k)).source == HitSource::kRam);
}
