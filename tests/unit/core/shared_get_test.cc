// Engine::try_get_shared (gets under the shared side of the EngineLock):
// on one thread, a driver that tries it first and falls back to get() must
// see every answer, every item's state and every stat exactly as a driver
// that only calls get(), also when it defers COLD -> WARM moves
// (GetOptions::defer_relink) and applies them before each exclusive call as
// the EngineLock's hook does, and for meta gets (mg's options, stale items
// and recache tokens); across threads, readers and writers under the
// EngineLock must lose no count, and concurrent hits on one item must
// answer and leave it as some order of them one at a time would.
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

#include "core/item_store.h"
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
  // What mg reports besides (t, and the Z/X/W/N state).
  rel_time_t exptime = 0;
  rel_time_t exptime_before = 0;
  bool stale = false;
  bool token_sent = false;
  bool won = false;
  bool vivified = false;
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
  a.exptime = r.info.exptime;
  a.exptime_before = r.info.exptime_before;
  a.stale = r.info.stale;
  a.token_sent = r.info.token_sent;
  a.won = r.info.won;
  a.vivified = r.info.vivified;
  return a;
}

struct Run {
  std::vector<Answer> answers;
  uint64_t served_shared = 0;
  uint64_t deferred_moves = 0;  // shared COLD hits whose move to WARM was queued
  uint64_t meta_gets = 0;
  uint64_t meta_served_shared = 0;
  uint64_t meta_tokens_seen_shared = 0;  // served shared with Z (a token already sent)
};

enum class Path { kExclusive, kShared, kDeferred };

// Every linked item, LRU by LRU from head to tail, with the state a get
// or the maintainer reads: key, flags, last access, CAS, expiry.
std::string item_state(Engine& engine) {
  core::ItemStore& store = engine.internals();
  std::string out;
  for (uint32_t clsid = 1; clsid < kMaxSlabClasses; ++clsid) {
    for (LruSegment seg :
         {LruSegment::kHot, LruSegment::kWarm, LruSegment::kCold, LruSegment::kTemp}) {
      for (uint32_t n = store.lru(clsid, seg).head; n != core::kNoItem; n = store.item(n).next) {
        const core::Item& it = store.item(n);
        out += std::to_string(clsid) + "/" + std::to_string(static_cast<int>(seg)) + " " +
               std::string(store.key_of(it)) + " f" + std::to_string(it.flags) + " t" +
               std::to_string(it.time) + " c" + std::to_string(it.cas) + " e" +
               std::to_string(it.exptime) + "\n";
      }
    }
  }
  return out;
}

enum class Mix { kGets, kMeta };

// mg's engine options for a random flag set: u (peek), l (the last access
// reported), T (touch), N (vivify), R (recache), as meta_get sets them.
GetOptions meta_options(uint64_t r, bool bump) {
  GetOptions options;
  options.meta = true;
  options.bump = bump;
  options.reports_last_access = (r >> 12) % 2 == 0;
  const unsigned pick = (r >> 14) % 16;
  if (pick == 0) {
    options.touch = true;
    options.exptime = 300;
  }
  if (pick == 1 || pick == 2) {
    options.vivify = true;
    options.vivify_exptime = pick == 1 ? 0 : 40;
  }
  if (pick >= 3 && pick <= 5) {
    options.recache = true;
    options.recache_exptime = 10 + static_cast<int64_t>((r >> 18) % 90);
  }
  return options;
}

