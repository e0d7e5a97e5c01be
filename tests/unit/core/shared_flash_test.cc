// Flash reads under the shared side of the EngineLock (stage 2 of
// engine/README.md): a driver that tries Engine::try_get_shared with flash
// headers, ExtStore::try_plan_read_shared, try_read_buffered_shared (an
// object still in a write buffer) and try_finish_read_shared first and
// falls back to get/plan_read/finish_read must see every answer, item
// state and stat exactly as a driver that only takes the exclusive path;
// every decline leaves nothing done; concurrent readers lose no count.
// Meta gets too: mg's options, stale headers and their tokens, and mg
// without v, which aborts its planned read (try_abort_read_shared).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "memext/device.h"
#include "memext/engine_lock.h"
#include "memext/extstore.h"
#include "memext/lru_maintainer.h"
#include "memext/stats.h"
#include "shared_flash_rig.h"
#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

struct Answer {
  int kind = 0;  // 0 miss, 1 RAM, 2 flash hit, 3 flash miss, 4 bad crc, 5 header (read aborted)
  std::string value;
  uint64_t cas = 0;
  uint32_t flags = 0;
  // A meta get's view of the header (mg's h, l, Z, X, W).
  bool fetched = false;
  rel_time_t last_access = 0;
  bool token_sent = false;
  bool stale = false;
  bool won = false;
  friend bool operator==(const Answer&, const Answer&) = default;
};

// A get planned and not yet finished (a multiget's reads in flight).
struct Outstanding {
  std::string key;
  GetResult header;
  FlashRead plan;
  size_t slot = 0;
  int due = 0;
};

struct Tally {
  uint64_t shared_gets = 0, shared_plans = 0, shared_finishes = 0;
  uint64_t plan_declines = 0, finish_declines = 0;
  uint64_t shared_buffered = 0, buffered_declines = 0;
  uint64_t meta_shared_gets = 0, shared_aborts = 0, abort_declines = 0;
};

Answer flash_answer(const ReadOutcome& o) {
  Answer a;
  a.kind = o.status == ReadStatus::kHit ? 2 : o.status == ReadStatus::kMiss ? 3 : 4;
  a.value.assign(o.value);
  a.cas = o.info.cas;
  a.flags = o.info.client_flags;
  return a;
}

