#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "memext/options.h"
#include "plan/plan.h"
#include "replay/sim_options.h"
#include "ssd/ssd_presets.h"
#include "traces/trace_error.h"

namespace memext {

namespace {

bool parse_number(const std::string& text, double* out) {
  try {
    size_t used = 0;
    *out = std::stod(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

bool parse_bytes(const std::string& text, uint64_t* out) {
  if (text == "0") {
    *out = 0;
    return true;
  }
  return parse_size_with_unit(text, *out);
}

std::string parse_drive(const std::string& value, PlanOptions* o) {
  const std::vector<std::string> parts = split(value, ',');
  const size_t colon = parts[0].find(':');
  if (colon == std::string::npos) {
    return "--drive '" + value + "' must be PRESET:CAPACITY[,tbw=TB] (e.g. nvme-gen4:3840g)";
  }
  o->drive_preset = parts[0].substr(0, colon);
  SsdModelParams params;
  if (const std::string e = parse_ssd_model_spec("model:" + o->drive_preset, &params); !e.empty()) {
    return "--drive '" + value + "': " + e;
  }
  if (!parse_bytes(parts[0].substr(colon + 1), &o->drive_bytes) || o->drive_bytes == 0) {
    return "--drive '" + value + "': capacity must be a size with k/m/g/t (e.g. 3840g)";
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!parts[i].starts_with("tbw=") || !parse_number(parts[i].substr(4), &o->drive_tbw) ||
        o->drive_tbw <= 0) {
      return "--drive '" + value + "': '" + parts[i] + "' is not allowed (allowed: tbw=TB > 0)";
    }
  }
  return "";
}

std::string parse_cost(const std::string& value, PlanOptions* o) {
  for (const std::string& part : split(value, ',')) {
    double v = 0;
    const size_t eq = part.find('=');
    const std::string name = part.substr(0, eq);
    if (eq == std::string::npos || !parse_number(part.substr(eq + 1), &v) || v < 0 ||
        (name != "ram" && name != "flash")) {
      return "--cost '" + value + "': expected ram=$/GB,flash=$/GB";
    }
    (name == "ram" ? o->cost_ram_per_gb : o->cost_flash_per_gb) = v;
  }
  return "";
}

// The ext_* settings searched when --search is not given, each starting at
// memcached's default. ext_item_age decides whether items go to flash while
// RAM still holds them (0: at once, the COLD LRU's whole content) or only
// under memory pressure (the default, "never" by age); ext_recache_rate how
// often a flash hit copies the item back to RAM. On the shipped sample at
// -m 64 with 256 MB of flash, ext_item_age=0 loses 6 points of hit ratio and
// ext_recache_rate=100 half a point, both writing more to flash. The others
// (ext_max_frag, ext_compact_under, ext_low_ttl, ...) are searched only when
// asked: they change nothing until the flash tier compacts or items carry
// short TTLs.
std::vector<PlanSearchAxis> default_search() {
  return {{"ext_item_age", {"4294967295", "0", "60", "3600"}},
          {"ext_recache_rate", {"2000", "100", "50000"}}};
}

std::string parse_search(const std::string& value, std::vector<PlanSearchAxis>* search) {
  const size_t eq = value.find('=');
  const std::string name = value.substr(0, std::min(eq, value.size()));
  const auto& allowed = plan_searchable_options();
  if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "--search '" + value + "': '" + name + "' cannot be searched (allowed: " + list +
           "; or --search none)";
  }
  if (eq == std::string::npos || eq + 1 == value.size()) {
    return "--search '" + value + "' must be NAME=v1,v2,... (e.g. ext_item_age=0,60,3600)";
  }
  PlanSearchAxis axis;
  axis.name = name;
  for (const std::string& v : split(value.substr(eq + 1), ',')) {
    double number = 0;
    EngineConfig config;
    const OptionResult applied = apply_memcached_option(config, name, v);
    if (!parse_number(v, &number) || number < 0) {
      return "--search '" + value + "': '" + v + "' is not a number >= 0";
    }
    if (!applied.ok()) return "--search '" + value + "': " + applied.error;
    if (std::find(axis.values.begin(), axis.values.end(), v) != axis.values.end()) {
      return "--search '" + value + "': '" + v + "' is given twice";
    }
    axis.values.push_back(v);
  }
  for (const PlanSearchAxis& other : *search) {
    if (other.name == name) return "--search " + name + " is given twice";
  }
  search->push_back(std::move(axis));
  return "";
}

// The -o option names the replay flags set (they are fixed, not searched).
std::vector<std::string> fixed_options(const PlanOptions& o) {
  std::vector<std::string> argv_text = {"replay", "trace"};
  argv_text.insert(argv_text.end(), o.base_args.begin(), o.base_args.end());
  std::vector<const char*> argv;
  for (const std::string& a : argv_text) argv.push_back(a.c_str());
  SimOptions parsed;
  std::vector<std::string> names;
  if (!parse_sim_options(static_cast<int>(argv.size()), argv.data(), &parsed).empty()) return names;
  for (size_t i = 0; i + 1 < parsed.memcached_flags.size(); ++i) {
    if (parsed.memcached_flags[i] != "-o") continue;
    for (const auto& [name, value] : parse_suboptions(parsed.memcached_flags[i + 1])) {
      names.push_back(name);
    }
  }
  return names;
}

}  // namespace

std::string plan_help() {
  return "usage: memext-sim plan TRACE --target hit_ratio>=X [--max-dwpd Y]\n"
         "         [--drive PRESET:CAPACITY[,tbw=TB]] [--cost ram=$/GB,flash=$/GB]\n"
         "         [--sample R] [--ram MB,MB,...] [--flash SIZE,SIZE,...] [--refine N]\n"
         "         [--search ext_NAME=v1,v2,... | --search none] [--flash-path PATH]\n"
         "         [--out plan.json] [replay options] [memcached flags]\n"
         "\n"
         "Finds the cheapest RAM + flash + ext_* configuration whose replay meets the\n"
         "targets. For each flash size (0 = RAM only): replays the RAM grid up to the\n"
         "first size that meets, fits a hit-ratio curve to the grid points to guess the\n"
         "crossing (the fit's error is in plan.json \"fits\"), then bisects (--refine\n"
         "steps in all). With flash, it then varies each searched ext_* setting in turn\n"
         "(its values, then the midpoints beside the best) at the largest grid RAM that\n"
         "missed, and when a setting does better there, searches the RAM again with it.\n"
         "Grid replays use --sample R; the cheapest candidate is confirmed by a full\n"
         "replay. Prints the memcached command line (with the chosen ext_* options), its\n"
         "figures, the drive's endurance at that write rate (tbw=, else 1 DWPD for 5\n"
         "years) and the runners-up; when nothing meets the targets, says which limit\n"
         "binds (the ceiling of first-request misses, RAM taken by item headers, DWPD).\n"
         "Writes plan.json (memext-sim-plan/1, traces/REPORT_SCHEMA.md).\n"
         "\n"
         "Cost: at most G + N replays per flash size (G RAM grid sizes, N = --refine), and\n"
         "with flash and --search another G + N plus, per searched setting, its values\n"
         "+ 1; then one full replay per candidate confirmed. The bound is printed first.\n"
         "\n"
         "  --ram       RAM grid in MB (default 32,64,128,256,512,1024,2048,4096,8192)\n"
         "  --flash     flash sizes (default 0, or 0 and 1/8, 1/4, 1/2, all of --drive)\n"
         "  --cost      $ per GB (default ram=4,flash=0.1)\n"
         "  --sample R  fraction of keys for the grid replays (default 1: no sampling)\n"
         "  --refine N  interpolation + bisection replays per RAM search (default 3)\n"
         "  --search    an ext_* setting and its values, repeatable; the first value is\n"
         "              where the search starts (default ext_item_age=4294967295,0,60,3600\n"
         "              and ext_recache_rate=2000,100,50000: memcached's defaults first;\n"
         "              a setting given with -o is fixed, not searched). Searchable:\n"
         "              ext_item_age, ext_recache_rate, ext_low_ttl, ext_max_frag,\n"
         "              ext_compact_under, ext_drop_under, ext_item_size. none: no search\n"
         "Other arguments pass to each replay (e.g. -o ext_page_size=8, --fill-on-miss on).\n";
}

std::string parse_plan_options(int argc, const char* const* argv, PlanOptions* o) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool have_target = false;
  bool flash_given = false;
  bool search_given = false;
  bool search_none = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* v) -> std::string {
      if (i + 1 >= args.size()) return a + " needs a value";
      *v = args[++i];
      return "";
    };
    std::string v;
    std::string error;
    if (a == "-h" || a == "--help") {
      o->help = true;
      return "";
    } else if (a == "--target") {
      if (!(error = value(&v)).empty()) return error;
      double x = 0;
      if (!v.starts_with("hit_ratio>=") || !parse_number(v.substr(11), &x) || x < 0 || x > 1) {
        return "--target '" + v + "' must be hit_ratio>=X with 0 <= X <= 1";
      }
      o->target_hit_ratio = x;
      have_target = true;
    } else if (a == "--max-dwpd") {
      if (!(error = value(&v)).empty()) return error;
      if (!parse_number(v, &o->max_dwpd) || o->max_dwpd <= 0) {
        return "--max-dwpd '" + v + "' must be a number > 0";
      }
    } else if (a == "--drive") {
      if (!(error = value(&v)).empty()) return error;
      if (!(error = parse_drive(v, o)).empty()) return error;
    } else if (a == "--cost") {
      if (!(error = value(&v)).empty()) return error;
      if (!(error = parse_cost(v, o)).empty()) return error;
    } else if (a == "--sample") {
      if (!(error = value(&v)).empty()) return error;
      if (!parse_number(v, &o->sample_rate) || o->sample_rate <= 0 || o->sample_rate > 1) {
        return "--sample '" + v + "' must be a fraction 0 < R <= 1";
      }
    } else if (a == "--ram") {
      if (!(error = value(&v)).empty()) return error;
      o->ram_mb.clear();
      for (const std::string& p : split(v, ',')) {
        double mb = 0;
        if (!parse_number(p, &mb) || mb < 2 || mb != std::floor(mb)) {
          return "--ram '" + v + "': '" + p + "' is not a whole number of MB >= 2";
        }
        o->ram_mb.push_back(static_cast<uint64_t>(mb));
      }
    } else if (a == "--flash") {
      if (!(error = value(&v)).empty()) return error;
      o->flash_bytes.clear();
      flash_given = true;
      for (const std::string& p : split(v, ',')) {
        uint64_t b = 0;
        if (!parse_bytes(p, &b))
          return "--flash '" + v + "': '" + p + "' is not a size (0, 512m, 4g)";
        o->flash_bytes.push_back(b);
      }
    } else if (a == "--refine") {
      if (!(error = value(&v)).empty()) return error;
      double n = 0;
      if (!parse_number(v, &n) || n < 0 || n > 20) return "--refine '" + v + "' must be 0..20";
      o->refine_steps = static_cast<uint32_t>(n);
    } else if (a == "--search") {
      if (!(error = value(&v)).empty()) return error;
      search_given = true;
      if (v == "none") {
        search_none = true;
      } else if (!(error = parse_search(v, &o->search)).empty()) {
        return error;
      }
    } else if (a == "--flash-path") {
      if (!(error = value(&v)).empty()) return error;
      o->flash_path = v;
    } else if (a == "--out") {
      if (!(error = value(&v)).empty()) return error;
      o->out_path = v;
    } else if (a == "--device") {
      return "plan picks the device from --drive; --device is not allowed here";
    } else if (a.starts_with("-")) {
      o->base_args.push_back(a);
      // Flags with a separate value: memcached's and replay's.
      static const char* kWithValue[] = {"-m",
                                         "-I",
                                         "-f",
                                         "-n",
                                         "-o",
                                         "--format",
                                         "--seed",
                                         "--interval",
                                         "--time-scale",
                                         "--fill-on-miss",
                                         "--max-requests",
                                         "--extended",
                                         "--memory-limit"};
      for (const char* f : kWithValue) {
        if (a == f && i + 1 < args.size()) o->base_args.push_back(args[++i]);
      }
    } else if (o->trace_path.empty()) {
      o->trace_path = a;
    } else {
      return "unexpected argument '" + a + "' (one trace path only)";
    }
  }
  if (o->trace_path.empty()) return "no trace given (see memext-sim plan --help)";
  if (!have_target) return "--target hit_ratio>=X is required";
  if (o->ram_mb.empty()) o->ram_mb = {32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
  if (!flash_given) {
    o->flash_bytes = {0};
    if (o->drive_bytes != 0) {
      for (uint64_t d : {8, 4, 2, 1}) o->flash_bytes.push_back(o->drive_bytes / d >> 20 << 20);
    }
  }
  if (search_none && !o->search.empty()) return "--search none cannot be combined with settings";
  const std::vector<std::string> fixed = fixed_options(*o);
  auto is_fixed = [&](const std::string& name) {
    return std::find(fixed.begin(), fixed.end(), name) != fixed.end();
  };
  if (!search_given) {
    for (PlanSearchAxis& axis : default_search()) {
      if (!is_fixed(axis.name)) o->search.push_back(std::move(axis));
    }
  }
  for (const PlanSearchAxis& axis : o->search) {
    if (is_fixed(axis.name)) {
      return "--search " + axis.name + " conflicts with -o " + axis.name +
             "=...: give the setting fixed or searched, not both";
    }
  }
  return "";
}