// A seeded mix of gets (plain, peek, gat), sets (and adds, replaces,
// appends) with and without TTLs, deletes and a flush, over a cache small enough to evict, with the
// clock moving past item update intervals and expiries. Mix::kMeta makes
// most gets meta gets and some deletes md I's invalidations.
Run run(Engine& engine, Path path, Mix mix = Mix::kGets) {
  std::mt19937_64 rng(11);
  Run out;
  rel_time_t now = kStartRelTime;
  engine.set_time(now);
  LruMaintainer maintainer(engine);
  const bool shared = path != Path::kExclusive;
  // What EngineLock's on-exclusive hook does before each exclusive call.
  auto exclusive = [&] {
    if (path == Path::kDeferred) engine.apply_deferred_bumps();
  };
  for (int i = 0; i < 60000; ++i) {
    exclusive();
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
      // Mostly sets; adds, replaces and appends exercise the prepared
      // buffer a store does not link.
      StoreMode mode = StoreMode::kSet;
      if ((r >> 50) % 16 == 0) mode = StoreMode::kAdd;
      if ((r >> 50) % 16 == 1) mode = StoreMode::kAppend;
      if ((r >> 50) % 16 == 2) mode = StoreMode::kReplace;
      const StoreRequest request = store_request(mode, key, value, 0, 0, ttl);
      if (path == Path::kDeferred) {
        // The server's set: buffer built first, old buffers freed after.
        PreparedStore prepared = engine.prepare_store(request);
        engine.store(request, prepared);
      } else {
        engine.store(request);
      }
      continue;
    }
    if (op < 17) {
      if (mix == Mix::kMeta && (r >> 36) % 2 == 0) {
        engine.invalidate(key, 0, (r >> 37) % 2 == 0, 60);
      } else {
        engine.remove(key);
      }
      continue;
    }
    GetOptions options;
    options.bump = op >= 20;
    if (op == 18) {
      options.touch = true;
      options.exptime = 500;
    }
    const bool meta = mix == Mix::kMeta && (r >> 60) % 4 != 0;
    if (meta) {
      options = meta_options(r, op >= 20);
      ++out.meta_gets;
    }
    if (shared) {
      options.defer_relink = path == Path::kDeferred;
      if (std::optional<GetResult> g = engine.try_get_shared(key, options)) {
        ++out.served_shared;
        if (meta) ++out.meta_served_shared;
        if (meta && g->info.token_sent) ++out.meta_tokens_seen_shared;
        // A second hit in COLD: its move to WARM was queued.
        if (engine.config().lru_segmented && options.bump && g->hit() &&
            g->info.lru == LruSegment::kCold && g->info.fetched && !g->info.active) {
          ++out.deferred_moves;
        }
        out.answers.push_back(answer_of(*g));
        continue;
      }
      exclusive();
    }
    out.answers.push_back(answer_of(engine.get(key, options)));
  }
  exclusive();
  return out;
}

// Returns the run of `path` (for the caller's checks on the deferral).
Run check_same(const EngineConfig& config, Path path, Mix mix = Mix::kGets) {
  Engine plain(config);
  Engine tried(config);
  const Run a = run(plain, Path::kExclusive, mix);
  const Run b = run(tried, path, mix);
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
  if (config.lru_segmented) CHECK(x.moves_to_warm > 0);
  CHECK(to_json(x).dump() == to_json(y).dump());
  CHECK(item_state(plain) == item_state(tried));
  return b;
}

}  // namespace

TEST_CASE("try_get_shared answers and counts as get() does, segmented LRU") {
  const Run declined = check_same(small_config(2), Path::kShared);
  CHECK(declined.deferred_moves == 0);
}

TEST_CASE("deferred COLD -> WARM moves leave answers, items and stats as get() does") {
  const Run deferred = check_same(small_config(2), Path::kDeferred);
  // The queue carried moves (else the run proved nothing about it).
  CHECK(deferred.deferred_moves > 100);
}

TEST_CASE("try_get_shared answers and counts as get() does, flat LRU") {
  EngineConfig config = small_config(2);
  config.lru_segmented = false;
  config.lru_maintainer = false;
  check_same(config, Path::kShared);
  check_same(config, Path::kDeferred);  // a flat LRU's relink is never deferred
}