// A seeded mix of gets, sets and deletes over keys that move between RAM
// and flash, the background steps (flusher, compactor, LRU) between them,
// and flash reads finished some operations after they were planned. With
// `meta`, half the gets are meta gets (some without v: the read planned and
// aborted) and some deletes md I's invalidations.
std::vector<Answer> run(FlashRig& rig, bool shared, Tally& tally, bool meta = false) {
  std::mt19937_64 rng(23);
  std::vector<Answer> answers;
  std::deque<Outstanding> in_flight;
  AlignedBuffer buf;
  auto finish = [&](Outstanding& o) {
    const int64_t rc = rig.read(o.plan, buf);
    // The meta view was the get's; the read fills in the rest.
    auto fill = [&](const ReadOutcome& outcome) {
      const Answer head = answers[o.slot];
      Answer& a = answers[o.slot];
      a = flash_answer(outcome);
      a.fetched = head.fetched;
      a.last_access = head.last_access;
      a.token_sent = head.token_sent;
      a.stale = head.stale;
      a.won = head.won;
    };
    if (shared) {
      if (auto out = rig.ext->try_finish_read_shared(o.key, o.header, o.plan, buf.data(), rc)) {
        ++tally.shared_finishes;
        fill(*out);
        return;
      }
      ++tally.finish_declines;
    }
    fill(rig.ext->finish_read(o.key, o.header, o.plan, buf.data(), rc));
  };
  for (int i = 0; i < 12000; ++i) {
    if (i % 200 == 199) {
      rig.now += 3;
      rig.engine->set_time(rig.now);
      rig.background();
    }
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      if (--it->due > 0) {
        ++it;
        continue;
      }
      finish(*it);
      it = in_flight.erase(it);
    }
    const uint64_t r = rng();
    const std::string key = "key" + std::to_string((r >> 8) % 700);
    const unsigned op = r % 100;
    if (op < 20) {
      const std::string value(1500 + (r >> 20) % 1500, static_cast<char>('a' + (r >> 32) % 26));
      store(*rig.engine, StoreMode::kSet, key, value, 0, static_cast<uint32_t>(r >> 48));
      continue;
    }
    if (op < 24) {
      if (meta && (r >> 40) % 2 == 0) {
        rig.engine->invalidate(key, 0, false, 0);
      } else {
        rig.engine->remove(key);
      }
      continue;
    }
    GetOptions options;
    const bool meta_get = meta && (r >> 41) % 2 == 0;
    const bool wants_value = !meta_get || (r >> 42) % 2 == 0;
    if (meta_get) {
      options.meta = true;
      options.bump = (r >> 43) % 8 != 0;
      options.reports_last_access = (r >> 44) % 2 == 0;
      if ((r >> 45) % 8 == 0) {
        options.recache = true;
        options.recache_exptime = 30;
      }
    }
    std::optional<GetResult> got;
    if (shared) {
      got = rig.engine->try_get_shared(key, options, true);
      if (got) ++tally.shared_gets;
      if (got && meta_get) ++tally.meta_shared_gets;
    }
    if (!got) got = rig.engine->get(key, options);
    Answer a;
    if (meta_get) {
      a.fetched = got->info.fetched;
      a.last_access = got->info.last_access;
      a.token_sent = got->info.token_sent;
      a.stale = got->info.stale;
      a.won = got->info.won;
    }
    if (got->source != HitSource::kFlashHeader) {
      a.kind = got->source == HitSource::kRam ? 1 : 0;
      a.value.assign(got->value);
      a.cas = got->info.cas;
      a.flags = got->info.client_flags;
      answers.push_back(a);
      continue;
    }
    std::optional<FlashRead> plan;
    if (shared) {
      plan = rig.ext->try_plan_read_shared(key, *got);
      if (plan) {
        ++tally.shared_plans;
      } else {
        ++tally.plan_declines;
        if (std::optional<ReadOutcome> out = rig.ext->try_read_buffered_shared(key, *got)) {
          ++tally.shared_buffered;
          const Answer head = a;
          a = flash_answer(*out);
          if (!wants_value) a.value.clear();
          a.fetched = head.fetched;
          a.last_access = head.last_access;
          a.token_sent = head.token_sent;
          a.stale = head.stale;
          a.won = head.won;
          answers.push_back(a);
          continue;
        }
        ++tally.buffered_declines;
      }
    }
    if (!plan) plan = rig.ext->plan_read(key, *got);
    answers.push_back(a);
    if (plan->kind == FlashReadKind::kMiss) {
      answers.back().kind = 3;
      continue;
    }
    if (plan->kind == FlashReadKind::kBuffered) {
      const Answer head = answers.back();
      answers.back() = flash_answer(rig.ext->finish_read(key, *got, *plan, nullptr, 0));
      if (!wants_value) answers.back().value.clear();
      answers.back().fetched = head.fetched;
      answers.back().last_access = head.last_access;
      answers.back().token_sent = head.token_sent;
      answers.back().stale = head.stale;
      answers.back().won = head.won;
      continue;
    }
    if (!wants_value) {
      // mg without v: the header answers; the planned read is dropped.
      answers.back().kind = 5;
      answers.back().cas = got->info.cas;
      answers.back().flags = got->info.client_flags;
      if (shared) {
        if (rig.ext->try_abort_read_shared(*plan)) {
          ++tally.shared_aborts;
          continue;
        }
        ++tally.abort_declines;
      }
      rig.ext->abort_read(*plan);
      continue;
    }
    in_flight.push_back({key, *got, *plan, answers.size() - 1, static_cast<int>((r >> 56) % 6)});
  }
  for (Outstanding& o : in_flight) finish(o);
  return answers;
}

}  // namespace

TEST_CASE("shared flash reads answer and count as the exclusive path does") {
  FlashRig plain("plain");
  FlashRig tried("tried");
  Tally none;
  Tally tally;
  const std::vector<Answer> a = run(plain, false, none);
  const std::vector<Answer> b = run(tried, true, tally);
  REQUIRE(a.size() == b.size());
  size_t differing = 0;
  size_t flash_hits = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    differing += a[i] == b[i] ? 0 : 1;
    flash_hits += a[i].kind == 2 ? 1 : 0;
  }
  CHECK(differing == 0);
  CHECK(flash_hits > 500);
  // Both halves of each step ran: shared plans and finishes, and declines.
  CHECK(tally.shared_plans > 500);
  CHECK(tally.shared_finishes > 500);
  CHECK(tally.plan_declines > 0);
  CHECK(tally.finish_declines > 0);
  // Wbuf objects read shared, and declined (recache turns, misses).
  CHECK(tally.shared_buffered > 100);
  CHECK(tally.buffered_declines > 0);
  const ExtStoreStats st = plain.ext->stats(false);
  CHECK(st.recache_from_extstore > 0);
  CHECK(st.store.page_reclaims > 0);
  CHECK(plain.stats_json() == tried.stats_json());
}

