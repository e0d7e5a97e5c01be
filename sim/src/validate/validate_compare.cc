#include "validate/validate_compare.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "validate/live_client.h"

namespace memext {

namespace {

bool to_u64(const std::string& text, uint64_t* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

double stat(const StatMap& m, const char* name) {
  const auto it = m.find(name);
  uint64_t v = 0;
  return it != m.end() && to_u64(it->second, &v) ? static_cast<double>(v) : 0;
}

// A number from the report's engine stats or its extstore section.
double reported(const nlohmann::json& report, const char* name) {
  const nlohmann::json& engine = report["engine"]["stats"];
  if (engine.contains(name)) return engine[name].get<double>();
  const nlohmann::json& ext = report["extstore"];
  if (ext.is_object() && ext.contains(name)) return ext[name].get<double>();
  return 0;
}

double share(double part, double whole) {
  return whole > 0 ? part / whole : 0;
}

bool within(const MetricRow& row, const Thresholds& t) {
  const double delta = std::fabs(row.predicted - row.live);
  if (row.ratio) return delta <= t.ratio_points / 100 + 1e-12;
  return delta <= static_cast<double>(t.count_floor) ||
         delta <= t.count_pct / 100 * row.live + 1e-9;
}

std::string delta_text(const MetricRow& row) {
  char text[64];
  const double delta = row.predicted - row.live;
  if (row.ratio) {
    std::snprintf(text, sizeof text, "%+.2f pt", delta * 100);
  } else if (row.live > 0) {
    std::snprintf(text, sizeof text, "%+.0f (%+.1f%%)", delta, 100 * delta / row.live);
  } else {
    std::snprintf(text, sizeof text, "%+.0f", delta);
  }
  return text;
}

}  // namespace

StatMap stat_deltas(const StatMap& before, const StatMap& after) {
  StatMap out;
  for (const auto& [name, value] : after) {
    const auto it = before.find(name);
    uint64_t a = 0;
    uint64_t b = 0;
    if (it == before.end() || !to_u64(value, &a) || !to_u64(it->second, &b)) continue;
    out.emplace(name, a >= b ? std::to_string(a - b) : "0");
  }
  return out;
}

std::vector<MetricRow> compare(const LiveResult& live, const StatMap& d,
                               const nlohmann::json& report, const Thresholds& limits) {
  const nlohmann::json& totals = report["totals"];
  const double gets = static_cast<double>(live.gets);
  const double flash_hits =
      stat(d, "get_extstore") - stat(d, "miss_from_extstore") - stat(d, "get_aborted_extstore");
  const double ram_hits = static_cast<double>(live.hits) - flash_hits;
  std::vector<MetricRow> rows = {
      {"ram_hit_ratio", true, share(ram_hits, gets), totals["ram_hit_ratio"].get<double>()},
      {"flash_hit_ratio", true, share(flash_hits, gets), totals["flash_hit_ratio"].get<double>()},
      {"miss_ratio", true, share(static_cast<double>(live.misses), gets),
       share(totals["misses"].get<double>(), totals["gets"].get<double>())},
  };
  struct Count {
    const char* label;
    std::vector<const char*> stats;
  };
  const Count counts[] = {
      {"flash_objects_written", {"extstore_objects_written"}},
      {"compact_rescues", {"extstore_compact_rescues"}},
      {"compact_lost", {"extstore_compact_lost"}},
      {"flash_page_evictions", {"extstore_page_evictions"}},
      {"ram_evictions", {"evictions"}},
      {"expired", {"get_expired", "reclaimed", "crawler_reclaimed"}},
      {"recaches", {"recache_from_extstore"}},
  };
  for (const Count& c : counts) {
    MetricRow row{c.label, false, 0, 0};
    for (const char* name : c.stats) {
      row.live += stat(d, name);
      row.predicted += reported(report, name);
    }
    rows.push_back(row);
  }
  for (MetricRow& row : rows) row.within = within(row, limits);
  return rows;
}

std::string format_table(const std::vector<MetricRow>& rows, const Thresholds& limits) {
  std::string out;
  char line[200];
  std::snprintf(line, sizeof line, "%-22s %12s %12s %18s  %s\n", "", "live", "predicted", "delta",
                "within");
  out += line;
  for (const MetricRow& row : rows) {
    char limit[32];
    if (row.ratio) {
      std::snprintf(limit, sizeof limit, "%g pt", limits.ratio_points);
      std::snprintf(line, sizeof line, "%-22s %12.4f %12.4f %18s  %s (%s)\n", row.name.c_str(),
                    row.live, row.predicted, delta_text(row).c_str(), row.within ? "yes" : "NO",
                    limit);
    } else {
      std::snprintf(limit, sizeof limit, "%g%% or %llu", limits.count_pct,
                    static_cast<unsigned long long>(limits.count_floor));
      std::snprintf(line, sizeof line, "%-22s %12.0f %12.0f %18s  %s (%s)\n", row.name.c_str(),
                    row.live, row.predicted, delta_text(row).c_str(), row.within ? "yes" : "NO",
                    limit);
    }
    out += line;
  }
  return out;
}

nlohmann::json rows_json(const std::vector<MetricRow>& rows, const Thresholds& limits) {
  nlohmann::json out = nlohmann::json::object();
  for (const MetricRow& row : rows) {
    nlohmann::json m{{"kind", row.ratio ? "ratio" : "count"},
                     {"live", row.live},
                     {"predicted", row.predicted},
                     {"delta", row.predicted - row.live},
                     {"within", row.within}};
    if (row.ratio) {
      m["delta_points"] = (row.predicted - row.live) * 100;
      m["limit_points"] = limits.ratio_points;
    } else {
      m["delta_pct"] = row.live > 0 ? nlohmann::json(100 * (row.predicted - row.live) / row.live)
                                    : nlohmann::json();
      m["limit_pct"] = limits.count_pct;
      m["limit_floor"] = limits.count_floor;
    }
    out[row.name] = m;
  }
  return out;
}

}  // namespace memext
