// Engine::try_get_shared (gets under the shared side of the EngineLock):
// on one thread, a driver that tries it first and falls back to get() must
// see every answer, every item's state and every stat exactly as a driver
// that only calls get(); across threads, readers and writers under the
// EngineLock must lose no count.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "memext/engine_lock.h"
#include "memext/lru_maintainer.h"
#include "memext/stats.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

struct Answer {
  HitSource source = HitSource::kMiss;
  std::string value;
  uint64_t cas = 0;
  uint32_t last_access = 0;
  bool fetched = false;
  bool active = false;
  LruSegment lru = LruSegment::kHot;
  friend bool operator==(const Answer&, const Answer&) = default;
};

Answer answer_of(const GetResult& r) {
  Answer a;
  a.source = r.source;
  a.value.assign(r.value);
  a.cas = r.info.cas;
  a.last_access = r.info.last_access;
  a.fetched = r.info.fetched;
  a.active = r.info.active;
  a.lru = r.info.lru;
  return a;
}

struct Run {
  std::vector<Answer> answers;
  uint64_t served_shared = 0;
};

// A seeded mix of gets (plain, peek, gat), sets with and without TTLs,
// deletes and a flush, over a cache small enough to evict, with the clock
// moving past item update intervals and expiries.
Run run(Engine& engine, bool shared) {
  std::mt19937_64 rng(11);
  Run out;
  rel_time_t now = kStartRelTime;
  engine.set_time(now);
  LruMaintainer maintainer(engine);
  for (int i = 0; i < 60000; ++i) {
    if (i == 40000) engine.flush_all();
    if (i % 500 == 499) {
      now += 7;
      engine.set_time(now);
      maintainer.step(static_cast<Micros>(now) * 1'000'000);
    }
    const uint64_t r = rng();
    const std::string key = "k" + std::to_string((r >> 8) % 10000);
    const unsigned op = r % 100;
    if (op < 15 || op >= 85) {
      const std::string value(300 + (r >> 20) % 40, static_cast<char>('a' + r % 26));
      const int64_t ttl = (r >> 40) % 4 == 0 ? static_cast<int64_t>(2 + (r >> 44) % 100) : 0;
      store(engine, StoreMode::kSet, key, value, 0, 0, ttl);
      continue;
    }
    if (op < 17) {
      engine.remove(key);
      continue;
    }
    GetOptions options;
    options.bump = op >= 20;
    if (op == 18) {
      options.touch = true;
      options.exptime = 500;
    }
    if (shared) {
      if (std::optional<GetResult> g = engine.try_get_shared(key, options)) {
        ++out.served_shared;
        out.answers.push_back(answer_of(*g));
        continue;
      }
    }
    out.answers.push_back(answer_of(engine.get(key, options)));
  }
  return out;
}

void check_same(const EngineConfig& config) {
  Engine plain(config);
  Engine tried(config);
  const Run a = run(plain, false);
  const Run b = run(tried, true);
  REQUIRE(a.answers.size() == b.answers.size());
  size_t differing = 0;
  for (size_t i = 0; i < a.answers.size(); ++i) differing += a.answers[i] == b.answers[i] ? 0 : 1;
  CHECK(differing == 0);
  // The shared path served most gets, and declined some (first hits,
  // expired items, gat): both halves were exercised.
  CHECK(b.served_shared > a.answers.size() / 2);
  CHECK(b.served_shared < a.answers.size());
  const Stats x = plain.stats();
  const Stats y = tried.stats();
  CHECK(x.evictions > 0);
  CHECK(x.get_expired + x.get_flushed > 0);
  CHECK(to_json(x).dump() == to_json(y).dump());
}

}  // namespace

TEST_CASE("try_get_shared answers and counts as get() does, segmented LRU") {
  check_same(small_config(2));
}

TEST_CASE("try_get_shared answers and counts as get() does, flat LRU") {
  EngineConfig config = small_config(2);
  config.lru_segmented = false;
  config.lru_maintainer = false;
  check_same(config);
}

TEST_CASE("try_get_shared declines what it must not do under a shared lock") {
  Engine engine(small_config());
  engine.set_time(kStartRelTime);
  store(engine, StoreMode::kSet, "a", "1");
  GetOptions touch;
  touch.touch = true;
  CHECK_FALSE(engine.try_get_shared("a", touch).has_value());
  GetOptions meta;
  meta.meta = true;
  CHECK_FALSE(engine.try_get_shared("a", meta).has_value());
  store(engine, StoreMode::kSet, "gone", "1", 0, 0, 5);
  engine.set_time(kStartRelTime + 10);
  const uint64_t expired_before = engine.stats().get_expired;
  CHECK_FALSE(engine.try_get_shared("gone").has_value());  // expired: get() unlinks it
  CHECK(engine.stats().get_expired == expired_before);
  CHECK(engine.get("gone").source == HitSource::kMiss);
  CHECK(engine.stats().get_expired == expired_before + 1);
}

TEST_CASE("gets under the shared lock beside sets under the exclusive one lose no count") {
  Engine engine(small_config(8));
  engine.set_time(kStartRelTime);
  for (int k = 0; k < 500; ++k) store(engine, StoreMode::kSet, "k" + std::to_string(k), "value");
  EngineLock lock;
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> bad_values{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 20000; ++i) {
        const std::string key = "k" + std::to_string(rng() % 600);
        if (t == 0 && i % 4 == 0) {
          std::lock_guard held(lock);
          store(engine, StoreMode::kSet, key, i % 8 == 0 ? "value" : "other");
          continue;
        }
        gets.fetch_add(1);
        std::optional<GetResult> g;
        {
          std::shared_lock held(lock);
          g = engine.try_get_shared(key);
          if (g && g->hit() && g->value != "value" && g->value != "other") bad_values.fetch_add(1);
        }
        if (!g) {
          std::lock_guard held(lock);
          g = engine.get(key);
        }
        if (g->hit()) hits.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const Stats s = engine.stats();
  CHECK(bad_values.load() == 0);
  CHECK(s.cmd_get == gets.load());
  CHECK(s.get_hits == hits.load());
  CHECK(s.get_hits + s.get_misses == s.cmd_get);
}
