#include "validate/validate_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string_view>

#include "memext/options.h"
#include "replay/replay.h"
#include "report/report.h"
#include "traces/trace_native.h"
#include "traces/trace_text.h"
#include "validate/live_client.h"
#include "validate/reply_matcher.h"
#include "validate/server_settings.h"

namespace memext {

namespace {

constexpr std::string_view kSchema = "memext-sim-validate/1";
// The modelled flash tier's ext_path: a name only, never opened.
constexpr std::string_view kModelledExtPath = "/validate/flash";

bool split_host_port(std::string_view text, std::string* host, std::string* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  std::string_view h = text.substr(0, colon);
  if (h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  uint32_t number = 0;
  if (!parse_int(text.substr(colon + 1), number) || number == 0 || number > 65535) return false;
  *host = std::string(h);
  *port = std::to_string(number);
  return true;
}

std::string apply_option(std::string_view name, std::string_view value, ValidateOptions* o) {
  const std::string bad = "--" + std::string(name) + " '" + std::string(value) + "'";
  double number = 0;
  uint64_t count = 0;
  if (name == "server") {
    if (!split_host_port(value, &o->host, &o->port)) {
      return bad + " is not HOST:PORT (port 1..65535)";
    }
  } else if (name == "speed") {
    if (value == "max") {
      o->speed = 0;
    } else if (!parse_double(value, number) ||
               !(number == 0 || (number >= 0.001 && number <= 1e6))) {
      return bad + " is not a speed (allowed: 0.001 .. 1000000, or 0 or max = as fast as possible)";
    } else {
      o->speed = number;
    }
  } else if (name == "connections" || name == "window") {
    if (!parse_int(value, count) || count == 0 || count > 1024) {
      return bad + " is not allowed (allowed: 1..1024)";
    }
    (name == "connections" ? o->connections : o->window) = static_cast<uint32_t>(count);
  } else if (name == "format") {
    const auto f = parse_trace_format(value);
    if (!f)
      return bad + " is not a trace format (allowed: " + std::string(trace_format_names_list()) +
             ")";
    o->format = *f;
  } else if (name == "arrival") {
    const auto a = parse_arrival(value);
    if (!a) return bad + " is not an arrival (allowed: burst, uniform, poisson)";
    o->arrival = *a;
  } else if (name == "seed") {
    if (!parse_int(value, o->seed)) return bad + " is not an unsigned integer";
  } else if (name == "fill-on-miss") {
    if (value == "on") {
      o->fill_on_miss = FillOnMiss::kOn;
    } else if (value == "off") {
      o->fill_on_miss = FillOnMiss::kOff;
    } else if (value == "auto") {
      o->fill_on_miss = FillOnMiss::kAuto;
    } else {
      return bad + " is not allowed (allowed: on, off, auto)";
    }
  } else if (name == "device") {
    if (!value.starts_with("model")) {
      return bad + " is not a model device (allowed: model[:PRESET][,key=value...]; the " +
             "server's flash is a real file, the simulator's a model of a drive)";
    }
    o->device = std::string(value);
  } else if (name == "server-idle") {
    if (!parse_double(value, number) || !(number >= 0) || number > 86400) {
      return bad + " is not a number of seconds (allowed: 0..86400)";
    }
    o->server_idle_s = number;
  } else if (name == "max-ratio-delta") {
    if (!parse_double(value, number) || !(number >= 0) || number > 100) {
      return bad + " is not a number of points (allowed: 0..100)";
    }
    o->thresholds.ratio_points = number;
  } else if (name == "max-count-delta") {
    std::string_view text = value;
    if (text.ends_with("%")) text.remove_suffix(1);
    if (!parse_double(text, number) || !(number >= 0) || number > 1e6) {
      return bad + " is not a percentage (allowed: a number >= 0, e.g. 5 or 5%)";
    }
    o->thresholds.count_pct = number;
  } else if (name == "count-floor") {
    if (!parse_int(value, o->thresholds.count_floor)) return bad + " is not an unsigned integer";
  } else if (name == "out") {
    o->out_path = std::string(value);
  } else if (name == "recorded") {
    o->recorded_path = std::string(value);
  } else if (name == "sim-report") {
    o->sim_report_path = std::string(value);
  } else {
    return "unknown option --" + std::string(name) + " (see --help)";
  }
  return "";
}

void print_stderr(const std::string& text) {
  std::fprintf(stderr, "memext-sim validate: %s\n", text.c_str());
}

// Arguments as a shell would take them back (those with a space quoted).
std::string join(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) {
    out += (out.empty() ? "" : " ") + (a.find(' ') != std::string::npos ? "'" + a + "'" : a);
  }
  return out;
}

// The server's flags, then the user's after --; a user ext_path replaces the server's.
std::vector<std::string> simulator_flags(std::vector<std::string> server,
                                         const std::vector<std::string>& user) {
  bool user_paths = false;
  for (const std::string& f : user) user_paths |= f.find("ext_path=") != std::string::npos;
  if (user_paths) {
    for (size_t i = 0; i + 1 < server.size(); ++i) {
      if (server[i] != "-o") continue;
      std::string kept;
      for (const auto& [name, value] : parse_suboptions(server[i + 1])) {
        if (name == "ext_path") continue;
        kept += (kept.empty() ? "" : ",") + name + (value.empty() ? "" : "=" + value);
      }
      server[i + 1] = kept;
    }
  }
  server.insert(server.end(), user.begin(), user.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < server.size(); ++i) {
    if (server[i] == "-o" && i + 1 < server.size() && server[i + 1].empty()) {
      ++i;
      continue;
    }
    out.push_back(server[i]);
  }
  return out;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

std::string stat_or(const StatMap& m, const char* name, const char* fallback) {
  const auto it = m.find(name);
  return it == m.end() ? fallback : it->second;
}

struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

nlohmann::json live_json(const LiveResult& live, const ValidateOptions& o, const StatMap& deltas) {
  nlohmann::json stats_delta = nlohmann::json::object();
  for (const auto& [name, value] : deltas) stats_delta[name] = std::stoull(value);
  return {{"requests", live.sent.size()},
          {"gets", live.gets},
          {"hits", live.hits},
          {"misses", live.misses},
          {"fills", live.fills},
          {"error_replies", live.error_replies},
          {"first_error_reply", live.first_error_reply},
          {"dropped_replies", live.dropped_replies},
          {"dropped_get_replies", live.dropped_get_replies},
          {"keys_lengthened", live.keys_lengthened},
          {"keys_clamped", live.keys_clamped},
          {"values_clamped", live.values_clamped},
          {"wall_seconds", live.wall_seconds},
          {"trace_seconds", live.trace_seconds},
          {"requests_per_second",
           live.wall_seconds > 0 ? static_cast<double>(live.sent.size()) / live.wall_seconds : 0.0},
          {"speed", o.speed == 0 ? nlohmann::json("max") : nlohmann::json(o.speed)},
          {"connections", o.connections},
          {"window", o.window},
          {"send_lag_mean_ms", live.mean_lag_us / 1000},
          {"send_lag_max_ms", static_cast<double>(live.max_lag_us) / 1000},
          {"stats_delta", stats_delta}};
}

int run(const ValidateOptions& o) {
  // The server first: refuse a configuration the simulator cannot model
  // before sending anything.
  const StatMap settings = parse_stat_lines(fetch_stats(o.host, o.port, "stats settings"));
  const StatMap before = parse_stat_lines(fetch_stats(o.host, o.port, "stats"));
  const auto before_at = std::chrono::steady_clock::now();
  const ServerFlags server = server_flags(settings, before, kModelledExtPath);
  if (!server.error.empty()) {
    print_stderr("cannot simulate " + o.host + ":" + o.port + ": " + server.error);
    return 2;
  }
  const std::string version = stat_or(before, "version", "unknown");
  if (stat_or(before, "curr_items", "0") != "0" || stat_or(before, "total_items", "0") != "0") {
    print_stderr("warning: the server already holds " + stat_or(before, "curr_items", "?") +
                 " items (total_items " + stat_or(before, "total_items", "?") +
                 "); the simulator starts empty: validate against a freshly started server");
  }

  SimOptions read;
  read.format = o.format;
  read.arrival = o.arrival;
  read.seed = o.seed;
  auto reader = open_trace(o.trace_path, trace_read_options(read));
  const bool fill = o.fill_on_miss == FillOnMiss::kAuto ? fill_on_miss_by_default(reader->format())
                                                        : o.fill_on_miss == FillOnMiss::kOn;
  // The simulator's command line, checked before anything is sent.
  TempFile temp;
  std::string recorded = o.recorded_path;
  if (recorded.empty()) {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/memext-validate-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + pattern);
    ::close(fd);
    recorded = temp.path = pattern;
  }
  std::vector<std::string> args = {"replay",         recorded,
                                   "--format",       "native",
                                   "--fill-on-miss", fill ? "on" : "off",
                                   "--device",       o.device,
                                   "--seed",         std::to_string(o.seed)};
  // How long the server's background threads idled before the load: their
  // backoffs then delay its first flushes (README.md, "Background pacing").
  // memcached's uptime is whole seconds since start + 2 (its clock starts at
  // 62, uptime = clock - 60); the middle of that second, plus the time spent
  // here since asking.
  double idle = o.server_idle_s;
  if (idle < 0) {
    uint64_t uptime = 0;
    idle = 0;
    if (parse_int(stat_or(before, "uptime", ""), uptime) && uptime >= 2) {
      idle = static_cast<double>(uptime - 2) + 0.5 +
             std::chrono::duration<double>(std::chrono::steady_clock::now() - before_at).count();
    }
  }
  char idle_text[32];
  std::snprintf(idle_text, sizeof idle_text, "%.1f", idle);
  args.insert(args.end(), {"--idle-before", idle_text});
  const std::vector<std::string> flags = simulator_flags(server.flags, o.sim_flags);
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  SimOptions sim;
  if (const std::string error = parse_sim_options(static_cast<int>(argv.size()), argv.data(), &sim);
      !error.empty()) {
    print_stderr("the simulator's flags " + join(flags) + ": " + error);
    return 2;
  }
  LiveOptions live_options;
  live_options.host = o.host;
  live_options.port = o.port;
  live_options.speed = o.speed;
  live_options.connections = o.connections;
  live_options.window = o.window;
  live_options.fill_on_miss = fill;
  uint64_t item_size_max = 0;
  if (parse_int(stat_or(settings, "item_size_max", ""), item_size_max) && item_size_max > 0) {
    live_options.item_size_max = static_cast<uint32_t>(item_size_max);
  }
  char speed_buf[48];
  std::snprintf(speed_buf, sizeof speed_buf, "speed %g", o.speed);
  const std::string speed_text = o.speed == 0 ? "full speed" : speed_buf;
  std::fprintf(stderr,
               "memext-sim validate: replaying %s against %s:%s (version %s) at %s, %u "
               "connections, fill on miss %s\n",
               o.trace_path.c_str(), o.host.c_str(), o.port.c_str(), version.c_str(),
               speed_text.c_str(), o.connections, fill ? "on" : "off");
  const LiveResult live = run_live(*reader, live_options);
  const StatMap after = parse_stat_lines(fetch_stats(o.host, o.port, "stats"));
  if (live.sent.empty()) {
    print_stderr(o.trace_path + ": the trace holds no requests");
    return 2;
  }
  const double rate =
      live.wall_seconds > 0 ? static_cast<double>(live.sent.size()) / live.wall_seconds : 0;
  std::fprintf(stderr,
               "live: %zu requests in %.2f s (%.0f requests/s; the trace spans %.2f s), %llu "
               "fills, send lag mean %.2f ms, max %.2f ms\n",
               live.sent.size(), live.wall_seconds, rate, live.trace_seconds,
               static_cast<unsigned long long>(live.fills), live.mean_lag_us / 1000,
               static_cast<double>(live.max_lag_us) / 1000);
  if (live.error_replies != 0) {
    std::fprintf(stderr, "live: %llu error replies, the first: %s\n",
                 static_cast<unsigned long long>(live.error_replies),
                 live.first_error_reply.c_str());
  }
  if (live.dropped_replies != 0) {
    std::fprintf(stderr,
                 "live: the server dropped the replies to %llu requests (%llu gets, left out of "
                 "the live ratios) before '%s'\n",
                 static_cast<unsigned long long>(live.dropped_replies),
                 static_cast<unsigned long long>(live.dropped_get_replies),
                 std::string(kGetResponseOomLine).c_str());
  }

  // The recorded requests at their send times, through the replay path.
  {
    NativeTraceWriter writer(recorded, NativeWriterOptions{});
    for (const TraceRequest& r : live.sent) writer.write(r);
    writer.close();
  }
  auto recorded_reader = open_trace(recorded, trace_read_options(sim));
  Replayer replay(sim, fill);
  replay.run(*recorded_reader);
  const nlohmann::json report = build_report(replay, *recorded_reader);
  if (!o.sim_report_path.empty() && !write_text(o.sim_report_path, dump_report(report))) {
    print_stderr("cannot write the simulator's report '" + o.sim_report_path + "'");
    return 2;
  }

  const StatMap deltas = stat_deltas(before, after);
  const std::vector<MetricRow> rows = compare(live, deltas, report, o.thresholds);
  std::vector<std::string> failed;
  for (const MetricRow& row : rows) {
    if (!row.within) failed.push_back(row.name);
  }
  const std::string command = "memext-sim " + join(args);
  std::printf("simulator: %s%s\n", command.c_str(),
              o.recorded_path.empty() ? " (--recorded FILE keeps the recorded trace)" : "");
  std::printf("%s", format_table(rows, o.thresholds).c_str());
  if (failed.empty()) {
    std::printf("within the thresholds\n");
  } else {
    std::string names;
    for (const std::string& f : failed) names += (names.empty() ? "" : ", ") + f;
    std::printf("outside the thresholds: %s\n", names.c_str());
  }

  if (!o.out_path.empty()) {
    nlohmann::json settings_json = nlohmann::json::object();
    for (const auto& [name, value] : settings) settings_json[name] = value;
    nlohmann::json doc{
        {"schema", std::string(kSchema)},
        {"trace",
         {{"path", o.trace_path}, {"format", std::string(trace_format_name(reader->format()))}}},
        {"server",
         {{"address", o.host + ":" + o.port}, {"version", version}, {"settings", settings_json}}},
        {"live", live_json(live, o, deltas)},
        {"simulator",
         {{"command", command},
          {"flags", flags},
          {"server_flags", server.flags},
          {"user_flags", o.sim_flags},
          {"device", o.device},
          {"idle_before_s", std::stod(idle_text)},
          {"fill_on_miss", fill},
          {"recorded", o.recorded_path.empty() ? nlohmann::json() : nlohmann::json(recorded)},
          {"totals", report["totals"]}}},
        {"thresholds",
         {{"max_ratio_delta_points", o.thresholds.ratio_points},
          {"max_count_delta_pct", o.thresholds.count_pct},
          {"count_floor", o.thresholds.count_floor}}},
        {"metrics", rows_json(rows, o.thresholds)},
        {"within_thresholds", failed.empty()},
        {"outside", failed},
    };
    if (!write_text(o.out_path, doc.dump(1) + "\n")) {
      print_stderr("cannot write '" + o.out_path + "'");
      return 2;
    }
  }
  return failed.empty() ? 0 : 1;
}

}  // namespace

std::string parse_validate_options(int argc, const char* const* argv, ValidateOptions* out) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out->help = true;
      return "";
    }
    if (arg == "--") {
      out->sim_flags.assign(argv + i + 1, argv + argc);
      break;
    }
    if (arg.starts_with("--")) {
      std::string_view name = arg.substr(2);
      std::string_view value;
      if (const size_t eq = name.find('='); eq != std::string_view::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return std::string(arg) + " needs a value";
      }
      if (std::string error = apply_option(name, value, out); !error.empty()) return error;
    } else if (arg.starts_with("-") && arg.size() > 1) {
      return "unknown option " + std::string(arg) +
             " (memcached flags for the simulator go after --; see --help)";
    } else if (out->trace_path.empty()) {
      out->trace_path = std::string(arg);
    } else {
      return "unexpected argument '" + std::string(arg) + "' (one trace path only)";
    }
  }
  if (out->trace_path.empty())
    return "no trace given (usage: memext-sim validate TRACE --server HOST:PORT)";
  if (out->host.empty()) return "no --server HOST:PORT given";
  return "";
}

