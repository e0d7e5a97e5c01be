#include "replay/sim_options.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "memext/options.h"
#include "ssd/ssd_spec_file.h"

namespace memext {

namespace {

// memcached's short flags that take a value, and their long spellings.
struct FlagAlias {
  std::string_view long_name;
  std::string_view short_name;
  bool takes_value;
};
constexpr FlagAlias kMemcachedFlags[] = {
    {"memory-limit", "m", true},  {"max-item-size", "I", true},      {"factor", "f", true},
    {"slab-min-size", "n", true}, {"disable-evictions", "M", false}, {"disable-cas", "C", false},
};

bool parse_u64(std::string_view text, uint64_t* out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size() && !text.empty();
}

bool parse_double(std::string_view text, double* out) {
  std::string s(text);
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(*out);
}

// Takes the spec by value: callers pass out->device_spec itself, which the
// first line replaces.
std::string apply_device(std::string spec_text, SimOptions* out) {
  out->device_spec = spec_text;
  const std::string_view spec = spec_text;
  if (spec == "file" || spec.starts_with("file:")) {
    out->device_kind = SimDeviceKind::kFile;
    out->file_path = spec == "file" ? std::string() : std::string(spec.substr(5));
    if (spec != "file" && out->file_path.empty()) {
      return "--device 'file:' needs a path (allowed: model[:PRESET][,key=value...], file, "
             "file:PATH)";
    }
    return "";
  }
  if (!(spec == "model" || spec.starts_with("model:"))) {
    return "--device '" + std::string(spec) +
           "' is not a device (allowed: model[:PRESET][,key=value...], model:@DRIVE.spec, file, "
           "file:PATH)";
  }
  out->device_kind = SimDeviceKind::kModel;
  std::string text;
  if (const std::string error = expand_ssd_spec_file(spec, &text); !error.empty()) {
    return "--device '" + std::string(spec) + "': " + error;
  }
  // "model" and an empty preset ("model:", "model:,units=4") mean the
  // default preset, as the help's model[:PRESET][,key=value...] says.
  const std::string default_spec = "model:" + std::string(kDefaultSsdPreset);
  if (text == "model" || text == "model:") {
    text = default_spec;
  } else if (text.starts_with("model:,")) {
    text = default_spec + text.substr(6);
  }
  if (text.find("wa=") == std::string::npos) text += ",wa=1";
  const std::string error = parse_ssd_model_spec(text, &out->model);
  if (!error.empty()) return "--device '" + std::string(spec) + "': " + error;
  out->model_spec = format_ssd_model_spec(out->model);
  return "";
}

// "3600s", "60m", "1h", "2d" (virtual seconds) or "1000000" (requests).
std::string parse_warmup(std::string_view value, SimOptions* out) {
  const std::string why = "--warmup '" + std::string(value) +
                          "' must be SECONDS with a unit (e.g. 3600s, 60m, 1h, 1d) or a "
                          "number of requests (e.g. 1000000)";
  if (value.empty()) return why;
  double unit = 0;
  switch (value.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      break;
  }
  out->warmup_s = 0;
  out->warmup_requests = 0;
  if (unit == 0) {
    if (!parse_u64(value, &out->warmup_requests) || out->warmup_requests == 0) return why;
  } else {
    double amount = 0;
    if (!parse_double(value.substr(0, value.size() - 1), &amount) || amount <= 0) return why;
    out->warmup_s = amount * unit;
  }
  out->warmup_spec = std::string(value);
  return "";
}

// NS_PER_OBJECT[,NS_PER_KIB]: each below a second.
std::string parse_flusher_cost(std::string_view value, SimOptions* out) {
  const size_t comma = value.find(',');
  uint64_t per_object = 0;
  uint64_t per_kib = 0;
  const bool ok = parse_u64(value.substr(0, comma), &per_object) &&
                  (comma == std::string_view::npos || parse_u64(value.substr(comma + 1), &per_kib));
  constexpr uint64_t kMaxNs = 1'000'000'000;
  if (!ok || per_object >= kMaxNs || per_kib >= kMaxNs) {
    return "--flusher-cost '" + std::string(value) +
           "' must be NS_PER_OBJECT[,NS_PER_KIB], whole nanoseconds below 1000000000";
  }
  out->flusher_ns_per_object = static_cast<uint32_t>(per_object);
  out->flusher_ns_per_kib = static_cast<uint32_t>(per_kib);
  return "";
}

std::string apply_replay_option(std::string_view name, std::string_view value, SimOptions* out) {
  if (name == "format") {
    auto f = parse_trace_format(value);
    if (!f) {
      return "--format '" + std::string(value) +
             "' is not a trace format (allowed: " + std::string(trace_format_names_list()) + ")";
    }
    out->format = *f;
  } else if (name == "arrival") {
    auto a = parse_arrival(value);
    if (!a) {
      return "--arrival '" + std::string(value) +
             "' is not an arrival (allowed: burst, uniform, poisson)";
    }
    out->arrival = *a;
  } else if (name == "device") {
    return apply_device(std::string(value), out);
  } else if (name == "seed") {
    if (!parse_u64(value, &out->seed)) {
      return "--seed '" + std::string(value) + "' is not an unsigned integer";
    }
  } else if (name == "interval") {
    if (!parse_double(value, &out->interval_s) || out->interval_s <= 0) {
      return "--interval '" + std::string(value) + "' must be a number of seconds > 0";
    }
  } else if (name == "time-scale") {
    if (!parse_double(value, &out->time_scale) || out->time_scale <= 0 || out->time_scale > 1e9) {
      return "--time-scale '" + std::string(value) + "' must be a number > 0 and <= 1e9";
    }
  } else if (name == "idle-before") {
    if (!parse_double(value, &out->idle_before_s) || out->idle_before_s < 0 ||
        out->idle_before_s > 86400) {
      return "--idle-before '" + std::string(value) + "' must be seconds, 0 to 86400";
    }
  } else if (name == "fill-on-miss") {
    if (value == "on") {
      out->fill_on_miss = FillOnMiss::kOn;
    } else if (value == "off") {
      out->fill_on_miss = FillOnMiss::kOff;
    } else if (value == "auto") {
      out->fill_on_miss = FillOnMiss::kAuto;
    } else {
      return "--fill-on-miss '" + std::string(value) + "' is not allowed (allowed: on, off, auto)";
    }
  } else if (name == "progress") {
    if (value == "on") {
      out->progress = ProgressMode::kOn;
    } else if (value == "off") {
      out->progress = ProgressMode::kOff;
    } else if (value == "auto") {
      out->progress = ProgressMode::kAuto;
    } else {
      return "--progress '" + std::string(value) + "' is not allowed (allowed: on, off, auto)";
    }
  } else if (name == "sample") {
    if (!parse_double(value, &out->sample_rate) || out->sample_rate <= 0 || out->sample_rate > 1) {
      return "--sample '" + std::string(value) + "' must be a fraction of the keys, 0 < R <= 1";
    }
  } else if (name == "sample-seed") {
    if (!parse_u64(value, &out->sample_seed)) {
      return "--sample-seed '" + std::string(value) + "' is not an unsigned integer";
    }
  } else if (name == "out") {
    out->out_path = std::string(value);
  } else if (name == "warmup") {
    return parse_warmup(value, out);
  } else if (name == "flusher-cost") {
    return parse_flusher_cost(value, out);
  } else if (name == "flusher-pacing") {
    if (value == "1.6.20") {
      out->flusher_pacing = FlusherPacing::k1_6_20;
    } else if (value == "1.6.18") {
      out->flusher_pacing = FlusherPacing::k1_6_18;
    } else {
      return "--flusher-pacing '" + std::string(value) +
             "' is not allowed (allowed: 1.6.20, 1.6.18)";
    }
  } else if (name == "max-requests") {
    if (!parse_u64(value, &out->max_requests)) {
      return "--max-requests '" + std::string(value) + "' is not an unsigned integer";
    }
  } else {
    return "unknown option --" + std::string(name) + " (see --help)";
  }
  return "";
}

// The replay's own long options that take a value (--strict and --help are
// the others): the parser asks for a value only for a name listed here, so an
// unknown option is called unknown rather than short of a value.
constexpr std::string_view kReplayValueOptions[] = {
    "format",   "device",       "seed",         "interval",       "time-scale",  "fill-on-miss",
    "progress", "out",          "max-requests", "sample",         "sample-seed", "warmup",
    "arrival",  "flusher-cost", "idle-before",  "flusher-pacing",
};

bool is_replay_value_option(std::string_view name) {
  for (std::string_view known : kReplayValueOptions) {
    if (known == name) return true;
  }
  return false;
}

std::string apply_engine_flag(std::string_view short_name, std::string_view value,
                              SimOptions* out) {
  if (short_name == "o") {
    OptionResult r = apply_memcached_suboptions(out->engine, value);
    return r.ok() ? "" : "-o '" + std::string(value) + "': " + r.error;
  }
  OptionResult r = apply_memcached_option(out->engine, short_name, value);
  if (r.ok()) return "";
  if (r.status == OptionStatus::kUnknownOption) return "unknown option -" + std::string(short_name);
  std::string error = "-";
  error.append(short_name).append(" '").append(value).append("': ").append(r.error);
  return error;
}

}  // namespace

const char* fill_on_miss_name(FillOnMiss mode) {
  switch (mode) {
    case FillOnMiss::kOn:
      return "on";
    case FillOnMiss::kOff:
      return "off";
    case FillOnMiss::kAuto:
      break;
  }
  return "auto";
}

bool fill_on_miss_by_default(TraceFormat format) {
  return format == TraceFormat::kOracleGeneral || format == TraceFormat::kKvcache;
}

std::string parse_sim_options(int argc, const char* const* argv, SimOptions* out) {
  {
    std::string error = apply_device(out->device_spec, out);
    if (!error.empty()) return error;
  }
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    auto next_value = [&](std::string_view flag, std::string_view* value) -> std::string {
      if (i + 1 >= args.size()) return std::string(flag) + " needs a value";
      *value = args[++i];
      return "";
    };
    std::string error;
    if (arg == "-h" || arg == "--help") {
      out->help = true;
      return "";
    }
    if (arg.starts_with("--")) {
      std::string_view name = arg.substr(2);
      std::string_view value;
      bool inline_value = false;
      if (size_t eq = name.find('='); eq != std::string_view::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      const FlagAlias* alias = nullptr;
      for (const FlagAlias& a : kMemcachedFlags) {
        if (a.long_name == name) alias = &a;
      }
      if (name == "extended") {
        if (!inline_value) error = next_value(arg, &value);
        if (error.empty()) error = apply_engine_flag("o", value, out);
        if (error.empty()) {
          out->memcached_flags.push_back("-o");
          out->memcached_flags.emplace_back(value);
        }
      } else if (alias != nullptr) {
        if (alias->takes_value && !inline_value) error = next_value(arg, &value);
        if (error.empty()) error = apply_engine_flag(alias->short_name, value, out);
        if (error.empty()) {
          out->memcached_flags.push_back(std::string("-").append(alias->short_name));
          if (alias->takes_value) out->memcached_flags.emplace_back(value);
        }
      } else if (name == "strict") {
        out->strict = true;
      } else if (!is_replay_value_option(name)) {
        error = "unknown option --" + std::string(name) + " (see --help)";
      } else {
        if (!inline_value) error = next_value(arg, &value);
        if (error.empty()) error = apply_replay_option(name, value, out);
      }
    } else if (arg.size() >= 2 && arg[0] == '-') {
      std::string_view flag = arg.substr(1, 1);
      const bool takes_value =
          flag == "o" || flag == "m" || flag == "I" || flag == "f" || flag == "n";
      std::string_view value = arg.substr(2);
      if (!takes_value && !value.empty()) return "unknown option " + std::string(arg);
      if (takes_value && value.empty()) error = next_value(arg, &value);
      if (error.empty()) error = apply_engine_flag(flag, value, out);
      if (error.empty()) {
        out->memcached_flags.push_back(std::string("-").append(flag));
        if (takes_value) out->memcached_flags.emplace_back(value);
      }
    } else if (out->trace_path.empty()) {
      out->trace_path = std::string(arg);
    } else {
      return "unexpected argument '" + std::string(arg) + "' (one trace path only)";
    }
    if (!error.empty()) return error;
  }
  if (out->trace_path.empty()) return "no trace given (usage: memext-sim replay TRACE [options])";
  out->engine.phantom = out->device_kind == SimDeviceKind::kModel;
  if (out->device_kind == SimDeviceKind::kFile && !out->engine.ext.enabled()) {
    return "--device " + out->device_spec + " needs a flash tier: add -o ext_path=FILE:SIZE";
  }
  if (out->device_kind == SimDeviceKind::kFile && !out->file_path.empty() &&
      out->engine.ext.paths.size() != 1) {
    return "--device file:PATH replaces the path of a single ext_path, but " +
           std::to_string(out->engine.ext.paths.size()) +
           " are given (use --device file to open each ext_path's own file)";
  }
  if (const std::string error = validate_config(out->engine); !error.empty()) return error;
  return "";
}

std::string sim_options_help() {
  std::string text =
      "usage: memext-sim replay TRACE [options] [memcached flags]\n"
      "\n"
      "Replays a cache trace through the memext engine (memcached 1.6.18's slab\n"
      "allocator, segmented LRU and extstore) in virtual time and writes a JSON\n"
      "report (schema memext-sim-report/1, traces/REPORT_SCHEMA.md).\n"
      "\n"
      "memcached flags (same spelling and units as memcached):\n"
      "  -m, --memory-limit MB       RAM for items (default 64)\n"
      "  -I, --max-item-size SIZE    largest item, k/m suffix (default 1m)\n"
      "  -f, --factor F              slab growth factor (default 1.25)\n"
      "  -n, --slab-min-size N       smallest key+value+flags space (default 48)\n"
      "  -M, --disable-evictions     out-of-memory errors instead of evictions\n"
      "  -C, --disable-cas           no CAS values\n"
      "  -o, --extended OPTS         comma-separated -o options: ext_path=FILE:SIZE[:bucket]\n"
      "                              (repeatable; enables the flash tier), ext_page_size,\n"
      "                              ext_wbuf_size, ext_item_size, ext_item_age, ext_low_ttl,\n"
      "                              ext_recache_rate, ext_compact_under, ext_drop_under,\n"
      "                              ext_max_frag, ext_drop_unread, hot_lru_pct, ...\n"
      "                              The LRU maintainer and LRU crawler run as in memcached\n"
      "                              (no_lru_maintainer, no_lru_crawler turn them off;\n"
      "                              lru_crawler_sleep, lru_crawler_tocrawl tune the crawler)\n"
      "\n"
      "replay options:\n"
      "  --format F                  trace format: " +
      std::string(trace_format_names_list()) +
      " (default auto)\n"
      "  --arrival burst|uniform|poisson\n"
      "                              where a second's requests go in traces timed in whole\n"
      "                              seconds (twitter, oracle, kvcache): all at its start,\n"
      "                              evenly spread, or Poisson points seeded by --seed\n"
      "                              (default poisson: many independent clients)\n"
      "  --strict                    stop at the first malformed record, and at a gap of\n"
      "                              more than a day between requests (else a warning)\n"
      "  --device SPEC               model[:PRESET][,key=value...] (default model:nvme-gen4;\n"
      "                              wa defaults to 1 here: extstore writes sequentially),\n"
      "                              model:@DRIVE.spec[,key=value...] (a spec file, e.g.\n"
      "                              from `memext-sim calibrate`),\n"
      "                              file (each ext_path's file) or file:PATH (real IO via\n"
      "                              io_uring, else pread/pwrite; latencies are wall clock)\n"
      "  --flusher-cost NS[,NS_PER_KIB]\n"
      "                              the extstore write flusher's CPU time per object it\n"
      "                              moves to flash and per KiB of it (default " +
      std::to_string(kFlusherNsPerObject) + "," + std::to_string(kFlusherNsPerKib) +
      ",\n"
      "                              measured by bench/flusher_cost_bench; 0 = free): a\n"
      "                              write storm faster than that evicts unflushed items\n"
      "  --flusher-pacing 1.6.20|1.6.18\n"
      "                              pace the write flusher as memcached 1.6.20's\n"
      "                              storage_write_thread (default) or 1.6.18's (sleeps\n"
      "                              after every pass, backs off idle classes; validate\n"
      "                              takes it after --: memext-server reports 1.6.18 too)\n"
      "  --seed N                    seed for every random choice (default 1)\n"
      "  --interval SECONDS          time-series interval in trace time (default 60)\n"
      "  --time-scale X              multiply trace time by X (default 1)\n"
      "  --idle-before SECONDS       the server's background threads run idle this long\n"
      "                              before the first request, as a live server started\n"
      "                              that long before its load (default 0; validate: the\n"
      "                              server's uptime): their idle backoffs delay the first\n"
      "                              flushes of a write storm\n"
      "  --fill-on-miss on|off|auto  set the traced size after a get miss (default auto:\n"
      "                              on for oracle, which records no writes, and kvcache,\n"
      "                              a look-aside cache whose fills after misses are not\n"
      "                              traced; off for the others)\n"
      "  --out REPORT.json           write the JSON report (- for stdout; the summary and\n"
      "                              warnings stay on stderr)\n"
      "  --max-requests N            stop after N requests of the trace, a record's\n"
      "                              op_count repeats included (default: whole trace)\n"
      "  --warmup SECONDS|REQUESTS   report steady-state figures (report.steady_state) from\n"
      "                              this point on: 3600s, 60m, 1h, 1d of trace time, or a\n"
      "                              request count (1000000, of the whole trace: x R with\n"
      "                              --sample R); totals still cover the whole run\n"
      "  --sample R                  replay only the keys whose hash falls in a fraction R\n"
      "                              (0 < R <= 1) of the key space, with -m, the ext_path\n"
      "                              sizes and ext_page_size/ext_wbuf_size scaled by R (rules:\n"
      "                              traces/README.md, 'Sampled replays'); totals count the\n"
      "                              sample, totals.sample_adjusted estimates the full ratios\n"
      "  --sample-seed N             another, independent key sample of the same rate\n"
      "                              (default 0); several show the sampling error\n"
      "  --progress on|off|auto      progress on stderr (auto: when stderr is a terminal)\n"
      "  -h, --help                  this help\n"
      "\n";
  text += ssd_model_help();
  return text;
}

TraceReadOptions trace_read_options(const SimOptions& options) {
  TraceReadOptions read;
  read.format = options.format;
  read.strict = options.strict;
  read.arrival = options.arrival;
  read.arrival_seed = options.seed * 0xD1B54A32D192ED03ull + 0x8BB84B93962EACC9ull;
  return read;
}

}  // namespace memext
