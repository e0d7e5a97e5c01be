// LruMaintainer::try_step_beside_readers (the maintainer's pass under
// EngineLock's mutator side, beside shared gets): on one thread it must
// leave every item in the segment, and every LRU counter where, step()
// under the exclusive side leaves them; it declines what only the
// exclusive side may do; across threads, gets beside its moves, its
// reclaims and its draining of the bump queue must never miss a present
// key nor return another key's value. Built in the TSan build as well
// (tests/run_all.sh).
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

EngineConfig config_of(uint64_t megabytes, bool automove) {
  EngineConfig config;
  config.memory_limit = megabytes << 20;
  config.slab_automove = automove ? 1 : 0;
  return config;
}

std::string key_of(uint32_t k) {
  return "key:" + std::to_string(k);
}

// A get as the server makes it: shared first (COLD -> WARM moves queued),
// else exclusive after the lock's hook (catch_up).
GetResult get_like_server(Engine& engine, const std::string& key) {
  GetOptions options;
  options.defer_relink = true;
  if (std::optional<GetResult> shared = engine.try_get_shared(key, options)) return *shared;
  engine.catch_up();
  return engine.get(key, options);
}

// Per class, the LRU figures a maintainer pass decides.
std::vector<uint64_t> lru_figures(const Stats& s) {
  std::vector<uint64_t> v = {s.curr_items, s.get_hits, s.lru_maintainer_juggles};
  for (const ItemClassStats& c : s.items) {
    for (uint64_t x :
         {c.number, c.number_hot, c.number_warm, c.number_cold, c.reclaimed, c.moves_to_cold,
          c.moves_to_warm, c.moves_within_lru, c.hits_to_cold, c.hits_to_warm, c.hits_to_hot}) {
      v.push_back(x);
    }
  }
  return v;
}

class MutationWatcher final : public EventSink {
 public:
  MutationWatcher() { set_streams(log_stream::kMutations); }
  void item_get(const ItemGetEvent&) override {}
  void item_store(const ItemStoreEvent&) override {}
  void eviction(const ItemLeaveEvent&) override {}
  void extstore_write(const ItemLeaveEvent&) override {}
  void compaction(const CompactEvent&) override {}
  void slab_move(uint32_t, uint32_t) override {}
};

}  // namespace

