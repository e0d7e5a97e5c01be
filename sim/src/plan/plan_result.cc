#include "plan/plan_result.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "replay/sim_options.h"
#include "report/report_figures.h"

namespace memext {

namespace {

// Without tbw=, a drive is rated for 1 drive write per day over 5 years (a
// common datacenter read-intensive rating).
constexpr double kDefaultRatedDwpd = 1;
constexpr double kDefaultRatedYears = 5;

std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

}  // namespace

std::string plan_flash_text(uint64_t bytes) {
  if (bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + "g";
  return std::to_string((bytes + (1ull << 20) - 1) >> 20) + "m";
}

std::string plan_settings_text(const PlanSettings& settings) {
  std::string text;
  for (const auto& [name, value] : settings) {
    text += (text.empty() ? "" : ",") + name + "=" + value;
  }
  return text;
}

double plan_endurance_years(const PlanOptions& o, const PlanCandidate& c) {
  if (c.flash_bytes_per_day <= 0) return std::numeric_limits<double>::infinity();
  const double capacity = static_cast<double>(o.drive_bytes ? o.drive_bytes : c.flash_bytes);
  const double tbw_bytes = o.drive_tbw > 0
                               ? o.drive_tbw * 1e12
                               : capacity * kDefaultRatedDwpd * 365 * kDefaultRatedYears;
  return tbw_bytes / (c.flash_bytes_per_day * 365);
}

std::string plan_command_line(const PlanOptions& o, const PlanCandidate& c) {
  std::string line = "memcached -m " + std::to_string(c.ram_mb);
  // The replay flags that are memcached's pass through unchanged.
  SimOptions parsed;
  std::vector<std::string> argv_text = {"replay", o.trace_path};
  argv_text.insert(argv_text.end(), o.base_args.begin(), o.base_args.end());
  std::vector<const char*> argv;
  for (const std::string& a : argv_text) argv.push_back(a.c_str());
  if (parse_sim_options(static_cast<int>(argv.size()), argv.data(), &parsed).empty()) {
    for (size_t i = 0; i < parsed.memcached_flags.size(); ++i) {
      const std::string& f = parsed.memcached_flags[i];
      if (f == "-m") {
        ++i;
        continue;
      }
      line += " " + f;
    }
  }
  if (c.flash_bytes != 0) {
    line += " -o ext_path=" + o.flash_path + ":" + plan_flash_text(c.flash_bytes);
    if (!c.settings.empty()) {
      line += ',';
      line += plan_settings_text(c.settings);
    }
  }
  return line;
}

nlohmann::json plan_candidate_json(const PlanOptions& o, const PlanCandidate& c) {
  const double years = plan_endurance_years(o, c);
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [name, value] : c.settings) settings[name] = value;
  return {{"ram_mb", c.ram_mb},
          {"flash_bytes", c.flash_bytes},
          {"settings", settings},
          {"sample", c.sample_rate},
          {"hit_ratio", c.hit_ratio},
          {"byte_hit_ratio", c.byte_hit_ratio},
          {"ceiling_hit_ratio", c.ceiling_hit_ratio},
          {"flash_bytes_per_day", c.flash_bytes_per_day},
          {"dwpd", c.dwpd},
          {"flash_fill", c.flash_fill},
          {"ram_used_bytes", c.ram_used_bytes},
          {"flash_header_bytes", c.flash_header_bytes},
          {"endurance_years", std::isinf(years) ? nlohmann::json() : nlohmann::json(years)},
          {"cost", c.cost},
          {"meets_targets", c.meets},
          {"command_line", plan_command_line(o, c)},
          {"replay_args", c.args}};
}

nlohmann::json plan_binding_limit(const PlanOptions& o, const std::vector<PlanCandidate>& all) {
  double ceiling = 1;
  double best_hit = 0;
  bool hit_met = false;
  const PlanCandidate* best_flash = nullptr;
  double lowest_dwpd = std::numeric_limits<double>::infinity();
  for (const PlanCandidate& c : all) {
    ceiling = std::min(ceiling, c.ceiling_hit_ratio);
    best_hit = std::max(best_hit, c.hit_ratio);
    if (c.hit_ratio >= o.target_hit_ratio) {
      hit_met = true;
      lowest_dwpd = std::min(lowest_dwpd, c.dwpd);
    }
    if (c.flash_bytes != 0 && (best_flash == nullptr || c.hit_ratio > best_flash->hit_ratio)) {
      best_flash = &c;
    }
  }
  if (o.target_hit_ratio > ceiling) {
    return {{"limit", "ceiling"},
            {"detail", "the target " + fixed(o.target_hit_ratio, 4) + " is above the ceiling " +
                           fixed(ceiling, 4) +
                           ": that share of the gets are first requests of their key, which miss "
                           "at any cache size"}};
  }
  if (hit_met) {
    return {
        {"limit", "dwpd"},
        {"detail", "configurations reach the hit ratio only by writing more than " +
                       fixed(o.max_dwpd, 3) + " drive writes per day (the least of them writes " +
                       fixed(lowest_dwpd, 3) + ")"}};
  }
  // RAM full of the headers of flash objects while the flash stays mostly
  // empty: more flash cannot help, only more RAM (or fewer, larger items).
  if (best_flash != nullptr && best_flash->flash_fill < 0.5 &&
      (best_flash->headers_fill_ram ||
       best_flash->flash_header_bytes >= kHeadersFillRamShare * best_flash->ram_used_bytes)) {
    const double share = best_flash->ram_used_bytes > 0
                             ? best_flash->flash_header_bytes / best_flash->ram_used_bytes
                             : 0;
    return {
        {"limit", "item_headers"},
        {"detail",
         "RAM fills with the item headers of flash objects: the best flash "
         "configuration (-m " +
             std::to_string(best_flash->ram_mb) + ", hit ratio " + fixed(best_flash->hit_ratio, 4) +
             ") holds " + std::to_string(static_cast<int>(share * 100)) +
             "% of its slab pages in headers and leaves " +
             std::to_string(static_cast<int>((1 - best_flash->flash_fill) * 100)) +
             "% of the flash unused; more RAM, not more flash, raises the hit "
             "ratio"}};
  }
  return {{"limit", "grid"},
          {"detail", "the largest sizes tried reach hit ratio " + fixed(best_hit, 4) +
                         "; give larger --ram / --flash values"}};
}

}  // namespace memext
