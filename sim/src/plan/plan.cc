#include "plan/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>

#include "memext/options.h"
#include "plan/curve_fit.h"
#include "plan/curves.h"
#include "replay/replay.h"
#include "replay/replay_command.h"
#include "replay/sim_options.h"
#include "report/report.h"
#include "traces/trace_reader.h"

namespace memext {

namespace {

constexpr double kGiB = double(1ull << 30);
constexpr double kSecondsPerDay = 86400;
// Without tbw=, a drive is rated for 1 drive write per day over 5 years (a
// common datacenter read-intensive rating).
constexpr double kDefaultRatedDwpd = 1;
constexpr double kDefaultRatedYears = 5;

std::string flash_text(uint64_t bytes) {
  if (bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + "g";
  return std::to_string((bytes + (1ull << 20) - 1) >> 20) + "m";
}

double json_number(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

struct Search {
  const PlanOptions& o;
  std::FILE* log;
  std::map<std::pair<uint64_t, uint64_t>, PlanCandidate> done;  // (flash, ram) at the grid rate

  uint64_t dwpd_capacity(uint64_t flash) const { return o.drive_bytes ? o.drive_bytes : flash; }

  std::vector<std::string> args_for(uint64_t ram_mb, uint64_t flash, double rate) const {
    std::vector<std::string> args = o.base_args;
    args.insert(args.end(), {"-m", std::to_string(ram_mb), "--progress", "off"});
    if (flash != 0) {
      args.insert(args.end(), {"-o", "ext_path=" + o.flash_path + ":" + flash_text(flash)});
      if (!o.drive_preset.empty()) args.insert(args.end(), {"--device", "model:" + o.drive_preset});
    }
    if (rate < 1) args.insert(args.end(), {"--sample", std::to_string(rate)});
    return args;
  }

  PlanCandidate evaluate(uint64_t ram_mb, uint64_t flash, double rate) {
    PlanCandidate c;
    c.ram_mb = ram_mb;
    c.flash_bytes = flash;
    c.sample_rate = rate;
    c.args = args_for(ram_mb, flash, rate);
    const nlohmann::json report = replay_report(o.trace_path, c.args);
    const nlohmann::json& t = report["totals"];
    // A sample's own ratios lean on which hot keys it holds; the adjusted
    // ones estimate the full trace's (report.cc, sample_adjusted).
    const nlohmann::json& ratios = t["sample_adjusted"].is_object() ? t["sample_adjusted"] : t;
    c.hit_ratio = json_number(ratios, "hit_ratio");
    c.byte_hit_ratio = json_number(ratios, "byte_hit_ratio");
    c.ceiling_hit_ratio = json_number(ratios, "ceiling_hit_ratio");
    const double duration = std::max(json_number(t, "duration_s"), 1e-9);
    if (flash != 0 && report["extstore"].is_object()) {
      // Sampled replays write their sample's share: scale back to the full trace.
      c.flash_bytes_per_day = json_number(report["extstore"], "extstore_bytes_written") / rate /
                              duration * kSecondsPerDay;
      c.dwpd = c.flash_bytes_per_day / static_cast<double>(dwpd_capacity(flash));
      const double limit = json_number(report["extstore"], "extstore_limit_maxbytes");
      c.flash_fill = limit > 0 ? json_number(report["extstore"], "extstore_bytes_used") / limit : 0;
    }
    // memcached gives every slab class in use its first page even past -m, so
    // a small -m holds more RAM than it says: the cost is of what it holds.
    c.ram_used_bytes = json_number(t, "ram_used_bytes") / rate;
    const double ram_bytes = std::max(static_cast<double>(ram_mb) * (1 << 20), c.ram_used_bytes);
    c.cost = ram_bytes / kGiB * o.cost_ram_per_gb +
             static_cast<double>(flash) / kGiB * o.cost_flash_per_gb;
    c.meets = c.hit_ratio >= o.target_hit_ratio && (o.max_dwpd <= 0 || c.dwpd <= o.max_dwpd);
    if (log != nullptr) {
      std::fprintf(log, "  -m %-6llu flash %-6s sample %-5g hit %.4f byte-hit %.4f dwpd %.3f %s\n",
                   static_cast<unsigned long long>(ram_mb), flash ? flash_text(flash).c_str() : "-",
                   rate, c.hit_ratio, c.byte_hit_ratio, c.dwpd, c.meets ? "meets" : "");
      std::fflush(log);
    }
    return c;
  }

  const PlanCandidate& at(uint64_t ram_mb, uint64_t flash) {
    auto key = std::make_pair(flash, ram_mb);
    auto it = done.find(key);
    if (it == done.end()) it = done.emplace(key, evaluate(ram_mb, flash, o.sample_rate)).first;
    return it->second;
  }
};

// The RAM (MB, rounded up) where the curve fitted to the hit ratios replayed
// at this flash size reaches the target, when three or more sizes were
// replayed and the crossing lies in (low, high); the fit is added to fits.
std::optional<uint64_t> interpolate_ram(const Search& search, uint64_t flash, double target,
                                        uint64_t low, uint64_t high, nlohmann::json* fits) {
  std::vector<double> xs, ys;
  for (const auto& [key, c] : search.done) {
    if (key.first != flash) continue;
    xs.push_back(static_cast<double>(c.ram_mb));
    ys.push_back(c.hit_ratio);
  }
  if (xs.size() < 3) return std::nullopt;
  CurveFit fit;
  try {
    fit = fit_hit_ratio_curve(xs, ys);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  // The curve rises with RAM: bisect it for the crossing.
  double lo = std::max<double>(static_cast<double>(low), 1);
  double hi = static_cast<double>(high);
  if (fit.predict(hi) < target) return std::nullopt;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (fit.predict(mid) >= target ? hi : lo) = mid;
  }
  const auto mb = static_cast<uint64_t>(std::ceil(hi));
  fits->push_back({{"flash_bytes", flash},
                   {"points", xs.size()},
                   {"rms_error", fit.rms_error},
                   {"max_abs_error", fit.max_abs_error},
                   {"exponent", fit.b},
                   {"interpolated_ram_mb", mb}});
  return mb;
}

double endurance_years(const PlanOptions& o, const PlanCandidate& c) {
  if (c.flash_bytes_per_day <= 0) return std::numeric_limits<double>::infinity();
  const double capacity = static_cast<double>(o.drive_bytes ? o.drive_bytes : c.flash_bytes);
  const double tbw_bytes = o.drive_tbw > 0
                               ? o.drive_tbw * 1e12
                               : capacity * kDefaultRatedDwpd * 365 * kDefaultRatedYears;
  return tbw_bytes / (c.flash_bytes_per_day * 365);
}

std::string command_line(const PlanOptions& o, const PlanCandidate& c) {
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
  if (c.flash_bytes != 0) line += " -o ext_path=" + o.flash_path + ":" + flash_text(c.flash_bytes);
  return line;
}

nlohmann::json candidate_json(const PlanOptions& o, const PlanCandidate& c) {
  const double years = endurance_years(o, c);
  return {{"ram_mb", c.ram_mb},
          {"flash_bytes", c.flash_bytes},
          {"sample", c.sample_rate},
          {"hit_ratio", c.hit_ratio},
          {"byte_hit_ratio", c.byte_hit_ratio},
          {"ceiling_hit_ratio", c.ceiling_hit_ratio},
          {"flash_bytes_per_day", c.flash_bytes_per_day},
          {"dwpd", c.dwpd},
          {"flash_fill", c.flash_fill},
          {"ram_used_bytes", c.ram_used_bytes},
          {"endurance_years", std::isinf(years) ? nlohmann::json() : nlohmann::json(years)},
          {"cost", c.cost},
          {"meets_targets", c.meets},
          {"command_line", command_line(o, c)},
          {"replay_args", c.args}};
}

// Why no candidate met the targets.
nlohmann::json binding_limit(const PlanOptions& o, const std::vector<PlanCandidate>& all) {
  double ceiling = 1;
  double best_hit = 0;
  bool hit_met = false;
  const PlanCandidate* best_flash = nullptr;
  for (const PlanCandidate& c : all) {
    ceiling = std::min(ceiling, c.ceiling_hit_ratio);
    best_hit = std::max(best_hit, c.hit_ratio);
    hit_met = hit_met || c.hit_ratio >= o.target_hit_ratio;
    if (c.flash_bytes != 0 && (best_flash == nullptr || c.hit_ratio > best_flash->hit_ratio)) {
      best_flash = &c;
    }
  }
  if (o.target_hit_ratio > ceiling) {
    return {{"limit", "ceiling"},
            {"detail", "the target " + std::to_string(o.target_hit_ratio) +
                           " is above the ceiling " + std::to_string(ceiling) +
                           ": that share of the gets are first requests of their key, which miss "
                           "at any cache size"}};
  }
  if (hit_met) {
    return {{"limit", "dwpd"},
            {"detail", "configurations reach the hit ratio only by writing more than " +
                           std::to_string(o.max_dwpd) + " drive writes per day"}};
  }
  if (best_flash != nullptr && best_flash->flash_fill < 0.5) {
    return {{"limit", "item_headers"},
            {"detail",
             "RAM fills with the item headers of flash objects: the best flash "
             "configuration (-m " +
                 std::to_string(best_flash->ram_mb) + ") leaves " +
                 std::to_string(static_cast<int>((1 - best_flash->flash_fill) * 100)) +
                 "% of the flash unused; more RAM, not more flash, raises the hit "
                 "ratio"}};
  }
  return {{"limit", "grid"},
          {"detail", "the largest sizes tried reach hit ratio " + std::to_string(best_hit) +
                         "; give larger --ram / --flash values"}};
}

}  // namespace

nlohmann::json replay_report(const std::string& trace, const std::vector<std::string>& args) {
  std::vector<std::string> text = {"replay", trace};
  text.insert(text.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const std::string& a : text) argv.push_back(a.c_str());
  SimOptions options;
  const std::string error = parse_sim_options(static_cast<int>(argv.size()), argv.data(), &options);
  if (!error.empty()) throw std::invalid_argument(error);
  apply_sample_scaling(&options);
  auto reader = open_trace(options.trace_path, trace_read_options(options));
  Replayer replay(options, reader->format() == TraceFormat::kOracleGeneral);
  replay.run(*reader);
  return build_report(replay, *reader);
}

nlohmann::json run_plan(const PlanOptions& o, std::FILE* log) {
  Search search{o, log, {}};
  std::vector<uint64_t> ram = o.ram_mb;
  std::sort(ram.begin(), ram.end());
  std::vector<PlanCandidate> met;
  nlohmann::json fits = nlohmann::json::array();
  for (uint64_t flash : o.flash_bytes) {
    // Coarse: the grid's smallest RAM meeting the targets at this flash size
    // (hit ratio grows with RAM, so larger sizes are not replayed).
    size_t first = ram.size();
    for (size_t i = 0; i < ram.size(); ++i) {
      if (search.at(ram[i], flash).meets) {
        first = i;
        break;
      }
    }
    if (first == ram.size()) continue;
    uint64_t low = first == 0 ? 0 : ram[first - 1];
    uint64_t high = ram[first];
    // Interpolate: a hit-ratio curve (plan/curve_fit.h) through this flash
    // size's grid points (one more above the first that meets, for three)
    // says where the target is crossed; that size is replayed, then
    // bisection goes on from whichever side it fell.
    if (first + 1 < ram.size()) search.at(ram[first + 1], flash);
    uint32_t steps = o.refine_steps;
    if (const auto guess = interpolate_ram(search, flash, o.target_hit_ratio, low, high, &fits)) {
      if (steps > 0 && *guess > low && *guess < high) {
        --steps;
        (search.at(*guess, flash).meets ? high : low) = *guess;
      }
    }
    for (uint32_t step = 0; step < steps && high - low > 1; ++step) {
      const uint64_t mid = low + (high - low) / 2;
      if (mid < 2) break;
      if (search.at(mid, flash).meets) {
        high = mid;
      } else {
        low = mid;
      }
    }
    met.push_back(search.at(high, flash));
  }
  std::vector<PlanCandidate> all;
  for (const auto& [key, c] : search.done) all.push_back(c);
  std::stable_sort(met.begin(), met.end(),
                   [](const PlanCandidate& a, const PlanCandidate& b) { return a.cost < b.cost; });

  nlohmann::json plan{
      {"schema", "memext-sim-plan/1"},
      {"trace", o.trace_path},
      {"targets",
       {{"hit_ratio", o.target_hit_ratio},
        {"max_dwpd", o.max_dwpd > 0 ? nlohmann::json(o.max_dwpd) : nlohmann::json()}}},
      {"drive",
       {{"preset", o.drive_preset},
        {"capacity_bytes", o.drive_bytes},
        {"tbw", o.drive_tbw > 0 ? nlohmann::json(o.drive_tbw) : nlohmann::json()}}},
      {"cost", {{"ram_per_gb", o.cost_ram_per_gb}, {"flash_per_gb", o.cost_flash_per_gb}}},
      {"sample", o.sample_rate}};
  // Confirm in cost order: the first whose full replay still meets the
  // targets is the recommendation.
  nlohmann::json recommendation;
  nlohmann::json rejected = nlohmann::json::array();
  size_t chosen = met.size();
  for (size_t i = 0; i < met.size(); ++i) {
    PlanCandidate confirmed = met[i];
    if (o.sample_rate < 1) confirmed = search.evaluate(met[i].ram_mb, met[i].flash_bytes, 1);
    if (confirmed.meets) {
      recommendation = candidate_json(o, confirmed);
      recommendation["predicted"] = candidate_json(o, met[i]);
      chosen = i;
      break;
    }
    rejected.push_back(candidate_json(o, confirmed));
  }
  plan["recommendation"] = recommendation;
  plan["rejected_by_full_replay"] = rejected;
  nlohmann::json runners = nlohmann::json::array();
  for (size_t i = chosen == met.size() ? met.size() : chosen + 1; i < met.size(); ++i) {
    runners.push_back(candidate_json(o, met[i]));
  }
  plan["runners_up"] = runners;
  plan["binding_limit"] =
      recommendation.is_null() && !all.empty() ? binding_limit(o, all) : nlohmann::json();
  nlohmann::json rows = nlohmann::json::array();
  nlohmann::json candidates = nlohmann::json::array();
  for (const PlanCandidate& c : all) {
    candidates.push_back(candidate_json(o, c));
    rows.push_back({{"flags",
                     {{"m", std::to_string(c.ram_mb)},
                      {"ext_path_size", c.flash_bytes ? flash_text(c.flash_bytes) : "0"}}},
                    {"hit_ratio", c.hit_ratio},
                    {"byte_hit_ratio", c.byte_hit_ratio},
                    {"ceiling_hit_ratio", c.ceiling_hit_ratio}});
  }
  plan["candidates"] = candidates;
  plan["fits"] = fits;
  plan["curves"] = curves_from_rows(rows);
  return plan;
}

}  // namespace memext