TEST_CASE("meta gets under the shared lock answer, count and leave items as get() does") {
  for (Path path : {Path::kShared, Path::kDeferred}) {
    const Run meta = check_same(small_config(2), path, Mix::kMeta);
    // Meta gets were served shared, a token already sent among them, and
    // the writing ones (T, N on a miss, a token won) declined.
    CHECK(meta.meta_served_shared > meta.meta_gets / 2);
    CHECK(meta.meta_served_shared < meta.meta_gets);
    CHECK(meta.meta_tokens_seen_shared > 10);
  }
  EngineConfig flat = small_config(2);
  flat.lru_segmented = false;
  flat.lru_maintainer = false;
  check_same(flat, Path::kShared, Mix::kMeta);
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
  // mg's T writes the exptime; N links an item on a miss (not on a hit).
  GetOptions meta_touch = meta;
  meta_touch.touch = true;
  CHECK_FALSE(engine.try_get_shared("a", meta_touch).has_value());
  GetOptions vivify = meta;
  vivify.vivify = true;
  CHECK_FALSE(engine.try_get_shared("absent", vivify).has_value());
  CHECK(engine.try_get_shared("a", vivify).has_value());
  // A stale item hands its token to the first mg that sees it: that one
  // declines; once the token is sent, mg is served and reports it (Z, X).
  REQUIRE(engine.invalidate("a", 0, false, 0) == DeleteResult::kDeleted);
  CHECK_FALSE(engine.try_get_shared("a", meta).has_value());
  CHECK(engine.get("a", meta).info.won);
  std::optional<GetResult> later = engine.try_get_shared("a", meta);
  REQUIRE(later.has_value());
  CHECK(later->info.stale);
  CHECK(later->info.token_sent);
  CHECK_FALSE(later->info.won);
  // R wins the token when the item expires before R's TTL.
  store(engine, StoreMode::kSet, "r", "1", 0, 0, 100);
  GetOptions recache = meta;
  recache.recache = true;
  recache.recache_exptime = 30;
  CHECK(engine.try_get_shared("r", recache).has_value());  // 100 s left: no win
  recache.recache_exptime = 200;
  CHECK_FALSE(engine.try_get_shared("r", recache).has_value());
  CHECK(engine.get("r", recache).info.won);
  // The time a concurrent second hit may be refreshing: not yet ACTIVE.
  store(engine, StoreMode::kSet, "l", "1");
  GetOptions last = meta;
  last.reports_last_access = true;
  CHECK_FALSE(engine.try_get_shared("l", last).has_value());
  engine.get("l");
  engine.get("l");  // FETCHED, then ACTIVE
  CHECK(engine.try_get_shared("l", last).has_value());
  store(engine, StoreMode::kSet, "gone", "1", 0, 0, 5);
  engine.set_time(kStartRelTime + 10);
  const uint64_t expired_before = engine.stats().get_expired;
  CHECK_FALSE(engine.try_get_shared("gone").has_value());  // expired: get() unlinks it
  CHECK(engine.stats().get_expired == expired_before);
  CHECK(engine.get("gone").source == HitSource::kMiss);
  CHECK(engine.stats().get_expired == expired_before + 1);
}

namespace {

// Item n's 48-byte record, to compare before and after a hit.
std::string record_of(Engine& engine, std::string_view key) {
  core::ItemStore& store = engine.internals();
  const uint32_t n = store.find(key);
  REQUIRE(n != core::kNoItem);
  const core::Item& it = store.item(n);
  return {reinterpret_cast<const char*>(&it), sizeof it};
}

}  // namespace

// memcached's do_item_bump, segmented LRU: the first hit sets FETCHED, the
// second ACTIVE and (outside COLD) the time; later hits write nothing at all
// to the item, however old its time, so readers on many cores never dirty
// the cache line of a hot item.
TEST_CASE("a hit on an ACTIVE item writes nothing to it, shared or exclusive") {
  Engine engine(small_config());
  engine.set_time(kStartRelTime);
  store(engine, StoreMode::kSet, "hot", "1");
  engine.set_time(kStartRelTime + 5);
  std::optional<GetResult> first = engine.try_get_shared("hot");
  REQUIRE(first.has_value());
  CHECK(first->info.last_access == kStartRelTime);  // FETCHED only
  std::optional<GetResult> second = engine.try_get_shared("hot");
  REQUIRE(second.has_value());
  const GetResult third_view = *engine.try_get_shared("hot");
  CHECK(third_view.info.active);
  CHECK(third_view.info.last_access == kStartRelTime + 5);  // ACTIVE: time refreshed once
  engine.set_time(kStartRelTime + 500);                     // far beyond ITEM_UPDATE_INTERVAL
  const std::string before = record_of(engine, "hot");
  for (int i = 0; i < 3; ++i) {
    std::optional<GetResult> again = engine.try_get_shared("hot");
    REQUIRE(again.has_value());
    CHECK(again->info.last_access == kStartRelTime + 5);
  }
  CHECK(engine.get("hot").info.last_access == kStartRelTime + 5);
  CHECK(record_of(engine, "hot") == before);
  CHECK(engine.stats().get_hits == 7);
}

