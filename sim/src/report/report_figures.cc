#include "report/report_figures.h"

#include <algorithm>
#include <cinttypes>

#include <nlohmann/json.hpp>

#include "replay/replay.h"
#include "replay/replay_flash.h"
#include "ssd/ssd_model.h"
#include "traces/trace_reader.h"

namespace memext {

namespace {

constexpr double kSecondsPerDay = 86400;

double ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

uint64_t ram_used_bytes(const Stats& stats, uint64_t slab_page_size) {
  return stats.total_malloced - stats.slab_global_page_pool * slab_page_size;
}

uint64_t flash_capacity(const SimOptions& o) {
  uint64_t bytes = 0;
  for (const ExtPathConfig& p : o.engine.ext.paths) bytes += p.size_bytes;
  return bytes;
}

uint64_t flash_bytes_written_now(const Replayer& replay) {
  if (!replay.flash()) return 0;
  TimeSample now;
  replay.flash()->fill_sample(now);
  return now.device_bytes_written;
}

std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", share * 100);
  return text;
}

}  // namespace

void add_report_warning(nlohmann::json& report, const std::string& code,
                        const std::string& message) {
  if (!report.contains("warnings") || !report["warnings"].is_array()) {
    report["warnings"] = nlohmann::json::array();
  }
  report["warnings"].push_back({{"code", code}, {"message", message}});
}

void add_memory_totals(nlohmann::json& totals, const Replayer& replay) {
  const Stats stats = replay.engine().stats();
  totals["ram_used_bytes"] = ram_used_bytes(stats, replay.options().engine.slab_page_size);
  totals["flash_header_items"] = stats.ext_header_items;
  totals["flash_header_bytes"] = stats.ext_header_bytes;
}

nlohmann::json steady_state_json(const Replayer& replay) {
  const SimOptions& o = replay.options();
  if (o.warmup_spec.empty()) return nullptr;
  nlohmann::json j{{"warmup", o.warmup_spec}, {"reached", replay.warmup() != nullptr}};
  const WarmupPoint* w = replay.warmup();
  if (w == nullptr) return j;
  const ReplayCounters& end = replay.counters();
  const ReplayCounters& start = w->counters;
  const uint64_t hits_ram = end.hits_ram - start.hits_ram;
  const uint64_t hits_flash = end.hits_flash - start.hits_flash;
  const uint64_t gets = end.gets - start.gets;
  const uint64_t get_bytes = end.get_bytes - start.get_bytes;
  const uint64_t hit_bytes =
      end.hit_bytes_ram + end.hit_bytes_flash - start.hit_bytes_ram - start.hit_bytes_flash;
  const uint64_t duration_ns = replay.duration_ns() - w->at_ns;
  j["start_s"] = static_cast<double>(w->at_ns) / 1e9;
  j["duration_s"] = static_cast<double>(duration_ns) / 1e9;
  j["requests"] = end.requests - start.requests;
  j["gets"] = gets;
  j["hits"] = hits_ram + hits_flash;
  j["hits_ram"] = hits_ram;
  j["hits_flash"] = hits_flash;
  j["misses"] = end.misses - start.misses;
  j["flash_read_misses"] = end.flash_read_misses - start.flash_read_misses;
  j["hit_ratio"] = ratio(hits_ram + hits_flash, gets);
  j["ram_hit_ratio"] = ratio(hits_ram, gets);
  j["flash_hit_ratio"] = ratio(hits_flash, gets);
  j["get_bytes"] = get_bytes;
  j["hit_bytes"] = hit_bytes;
  j["byte_hit_ratio"] = ratio(hit_bytes, get_bytes);
  if (replay.flash()) {
    const uint64_t written = flash_bytes_written_now(replay) - w->device_bytes_written;
    j["flash_bytes_written"] = written;
    j["dwpd"] = drive_writes_per_day(written, flash_capacity(o), duration_ns);
  } else {
    j["flash_bytes_written"] = nullptr;
    j["dwpd"] = nullptr;
  }
  return j;
}

