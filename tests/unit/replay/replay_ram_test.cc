// RAM-only replay semantics: traced ops applied as memcached would, TTLs in
// virtual time, --time-scale, look-aside fill on miss, the time series.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "replay/replay_command.h"
#include "replay_test_util.h"

namespace memext {
using namespace replay_test;

TEST_CASE("replay applies gets, sets, adds, deletes and touches as traced") {
  const std::vector<TraceRequest> trace = {
      req(0, Op::kGet, 1, 100),              // miss: nothing stored yet
      req(1 * kMs, Op::kSet, 1, 100),        // stored
      req(2 * kMs, Op::kGet, 1, 100),        // RAM hit, 100 bytes
      req(3 * kMs, Op::kAdd, 1, 100),        // not_stored: exists
      req(4 * kMs, Op::kAdd, 2, 50),         // stored
      req(5 * kMs, Op::kGets, 2, 50),        // RAM hit, 50 bytes
      req(6 * kMs, Op::kDelete, 1),          // delete hit
      req(7 * kMs, Op::kDelete, 1),          // delete miss
      req(8 * kMs, Op::kGet, 1, 100),        // miss
      req(9 * kMs, Op::kTouch, 2, 0, 100),   // touch hit
      req(10 * kMs, Op::kTouch, 3, 0, 100),  // touch miss
      req(11 * kMs, Op::kReplace, 3, 10),    // not_stored: missing
      req(12 * kMs, Op::kCas, 2, 60),        // cas of the current item: stored
      req(13 * kMs, Op::kCas, 4, 60),        // cas on a missing key: not_found
      req(14 * kMs, Op::kAppend, 2, 5),      // stored
  };
  auto r = replay(trace, {});
  const ReplayCounters& c = r->counters();
  CHECK(c.requests == 15);
  CHECK(c.gets == 4);
  CHECK(c.hits_ram == 2);
  CHECK(c.hits_flash == 0);
  CHECK(c.misses == 2);
  CHECK(c.get_bytes == 350);
  CHECK(c.hit_bytes_ram == 150);
  CHECK(c.store_results[static_cast<size_t>(StoreResult::kStored)] == 4);
  CHECK(c.store_results[static_cast<size_t>(StoreResult::kNotStored)] == 2);
  CHECK(c.store_results[static_cast<size_t>(StoreResult::kNotFound)] == 1);
  CHECK(c.delete_hits == 1);
  CHECK(c.delete_misses == 1);
  CHECK(c.touch_hits == 1);
  CHECK(c.touch_misses == 1);
  CHECK(c.fills == 0);
  CHECK(r->engine().stats().curr_items == 1);
  CHECK(c.requests_by_op[static_cast<size_t>(Op::kCas)] == 2);
}

TEST_CASE("TTLs expire in virtual time, scaled by --time-scale") {
  // set with ttl 10 at t=0: engine time 2, exptime 12. memcached expires an
  // item once exptime <= current_time, i.e. from trace second 10 on.
  const std::vector<TraceRequest> trace = {
      req(0, Op::kSet, 7, 100, 10),
      req(9 * kSec + 999 * kMs, Op::kGet, 7, 100),  // engine time 11: hit
      req(10 * kSec, Op::kGet, 7, 100),             // engine time 12: expired, miss
  };
  auto r = replay(trace, {});
  CHECK(r->counters().hits_ram == 1);
  CHECK(r->counters().misses == 1);
  CHECK(r->engine().stats().get_expired == 1);
  CHECK(r->duration_ns() == 10 * kSec);

  // Twice the time: the get at trace 4.999 s is at 9.998 s (hit), 5 s at 10 s.
  const std::vector<TraceRequest> fast = {
      req(0, Op::kSet, 7, 100, 10),
      req(4 * kSec + 999 * kMs, Op::kGet, 7, 100),
      req(5 * kSec, Op::kGet, 7, 100),
  };
  auto s = replay(fast, {"--time-scale", "2"});
  CHECK(s->counters().hits_ram == 1);
  CHECK(s->counters().misses == 1);
  CHECK(s->duration_ns() == 10 * kSec);
}

TEST_CASE("a trace that starts late is timed from its first request") {
  const uint64_t t0 = 1'600'000'000ull * kSec;
  auto r = replay({req(t0, Op::kSet, 1, 10, 5), req(t0 + 4 * kSec, Op::kGet, 1, 10),
                   req(t0 + 5 * kSec, Op::kGet, 1, 10)},
                  {});
  CHECK(r->counters().hits_ram == 1);
  CHECK(r->counters().misses == 1);
}

TEST_CASE("fill on miss: a miss is followed by a set of the traced size") {
  const std::vector<TraceRequest> gets = {
      req(0, Op::kGet, 1, 300, 0),
      req(1 * kMs, Op::kGet, 1, 300, 0),
      req(2 * kMs, Op::kGet, 2, 400, 0),
      req(3 * kMs, Op::kGet, 1, 300, 0),
  };
  SUBCASE("on") {
    auto r = replay(gets, {"--fill-on-miss", "on"});
    CHECK(r->fill_on_miss());
    CHECK(r->counters().misses == 2);
    CHECK(r->counters().hits_ram == 2);
    CHECK(r->counters().fills == 2);
    CHECK(r->counters().hit_bytes_ram == 600);
    CHECK(r->engine().stats().curr_items == 2);
  }
  SUBCASE("off") {
    auto r = replay(gets, {"--fill-on-miss", "off"}, /*fill_default=*/true);
    CHECK(r->counters().misses == 4);
    CHECK(r->counters().fills == 0);
  }
  SUBCASE("auto follows the format's default") {
    CHECK(replay(gets, {}, /*fill_default=*/true)->counters().hits_ram == 2);
    CHECK(replay(gets, {}, /*fill_default=*/false)->counters().hits_ram == 0);
  }
}

TEST_CASE("small memory evicts the oldest items") {
  // 1000 items of ~2 KB (2 MB) into -m 2 (two 1 MB slab pages, some taken
  // by other classes' first pages): sets must evict the COLD tail, oldest
  // first, so the first key is gone and the last one is present.
  std::vector<TraceRequest> trace;
  for (uint64_t k = 0; k < 1000; ++k) trace.push_back(req(k * kMs, Op::kSet, k, 2000));
  trace.push_back(req(1000 * kMs, Op::kGet, 0, 2000));    // evicted long ago
  trace.push_back(req(1001 * kMs, Op::kGet, 999, 2000));  // newest: present
  auto r = replay(trace, {"-m", "2", "-I", "512k"});
  const Stats st = r->engine().stats();
  CHECK(st.evictions > 0);
  CHECK(st.curr_items + st.evictions == 1000);
  CHECK(r->counters().misses == 1);
  CHECK(r->counters().hits_ram == 1);
}

TEST_CASE("time series: one sample per interval of trace time, deltas add up") {
  std::vector<TraceRequest> trace;
  for (uint64_t i = 0; i < 50; ++i) trace.push_back(req(i * 100 * kMs, Op::kSet, i % 7, 100));
  for (uint64_t i = 0; i < 50; ++i) {
    trace.push_back(req(5 * kSec + i * 100 * kMs, Op::kGet, i % 10, 100));
  }
  auto r = replay(trace, {"--interval", "2"});
  const auto& samples = r->samples();
  // Requests span 0 .. 9.9 s: intervals end at 2, 4, 6, 8 s, then the last
  // partial one at 9.9 s.
  REQUIRE(samples.size() == 5);
  CHECK(samples[0].end_ns == 2 * kSec);
  CHECK(samples[4].end_ns == 9900 * kMs);
  uint64_t requests = 0;
  uint64_t hits = 0;
  for (const TimeSample& s : samples) {
    requests += s.requests;
    hits += s.hits_ram;
  }
  CHECK(requests == 100);
  CHECK(hits == r->counters().hits_ram);
  CHECK(hits == 35);                 // keys 0..6 hit, 7..9 miss: 5 rounds of 7
  CHECK(samples[0].requests == 20);  // sets at 0.0 .. 1.9 s
}

}  // namespace memext