// memcached's do_item_update (flat LRU): a hit refreshes the time, and
// relinks, only when it is older than ITEM_UPDATE_INTERVAL (60 s); a hit
// inside the interval writes nothing once FETCHED is set. The shared path
// serves those and declines the relinking ones to get().
TEST_CASE("flat LRU: an item's time is refreshed only when older than ITEM_UPDATE_INTERVAL") {
  EngineConfig config = small_config();
  config.lru_segmented = false;
  Engine engine(config);
  engine.set_time(kStartRelTime);
  store(engine, StoreMode::kSet, "k", "1");
  engine.set_time(kStartRelTime + 30);
  REQUIRE(engine.try_get_shared("k").has_value());  // sets FETCHED
  const std::string fetched = record_of(engine, "k");
  engine.set_time(kStartRelTime + 60);
  std::optional<GetResult> inside = engine.try_get_shared("k");
  REQUIRE(inside.has_value());
  CHECK(inside->info.last_access == kStartRelTime);
  CHECK(record_of(engine, "k") == fetched);
  CHECK(engine.get("k").info.last_access == kStartRelTime);  // 60 s old: not older than 60
  CHECK(record_of(engine, "k") == fetched);
  engine.set_time(kStartRelTime + 61);
  CHECK_FALSE(engine.try_get_shared("k").has_value());  // a relink: exclusive only
  engine.get("k");
  CHECK(engine.get("k").info.last_access == kStartRelTime + 61);
}

namespace {

// Ten items of class 12, k0..k7 juggled down to COLD, each hit once.
void fill_cold(Engine& engine) {
  engine.set_time(kStartRelTime);
  const std::string value(900, 'v');
  for (int i = 0; i < 10; ++i) engine.set("k" + std::to_string(i), value);
  engine.internals().juggle(12);
  for (int i = 0; i < 8; ++i)
    REQUIRE(engine.get("k" + std::to_string(i)).info.lru == LruSegment::kCold);
}

uint64_t moves_to_warm(Engine& engine) {
  engine.apply_deferred_bumps();
  return engine.stats().moves_to_warm;
}

}  // namespace

TEST_CASE("a second COLD hit under the shared lock queues its move to WARM") {
  Engine engine(small_config());
  fill_cold(engine);
  engine.set_time(kStartRelTime + 5);
  GetOptions deferred;
  deferred.defer_relink = true;
  CHECK_FALSE(engine.try_get_shared("k0").has_value());  // without the option: declines
  std::optional<GetResult> g = engine.try_get_shared("k0", deferred);
  REQUIRE(g.has_value());
  CHECK(g->info.lru == LruSegment::kCold);
  CHECK(!g->info.active);
  // Queued, not moved: still COLD and marked ACTIVE, as memcached's item
  // waits in its bump buffer; a get on it now declines.
  const core::Item& it = engine.internals().item(engine.internals().find("k0"));
  CHECK(static_cast<LruSegment>(it.lru) == LruSegment::kCold);
  CHECK((it.flags & core::kActive) != 0);
  CHECK_FALSE(engine.try_get_shared("k0", deferred).has_value());
  CHECK(moves_to_warm(engine) == 1);
  const GetResult after = engine.get("k0");
  CHECK(after.info.lru == LruSegment::kWarm);
  CHECK(!after.info.active);
}