TEST_CASE("the maintainer beside readers, on one thread: step()'s segments and counters") {
  // Engine `exclusive` runs every pass as the server did before (catch_up,
  // then step()); engine `beside` as it does now (try_step_beside_readers,
  // else catch_up and step()). Same requests, same times; a third of the
  // sets are of keys that expire unread, so passes reclaim as well as
  // move, and the automover
  // (once per engine second) makes some passes decline.
  Engine exclusive(config_of(16, true));
  Engine beside(config_of(16, true));
  LruMaintainer exclusive_maintainer(exclusive);
  // Slices of 4 iterations: most juggles take several calls.
  LruMaintainer beside_maintainer(beside, 4);
  rel_time_t now = 100;
  exclusive.set_time(now);
  beside.set_time(now);
  std::mt19937_64 rng(11);
  uint64_t passes_beside = 0;
  uint64_t passes_declined = 0;
  uint64_t continued = 0;
  for (int i = 1; i <= 80'000; ++i) {
    // Three quarters of requests on 300 hot keys, the rest on 6000.
    const uint32_t k = static_cast<uint32_t>(rng() % 4 ? rng() % 300 : rng() % 6000);
    const std::string key = key_of(k);
    if (rng() % 8) {
      const GetResult a = get_like_server(exclusive, key);
      const GetResult b = get_like_server(beside, key);
      REQUIRE(a.source == b.source);
      REQUIRE(a.value == b.value);
      REQUIRE(a.info.lru == b.info.lru);
    } else {
      // One set in three is of a key never read, expiring in 2 s: passes
      // reclaim those.
      const bool expiring = rng() % 3 == 0;
      const std::string set_key = expiring ? "ttl:" + std::to_string(i) : key;
      StoreRequest request;
      request.key = set_key;
      const std::string value(100 + rng() % 900, static_cast<char>('a' + i % 26));
      request.value = value;
      request.exptime = expiring ? 2 : 0;
      exclusive.catch_up();
      beside.catch_up();
      REQUIRE(exclusive.store(request).result == beside.store(request).result);
    }
    if (i % 40 == 0) {
      const Micros at = Micros{now} * 1'000'000 + static_cast<Micros>(i % 5'000) * 150;
      exclusive.catch_up();
      const Micros next_exclusive = exclusive_maintainer.step(at);
      std::optional<Micros> next_beside = beside_maintainer.try_step_beside_readers(at);
      // A juggle with more to do asks to be called again at once.
      while (next_beside && *next_beside == at) {
        ++continued;
        next_beside = beside_maintainer.try_step_beside_readers(at);
      }
      if (next_beside) {
        ++passes_beside;
      } else {
        ++passes_declined;
        beside.catch_up();
        next_beside = beside_maintainer.step(at);
      }
      // A pass that applied queued moves asks to run again soon, as
      // memcached's does after draining its bump buffers; the exclusive
      // side applies them before step() sees them.
      REQUIRE(*next_beside <= next_exclusive);
    }
    if (i % 5'000 == 0) {
      // The server's clock step takes the exclusive side.
      ++now;
      exclusive.catch_up();
      beside.catch_up();
      exclusive.set_time(now);
      beside.set_time(now);
    }
  }
  exclusive.catch_up();
  beside.catch_up();
  const Stats a = exclusive.stats();
  const Stats b = beside.stats();
  CHECK(lru_figures(a) == lru_figures(b));
  CHECK(a.moves_to_warm > 100);  // the queue's moves were applied by passes
  CHECK(a.moves_to_cold > 100);
  CHECK(a.reclaimed > 0);
  CHECK(passes_beside > 1000);
  CHECK(passes_declined >= 10);  // the automover's once a second
  CHECK(continued > 100);  // juggles ran in slices
  for (uint32_t k = 0; k < 6000; ++k) {
    const GetResult x = exclusive.get(key_of(k));
    const GetResult y = beside.get(key_of(k));
    REQUIRE(x.value == y.value);
    REQUIRE(x.info.lru == y.info.lru);
  }
}

TEST_CASE("the maintainer beside readers declines what only the exclusive side may do") {
  SUBCASE("a watcher: its lines come in lock order") {
    Engine engine(config_of(8, false));
    engine.set_time(100);
    for (uint32_t k = 0; k < 500; ++k) engine.set(key_of(k), std::string(300, 'v'));
    LruMaintainer maintainer(engine);
    MutationWatcher watcher;
    engine.set_event_sink(&watcher);
    CHECK_FALSE(maintainer.try_step_beside_readers(1'000'000).has_value());
    engine.set_event_sink(nullptr);
    std::optional<Micros> next;
    while ((next = maintainer.try_step_beside_readers(1'000'000)) == Micros{1'000'000}) {
    }
    CHECK(next.has_value());
    CHECK(engine.stats().lru_maintainer_juggles == 1);  // the declined pass counted nothing
  }
  SUBCASE("a retired list that fills part-way: the pass stops, what follows runs whole") {
    Engine engine(config_of(64, false));
    engine.set_time(100);
    // Oldest first, so at the LRU's tail: 100 items that expire at 101.
    for (uint32_t k = 0; k < 100; ++k) engine.set("ttl:" + std::to_string(k), "v", 0, 1);
    // 4095 replaces beside readers retire 4095 records (the bound is 4096).
    for (uint32_t k = 0; k < 100; ++k) engine.set(key_of(k), "first");
    uint32_t retired = 0;
    for (uint32_t i = 0; retired < 4095; ++i) {
      const std::string key = key_of(i % 100);
      StoreRequest request;
      request.key = key;
      request.value = "again";
      PreparedStore prepared = engine.prepare_store(request);
      REQUIRE(engine.try_store_concurrent(request, prepared).has_value());
      ++retired;
    }
    engine.set_time(200);
    LruMaintainer maintainer(engine);
    // The first reclaim fills the list; the second declines the pass.
    CHECK_FALSE(maintainer.try_step_beside_readers(200'000'000).has_value());
    CHECK(engine.stats().reclaimed == 1);
    // The exclusive side's calls after the decline run whole.
    engine.catch_up();
    CHECK(engine.set("after", "stored").result == StoreResult::kStored);
    CHECK(engine.get("after").value == "stored");
    maintainer.step(200'000'000);
    CHECK(engine.stats().reclaimed == 100);
  }
  SUBCASE("the automover, once per engine second") {
    Engine engine(config_of(8, true));
    engine.set_time(100);
    engine.set(key_of(1), "v");
    LruMaintainer maintainer(engine);
    CHECK_FALSE(maintainer.try_step_beside_readers(1'000'000).has_value());
    maintainer.step(1'000'000);
    CHECK(maintainer.automove_runs() == 1);
    // Within the same engine second the automover is not due again.
    CHECK(maintainer.try_step_beside_readers(1'100'000).has_value());
    CHECK(maintainer.automove_runs() == 1);
    CHECK(engine.stats().lru_maintainer_juggles == 2);
  }
}

TEST_CASE("gets beside the maintainer's moves, reclaims and bump drains") {
  // Readers hit a Zipf-like key set so COLD items are bumped (queued) all
  // the time; a writer replaces keys (some expiring) beside them; the
  // maintainer's thread runs passes under the mutator side and applies the
  // queued moves, falling back to the exclusive side when it declines.
  Engine engine(config_of(8, true));
  engine.set_time(100);
  LruMaintainer maintainer(engine);
  EngineLock lock;
  lock.set_on_exclusive([](void* e) { static_cast<Engine*>(e)->catch_up(); }, &engine);
  constexpr uint32_t kKeys = 3000;
  auto value_of = [](uint32_t k, uint32_t version) {
    std::string v = key_of(k) + "#" + std::to_string(version) + "#";
    v.resize(200 + k % 300, 'x');
    return v;
  };
  for (uint32_t k = 0; k < kKeys; ++k) engine.set(key_of(k), value_of(k, 0));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> wrong_value{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> concurrent_stores{0};
  std::atomic<uint64_t> passes_beside{0};

  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!stop.load(std::memory_order_relaxed)) {
      const uint32_t k = static_cast<uint32_t>(rng() % 4 ? rng() % 200 : rng() % kKeys);
      const std::string key = key_of(k);
      std::string copied;
      const bool hit = memext::testing::get_like_server(engine, lock, key, copied);
      if (!hit) misses.fetch_add(1);
      if (hit && copied.rfind(key + "#", 0) != 0) wrong_value.fetch_add(1);
    }
  };
  std::thread maintainer_thread([&] {
    Micros at = 100'000'000;
    while (!stop.load(std::memory_order_relaxed)) {
      at += 500;
      lock.lock_mutator();
      const bool done = maintainer.try_step_beside_readers(at).has_value();
      lock.unlock_mutator();
      if (done) {
        passes_beside.fetch_add(1);
      } else {
        std::lock_guard exclusive(lock);
        maintainer.step(at);
      }
      std::this_thread::yield();
    }
  });
  std::thread r1(reader, 1);
  std::thread r2(reader, 2);
  std::thread writer([&] {
    std::mt19937_64 rng(3);
    for (uint32_t i = 1; i <= 20'000; ++i) {
      const uint32_t k = static_cast<uint32_t>(rng() % kKeys);
      std::string value = value_of(k, i);
      // One store in three is of a key no reader reads, expiring in 2 s:
      // the maintainer's passes reclaim them beside the readers.
      const bool expiring = i % 3 == 0;
      const std::string key = expiring ? "ttl:" + std::to_string(i) : key_of(k);
      // A slab class of their own, whose COLD tail is always the oldest.
      if (expiring) value.resize(5000, 't');
      StoreRequest request;
      request.key = key;
      request.value = value;
      request.exptime = expiring ? 2 : 0;
      CHECK(memext::testing::store_like_server(engine, lock, request, concurrent_stores).result ==
            StoreResult::kStored);
      if (i % 500 == 0) {
        // At least one pass beside the readers per engine second, however
        // the threads are scheduled.
        for (const uint64_t seen = passes_beside.load(); passes_beside.load() == seen;) {
          std::this_thread::yield();
        }
        std::lock_guard exclusive(lock);
        engine.set_time(100 + i / 500);
      }
    }
    stop = true;
  });
  writer.join();
  r1.join();
  r2.join();
  maintainer_thread.join();
  std::lock_guard exclusive(lock);
  const Stats s = engine.stats();
  CHECK(wrong_value.load() == 0);
  CHECK(misses.load() == 0);
  CHECK(passes_beside.load() >= 40);
  CHECK(s.moves_to_warm > 0);
  CHECK(s.reclaimed > 0);
  GetOptions peek;
  peek.bump = false;
  for (uint32_t k = 0; k < kKeys; ++k) CHECK(engine.get(key_of(k), peek).hit());
}