TEST_CASE("shared meta gets of flash headers answer and count as the exclusive path does") {
  FlashRig plain("meta_plain");
  FlashRig tried("meta_tried");
  Tally none;
  Tally tally;
  const std::vector<Answer> a = run(plain, false, none, true);
  const std::vector<Answer> b = run(tried, true, tally, true);
  REQUIRE(a.size() == b.size());
  size_t differing = 0;
  size_t aborted = 0;
  size_t stale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    differing += a[i] == b[i] ? 0 : 1;
    aborted += a[i].kind == 5 ? 1 : 0;
    stale += a[i].stale ? 1 : 0;
  }
  CHECK(differing == 0);
  CHECK(aborted > 200);
  CHECK(stale > 20);
  CHECK(tally.meta_shared_gets > 500);
  CHECK(tally.shared_aborts > 100);
  CHECK(tally.shared_finishes > 200);
  CHECK(plain.ext->stats(false).get_aborted_extstore > 200);
  CHECK(plain.stats_json() == tried.stats_json());
}

TEST_CASE("shared flash reads decline what needs the exclusive side, with nothing done") {
  FlashRig rig("declines");
  const std::string value(3000, 'x');
  for (int k = 0; k < 200; ++k) store(*rig.engine, StoreMode::kSet, "k" + std::to_string(k), value);
  for (int i = 0; i < 20; ++i) rig.background();
  // A header whose object is on the device, one still in the filling wbuf.
  std::string on_device;
  std::string buffered;
  rig.each_flash_plan(200, [&](const std::string& key, const GetResult& g, const FlashRead& p) {
    // From a full page (no longer written), so it can wait to be freed.
    if (p.kind == FlashReadKind::kDevice && on_device.empty() &&
        !rig.ext->page_store().page_data(g.location.page_id).active) {
      on_device = key;
    }
    if (p.kind == FlashReadKind::kBuffered && buffered.empty()) buffered = key;
  });
  REQUIRE_FALSE(on_device.empty());
  REQUIRE_FALSE(buffered.empty());

  // Without flash_headers a header is declined as before.
  CHECK_FALSE(rig.engine->try_get_shared(on_device).has_value());

  auto unchanged = [&](auto&& step) {
    const std::string before = rig.stats_json();
    step();
    CHECK(rig.stats_json() == before);
  };
  // A wbuf object: planned only under the exclusive side.
  const std::optional<GetResult> hb = rig.engine->try_get_shared(buffered, {}, true);
  REQUIRE(hb.has_value());
  REQUIRE(hb->source == HitSource::kFlashHeader);
  unchanged([&] { CHECK_FALSE(rig.ext->try_plan_read_shared(buffered, *hb).has_value()); });

  // A device object: a short read and a page waiting to be freed are left
  // to finish_read, the pin kept; a good read finishes shared.
  const std::optional<GetResult> hd = rig.engine->try_get_shared(on_device, {}, true);
  REQUIRE(hd.has_value());
  const std::optional<FlashRead> plan = rig.ext->try_plan_read_shared(on_device, *hd);
  REQUIRE(plan.has_value());
  AlignedBuffer buf;
  const int64_t rc = rig.read(*plan, buf);
  REQUIRE(rc == plan->length);
  unchanged([&] {
    CHECK_FALSE(rig.ext->try_finish_read_shared(on_device, *hd, *plan, buf.data(), rc - 1));
  });
  std::string corrupt(buf.data(), plan->length);
  corrupt[plan->skip + 40] ^= 1;
  unchanged([&] {
    CHECK_FALSE(rig.ext->try_finish_read_shared(on_device, *hd, *plan, corrupt.data(), rc));
  });
  // Every object of the page goes (deleted, the read's own too): the page,
  // still pinned, waits to be freed; only the exclusive finish may drop the
  // last pin (the read in flight still returns the object, as memcached's).
  const uint32_t page = plan->location.page_id;
  const uint64_t reclaims = rig.ext->stats(false).store.page_reclaims;
  for (int k = 0; k < 200; ++k) {
    const std::string key = "k" + std::to_string(k);
    GetOptions peek;
    peek.bump = false;
    const GetResult g = rig.engine->get(key, peek);
    if (g.source == HitSource::kFlashHeader && g.location.page_id == page) rig.engine->remove(key);
  }
  CHECK(rig.ext->stats(false).store.page_reclaims == reclaims);  // pinned: not freed yet
  unchanged(
      [&] { CHECK_FALSE(rig.ext->try_finish_read_shared(on_device, *hd, *plan, buf.data(), rc)); });
  unchanged([&] { CHECK_FALSE(rig.ext->try_abort_read_shared(*plan)); });
  const ReadOutcome done = rig.ext->finish_read(on_device, *hd, *plan, buf.data(), rc);
  CHECK(done.hit());
  CHECK(rig.ext->stats(false).store.page_reclaims == reclaims + 1);
  // The page is gone: the shared plan declines (the header must be unlinked).
  GetOptions peek;
  peek.bump = false;
  CHECK(rig.engine->get(on_device, peek).source == HitSource::kMiss);
  CHECK_FALSE(rig.ext->try_plan_read_shared(on_device, *hd));
}