TEST_CASE("a full bump queue makes COLD hits decline, undoing their ACTIVE mark") {
  Engine engine(small_config(8));
  engine.set_time(kStartRelTime);
  const std::string value(900, 'v');
  const int kItems = static_cast<int>(core::BumpQueue::kCapacity) + 100;
  // Twice as many stored: the juggle leaves only the newest fifth in HOT.
  for (int i = 0; i < 2 * kItems; ++i) engine.set("k" + std::to_string(i), value);
  engine.internals().juggle(12);
  for (int i = 0; i < kItems; ++i) engine.get("k" + std::to_string(i));
  GetOptions deferred;
  deferred.defer_relink = true;
  int served = 0;
  int declined = 0;
  for (int i = 0; i < kItems; ++i) {
    const std::string key = "k" + std::to_string(i);
    const core::Item& it = engine.internals().item(engine.internals().find(key));
    if (static_cast<LruSegment>(it.lru) != LruSegment::kCold) continue;
    if (engine.try_get_shared(key, deferred)) {
      ++served;
      CHECK((it.flags & core::kActive) != 0);
    } else {
      ++declined;
      CHECK((it.flags & core::kActive) == 0);
    }
  }
  CHECK(served == static_cast<int>(core::BumpQueue::kCapacity));
  CHECK(declined > 0);
  CHECK(moves_to_warm(engine) == core::BumpQueue::kCapacity);
}