int plan_main(int argc, char** argv) {
  PlanOptions o;
  if (const std::string error = parse_plan_options(argc, argv, &o); !error.empty()) {
    std::fprintf(stderr, "memext-sim plan: %s\n", error.c_str());
    return 2;
  }
  if (o.help) {
    std::fputs(plan_help().c_str(), stdout);
    return 0;
  }
  nlohmann::json plan;
  try {
    std::fprintf(stderr, "replaying candidates of %s:\n", o.trace_path.c_str());
    plan = run_plan(o, stderr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memext-sim plan: %s\n", e.what());
    return 1;
  }
  std::ofstream out(o.out_path, std::ios::binary | std::ios::trunc);
  out << plan.dump(1) << "\n";
  out.close();
  if (!out) {
    std::fprintf(stderr, "memext-sim plan: cannot write '%s'\n", o.out_path.c_str());
    return 1;
  }
  const nlohmann::json& r = plan["recommendation"];
  if (r.is_null()) {
    std::printf("no configuration meets hit_ratio>=%g%s\nbinding limit: %s: %s\n",
                o.target_hit_ratio, o.max_dwpd > 0 ? " within the DWPD limit" : "",
                plan["binding_limit"]["limit"].get<std::string>().c_str(),
                plan["binding_limit"]["detail"].get<std::string>().c_str());
  } else {
    std::printf("%s\n", r["command_line"].get<std::string>().c_str());
    std::printf("  hit ratio %.4f, byte hit ratio %.4f (ceiling %.4f), cost $%.2f\n",
                r["hit_ratio"].get<double>(), r["byte_hit_ratio"].get<double>(),
                r["ceiling_hit_ratio"].get<double>(), r["cost"].get<double>());
    std::printf(
        "  RAM held %.1f MB of slab pages (-m %llu; a slab class's first page is not "
        "limited by -m)\n",
        r["ram_used_bytes"].get<double>() / (1 << 20),
        static_cast<unsigned long long>(r["ram_mb"].get<uint64_t>()));
    if (r["flash_bytes"].get<uint64_t>() != 0) {
      std::printf("  flash writes %.3g GB/day, %.3f DWPD, endurance %s years\n",
                  r["flash_bytes_per_day"].get<double>() / 1e9, r["dwpd"].get<double>(),
                  r["endurance_years"].is_null()
                      ? "unlimited"
                      : std::to_string(r["endurance_years"].get<double>()).c_str());
    }
    if (o.sample_rate < 1) {
      std::printf("  sampled at %g it predicted hit ratio %.4f\n", o.sample_rate,
                  r["predicted"]["hit_ratio"].get<double>());
    }
    for (const nlohmann::json& c : plan["runners_up"]) {
      std::printf("runner-up: %s (hit %.4f, $%.2f)\n", c["command_line"].get<std::string>().c_str(),
                  c["hit_ratio"].get<double>(), c["cost"].get<double>());
    }
  }
  for (const nlohmann::json& fit : plan["fits"]) {
    const uint64_t flash = fit["flash_bytes"].get<uint64_t>();
    std::printf("  RAM curve fit (flash %s): rms error %.4f",
                flash == 0 ? "none" : std::to_string(flash >> 20).append(" MB").c_str(),
                fit["rms_error"].get<double>());
    if (fit["leave_one_out"].is_object()) {
      std::printf(", leave-one-out %.4f", fit["leave_one_out"]["rms_error"].get<double>());
    }
    if (fit.contains("replayed_hit_ratio")) {
      std::printf("; at -m %llu it predicted %.4f, the replay gave %.4f",
                  fit["interpolated_ram_mb"].get<unsigned long long>(),
                  fit["predicted_hit_ratio"].get<double>(),
                  fit["replayed_hit_ratio"].get<double>());
    }
    std::printf("\n");
  }
  const nlohmann::json& replays = plan["replays"];
  std::printf(
      "  %llu replays (%llu sampled, %llu full) of at most %llu\n",
      replays["sampled"].get<unsigned long long>() + replays["full"].get<unsigned long long>(),
      replays["sampled"].get<unsigned long long>(), replays["full"].get<unsigned long long>(),
      replays["bound_sampled"].get<unsigned long long>() +
          replays["bound_full"].get<unsigned long long>());
  std::printf("wrote %s\n", o.out_path.c_str());
  return 0;
}

}  // namespace memext
