#include "plan/cell_summary.h"

#include <cstdint>
#include <string>

namespace memext {

namespace {

// report[section][field], or null when the report has no such figure.
nlohmann::json field(const nlohmann::json& report, const char* section, const char* name) {
  const auto s = report.find(section);
  if (s == report.end() || !s->is_object()) return nullptr;
  const auto f = s->find(name);
  return f == s->end() ? nlohmann::json(nullptr) : *f;
}

// A flash counter: 0 without a flash tier (nothing was written or compacted).
nlohmann::json flash_counter(const nlohmann::json& report, const char* section, const char* name) {
  nlohmann::json value = field(report, section, name);
  if (value.is_null() && !report.contains("device")) return 0;
  return value;
}

}  // namespace

nlohmann::json summarize_report(const nlohmann::json& report) {
  const nlohmann::json& totals = report.at("totals");
  const uint64_t misses = totals.at("misses").get<uint64_t>();
  const uint64_t flash_read_misses = totals.at("flash_read_misses").get<uint64_t>();
  const nlohmann::json stats = report.at("engine").at("stats");
  nlohmann::json row;
  row["hit_ratio"] = totals.at("hit_ratio");
  row["byte_hit_ratio"] = totals.at("byte_hit_ratio");
  row["ram_hit_ratio"] = totals.at("ram_hit_ratio");
  row["flash_hit_ratio"] = totals.at("flash_hit_ratio");
  row["gets"] = totals.at("gets");
  row["misses"] = misses;
  row["misses_by_cause"] = {{"not_found", misses - flash_read_misses},
                            {"flash_read_miss", flash_read_misses}};
  row["ram_evictions"] = field(report, "evictions", "ram");
  row["flash_page_evictions"] = flash_counter(report, "evictions", "flash_pages");
  row["flash_bytes_written"] = flash_counter(report, "device", "bytes_written");
  // Drive writes per day against the ext_path sizes: undefined without flash.
  row["dwpd"] = field(report, "device", "drive_writes_per_day");
  // memcached's `bytes`: counts items whose value went to flash at full size.
  row["ram_bytes"] = stats.at("bytes");
  // Slab pages the classes hold: the RAM the cache occupies; and the part of
  // it the item headers of flash objects take.
  row["ram_used_bytes"] = field(report, "totals", "ram_used_bytes");
  row["flash_header_bytes"] = field(report, "totals", "flash_header_bytes");
  row["flash_header_items"] = field(report, "totals", "flash_header_items");
  row["compaction_rescues"] = flash_counter(report, "compaction", "rescues");
  row["compaction_lost"] = flash_counter(report, "compaction", "lost");
  row["ceiling_hit_ratio"] = totals.value("ceiling_hit_ratio", nlohmann::json(nullptr));
  // Estimates of the full trace's ratios: a sampled replay's SHARDS-adj
  // figures (totals.sample_adjusted), else the replay's own. Curves and
  // planners read these.
  const nlohmann::json adjusted = totals.value("sample_adjusted", nlohmann::json(nullptr));
  const nlohmann::json& estimate = adjusted.is_object() ? adjusted : totals;
  for (const char* name : {"hit_ratio", "byte_hit_ratio", "ceiling_hit_ratio"}) {
    row[std::string(name) + "_estimate"] = estimate.value(name, nlohmann::json(nullptr));
  }
  // After --warmup (null without one, or when the trace ended first).
  row["steady_state_hit_ratio"] = field(report, "steady_state", "hit_ratio");
  row["steady_state_byte_hit_ratio"] = field(report, "steady_state", "byte_hit_ratio");
  row["steady_state_dwpd"] = field(report, "steady_state", "dwpd");
  // The trace's own hit ratio (kvcache cache_hits), null when it has none.
  row["production_hit_ratio"] = field(report, "validation", "production_hit_ratio");
  // The report's warning codes, comma-separated ("" when none).
  std::string codes;
  if (const auto w = report.find("warnings"); w != report.end() && w->is_array()) {
    for (const nlohmann::json& warning : *w) {
      if (!codes.empty()) codes += ',';
      codes += warning.value("code", "");
    }
  }
  row["warnings"] = codes;
  return row;
}

std::optional<RankingHitRatio> ranking_hit_ratio(const nlohmann::json& report) {
  const auto totals = report.find("totals");
  if (totals == report.end() || !totals->is_object()) return std::nullopt;
  if (const auto adjusted = totals->find("sample_adjusted");
      adjusted != totals->end() && adjusted->is_object()) {
    const auto hit = adjusted->find("hit_ratio");
    if (hit != adjusted->end() && hit->is_number())
      return RankingHitRatio{hit->get<double>(), true};
  }
  const auto hit = totals->find("hit_ratio");
  if (hit == totals->end() || !hit->is_number()) return std::nullopt;
  return RankingHitRatio{hit->get<double>(), false};
}

}  // namespace memext