TEST_CASE("shared flash reads beside exclusive writers lose no count") {
  FlashRig rig("threads");
  const std::string value(2000, 'v');
  for (int k = 0; k < 400; ++k) store(*rig.engine, StoreMode::kSet, "k" + std::to_string(k), value);
  for (int i = 0; i < 30; ++i) rig.background();
  const Stats s0 = rig.engine->stats();
  const ExtStoreStats e0 = rig.ext->stats(false);
  EngineLock lock;
  std::atomic<uint64_t> gets{0}, hits{0}, flash_plans{0}, bad{0}, buffered_shared{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      const int fd = ::open(rig.path.c_str(), O_RDONLY);
      AlignedBuffer buf;
      for (int i = 0; i < 3000; ++i) {
        const std::string key = "k" + std::to_string(rng() % 450);
        if (t == 0 && i % 8 == 0) {
          std::lock_guard held(lock);
          if (i % 16 == 0) {
            store(*rig.engine, StoreMode::kSet, key, value);
          } else {
            rig.now += 1;
            rig.engine->set_time(rig.now);
            rig.background();
          }
          continue;
        }
        gets.fetch_add(1);
        std::optional<GetResult> g;
        std::optional<FlashRead> plan;
        {
          std::shared_lock held(lock);
          g = rig.engine->try_get_shared(key, {}, true);
          if (g && g->source == HitSource::kFlashHeader) {
            plan = rig.ext->try_plan_read_shared(key, *g);
            std::optional<ReadOutcome> o;
            if (!plan) o = rig.ext->try_read_buffered_shared(key, *g);
            if (o) {
              // The value is the wbuf's: compared while the shared side is held.
              if (o->value != value) bad.fetch_add(1);
              buffered_shared.fetch_add(1);
              flash_plans.fetch_add(1);
              hits.fetch_add(1);
              continue;
            }
          }
        }
        if (!g || (g->source == HitSource::kFlashHeader && !plan)) {
          std::lock_guard held(lock);
          if (!g) g = rig.engine->get(key);
          if (g->source == HitSource::kFlashHeader) {
            plan = rig.ext->plan_read(key, *g);
            if (plan->kind != FlashReadKind::kDevice) {
              flash_plans.fetch_add(1);
              const ReadOutcome o = rig.ext->finish_read(key, *g, *plan, nullptr, 0);
              if (o.hit()) hits.fetch_add(1);
              if (o.hit() && o.value != value) bad.fetch_add(1);
              continue;
            }
          }
        }
        if (g->source == HitSource::kRam) {
          hits.fetch_add(1);
          continue;
        }
        if (g->source == HitSource::kMiss) continue;
        flash_plans.fetch_add(1);
        buf.reserve(plan->length);
        const int64_t rc = ::pread(fd, buf.data(), plan->length, static_cast<off_t>(plan->offset));
        std::optional<ReadOutcome> o;
        {
          std::shared_lock held(lock);
          o = rig.ext->try_finish_read_shared(key, *g, *plan, buf.data(), rc);
          if (o && o->value != value) bad.fetch_add(1);
        }
        if (!o) {
          std::lock_guard held(lock);
          o = rig.ext->finish_read(key, *g, *plan, buf.data(), rc);
          if (o->hit() && o->value != value) bad.fetch_add(1);
        }
        if (o->hit()) hits.fetch_add(1);
      }
      ::close(fd);
    });
  }
  for (auto& t : threads) t.join();
  const Stats s = rig.engine->stats();
  const ExtStoreStats e = rig.ext->stats(false);
  CHECK(bad.load() == 0);
  CHECK(s.cmd_get - s0.cmd_get == gets.load());
  CHECK(e.get_extstore - e0.get_extstore == flash_plans.load());
  CHECK(flash_plans.load() > 1000);
  CHECK(buffered_shared.load() > 0);
  // Every flash get that missed was counted as one; the rest hit.
  const uint64_t flash_misses = e.miss_from_extstore - e0.miss_from_extstore;
  CHECK(s.get_hits - s0.get_hits - flash_misses == hits.load());
}
