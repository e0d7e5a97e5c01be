// Idle stretches of virtual time: the replay jumps its clock over them (no
// background step per virtual second, one collapsed time-series sample), the
// engine still sees the time pass (items expire, the crawler reclaims them,
// the flusher moves aged items), and a gap beyond a day is reported.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "replay_test_util.h"
#include "report/report.h"

namespace memext {
using namespace replay_test;

namespace {

constexpr uint64_t kDay = 86400 * kSec;

uint64_t sample_intervals(const std::vector<TimeSample>& samples) {
  uint64_t n = 0;
  for (const TimeSample& s : samples) n += s.intervals;
  return n;
}

}  // namespace

TEST_CASE("a gap of 10^7 s costs a bounded number of steps and samples") {
  const uint64_t gap = 10'000'000 * kSec;
  auto r = replay({req(0, Op::kSet, 1, 100), req(gap, Op::kGet, 1, 100)}, {});
  // Stepping every virtual second would take 10^7 maintainer steps and
  // 166,667 samples of 60 s.
  CHECK(r->lru_maintainer_steps() < 20'000);
  CHECK(r->lru_crawler_steps() < 20'000);
  CHECK(r->samples().size() < 20);
  // The samples still cover the whole replay, interval by interval.
  CHECK(sample_intervals(r->samples()) == gap / (60 * kSec) + 1);
  CHECK(r->samples().back().end_ns == gap);
  CHECK(r->clock().jumps == 1);
  CHECK(r->clock().jumped_ns > gap - 200 * kSec);
  CHECK(r->counters().hits_ram == 1);
  CHECK(r->duration_ns() == gap);
}

TEST_CASE("a collapsed sample stands for idle intervals with the levels at the jump") {
  std::vector<TraceRequest> trace;
  for (uint64_t i = 0; i < 10; ++i) trace.push_back(req(i * kSec, Op::kSet, i, 100));
  trace.push_back(req(10 * kDay, Op::kGet, 3, 100));
  auto r = replay(trace, {"--interval", "60"});
  const auto& samples = r->samples();
  size_t collapsed = 0;
  for (const TimeSample& s : samples) {
    if (s.intervals == 1) continue;
    ++collapsed;
    CHECK(s.requests == 0);
    CHECK(s.gets == 0);
    CHECK(s.curr_items == 10);
  }
  CHECK(collapsed == 1);
  // Every sample but the last (partial) one ends on the interval grid.
  for (size_t i = 1; i + 1 < samples.size(); ++i) {
    CHECK(samples[i].end_ns - samples[i - 1].end_ns == samples[i].intervals * 60 * kSec);
  }
  // 14400 whole intervals, the last ending at the get; the get itself is in
  // the final (empty-length) one.
  CHECK(sample_intervals(samples) == 10 * kDay / (60 * kSec) + 1);
  uint64_t requests = 0;
  for (const TimeSample& s : samples) requests += s.requests;
  CHECK(requests == 11);
}

TEST_CASE("across a jump items expire and the crawler reclaims them as if time passed") {
  // Key 1 expires after an hour, key 2 never; a day later key 3 arrives.
  auto r = replay(
      {req(0, Op::kSet, 1, 100, 3600), req(0, Op::kSet, 2, 100), req(kDay, Op::kSet, 3, 100)}, {});
  CHECK(r->clock().jumps == 1);
  const Stats st = r->engine_stats();
  // The crawler (or the maintainer at a tail) reclaimed it after the jump,
  // before the request: nothing asked for key 1.
  CHECK(st.crawler_reclaimed + st.reclaimed == 1);
  CHECK(st.curr_items == 2);
}

TEST_CASE("across a jump the flusher moves items that aged past ext_item_age") {
  const std::vector<std::string> flags = {"-o",
                                          "ext_path=/tmp/memext-gap.dat:256m,ext_item_age=3600"};
  auto r = replay({req(0, Op::kSet, 1, 2000), req(kDay, Op::kGet, 1, 2000)}, flags);
  CHECK(r->clock().jumps == 1);
  CHECK(r->counters().hits_flash == 1);
  CHECK(r->counters().hits_ram == 0);
}

TEST_CASE("gaps shorter than two settle windows are stepped second by second") {
  auto r = replay({req(0, Op::kSet, 1, 100), req(100 * kSec, Op::kGet, 1, 100)}, {});
  CHECK(r->clock().jumps == 0);
  // The maintainer backs off to 1 s: at least one step per idle second.
  CHECK(r->lru_maintainer_steps() >= 100);
}

TEST_CASE("a jump beyond a day of trace time is a warning, fatal with --strict") {
  const std::vector<TraceRequest> trace = {req(5 * kSec, Op::kSet, 1, 100),
                                           req(5 * kSec + 2 * kDay, Op::kGet, 1, 100)};
  auto r = replay(trace, {});
  REQUIRE(r->warnings().size() == 1);
  CHECK(r->warnings()[0].code == "time_jump");
  CHECK(r->warnings()[0].message.find("172800 s") != std::string::npos);
  CHECK(r->warnings()[0].message.find("record 2") != std::string::npos);
  CHECK(r->clock().gaps_over_bound == 1);
  CHECK_THROWS_WITH_AS(replay(trace, {"--strict"}), doctest::Contains("record 2"),
                       std::runtime_error);
  // A day or less is quiet.
  auto quiet = replay({req(0, Op::kSet, 1, 100), req(kDay, Op::kGet, 1, 100)}, {});
  CHECK(quiet->warnings().empty());
}

TEST_CASE("time beyond the engine's 32-bit clock runs at its end, counted and warned") {
  const uint64_t far = (uint64_t{1} << 33) * kSec;  // 272 years
  auto r = replay(
      {req(0, Op::kSet, 1, 100), req(far, Op::kGet, 1, 100), req(far + kSec, Op::kGet, 1, 100)},
      {});
  CHECK(r->clock().requests_clamped == 2);
  CHECK(r->duration_ns() == kMaxReplayVirtualNs);
  CHECK(r->counters().hits_ram == 2);
  bool warned = false;
  for (const ReplayWarning& w : r->warnings()) warned = warned || w.code == "clock_overflow";
  CHECK(warned);
}

TEST_CASE("reports of a replay with jumps are byte-identical across runs") {
  std::vector<TraceRequest> trace;
  for (uint64_t i = 0; i < 200; ++i) {
    const uint64_t t = (i / 50) * 3 * kDay + (i % 50) * kSec;
    trace.push_back(req(t, i % 3 == 0 ? Op::kSet : Op::kGet, i % 17, 3000, i % 5 == 0 ? 600 : 0));
  }
  TempDir dir;
  const std::string path = write_trace(dir, trace);
  std::string first;
  for (int run = 0; run < 2; ++run) {
    SimOptions options =
        options_from({path, "-o", "ext_path=/tmp/memext-gap2.dat:256m,ext_item_age=60"});
    auto reader = open_trace(path);
    Replayer replayer(options, true);
    replayer.run(*reader);
    const std::string text = dump_report(build_report(replayer, *reader));
    if (run == 0) {
      first = text;
      const nlohmann::json j = nlohmann::json::parse(text);
      CHECK(j["clock"]["jumps"] == 3);
      // The flash tier of this small trace never fills, which is warned too.
      int time_jumps = 0;
      for (const auto& w : j["warnings"]) time_jumps += w["code"] == "time_jump" ? 1 : 0;
      CHECK(time_jumps == 1);
      bool collapsed = false;
      for (const auto& s : j["time_series"]["samples"])
        collapsed = collapsed || s.contains("intervals");
      CHECK(collapsed);
    } else {
      CHECK(text == first);
    }
  }
}

}  // namespace memext