namespace memext {
using namespace replay_test;

TEST_CASE("oracle traces (reads only) fill on miss by default, end to end") {
  // libCacheSim oracleGeneral: {u32 time s, u64 id, u32 size, i64 next}.
  // get 1, get 1, get 2, get 1: fills make the 2nd and 4th gets hits.
  TempDir dir;
  const std::string trace = dir.file("t.oracleGeneral");
  {
    std::ofstream out(trace, std::ios::binary);
    const uint64_t ids[] = {1, 1, 2, 1};
    const int64_t next[] = {1, 3, -1, -1};
    for (int i = 0; i < 4; ++i) {
      char rec[24];
      const uint32_t time = static_cast<uint32_t>(i + 1);
      const uint32_t size = 1000;
      std::memcpy(rec, &time, 4);
      std::memcpy(rec + 4, &ids[i], 8);
      std::memcpy(rec + 12, &size, 4);
      std::memcpy(rec + 16, &next[i], 8);
      out.write(rec, 24);
    }
  }
  const std::string report = dir.file("r.json");
  for (const char* fill : {"auto", "off"}) {
    std::vector<std::string> args = {"replay", trace,   "--format", "oracle",     "--fill-on-miss",
                                     fill,     "--out", report,     "--progress", "off"};
    REQUIRE(run_replay_main(args) == 0);
    std::ifstream in(report);
    const nlohmann::json j = nlohmann::json::parse(in);
    const bool on = std::string(fill) == "auto";
    CHECK(j["inputs"]["fill_on_miss_effective"] == on);
    CHECK(j["totals"]["gets"] == 4);
    CHECK(j["totals"]["hits_ram"] == (on ? 2 : 0));
    CHECK(j["totals"]["fills"] == (on ? 2 : 0));
    CHECK(j["totals"]["byte_hit_ratio"] == (on ? 0.5 : 0.0));
  }
}

TEST_CASE("the automover's page moves run in the replay: items rescued, counters reported") {
  // Five pages of 1000-byte items (class 12, 885 per page), nine in ten
  // deleted, then quiet reads: the automover gives pages back to the global
  // pool while more than 2.5 pages are free. The same exchange on memcached
  // 1.6.18 (test_slab_rebalance.py) moves two pages, rescuing 177 items.
  std::vector<TraceRequest> trace;
  constexpr uint64_t kItems = 5 * 885;
  for (uint64_t k = 0; k < kItems; ++k) trace.push_back(req(k * kMs, Op::kSet, k, 1000));
  for (uint64_t k = 0; k < kItems; ++k) {
    if (k % 10 != 0) trace.push_back(req(5 * kSec + k * 100, Op::kDelete, k));
  }
  for (uint64_t s = 6; s < 20; ++s) trace.push_back(req(s * kSec, Op::kGet, 0, 1000));
  const std::vector<std::string> flags = {"-m", "64", "-o", "slab_automove_window=3"};
  auto first = replay(trace, flags);
  const Stats st = first->engine().stats();
  CHECK(st.slabs_moved == 2);
  CHECK(st.slab_reassign_rescues == 177);
  CHECK(st.slab_reassign_evictions_nomem == 0);
  CHECK(st.slab_global_page_pool == 2);
  CHECK(st.curr_items == (kItems + 9) / 10);
  // Deterministic: a second run reports the same engine stats.
  auto second = replay(trace, flags);
  CHECK(to_json(second->engine().stats()).dump() == to_json(st).dump());
}

}  // namespace memext