std::string validate_help() {
  return "usage: memext-sim validate TRACE --server HOST:PORT [--speed X|max] [options]\n"
         "                           [-- memcached flags for the simulator]\n"
         "\n"
         "Replays TRACE (any format replay reads) against a live memcached-compatible server,\n"
         "recording when each request was sent, then replays the same requests at those\n"
         "times through the simulator configured from the server's `stats settings` and\n"
         "`stats` (-m, -f, -n, -I, slab_chunk_max, LRU and crawler settings, every ext_*\n"
         "setting; the flash tier as one ext_path of the server's extstore size on a model\n"
         "drive), and prints live against predicted: RAM-hit, flash-hit and miss ratios,\n"
         "objects written to flash, compaction rescues and losses, flash page evictions, RAM\n"
         "evictions, expired items and recaches, with the deltas. Start the server fresh:\n"
         "the simulator starts empty. The live figures are the server's stat deltas over the\n"
         "run (and the gets' hits and misses as the client saw them).\n"
         "\n"
         "A get that misses is followed by a set of the traced size and TTL when fill on miss\n"
         "is on (the simulator does the same, at the get; live, one round trip later).\n"
         "\n"
         "options:\n"
         "  --server HOST:PORT       the server (memcached 1.6 or memext-server), text protocol\n"
         "  --speed X|max            trace seconds per second (default 1); 0 or max: as fast\n"
         "                           as --window allows. TTLs stay seconds of wall time\n"
         "  --connections N          connections, a key always on the same one (default 4)\n"
         "  --window N               requests in flight per connection (default 128)\n"
         "  --format F               trace format (default auto); --arrival burst|uniform|\n"
         "                           poisson and --seed N as for replay\n"
         "  --fill-on-miss on|off|auto\n"
         "                           set after a get miss (default auto: as replay does for\n"
         "                           the format: on for oracle and kvcache, else off)\n"
         "  --server-idle S          seconds the server ran before the first request (the\n"
         "                           simulator's --idle-before; default: from its uptime,\n"
         "                           +-0.5 s): an idle server's background threads have\n"
         "                           backed off, which delays its first flushes\n"
         "  --device SPEC            the simulator's drive model (default model:nvme-gen4;\n"
         "                           model[:PRESET][,key=value...], see replay --help)\n"
         "  --max-ratio-delta P      largest |predicted - live| of a ratio, in points\n"
         "                           (default 1)\n"
         "  --max-count-delta PCT    largest |predicted - live| of a count, % of live\n"
         "                           (default 5)\n"
         "  --count-floor N          count differences up to N always pass (default 10)\n"
         "  --out FILE.json          write the comparison (schema memext-sim-validate/1)\n"
         "  --recorded TRACE         keep the requests with their send times (native trace):\n"
         "                           the printed replay command reproduces the prediction\n"
         "  --sim-report FILE.json   write the simulator's full report\n"
         "  -- FLAGS                 memcached flags applied to the simulator after the\n"
         "                           server's (e.g. -- -m 16); an ext_path replaces the server's\n"
         "  -h, --help               this help\n"
         "\n"
         "exit status: 0 every metric within the thresholds, 1 some not (named on the last\n"
         "line), 2 an error (bad option, unreachable server, a setting the simulator cannot\n"
         "model).\n";
}

int validate_main(int argc, char** argv) {
  ValidateOptions options;
  if (const std::string error = parse_validate_options(argc, argv, &options); !error.empty()) {
    std::fprintf(stderr, "memext-sim validate: %s (see memext-sim validate --help)\n",
                 error.c_str());
    return 2;
  }
  if (options.help) {
    std::fputs(validate_help().c_str(), stdout);
    return 0;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    print_stderr(e.what());
    return 2;
  }
}

}  // namespace memext