namespace {

// Items per LRU list walked head to tail must match the list's count, and
// their sum curr_items: a lost or doubled relink breaks one or the other.
void check_lists(Engine& engine) {
  core::ItemStore& store = engine.internals();
  uint64_t linked = 0;
  for (uint32_t clsid = 1; clsid < kMaxSlabClasses; ++clsid) {
    for (LruSegment seg :
         {LruSegment::kHot, LruSegment::kWarm, LruSegment::kCold, LruSegment::kTemp}) {
      uint64_t walked = 0;
      for (uint32_t n = store.lru(clsid, seg).head; n != core::kNoItem; n = store.item(n).next) {
        ++walked;
      }
      CHECK(walked == store.lru(clsid, seg).count);
      linked += walked;
    }
  }
  CHECK(linked == engine.stats().curr_items);
}

// Four threads: gets under the shared side (deferring COLD -> WARM moves
// when `defer`), thread 0 also sets and steps the LRU maintainer under the
// exclusive side, whose hook applies the queued moves.
void hammer(bool defer) {
  Engine engine(small_config(8));
  engine.set_time(kStartRelTime);
  const std::string big(900, 'v');
  for (int k = 0; k < 500; ++k) store(engine, StoreMode::kSet, "k" + std::to_string(k), big);
  EngineLock lock;
  if (defer) {
    lock.set_on_exclusive([](void* e) { static_cast<Engine*>(e)->apply_deferred_bumps(); },
                          &engine);
  }
  LruMaintainer maintainer(engine);
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> bad_values{0};
  std::atomic<uint64_t> cold_served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      GetOptions options;
      options.defer_relink = defer;
      for (int i = 0; i < 20000; ++i) {
        const std::string key = "k" + std::to_string(rng() % 600);
        if (t == 0 && i % 4 == 0) {
          std::lock_guard held(lock);
          if (i % 64 == 0) maintainer.step(static_cast<Micros>(kStartRelTime) * 1'000'000 + i);
          store(engine, StoreMode::kSet, key, i % 8 == 0 ? big : std::string(900, 'w'));
          continue;
        }
        gets.fetch_add(1);
        std::optional<GetResult> g;
        {
          std::shared_lock held(lock);
          g = engine.try_get_shared(key, options);
          if (g && g->hit() && g->value != big && g->value != std::string(900, 'w')) {
            bad_values.fetch_add(1);
          }
          if (g && g->hit() && g->info.lru == LruSegment::kCold) cold_served.fetch_add(1);
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
  std::lock_guard held(lock);
  const Stats s = engine.stats();
  CHECK(bad_values.load() == 0);
  CHECK(s.cmd_get == gets.load());
  CHECK(s.get_hits == hits.load());
  CHECK(s.get_hits + s.get_misses == s.cmd_get);
  CHECK(s.moves_to_warm > 0);
  if (defer) CHECK(cold_served.load() > 0);
  check_lists(engine);
}

}  // namespace

TEST_CASE("gets under the shared lock beside sets under the exclusive one lose no count") {
  hammer(false);
}

TEST_CASE("deferred COLD -> WARM moves across threads lose no count and no link") {
  hammer(true);
}

namespace {

// Items set and never read, then four threads each hitting every one of
// them once, as close together as the threads run, shared first and get()
// under the exclusive side when declined. Done one at a time, the hits on
// an item are its first (FETCHED), second (ACTIVE) and later ones, so
// exactly one of them may answer "not fetched before" and one "fetched,
// not active", and the item ends ACTIVE: two first hits both setting
// FETCHED, or two second hits, would not be such an order.
void hit_fresh_items_together(bool reports_last_access) {
  Engine engine(small_config(8));
  engine.set_time(kStartRelTime);
  constexpr int kItems = 20000;
  // The threads meet every kStride items, so they hit each item close together.
  constexpr int kStride = 16;
  constexpr int kThreads = 4;
  for (int k = 0; k < kItems; ++k) {
    store(engine, StoreMode::kSet, "k" + std::to_string(k), "v");
    // HOT, where a second hit refreshes the time (no move to WARM).
    REQUIRE(engine.internals().item(engine.internals().find("k" + std::to_string(k))).lru ==
            static_cast<uint8_t>(LruSegment::kHot));
  }
  engine.set_time(kStartRelTime + 10);
  EngineLock lock;
  lock.set_on_exclusive([](void* e) { static_cast<Engine*>(e)->apply_deferred_bumps(); }, &engine);
  std::vector<std::vector<uint8_t>> seen(kThreads, std::vector<uint8_t>(kItems));
  std::vector<std::vector<rel_time_t>> last(kThreads, std::vector<rel_time_t>(kItems));
  // A spinning barrier (a sleeping one wakes the threads too far apart).
  std::atomic<int> arrived{0};
  auto meet = [&](int round) {
    arrived.fetch_add(1);
    while (arrived.load() < kThreads * (round + 1)) std::this_thread::yield();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      GetOptions options;
      options.meta = true;
      options.defer_relink = true;
      options.reports_last_access = reports_last_access;
      for (int k = 0; k < kItems; ++k) {
        if (k % kStride == 0) meet(k / kStride);
        const std::string key = "k" + std::to_string(k);
        std::optional<GetResult> g;
        {
          std::shared_lock held(lock);
          g = engine.try_get_shared(key, options);
        }
        if (!g) {
          std::lock_guard held(lock);
          g = engine.get(key, options);
        }
        REQUIRE(g->hit());
        seen[t][k] = static_cast<uint8_t>((g->info.fetched ? 1 : 0) + (g->info.active ? 2 : 0));
        last[t][k] = g->info.last_access;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::lock_guard held(lock);
  int wrong = 0;
  for (int k = 0; k < kItems; ++k) {
    int first = 0, second = 0;
    for (int t = 0; t < kThreads; ++t) {
      first += seen[t][k] == 0 ? 1 : 0;
      second += seen[t][k] == 1 ? 1 : 0;
      // The time before the second hit is the set's; after it, the hit's
      // (exact where the caller says it reports it).
      const rel_time_t expected = seen[t][k] == 3 ? kStartRelTime + 10 : kStartRelTime;
      if (reports_last_access && last[t][k] != expected) ++wrong;
    }
    if (first != 1 || second != 1) ++wrong;
    const core::Item& it =
        engine.internals().item(engine.internals().find("k" + std::to_string(k)));
    if (!(it.flags & core::kActive) || it.time != kStartRelTime + 10) ++wrong;
  }
  CHECK(wrong == 0);
  check_lists(engine);
}

}  // namespace

TEST_CASE("concurrent hits on one item answer and leave it as hits one at a time do") {
  // Twice each: how close the threads run depends on the machine's load.
  for (int round = 0; round < 2; ++round) {
    hit_fresh_items_together(false);
    hit_fresh_items_together(true);
  }
}
