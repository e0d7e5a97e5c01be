#include "plan/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>

#include "memext/options.h"
#include "plan/curve_fit.h"
#include "plan/curves.h"
#include "plan/plan_result.h"
#include "replay/replay.h"
#include "replay/replay_command.h"
#include "replay/sim_options.h"
#include "report/report.h"
#include "traces/trace_reader.h"

namespace memext {

namespace {

constexpr double kGiB = double(1ull << 30);
constexpr double kSecondsPerDay = 86400;

double json_number(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

bool has_warning(const nlohmann::json& report, const char* code) {
  if (!report.contains("warnings") || !report["warnings"].is_array()) return false;
  for (const nlohmann::json& w : report["warnings"]) {
    if (w.value("code", "") == code) return true;
  }
  return false;
}

struct Search {
  const PlanOptions& o;
  std::FILE* log;
  // (flash, settings, ram) at the grid rate.
  std::map<std::tuple<uint64_t, std::string, uint64_t>, PlanCandidate> done;
  uint64_t sampled_replays = 0;
  uint64_t full_replays = 0;

  uint64_t dwpd_capacity(uint64_t flash) const { return o.drive_bytes ? o.drive_bytes : flash; }

  std::vector<std::string> args_for(uint64_t ram_mb, uint64_t flash, const PlanSettings& settings,
                                    double rate) const {
    std::vector<std::string> args = o.base_args;
    args.insert(args.end(), {"-m", std::to_string(ram_mb), "--progress", "off"});
    if (flash != 0) {
      std::string ext = "ext_path=" + o.flash_path + ":" + plan_flash_text(flash);
      if (!settings.empty()) ext += "," + plan_settings_text(settings);
      args.insert(args.end(), {"-o", ext});
      if (!o.drive_preset.empty()) args.insert(args.end(), {"--device", "model:" + o.drive_preset});
    }
    if (rate < 1) args.insert(args.end(), {"--sample", std::to_string(rate)});
    return args;
  }

  PlanCandidate evaluate(uint64_t ram_mb, uint64_t flash, const PlanSettings& settings,
                         double rate) {
    PlanCandidate c;
    c.ram_mb = ram_mb;
    c.flash_bytes = flash;
    c.settings = flash != 0 ? settings : PlanSettings{};
    c.sample_rate = rate;
    c.args = args_for(ram_mb, flash, c.settings, rate);
    const nlohmann::json report = replay_report(o.trace_path, c.args);
    ++(rate < 1 ? sampled_replays : full_replays);
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
    c.flash_header_bytes = json_number(t, "flash_header_bytes") / rate;
    c.headers_fill_ram = has_warning(report, "headers_fill_ram");
    const double ram_bytes = std::max(static_cast<double>(ram_mb) * (1 << 20), c.ram_used_bytes);
    c.cost = ram_bytes / kGiB * o.cost_ram_per_gb +
             static_cast<double>(flash) / kGiB * o.cost_flash_per_gb;
    c.meets = c.hit_ratio >= o.target_hit_ratio && (o.max_dwpd <= 0 || c.dwpd <= o.max_dwpd);
    if (log != nullptr) {
      std::fprintf(
          log, "  -m %-6llu flash %-6s sample %-5g hit %.4f byte-hit %.4f dwpd %.3f %s%s%s\n",
          static_cast<unsigned long long>(ram_mb), flash ? plan_flash_text(flash).c_str() : "-",
          rate, c.hit_ratio, c.byte_hit_ratio, c.dwpd, c.meets ? "meets " : "",
          c.settings.empty() ? "" : "with ", plan_settings_text(c.settings).c_str());
      std::fflush(log);
    }
    return c;
  }

  const PlanCandidate& at(uint64_t ram_mb, uint64_t flash, const PlanSettings& settings) {
    const PlanSettings& used = flash != 0 ? settings : PlanSettings{};
    auto key = std::make_tuple(flash, plan_settings_text(used), ram_mb);
    auto it = done.find(key);
    if (it == done.end()) {
      it = done.emplace(key, evaluate(ram_mb, flash, used, o.sample_rate)).first;
    }
    return it->second;
  }
};

// The RAM (MB, rounded up) where the curve fitted to the hit ratios replayed
// at this flash size and these settings reaches the target, when three or
// more sizes were replayed and the crossing lies in (low, high); the fit and
// its error are added to fits.
std::optional<uint64_t> interpolate_ram(const Search& search, uint64_t flash,
                                        const PlanSettings& settings, double target, uint64_t low,
                                        uint64_t high, nlohmann::json* fits) {
  const std::string settings_key = flash != 0 ? plan_settings_text(settings) : "";
  std::vector<double> xs, ys;
  for (const auto& [key, c] : search.done) {
    if (std::get<0>(key) != flash || std::get<1>(key) != settings_key) continue;
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
  // The residuals flatter a curve through three or four points; each point
  // predicted by the fit to the others says how well it interpolates.
  nlohmann::json cross_validation;
  if (xs.size() >= 4) {
    try {
      const CrossValidation cv = leave_one_out(xs, ys);
      cross_validation = {{"rms_error", cv.rms_error}, {"max_abs_error", cv.max_abs_error}};
    } catch (const std::invalid_argument&) {
    }
  }
  fits->push_back({{"flash_bytes", flash},
                   {"settings", settings_key},
                   {"points", xs.size()},
                   {"rms_error", fit.rms_error},
                   {"max_abs_error", fit.max_abs_error},
                   {"leave_one_out", cross_validation},
                   {"exponent", fit.b},
                   {"interpolated_ram_mb", mb},
                   {"predicted_hit_ratio", fit.predict(static_cast<double>(mb))}});
  return mb;
}

// The RAM search at one flash size and one set of ext_* settings. first is
// the index of the grid's smallest RAM that meets the targets (ram.size()
// when none does); met the refined candidate when one does.
struct RamSearch {
  size_t first = 0;
  std::optional<PlanCandidate> met;
};

RamSearch search_ram(Search& search, const std::vector<uint64_t>& ram, uint64_t flash,
                     const PlanSettings& settings, nlohmann::json* fits) {
  const PlanOptions& o = search.o;
  RamSearch result;
  // Coarse: the grid's smallest RAM meeting the targets (hit ratio grows
  // with RAM, so larger sizes are not replayed).
  result.first = ram.size();
  for (size_t i = 0; i < ram.size(); ++i) {
    if (search.at(ram[i], flash, settings).meets) {
      result.first = i;
      break;
    }
  }
  const size_t first = result.first;
  if (first == ram.size()) return result;
  uint64_t low = first == 0 ? 0 : ram[first - 1];
  uint64_t high = ram[first];
  // Interpolate: a hit-ratio curve (plan/curve_fit.h) through the grid
  // points (one more above the first that meets, for three) says where the
  // target is crossed; that size is replayed, then bisection goes on from
  // whichever side it fell.
  if (first + 1 < ram.size()) search.at(ram[first + 1], flash, settings);
  uint32_t steps = o.refine_steps;
  if (const auto guess =
          interpolate_ram(search, flash, settings, o.target_hit_ratio, low, high, fits)) {
    if (steps > 0 && *guess > low && *guess < high) {
      --steps;
      const PlanCandidate& replayed = search.at(*guess, flash, settings);
      // The fit's error where it was used: the replay against the curve.
      nlohmann::json& fit = fits->back();
      fit["replayed_hit_ratio"] = replayed.hit_ratio;
      fit["interpolation_error"] = replayed.hit_ratio - fit["predicted_hit_ratio"].get<double>();
      (replayed.meets ? high : low) = *guess;
    }
  }
  for (uint32_t step = 0; step < steps && high - low > 1; ++step) {
    const uint64_t mid = low + (high - low) / 2;
    if (mid < 2) break;
    if (search.at(mid, flash, settings).meets) {
      high = mid;
    } else {
      low = mid;
    }
  }
  result.met = search.at(high, flash, settings);
  return result;
}

// How much closer to the targets a setting must come to be chosen over the
// one held: a tenth of a point of hit ratio (less is within a sampled
// replay's noise, and would cost a second RAM search for nothing), or a
// hundredth of the DWPD limit.
constexpr double kSettingsHitTolerance = 0.001;
constexpr double kSettingsDwpdTolerance = 0.01;

// Whether a comes clearly closer to the targets than b, for comparing ext_*
// settings at one RAM and flash size: meeting them first, then the hit
// ratio up to the target, then the least DWPD over the limit, then the hit
// ratio past the target.
bool closer_to_targets(const PlanOptions& o, const PlanCandidate& a, const PlanCandidate& b) {
  if (a.meets != b.meets) return a.meets;
  const double hit_a = std::min(a.hit_ratio, o.target_hit_ratio);
  const double hit_b = std::min(b.hit_ratio, o.target_hit_ratio);
  if (std::abs(hit_a - hit_b) > kSettingsHitTolerance) return hit_a > hit_b;
  if (o.max_dwpd > 0) {
    const double over_a = std::max(0.0, a.dwpd - o.max_dwpd);
    const double over_b = std::max(0.0, b.dwpd - o.max_dwpd);
    if (std::abs(over_a - over_b) > kSettingsDwpdTolerance * o.max_dwpd) return over_a < over_b;
  }
  return a.hit_ratio > b.hit_ratio + kSettingsHitTolerance;
}

// Between two values of an ext_* option: the geometric mean when both are
// positive (the values span decades: ages of 0..3600 s), else the middle;
// whole numbers except ext_max_frag. Empty when nothing lies between.
std::string midpoint(const std::string& name, const std::string& a, const std::string& b) {
  const double x = std::stod(a), y = std::stod(b);
  double mid = x > 0 && y > 0 ? std::sqrt(x * y) : (x + y) / 2;
  std::string text;
  if (name == "ext_max_frag") {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", mid);
    text = buffer;
  } else {
    text = std::to_string(static_cast<uint64_t>(std::llround(mid)));
  }
  if (std::stod(text) == x || std::stod(text) == y) return "";
  return text;
}

// Coordinate search of the ext_* settings at one RAM and flash size: each
// axis in turn, its coarse values with the others held at the best so far,
// then the midpoints on either side of the best value. A value replaces the
// best only when closer to the targets, so ties keep the starting point.
PlanSettings search_settings(Search& search, uint64_t ram_mb, uint64_t flash,
                             nlohmann::json* trail) {
  const PlanOptions& o = search.o;
  PlanSettings start;
  for (const PlanSearchAxis& axis : o.search) start.emplace_back(axis.name, axis.values.front());
  PlanSettings best = start;
  const PlanCandidate* best_c = &search.at(ram_mb, flash, best);
  nlohmann::json tried = nlohmann::json::array();
  auto offer = [&](const PlanSettings& trial) {
    const PlanCandidate& c = search.at(ram_mb, flash, trial);
    tried.push_back({{"settings", plan_settings_text(trial)},
                     {"hit_ratio", c.hit_ratio},
                     {"dwpd", c.dwpd},
                     {"meets_targets", c.meets}});
    if (closer_to_targets(o, c, *best_c)) {
      best = trial;
      best_c = &c;
    }
  };
  for (size_t i = 0; i < o.search.size(); ++i) {
    const PlanSearchAxis& axis = o.search[i];
    for (const std::string& value : axis.values) {
      if (value == best[i].second) continue;
      PlanSettings trial = best;
      trial[i].second = value;
      offer(trial);
    }
    std::vector<std::string> sorted = axis.values;
    std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) {
      return std::stod(a) < std::stod(b);
    });
    const auto at = std::find(sorted.begin(), sorted.end(), best[i].second);
    const size_t pos = static_cast<size_t>(at - sorted.begin());
    const std::string centre = best[i].second;
    std::vector<std::string> neighbours;
    if (pos > 0) neighbours.push_back(sorted[pos - 1]);
    if (pos + 1 < sorted.size()) neighbours.push_back(sorted[pos + 1]);
    for (const std::string& neighbour : neighbours) {
      const std::string mid = midpoint(axis.name, centre, neighbour);
      if (mid.empty()) continue;
      PlanSettings trial = best;
      trial[i].second = mid;
      offer(trial);
    }
  }
  nlohmann::json chosen = nlohmann::json::object();
  for (const auto& [name, value] : best) chosen[name] = value;
  trail->push_back({{"flash_bytes", flash},
                    {"ram_mb", ram_mb},
                    {"start", plan_settings_text(start)},
                    {"chosen", chosen},
                    {"tried", tried}});
  return best;
}

}  // namespace

const std::vector<std::string>& plan_searchable_options() {
  static const std::vector<std::string> kNames = {
      "ext_item_age",      "ext_recache_rate", "ext_low_ttl",  "ext_max_frag",
      "ext_compact_under", "ext_drop_under",   "ext_item_size"};
  return kNames;
}

PlanReplayBound plan_replay_bound(const PlanOptions& o) {
  const uint64_t ram_search = o.ram_mb.size() + o.refine_steps;
  uint64_t settings = 0;
  for (const PlanSearchAxis& axis : o.search) settings += axis.values.size() - 1 + 2;
  uint64_t grid = 0;
  uint64_t candidates = 0;
  for (uint64_t flash : o.flash_bytes) {
    const bool searched = flash != 0 && !o.search.empty();
    grid += ram_search + (searched ? settings + ram_search : 0);
    candidates += searched ? 2 : 1;
  }
  PlanReplayBound bound;
  if (o.sample_rate < 1) {
    bound.sampled = grid;
    bound.full = candidates;
  } else {
    bound.full = grid;
  }
  return bound;
}

nlohmann::json replay_report(const std::string& trace, const std::vector<std::string>& args) {
  std::vector<std::string> text = {"replay", trace};
  text.insert(text.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const std::string& a : text) argv.push_back(a.c_str());
  SimOptions options;
  const std::string error = parse_sim_options(static_cast<int>(argv.size()), argv.data(), &options);
  if (!error.empty()) throw std::invalid_argument(error);
  apply_sample_scaling(&options);
  TraceReadOptions read_options;
  read_options.format = options.format;
  read_options.strict = options.strict;
  auto reader = open_trace(options.trace_path, read_options);
  Replayer replay(options, fill_on_miss_by_default(reader->format()));
  replay.run(*reader);
  return build_report(replay, *reader);
}

nlohmann::json run_plan(const PlanOptions& o, std::FILE* log) {
  Search search{o, log, {}};
  std::vector<uint64_t> ram = o.ram_mb;
  std::sort(ram.begin(), ram.end());
  const PlanReplayBound bound = plan_replay_bound(o);
  if (log != nullptr) {
    std::fprintf(log, "at most %llu replays%s%s\n",
                 static_cast<unsigned long long>(bound.sampled + bound.full),
                 o.sample_rate < 1 ? (" (" + std::to_string(bound.sampled) + " sampled, " +
                                      std::to_string(bound.full) + " full)")
                                         .c_str()
                                   : "",
                 o.search.empty() ? "" : "; ext_* settings searched at each flash size");
  }
  PlanSettings start;
  for (const PlanSearchAxis& axis : o.search) start.emplace_back(axis.name, axis.values.front());
  std::vector<PlanCandidate> met;
  nlohmann::json fits = nlohmann::json::array();
  nlohmann::json settings_trail = nlohmann::json::array();
  for (uint64_t flash : o.flash_bytes) {
    const RamSearch base = search_ram(search, ram, flash, start, &fits);
    if (base.met) met.push_back(*base.met);
    // ext_* settings matter only with flash, and can only lower the cost
    // where the starting settings missed: probe the largest grid RAM that
    // did (none when the smallest already met).
    if (flash == 0 || o.search.empty() || base.first == 0) continue;
    const uint64_t probe = ram[base.first - 1];
    const PlanSettings chosen = search_settings(search, probe, flash, &settings_trail);
    if (chosen == start) continue;
    const RamSearch tuned = search_ram(search, ram, flash, chosen, &fits);
    if (tuned.met) met.push_back(*tuned.met);
  }
  std::vector<PlanCandidate> all;
  for (const auto& [key, c] : search.done) all.push_back(c);
  std::stable_sort(met.begin(), met.end(),
                   [](const PlanCandidate& a, const PlanCandidate& b) { return a.cost < b.cost; });

  nlohmann::json search_json = nlohmann::json::array();
  for (const PlanSearchAxis& axis : o.search) {
    search_json.push_back({{"name", axis.name}, {"values", axis.values}});
  }
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
      {"sample", o.sample_rate},
      {"search", search_json}};
  // Confirm in cost order: the first whose full replay still meets the
  // targets is the recommendation.
  nlohmann::json recommendation;
  nlohmann::json rejected = nlohmann::json::array();
  size_t chosen = met.size();
  for (size_t i = 0; i < met.size(); ++i) {
    PlanCandidate confirmed = met[i];
    if (o.sample_rate < 1) {
      confirmed = search.evaluate(met[i].ram_mb, met[i].flash_bytes, met[i].settings, 1);
    }
    if (confirmed.meets) {
      recommendation = plan_candidate_json(o, confirmed);
      recommendation["predicted"] = plan_candidate_json(o, met[i]);
      chosen = i;
      break;
    }
    rejected.push_back(plan_candidate_json(o, confirmed));
  }
  plan["recommendation"] = recommendation;
  plan["rejected_by_full_replay"] = rejected;
  nlohmann::json runners = nlohmann::json::array();
  for (size_t i = chosen == met.size() ? met.size() : chosen + 1; i < met.size(); ++i) {
    runners.push_back(plan_candidate_json(o, met[i]));
  }
  plan["runners_up"] = runners;
  plan["binding_limit"] =
      recommendation.is_null() && !all.empty() ? plan_binding_limit(o, all) : nlohmann::json();
  nlohmann::json rows = nlohmann::json::array();
  nlohmann::json candidates = nlohmann::json::array();
  for (const PlanCandidate& c : all) {
    candidates.push_back(plan_candidate_json(o, c));
    nlohmann::json flags = {
        {"m", std::to_string(c.ram_mb)},
        {"ext_path_size", c.flash_bytes ? plan_flash_text(c.flash_bytes) : "0"}};
    for (const auto& [name, value] : c.settings) flags[name] = value;
    rows.push_back({{"flags", flags},
                    {"hit_ratio", c.hit_ratio},
                    {"byte_hit_ratio", c.byte_hit_ratio},
                    {"ceiling_hit_ratio", c.ceiling_hit_ratio}});
  }
  plan["candidates"] = candidates;
  plan["replays"] = {{"sampled", search.sampled_replays},
                     {"full", search.full_replays},
                     {"bound_sampled", bound.sampled},
                     {"bound_full", bound.full}};
  plan["settings_search"] = settings_trail;
  plan["fits"] = fits;
  plan["curves"] = curves_from_rows(rows);
  return plan;
}

}  // namespace memext
