// LockHoldStats: the per-holder wait/hold distributions behind
// memext-server's -DMEMEXT_LOCK_HOLD_STATS report (issue 12's tail latency).
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "lock_holds.h"

using memext::EngineLock;
using memext::server::ExclusiveSection;
using memext::server::Holder;
using memext::server::LockHoldStats;

TEST_CASE("lock hold quantiles come from the recorded holds, each within its bucket") {
  LockHoldStats stats;
  // 990 short flusher holds of 1 us and 10 long ones of 5 ms: p50 and p99
  // are short, p99.9 and the max are the long ones.
  for (int i = 0; i < 990; ++i) stats.record(Holder::kFlusher, 100, 1000);
  for (int i = 0; i < 10; ++i) stats.record(Holder::kFlusher, 7'000'000, 5'000'000);
  const LockHoldStats::Summary s = stats.summary(Holder::kFlusher);
  CHECK(s.count == 1000);
  CHECK(s.hold_p50_ns >= 1000);
  CHECK(s.hold_p50_ns < 1200);
  CHECK(s.hold_p99_ns < 1200);
  CHECK(s.hold_p999_ns >= 5'000'000);
  CHECK(s.hold_p999_ns <= 5'000'000);  // capped by the largest seen
  CHECK(s.hold_max_ns == 5'000'000);
  CHECK(s.hold_total_ns == 990 * 1000 + 10 * 5'000'000ULL);
  CHECK(s.wait_max_ns == 7'000'000);
  CHECK(s.wait_total_ns == 990 * 100 + 10 * 7'000'000ULL);
  // Other kinds stay empty and out of the report.
  CHECK(stats.summary(Holder::kSet).count == 0);
  const std::string report = stats.report();
  CHECK(report.find("flusher") != std::string::npos);
  CHECK(report.find("set ") == std::string::npos);
  CHECK(LockHoldStats().report().empty());
}

TEST_CASE("an ExclusiveSection excludes other holders and records only when built to") {
  EngineLock lock;
  LockHoldStats stats;
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        ExclusiveSection section(lock, Holder::kSet, stats);
        ++counter;  // a data race, and a wrong total, without exclusion
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(counter == 4000);
  CHECK(!lock.exclusive_held());
  CHECK(stats.summary(Holder::kSet).count ==
        (memext::server::lock_hold_stats_enabled() ? 4000u : 0u));
}
