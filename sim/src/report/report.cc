#include "report/report.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "memext/config.h"
#include "memext/pagestore.h"
#include "memext/stats.h"
#include "replay/replay.h"
#include "replay/replay_flash.h"
#include "replay/sample_scaling.h"
#include "report/report_figures.h"
#include "traces/trace_reader.h"

namespace memext {

namespace {

double ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

const char* store_result_name(size_t result) {
  switch (static_cast<StoreResult>(result)) {
    case StoreResult::kStored:
      return "stored";
    case StoreResult::kNotStored:
      return "not_stored";
    case StoreResult::kExists:
      return "exists";
    case StoreResult::kNotFound:
      return "not_found";
    case StoreResult::kTooLarge:
      return "too_large";
    case StoreResult::kOutOfMemory:
      return "out_of_memory";
  }
  return "unknown";
}

// Below this many keys a sample's hit ratio is a handful of keys' and the
// surplus or shortfall of gets is no longer the hot keys': no estimate (the
// 100-line kvcache samples gave +70..95 points with one).
constexpr uint64_t kMinAdjustedSampleKeys = 1000;

nlohmann::json sample_adjusted_json(const ReplayCounters& c, double rate);

nlohmann::json totals_json(const Replayer& replay) {
  const ReplayCounters& c = replay.counters();
  nlohmann::json by_op = nlohmann::json::object();
  for (int op = 0; op < kOpCount; ++op) {
    by_op[std::string(op_name(static_cast<Op>(op)))] = c.requests_by_op[op];
  }
  nlohmann::json stores = nlohmann::json::object();
  for (size_t r = 0; r < c.store_results.size(); ++r)
    stores[store_result_name(r)] = c.store_results[r];
  const uint64_t hits = c.hits_ram + c.hits_flash;
  const uint64_t hit_bytes = c.hit_bytes_ram + c.hit_bytes_flash;
  return nlohmann::json{
      {"trace_records", c.trace_records},
      {"records", c.records},
      {"keys", c.keys},
      {"compulsory_misses", c.compulsory_misses},
      {"ceiling_hit_ratio", c.gets == 0 ? 0.0 : 1.0 - ratio(c.compulsory_misses, c.gets)},
      {"requests", c.requests},
      {"requests_by_op", by_op},
      {"gets", c.gets},
      {"hits", hits},
      {"hits_ram", c.hits_ram},
      {"hits_flash", c.hits_flash},
      {"misses", c.misses},
      {"flash_read_misses", c.flash_read_misses},
      {"hit_ratio", ratio(hits, c.gets)},
      {"ram_hit_ratio", ratio(c.hits_ram, c.gets)},
      {"flash_hit_ratio", ratio(c.hits_flash, c.gets)},
      {"get_bytes", c.get_bytes},
      {"hit_bytes", hit_bytes},
      {"hit_bytes_ram", c.hit_bytes_ram},
      {"hit_bytes_flash", c.hit_bytes_flash},
      {"byte_hit_ratio", ratio(hit_bytes, c.get_bytes)},
      {"fills", c.fills},
      {"store_results", stores},
      {"delete_hits", c.delete_hits},
      {"delete_misses", c.delete_misses},
      {"touch_hits", c.touch_hits},
      {"touch_misses", c.touch_misses},
      {"incr_decr_hits", c.delta_hits},
      {"incr_decr_misses", c.delta_misses},
      {"keys_clamped", c.keys_clamped},
      {"time_reversals", c.time_reversals},
      {"duration_s", static_cast<double>(replay.duration_ns()) / 1e9},
      {"trace_gets", c.trace_gets},
      {"sample_adjusted", replay.options().sample_rate < 1 && c.keys >= kMinAdjustedSampleKeys
                              ? sample_adjusted_json(c, replay.options().sample_rate)
                              : nlohmann::json()},
  };
}

// SHARDS-adj (Waldspurger et al., FAST '15): a key sample holds R of the
// keys but, under skewed popularity, not R of the gets; the surplus (or
// shortfall) is the hot keys', which hit at any useful cache size, so it is
// taken off (or added to) the RAM hits and the gets are set to R of the
// trace's. Ratios of the adjusted counts estimate the full replay's.
nlohmann::json sample_adjusted_json(const ReplayCounters& c, double rate) {
  const double expected = rate * static_cast<double>(c.trace_gets);
  const double excess = static_cast<double>(c.gets) - expected;
  const double expected_bytes = rate * static_cast<double>(c.trace_get_bytes);
  const double excess_bytes = static_cast<double>(c.get_bytes) - expected_bytes;
  auto share = [](double part, double whole) {
    return whole <= 0 ? 0.0 : std::clamp(part / whole, 0.0, 1.0);
  };
  const double hits = static_cast<double>(c.hits_ram + c.hits_flash);
  const double hit_bytes = static_cast<double>(c.hit_bytes_ram + c.hit_bytes_flash);
  return {{"expected_gets", expected},
          {"excess_gets", excess},
          {"hit_ratio", share(hits - excess, expected)},
          {"ram_hit_ratio", share(static_cast<double>(c.hits_ram) - excess, expected)},
          {"flash_hit_ratio", share(static_cast<double>(c.hits_flash), expected)},
          {"byte_hit_ratio", share(hit_bytes - excess_bytes, expected_bytes)},
          {"ceiling_hit_ratio", 1 - share(static_cast<double>(c.compulsory_misses), expected)}};
}

nlohmann::json sample_json(const TimeSample& s, bool flash) {
  nlohmann::json j{
      {"t_s", static_cast<double>(s.end_ns) / 1e9},
      {"requests", s.requests},
      {"gets", s.gets},
      {"hits_ram", s.hits_ram},
      {"hits_flash", s.hits_flash},
      {"misses", s.misses},
      {"hit_ratio", ratio(s.hits_ram + s.hits_flash, s.gets)},
      {"ram_hit_ratio", ratio(s.hits_ram, s.gets)},
      {"flash_hit_ratio", ratio(s.hits_flash, s.gets)},
      {"get_bytes", s.get_bytes},
      {"hit_bytes", s.hit_bytes},
      {"byte_hit_ratio", ratio(s.hit_bytes, s.get_bytes)},
      {"curr_items", s.curr_items},
      {"bytes", s.bytes},
      {"ram_used_bytes", s.ram_used_bytes},
      {"flash_header_items", s.ext_header_items},
      {"flash_header_bytes", s.ext_header_bytes},
      {"evictions", s.evictions},
  };
  if (s.intervals > 1) j["intervals"] = s.intervals;
  if (flash) {
    j["extstore_bytes_used"] = s.ext_bytes_used;
    j["extstore_bytes_fragmented"] = s.ext_bytes_fragmented;
    j["fragmentation_ratio"] =
        ratio(s.ext_bytes_fragmented,
              s.ext_pages_used == 0 ? 0 : s.ext_bytes_used + s.ext_bytes_fragmented);
    j["extstore_pages_used"] = s.ext_pages_used;
    j["extstore_bytes_written"] = s.ext_bytes_written;
    j["device_bytes_written"] = s.device_bytes_written;
    j["extstore_page_evictions"] = s.ext_page_evictions;
    j["recache_from_extstore"] = s.recache;
    j["extstore_compact_rescues"] = s.compact_rescues;
    j["extstore_compact_lost"] = s.compact_lost;
    j["extstore_compact_skipped"] = s.compact_skipped;
    nlohmann::json buckets = nlohmann::json::object();
    for (unsigned b = 0; b < kPageBucketCount; ++b) {
      buckets[std::string(page_bucket_name(b))] = s.ext_pages_by_bucket[b];
    }
    j["extstore_pages_by_bucket"] = buckets;
  }
  return j;
}

}  // namespace

nlohmann::json engine_config_json(const EngineConfig& c) {
  nlohmann::json paths = nlohmann::json::array();
  for (const ExtPathConfig& p : c.ext.paths) {
    paths.push_back({{"path", p.path},
                     {"size_bytes", p.size_bytes},
                     {"bucket", p.bucket.empty() ? "default" : p.bucket}});
  }
  return nlohmann::json{
      {"memory_limit", c.memory_limit},
      {"growth_factor", c.growth_factor},
      {"chunk_size", c.chunk_min_size},
      {"item_size_max", c.item_size_max},
      {"slab_page_size", c.slab_page_size},
      {"slab_chunk_max", c.slab_chunk_max},
      {"evictions", c.evict_to_free},
      {"cas_enabled", c.use_cas},
      {"lru_segmented", c.lru_segmented},
      {"lru_maintainer_thread", c.lru_maintainer},
      {"lru_crawler", c.lru_crawler},
      {"lru_crawler_sleep", c.lru_crawler_sleep},
      {"lru_crawler_tocrawl", c.lru_crawler_tocrawl},
      {"hot_lru_pct", c.hot_lru_pct},
      {"warm_lru_pct", c.warm_lru_pct},
      {"hot_max_factor", c.hot_max_factor},
      {"warm_max_factor", c.warm_max_factor},
      {"temp_lru", c.temp_lru},
      {"temporary_ttl", c.temporary_ttl},
      {"phantom", c.phantom},
      {"ext_path", paths},
      {"ext_page_size", c.ext.page_size},
      {"ext_wbuf_size", c.ext.wbuf_size},
      {"ext_threads", c.ext.threads},
      {"ext_io_depth", c.ext.io_depth},
      {"ext_item_size", c.ext.item_size},
      {"ext_item_age", c.ext.item_age},
      {"ext_low_ttl", c.ext.low_ttl},
      {"ext_recache_rate", c.ext.recache_rate},
      {"ext_compact_under", c.ext.compact_under},
      {"ext_drop_under", c.ext.drop_under},
      {"ext_max_frag", c.ext.max_frag},
      {"ext_drop_unread", c.ext.drop_unread},
      {"ext_max_sleep", c.ext.max_sleep_us},
      {"slab_automove_freeratio", c.ext.slab_automove_freeratio},
      {"ext_frag_policy", c.ext.frag_policy == ExtFragPolicy::kFixed ? "fixed" : "slewed"},
  };
}

nlohmann::json build_report(const Replayer& replay, const TraceReader& trace) {
  const SimOptions& o = replay.options();
  nlohmann::json device{{"spec", o.device_spec},
                        {"kind", o.device_kind == SimDeviceKind::kModel ? "model" : "file"}};
  if (o.device_kind == SimDeviceKind::kModel) {
    device["model_spec"] = o.model_spec;
  } else {
    device["path"] = o.file_path;
  }
  nlohmann::json inputs{
      {"trace",
       {{"path", trace.path()},
        {"format", std::string(trace_format_name(trace.format()))},
        {"compressed", trace.compressed()},
        {"records_read", trace.stats().records},
        {"malformed", trace.stats().malformed},
        {"arrival", trace.second_resolution() ? nlohmann::json(std::string(arrival_name(o.arrival)))
                                              : nlohmann::json()}}},
      {"memcached_flags", o.memcached_flags},
      {"config", engine_config_json(o.engine)},
      {"seed", o.seed},
      {"device", device},
      {"fill_on_miss", fill_on_miss_name(o.fill_on_miss)},
      {"fill_on_miss_effective", replay.fill_on_miss()},
      {"time_scale", o.time_scale},
      {"idle_before_s", o.idle_before_s},
      {"flusher_cost",
       {{"ns_per_object", o.flusher_ns_per_object}, {"ns_per_kib", o.flusher_ns_per_kib}}},
      {"flusher_pacing", o.flusher_pacing == FlusherPacing::k1_6_18 ? "1.6.18" : "1.6.20"},
      {"interval_s", o.interval_s},
      {"max_requests", o.max_requests},
      {"strict", o.strict},
      {"sample", o.sample_rate < 1 ? sample_scaling_json(o.sample, o.engine) : nlohmann::json()},
  };
  if (trace.format() == TraceFormat::kWatch) {
    const TraceReadStats& read = trace.stats();
    inputs["trace"]["watch"] = {{"server_dropped_lines", read.source_dropped_lines},
                                {"store_lookups", read.store_lookups},
                                {"unsized_gets_skipped", read.unsized_gets},
                                {"ignored_lines", read.ignored_lines}};
  }
  const Stats stats = replay.engine_stats();
  nlohmann::json report{
      {"schema", std::string(kReportSchema)},
      {"memext_version", std::string(kMemextVersion)},
      {"inputs", inputs},
      {"warnings", nlohmann::json::array()},
      {"totals", totals_json(replay)},
      {"engine", to_json(stats)},
      {"lru_maintainer", {{"steps", replay.lru_maintainer_steps()}}},
      {"lru_crawler",
       {{"steps", replay.lru_crawler_steps()},
        {"items_visited", replay.crawler() ? replay.crawler()->items_visited() : 0}}},
      {"latency",
       {{"clock", o.device_kind == SimDeviceKind::kModel ? "virtual" : "wall"},
        {"ram_hits", replay.ram_latency().to_json()},
        {"flash_hits", replay.flash_latency().to_json()}}},
      {"evictions", {{"ram", stats.evictions}}},
  };
  report["extstore"] = nullptr;
  if (replay.flash()) replay.flash()->add_report(report, replay.duration_ns());
  nlohmann::json samples = nlohmann::json::array();
  for (const TimeSample& s : replay.samples()) {
    samples.push_back(sample_json(s, replay.flash() != nullptr));
  }
  report["time_series"] = {{"interval_s", o.interval_s}, {"samples", samples}};
  const ReplayClock& clock = replay.clock();
  report["clock"] = {{"jumps", clock.jumps},
                     {"jumped_s", static_cast<double>(clock.jumped_ns) / 1e9},
                     {"largest_gap_s", static_cast<double>(clock.largest_gap_ns) / 1e9},
                     {"gaps_over_bound", clock.gaps_over_bound},
                     {"gap_bound_s", static_cast<double>(kTimeJumpWarnNs) / 1e9},
                     {"requests_clamped", clock.requests_clamped}};
  report["warnings"] = nlohmann::json::array();
  for (const ReplayWarning& w : replay.warnings()) add_report_warning(report, w.code, w.message);
  add_memory_totals(report["totals"], replay);
  report["steady_state"] = steady_state_json(replay);
  report["validation"] = validation_json(trace, report["totals"]);
  if (replay.flash()) {
    uint64_t capacity = 0;
    for (const ExtPathConfig& p : o.engine.ext.paths) capacity += p.size_bytes;
    add_flash_rates(report, capacity);
  }
  add_planner_warnings(report, replay);
  return report;
}

void add_report_warning(nlohmann::json& report, std::string_view code, std::string_view message) {
  nlohmann::json& warnings = report["warnings"];
  if (!warnings.is_array()) warnings = nlohmann::json::array();
  warnings.push_back({{"code", std::string(code)}, {"message", std::string(message)}});
}

std::string dump_report(const nlohmann::json& report) {
  return report.dump(1) + "\n";
}

void print_summary(const nlohmann::json& report, std::FILE* out) {
  const nlohmann::json& t = report["totals"];
  std::fprintf(out, "replayed %llu requests (%llu gets) over %.1f s of trace time\n",
               t["requests"].get<unsigned long long>(), t["gets"].get<unsigned long long>(),
               t["duration_s"].get<double>());
  const nlohmann::json& inputs = report["inputs"];
  if (inputs["fill_on_miss"] == "auto") {
    std::fprintf(out, "fill on miss: %s (the default for %s traces; --fill-on-miss on|off)\n",
                 inputs["fill_on_miss_effective"].get<bool>() ? "on" : "off",
                 inputs["trace"]["format"].get<std::string>().c_str());
  }
  std::fprintf(out, "hit ratio %.4f (RAM %.4f, flash %.4f), byte hit ratio %.4f, %llu misses\n",
               t["hit_ratio"].get<double>(), t["ram_hit_ratio"].get<double>(),
               t["flash_hit_ratio"].get<double>(), t["byte_hit_ratio"].get<double>(),
               t["misses"].get<unsigned long long>());
  std::fprintf(out, "ceiling %.4f: %llu of the gets are the first request of their key\n",
               t["ceiling_hit_ratio"].get<double>(),
               t["compulsory_misses"].get<unsigned long long>());
  if (const nlohmann::json& s = report["inputs"]["sample"]; !s.is_null()) {
    const nlohmann::json& a = t["sample_adjusted"];
    if (a.is_null()) {
      std::fprintf(out,
                   "sampled %.4g of the keys: only %llu keys (%llu of %llu records), too few for "
                   "an estimate of the full trace (sample_adjusted is null); use a larger rate\n",
                   s["rate"].get<double>(), t["keys"].get<unsigned long long>(),
                   t["records"].get<unsigned long long>(),
                   t["trace_records"].get<unsigned long long>());
    } else {
      std::fprintf(out,
                   "sampled %.4g of the keys (%llu of %llu records): counts are the sample's;\n"
                   "  estimates for the full trace (sample_adjusted): hit ratio %.4f, byte hit "
                   "ratio %.4f, ceiling %.4f\n",
                   s["rate"].get<double>(), t["records"].get<unsigned long long>(),
                   t["trace_records"].get<unsigned long long>(), a["hit_ratio"].get<double>(),
                   a["byte_hit_ratio"].get<double>(), a["ceiling_hit_ratio"].get<double>());
    }
  }
  const nlohmann::json& e = report["engine"]["stats"];
  std::fprintf(out,
               "items: %llu, memcached bytes %llu (flash objects counted at full size), %llu "
               "evictions from RAM\n",
               e["curr_items"].get<unsigned long long>(), e["bytes"].get<unsigned long long>(),
               e["evictions"].get<unsigned long long>());
  std::fprintf(out,
               "RAM used: %llu bytes of slab pages (limit %llu); item headers of %llu flash "
               "objects take %llu of them\n",
               t["ram_used_bytes"].get<unsigned long long>(),
               e["limit_maxbytes"].get<unsigned long long>(),
               t["flash_header_items"].get<unsigned long long>(),
               t["flash_header_bytes"].get<unsigned long long>());
  if (!report["extstore"].is_null()) {
    const nlohmann::json& x = report["extstore"];
    auto num = [&](const char* name) {
      return x.contains(name) ? x[name].get<unsigned long long>() : 0ull;
    };
    std::fprintf(out,
                 "flash: %llu objects, %llu bytes used, %llu fragmented, %llu written, %llu page "
                 "evictions\n",
                 num("extstore_objects_used"), num("extstore_bytes_used"),
                 num("extstore_bytes_fragmented"), num("extstore_bytes_written"),
                 num("extstore_page_evictions"));
  }
  if (const nlohmann::json& ss = report["steady_state"]; ss.is_object() && ss["reached"]) {
    std::fprintf(out,
                 "steady state after --warmup %s (from %.1f s): hit ratio %.4f (RAM %.4f, flash "
                 "%.4f), byte hit ratio %.4f over %llu gets\n",
                 ss["warmup"].get<std::string>().c_str(), ss["start_s"].get<double>(),
                 ss["hit_ratio"].get<double>(), ss["ram_hit_ratio"].get<double>(),
                 ss["flash_hit_ratio"].get<double>(), ss["byte_hit_ratio"].get<double>(),
                 ss["gets"].get<unsigned long long>());
  }
  if (const nlohmann::json& v = report["validation"]; v.is_object()) {
    std::fprintf(out, "production hit ratio %.4f (trace's %s column), simulated %.4f\n",
                 v["production_hit_ratio"].get<double>(), v["column"].get<std::string>().c_str(),
                 v["simulated_hit_ratio"].get<double>());
  }
  const nlohmann::json& lat = report["latency"];
  const char* clock = lat["clock"] == "virtual" ? "virtual" : "measured";
  for (const char* which : {"ram_hits", "flash_hits"}) {
    const nlohmann::json& h = lat[which];
    if (h["count"].get<uint64_t>() == 0) continue;
    std::fprintf(out, "%s latency (%s ns): p50 %llu p99 %llu p99.9 %llu max %llu\n", which, clock,
                 h["p50_ns"].get<unsigned long long>(), h["p99_ns"].get<unsigned long long>(),
                 h["p999_ns"].get<unsigned long long>(), h["max_ns"].get<unsigned long long>());
  }
  print_warnings(report, out);
}

}  // namespace memext
