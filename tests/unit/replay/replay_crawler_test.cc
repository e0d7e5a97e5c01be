// The LRU crawler in a replay: stepped in virtual time beside the maintainer,
// it reclaims expired items the maintainer's tail pulls cannot reach, its
// figures reach the report, and a run stays deterministic.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "replay_test_util.h"
#include "report/report.h"

namespace memext {
using namespace replay_test;

namespace {

// 50 items without TTL, 100 with a 30 s TTL, 50 more without: the
// maintainer moves the oldest into COLD, where the 50 immortal ones at the
// tail stop its pulls, so only a crawl reaches the expired ones. A last set
// at 200 s moves the clock past the autocrawler's second crawl (engine
// second 69: 3 + 60 + 5, after an empty first crawl at second 2).
std::vector<TraceRequest> hidden_expiry_trace() {
  std::vector<TraceRequest> trace;
  uint64_t t = 0;
  for (uint64_t key = 1; key <= 200; ++key) {
    const int64_t ttl = key > 50 && key <= 150 ? 30 : 0;
    trace.push_back(req(t, Op::kSet, key, 100, ttl));
    t += kMs;
  }
  trace.push_back(req(200 * kSec, Op::kSet, 999, 100));
  return trace;
}

Stats stats_of(const Replayer& r) {
  return r.engine_stats();
}

}  // namespace

TEST_CASE("the autocrawler reclaims expired items hidden behind live ones") {
  auto with = replay(hidden_expiry_trace(), {});
  const Stats st = stats_of(*with);
  CHECK(st.crawler_reclaimed == 100);
  CHECK(st.expired_unfetched == 100);
  CHECK(st.curr_items == 101);
  CHECK(st.lru_crawler_starts >= 2);
  CHECK(st.crawler_items_checked >= 200);
  CHECK(with->lru_crawler_steps() > 0);

  auto without = replay(hidden_expiry_trace(), {"-o", "no_lru_crawler"});
  const Stats none = stats_of(*without);
  CHECK(none.crawler_reclaimed == 0);
  CHECK(none.lru_crawler_starts == 0);
  CHECK(none.curr_items == 201);
  CHECK(without->lru_crawler_steps() == 0);
}

TEST_CASE("crawler figures in the report, identical across runs") {
  TempDir dir;
  const std::string path = write_trace(dir, hidden_expiry_trace());
  auto report_of = [&] {
    SimOptions options = options_from({path});
    auto reader = open_trace(path);
    Replayer replayer(options, false);
    replayer.run(*reader);
    return build_report(replayer, *reader);
  };
  const nlohmann::json first = report_of();
  CHECK(first["engine"]["stats"]["crawler_reclaimed"] == 100);
  CHECK(first["lru_crawler"]["steps"].get<uint64_t>() > 0);
  CHECK(first["lru_crawler"]["items_visited"] == first["engine"]["stats"]["crawler_items_checked"]);
  CHECK(first["inputs"]["config"]["lru_crawler"] == true);
  CHECK(first["inputs"]["config"]["lru_crawler_sleep"] == 100);
  CHECK(report_of().dump() == first.dump());
}

}  // namespace memext
