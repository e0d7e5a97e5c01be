// The report's planner figures: RAM held by slab pages and by flash objects'
// item headers, steady state after --warmup, per-interval flash writes and
// DWPD, the trace's own hit ratio, and the warnings.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "memext/slabs.h"
#include "replay/replay_command.h"
#include "replay_test_util.h"

namespace memext {
using namespace replay_test;

namespace {

// As replay_flash_test: 1 MB pages and wbufs, every COLD item flushed at
// once; an 8 MB file has 7 usable pages.
const std::vector<std::string> kSmallFlash = {
    "-o",
    "no_lru_maintainer,ext_path=/sim/flash:8m,ext_page_size=1,ext_wbuf_size=1,ext_item_age=0"};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `memext-sim replay TRACE ARGS --out X` and returns the report.
nlohmann::json run_report(const TempDir& dir, const std::string& trace,
                          std::vector<std::string> args) {
  const std::string out = dir.file("report.json");
  args.insert(args.begin(), {"replay", trace, "--out", out, "--progress", "off"});
  REQUIRE(run_replay_main(args) == 0);
  return nlohmann::json::parse(slurp(out));
}

nlohmann::json run_report(const std::vector<TraceRequest>& trace, std::vector<std::string> args) {
  TempDir dir;
  return run_report(dir, write_trace(dir, trace), std::move(args));
}

bool has_warning(const nlohmann::json& report, const std::string& code) {
  for (const nlohmann::json& w : report["warnings"]) {
    if (w["code"] == code) return true;
  }
  return false;
}

// A set at t = 0, then gets of the same key every 10 ms: 100 requests.
std::vector<TraceRequest> one_key_gets() {
  std::vector<TraceRequest> trace{req(0, Op::kSet, 1, 100)};
  for (uint64_t i = 1; i < 100; ++i) trace.push_back(req(i * 10 * kMs, Op::kGet, 1, 100));
  return trace;
}

}  // namespace

TEST_CASE("flash objects' headers: one slab chunk each, beside memcached's bytes") {
  std::vector<TraceRequest> trace;
  for (uint64_t k = 1; k <= 50; ++k) trace.push_back(req(k * kMs, Op::kSet, k, 100000));
  // Deleting and overwriting flash objects unlinks their headers.
  for (uint64_t k = 1; k <= 4; ++k) trace.push_back(req(kSec + k, Op::kDelete, k));
  for (uint64_t k = 5; k <= 7; ++k) trace.push_back(req(kSec + k, Op::kSet, k, 100));
  trace.push_back(req(2 * kSec, Op::kGet, 999, 0));
  std::vector<std::string> flags = kSmallFlash;
  flags.insert(flags.end(), {"-m", "2"});
  const nlohmann::json r = run_report(trace, flags);
  const nlohmann::json& t = r["totals"];
  const uint64_t on_flash = r["extstore"]["extstore_objects_used"].get<uint64_t>();
  REQUIRE(on_flash >= 30);
  CHECK(on_flash <= 43);
  CHECK(t["flash_header_items"].get<uint64_t>() == on_flash);
  // A header: 48 + 10-byte key + 1 + 12-byte item_hdr + 8 CAS = 79 bytes,
  // in class 1's 96-byte chunks at -n 48 -f 1.25.
  EngineConfig config;
  const SlabClassTable classes(config);
  const uint32_t chunk =
      classes[classes.clsid(item_total_size(10, kItemHdrDataSize, 0, true))].size;
  CHECK(chunk == 96);
  CHECK(t["flash_header_bytes"].get<uint64_t>() == on_flash * chunk);
  // memcached's bytes counts every flash object at its full size.
  CHECK(r["engine"]["stats"]["bytes"].get<uint64_t>() >= on_flash * 100000);
  // RAM used: the slab pages classes hold, not the global pool memcached
  // prefills with extstore; memcached's bytes is well above it.
  const nlohmann::json& e = r["engine"]["stats"];
  uint64_t class_pages = 0;
  for (const auto& [id, slab] : r["engine"]["slabs"].items()) {
    class_pages += slab["total_pages"].get<uint64_t>();
  }
  CHECK(t["ram_used_bytes"].get<uint64_t>() == class_pages << 20);
  CHECK(t["ram_used_bytes"].get<uint64_t>() ==
        e["total_malloced"].get<uint64_t>() - (e["slab_global_page_pool"].get<uint64_t>() << 20));
  CHECK(e["bytes"].get<uint64_t>() > t["ram_used_bytes"].get<uint64_t>());
  const nlohmann::json& last = r["time_series"]["samples"].back();
  CHECK(last["flash_header_bytes"] == t["flash_header_bytes"]);
  CHECK(last["ram_used_bytes"] == t["ram_used_bytes"]);
}

TEST_CASE("--warmup REQUESTS: steady state counts the requests after the first N") {
  const nlohmann::json r = run_report(one_key_gets(), {"--warmup", "50"});
  const nlohmann::json& s = r["steady_state"];
  CHECK(s["warmup"] == "50");
  CHECK(s["reached"] == true);
  CHECK(s["requests"] == 50);
  CHECK(s["gets"] == 50);
  CHECK(s["hits"] == 50);
  CHECK(s["hit_ratio"] == 1.0);
  CHECK(s["start_s"] == 0.5);
  CHECK(s["duration_s"].get<double>() == doctest::Approx(0.49));
  CHECK(s["flash_bytes_written"].is_null());
  CHECK(r["totals"]["gets"] == 99);
  CHECK(r["warnings"].empty());
}

TEST_CASE("--warmup SECONDS: steady state starts at the first request at or after it") {
  const nlohmann::json r = run_report(one_key_gets(), {"--warmup", "0.25s"});
  CHECK(r["steady_state"]["requests"] == 75);
  CHECK(r["steady_state"]["start_s"] == 0.25);
  // Trace time: --time-scale 2 doubles virtual time, so the same warmup
  // ends at the same request.
  const nlohmann::json scaled =
      run_report(one_key_gets(), {"--warmup", "0.25s", "--time-scale", "2"});
  CHECK(scaled["steady_state"]["requests"] == 75);
  CHECK(scaled["steady_state"]["start_s"] == 0.5);
}

TEST_CASE("--warmup longer than the trace: no steady state and a warning") {
  const nlohmann::json r = run_report(one_key_gets(), {"--warmup", "1h"});
  CHECK(r["steady_state"]["reached"] == false);
  CHECK(!r["steady_state"].contains("hit_ratio"));
  CHECK(has_warning(r, "warmup_not_reached"));
  CHECK(run_report(one_key_gets(), {})["steady_state"].is_null());
}

TEST_CASE("--warmup rejects values that are neither seconds nor requests") {
  for (const char* bad : {"", "abc", "0", "-5s", "5x", "0s", "1.5"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(options_from({"t.mxt", "--warmup", bad}), doctest::Contains("--warmup"),
                         std::invalid_argument);
  }
  CHECK(options_from({"t.mxt", "--warmup", "2m"}).warmup_s == 120);
  CHECK(options_from({"t.mxt", "--warmup", "1d"}).warmup_s == 86400);
  CHECK(options_from({"t.mxt", "--warmup", "1000000"}).warmup_requests == 1000000);
}

TEST_CASE("per-interval flash writes and DWPD relative to the ext_path size") {
  std::vector<TraceRequest> trace;
  for (uint64_t k = 1; k <= 200; ++k) trace.push_back(req(k * 10 * kMs, Op::kSet, k, 100000));
  std::vector<std::string> flags = kSmallFlash;
  flags.insert(flags.end(), {"--interval", "0.5"});
  const nlohmann::json r = run_report(trace, flags);
  const nlohmann::json& series = r["time_series"];
  CHECK(series["flash_capacity_bytes"] == 8 << 20);
  uint64_t written = 0;
  double t_before = 0;
  for (const nlohmann::json& s : series["samples"]) {
    const uint64_t delta = s["flash_bytes_written"].get<uint64_t>();
    const double dt = s["t_s"].get<double>() - t_before;
    written += delta;
    CHECK(s["device_bytes_written"] == written);
    CHECK(s["dwpd"].get<double>() ==
          doctest::Approx(static_cast<double>(delta) / (8 << 20) * 86400 / dt));
    t_before = s["t_s"].get<double>();
  }
  CHECK(written == r["device"]["bytes_written"].get<uint64_t>());
  CHECK(written > 10'000'000);
  // 20 MB through 7 usable pages: pages were evicted, so the tier filled.
  CHECK(r["evictions"]["flash_pages"].get<uint64_t>() > 0);
  CHECK(!has_warning(r, "flash_never_filled"));
  uint64_t bucketed = 0;
  for (const auto& [name, pages] : series["samples"].back()["extstore_pages_by_bucket"].items()) {
    bucketed += pages.get<uint64_t>();
  }
  CHECK(bucketed > 0);
  CHECK(bucketed <= series["samples"].back()["extstore_pages_used"].get<uint64_t>());
}

TEST_CASE("headers filling RAM while flash stays unused are warned about") {
  // 200k keys of 600-byte values, all flushed to a 1 GB flash tier (under
  // 15% used); their 96-byte headers need 19 MB, in 8 MB of RAM.
  std::vector<TraceRequest> trace;
  for (uint64_t k = 1; k <= 200000; ++k) trace.push_back(req(k * 100'000, Op::kSet, k, 600));
  const nlohmann::json r =
      run_report(trace, {"-m", "8", "-o",
                         "no_lru_maintainer,ext_path=/sim/flash:1g,ext_page_size=1,ext_wbuf_size=1,"
                         "ext_item_age=0"});
  const nlohmann::json& t = r["totals"];
  CHECK(r["engine"]["stats"]["evictions"].get<uint64_t>() > 0);
  CHECK(t["flash_header_bytes"].get<uint64_t>() * 2 >= t["ram_used_bytes"].get<uint64_t>());
  CHECK(has_warning(r, "flash_never_filled"));
  CHECK(has_warning(r, "headers_fill_ram"));
  // With 64 MB of RAM the headers fit: no headers warning.
  const nlohmann::json roomy =
      run_report(trace, {"-m", "64", "-o",
                         "no_lru_maintainer,ext_path=/sim/flash:1g,ext_page_size=1,ext_wbuf_size=1,"
                         "ext_item_age=0"});
  CHECK(has_warning(roomy, "flash_never_filled"));
  CHECK(!has_warning(roomy, "headers_fill_ram"));
}

TEST_CASE("kvcache cache_hits: production hit ratio beside the simulated one") {
  TempDir dir;
  const std::string path = dir.file("kv.csv");
  {
    std::ofstream out(path);
    out << "op_time,key,key_size,op,op_count,size,cache_hits,ttl\n"
           "1,a,10,SET,1,100,0,0\n"
           "2,a,10,GET,3,100,2,0\n"
           "3,b,10,GET,1,100,0,0\n"
           "4,a,10,GET_LEASE,2,100,2,0\n";
  }
  const nlohmann::json r = run_report(dir, path, {});
  const nlohmann::json& v = r["validation"];
  CHECK(v["column"] == "cache_hits");
  CHECK(v["trace_gets"] == 6);
  CHECK(v["trace_hits"] == 4);
  CHECK(v["production_hit_ratio"].get<double>() == doctest::Approx(4.0 / 6));
  CHECK(v["simulated_hit_ratio"] == r["totals"]["hit_ratio"]);
  CHECK(r["totals"]["hits"] == 5);
  CHECK(v["difference"].get<double>() == doctest::Approx(5.0 / 6 - 4.0 / 6));
  // Formats without a hit column: no validation.
  CHECK(run_report(one_key_gets(), {})["validation"].is_null());
}

TEST_CASE("kvcache replays fill on miss by default: a look-aside cache's fills are not traced") {
  TempDir dir;
  const std::string path = dir.file("kv.csv");
  {
    std::ofstream out(path);
    out << "op_time,key,key_size,op,op_count,size,cache_hits,ttl\n"
           "1,c,10,GET,1,100,1,0\n"
           "2,c,10,GET_LEASE,1,100,1,0\n";
  }
  const nlohmann::json r = run_report(dir, path, {});
  CHECK(r["inputs"]["fill_on_miss"] == "auto");
  CHECK(r["inputs"]["fill_on_miss_effective"] == true);
  CHECK(r["totals"]["hits"] == 1);  // the first get's miss filled the key
  const nlohmann::json off = run_report(dir, path, {"--fill-on-miss", "off"});
  CHECK(off["totals"]["hits"] == 0);
}

}  // namespace memext