nlohmann::json validation_json(const TraceReader& trace, const nlohmann::json& totals) {
  const TraceReadStats& s = trace.stats();
  if (!s.has_trace_hits) return nullptr;
  const double production = ratio(s.trace_hits, s.trace_gets);
  const double simulated = totals["hit_ratio"].get<double>();
  return {{"column", "cache_hits"},           {"trace_gets", s.trace_gets},
          {"trace_hits", s.trace_hits},       {"production_hit_ratio", production},
          {"simulated_hit_ratio", simulated}, {"difference", simulated - production}};
}

void add_flash_rates(nlohmann::json& report, unsigned long long capacity_bytes) {
  nlohmann::json& series = report["time_series"];
  series["flash_capacity_bytes"] = capacity_bytes;
  uint64_t written_before = 0;
  double t_before = 0;
  for (nlohmann::json& s : series["samples"]) {
    if (!s.contains("device_bytes_written")) continue;
    const uint64_t written = s["device_bytes_written"].get<uint64_t>();
    const double t = s["t_s"].get<double>();
    const uint64_t delta = written - written_before;
    const double dt = t - t_before;
    s["flash_bytes_written"] = delta;
    s["flash_write_bytes_per_s"] = dt > 0 ? static_cast<double>(delta) / dt : 0.0;
    s["dwpd"] = dt > 0 && capacity_bytes > 0
                    ? static_cast<double>(delta) / static_cast<double>(capacity_bytes) /
                          (dt / kSecondsPerDay)
                    : 0.0;
    written_before = written;
    t_before = t;
  }
}

void add_planner_warnings(nlohmann::json& report, const Replayer& replay) {
  const SimOptions& o = replay.options();
  if (!o.warmup_spec.empty() && replay.warmup() == nullptr) {
    add_report_warning(
        report, "warmup_not_reached",
        "--warmup " + o.warmup_spec + " is longer than the replay: steady_state holds no figures");
  }
  if (!replay.flash()) return;
  TimeSample now;
  replay.flash()->fill_sample(now);
  uint64_t peak_pages = now.ext_pages_used;
  for (const TimeSample& s : replay.samples()) peak_pages = std::max(peak_pages, s.ext_pages_used);
  // The page store reserves page 0, so it never counts as capacity.
  const uint64_t page_size = std::max<uint64_t>(o.engine.ext.page_size, 1);
  const uint64_t usable_pages = std::max<uint64_t>(now.ext_limit_maxbytes / page_size, 1) - 1;
  const double peak_share = ratio(peak_pages > 0 ? peak_pages - 1 : 0, usable_pages);
  const bool filled = now.ext_page_evictions > 0 || peak_share >= kFlashFilledShare;
  if (filled) return;
  const nlohmann::json& totals = report["totals"];
  const uint64_t header_bytes = totals["flash_header_bytes"].get<uint64_t>();
  const uint64_t ram_used = totals["ram_used_bytes"].get<uint64_t>();
  const uint64_t evictions = report["engine"]["stats"]["evictions"].get<uint64_t>();
  const std::string flash_use = "the flash tier peaked at " + percent(peak_share) + " of its " +
                                std::to_string(now.ext_limit_maxbytes) +
                                " bytes and evicted no page";
  add_report_warning(report, "flash_never_filled",
                     flash_use +
                         ": the flash write rate and DWPD describe a tier still filling, not "
                         "its steady state (replay a longer trace or give less flash)");
  if (evictions > 0 && ram_used > 0 &&
      static_cast<double>(header_bytes) >= kHeadersFillRamShare * static_cast<double>(ram_used)) {
    add_report_warning(
        report, "headers_fill_ram",
        "item headers of flash objects hold " + std::to_string(header_bytes) + " bytes (" +
            percent(ratio(header_bytes, ram_used)) + " of the " + std::to_string(ram_used) +
            " bytes of slab pages) and RAM evicted " + std::to_string(evictions) + " items while " +
            flash_use + ": more flash cannot help; give more RAM (-m) or a larger ext_item_size");
  }
}

void print_warnings(const nlohmann::json& report, std::FILE* out) {
  if (!report.contains("warnings")) return;
  for (const nlohmann::json& w : report["warnings"]) {
    std::fprintf(out, "warning: %s: %s\n", w["code"].get<std::string>().c_str(),
                 w["message"].get<std::string>().c_str());
  }
}

}  // namespace memext
