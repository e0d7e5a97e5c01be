// memext-sim: the trace-driven simulator's command line. Each subcommand is
// one function taking its own arguments; `memext-sim --help` lists them.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "capture/capture_command.h"
#include "gen/gen_trace.h"
#include "gen/workload.h"
#include "plan/calibrate_command.h"
#include "plan/plan.h"
#include "plan/sweep_command.h"
#include "replay/replay_command.h"
#include "replay/sim_options.h"
#include "report/html.h"
#include "traces/trace_csv_writer.h"
#include "traces/trace_native.h"
#include "traces/trace_oracle_pass.h"
#include "traces/trace_reader.h"
#include "validate/validate_command.h"

namespace po = boost::program_options;

namespace {

using memext::TraceError;
using memext::WorkloadError;

// run() gets the subcommand's own arguments with argv[0] = the subcommand's
// name, returns the exit code, and may throw the exceptions main() reports.
struct Subcommand {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);
};

int run_gen(int argc, char** argv);
int run_info(int argc, char** argv);
int run_convert(int argc, char** argv);

constexpr Subcommand kSubcommands[] = {
    {"replay", "replay a trace through the engine and write a JSON report", memext::replay_main},
    {"gen", "generate a synthetic trace from a workload JSON", run_gen},
    {"info", "read a trace of any supported format and summarise it", run_info},
    {"convert", "convert a trace of any supported format to native (or to CSV)", run_convert},
    {"sweep", "replay a trace over a grid of flags and sizes; one merged table",
     memext::sweep_main},
    {"plan", "find the cheapest RAM + flash configuration meeting a hit-ratio target",
     memext::plan_main},
    {"report", "draw reports, sweeps and plans as one self-contained HTML page",
     memext::report_main},
    {"calibrate", "fit the SSD model to fio results of a real drive (writes DRIVE.spec)",
     memext::calibrate_main},
    {"capture", "record a live memcached's gets and stores (watch) into a native trace",
     memext::capture_main},
    {"validate", "replay a trace against a live server and the simulator; compare the two",
     memext::validate_main},
};

void print_usage(std::ostream& out) {
  out << "usage: memext-sim <command> [options]\n"
         "       memext-sim <command> --help\n\n"
         "memext-sim replays cache traces through the memext engine in virtual time.\n\n"
         "commands:\n";
  for (const Subcommand& c : kSubcommands) {
    out << "  " << c.name << std::string(10 - c.name.size(), ' ') << c.summary << "\n";
  }
  out << "\ntrace formats (read with --format or detected): " << memext::trace_format_names_list()
      << "; any of them may be zstd-compressed.\n"
      << "see traces/README.md for every format and the workload JSON.\n";
}

// Parses args; returns false after printing help. Throws po::error.
bool parse(int argc, char** argv, const po::options_description& visible,
           const po::positional_options_description& positional, po::variables_map& vm,
           std::string_view usage) {
  po::options_description all;
  all.add(visible);
  po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << usage << "\n" << visible;
    return false;
  }
  po::notify(vm);
  return true;
}

memext::TraceFormat format_option(const std::string& text) {
  auto f = memext::parse_trace_format(text);
  if (!f) {
    throw po::error("--format '" + text + "' is not a trace format (allowed: " +
                    std::string(memext::trace_format_names_list()) + ")");
  }
  return *f;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_gen(int argc, char** argv) {
  po::options_description opts("gen options");
  std::string workload_path;
  std::string out_path;
  int zstd_level = 3;
  opts.add_options()("help,h", "show this help")("workload", po::value(&workload_path)->required(),
                                                 "workload JSON (positional)")(
      "out,o", po::value(&out_path)->required(),
      "output trace, native format; zstd-compressed if the name ends in .zst")(
      "seed", po::value<uint64_t>(), "override the workload's seed")(
      "zstd-level", po::value(&zstd_level)->default_value(3), "zstd level for .zst output (1..19)");
  po::positional_options_description pos;
  pos.add("workload", 1);
  po::variables_map vm;
  if (!parse(argc, argv, opts, pos, vm,
             "usage: memext-sim gen WORKLOAD.json --out TRACE [--seed N] [--zstd-level L]\n\n"
             "Generates a deterministic synthetic trace: the same workload and seed give a\n"
             "byte-identical file. The workload JSON is described in traces/README.md.")) {
    return 0;
  }
  if (zstd_level < 1 || zstd_level > 19) {
    throw po::error("--zstd-level " + std::to_string(zstd_level) +
                    " is out of range (allowed: 1..19)");
  }
  memext::WorkloadSpec spec = memext::load_workload_file(workload_path);
  if (vm.count("seed")) spec.seed = vm["seed"].as<uint64_t>();
  auto start = std::chrono::steady_clock::now();
  memext::GenerateResult r = memext::generate_trace_file(spec, out_path, zstd_level);
  double secs = seconds_since(start);
  std::string distinct =
      r.distinct_keys ? std::to_string(*r.distinct_keys) : std::string("(not counted)");
  std::printf("wrote %s: %llu requests, %s distinct keys, seed %llu, %.2f s (%.0f req/s)\n",
              out_path.c_str(), static_cast<unsigned long long>(r.requests), distinct.c_str(),
              static_cast<unsigned long long>(spec.seed), secs, r.requests / secs);
  return 0;
}

// Shared by info and convert: the reader options every trace-reading command takes.
void add_read_options(po::options_description& opts, std::string& format, bool& strict) {
  opts.add_options()("format,f", po::value(&format)->default_value("auto"),
                     "trace format: auto, native, oracle, twitter, kvcache, csv, watch")(
      "strict", po::bool_switch(&strict),
      "stop at the first malformed record instead of skipping it");
}

void print_read_errors(const memext::TraceReader& reader) {
  const memext::TraceReadStats& s = reader.stats();
  if (reader.format() == memext::TraceFormat::kWatch) {
    std::fprintf(stderr,
                 "watch log: %llu lines dropped by the server (skipped=N), %llu store lookups "
                 "folded into their stores, %llu get misses without a size skipped, %llu lines "
                 "of other streams ignored\n",
                 static_cast<unsigned long long>(s.source_dropped_lines),
                 static_cast<unsigned long long>(s.store_lookups),
                 static_cast<unsigned long long>(s.unsized_gets),
                 static_cast<unsigned long long>(s.ignored_lines));
  }
  if (s.malformed == 0) return;
  std::fprintf(stderr, "%llu malformed records skipped; first ones:\n",
               static_cast<unsigned long long>(s.malformed));
  for (const std::string& e : s.errors) std::fprintf(stderr, "  %s\n", e.c_str());
}

int run_info(int argc, char** argv) {
  po::options_description opts("info options");
  std::string path;
  std::string format;
  bool strict = false;
  opts.add_options()("help,h", "show this help")("trace", po::value(&path)->required(),
                                                 "trace file (positional), - for stdin");
  add_read_options(opts, format, strict);
  po::positional_options_description pos;
  pos.add("trace", 1);
  po::variables_map vm;
  if (!parse(argc, argv, opts, pos, vm,
             "usage: memext-sim info TRACE [--format F] [--strict]\n\n"
             "Reads the whole trace and prints its format, request count, time span, op mix\n"
             "and mean sizes, and the malformed records it skipped.")) {
    return 0;
  }
  memext::TraceReadOptions ro{format_option(format), strict};
  auto reader = memext::open_trace(path, ro);
  uint64_t ops[memext::kOpCount] = {};
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
  double key_bytes = 0;
  double value_bytes = 0;
  auto start = std::chrono::steady_clock::now();
  memext::TraceRequest batch[1024];
  uint64_t n = 0;
  while (size_t got = reader->next_batch(batch, 1024)) {
    for (size_t i = 0; i < got; ++i) {
      const memext::TraceRequest& r = batch[i];
      if (n++ == 0) first_ns = r.time_ns;
      last_ns = r.time_ns;
      ++ops[static_cast<size_t>(r.op)];
      key_bytes += r.key_size;
      value_bytes += r.value_size;
    }
  }
  double secs = seconds_since(start);
  std::printf("trace      %s\nformat     %s%s\nrequests   %llu\nmalformed  %llu\n", path.c_str(),
              std::string(memext::trace_format_name(reader->format())).c_str(),
              reader->compressed() ? " (zstd)" : "", static_cast<unsigned long long>(n),
              static_cast<unsigned long long>(reader->stats().malformed));
  if (n > 0) {
    std::printf("time span  %.3f s\nkey size   %.1f B mean\nvalue size %.1f B mean\nops       ",
                (last_ns - first_ns) / 1e9, key_bytes / n, value_bytes / n);
    for (int op = 0; op < memext::kOpCount; ++op) {
      if (ops[op] == 0) continue;
      std::printf(" %s=%.4f", std::string(memext::op_name(static_cast<memext::Op>(op))).c_str(),
                  static_cast<double>(ops[op]) / n);
    }
    std::printf("\nread rate  %.0f records/s\n", n / secs);
  }
  print_read_errors(*reader);
  return 0;
}

// Copies every request of `reader` to `writer`, with next_access replaced by
// oracle[i] when an oracle is given; returns the number written.
template <typename Writer>
uint64_t copy_trace(memext::TraceReader& reader, Writer& writer,
                    const std::vector<int64_t>* oracle) {
  memext::TraceRequest batch[1024];
  uint64_t written = 0;
  while (size_t got = reader.next_batch(batch, 1024)) {
    for (size_t i = 0; i < got; ++i) {
      if (oracle != nullptr) {
        if (written + i >= oracle->size()) {
          throw TraceError(reader.path() + ": has more requests than in the oracle pass");
        }
        batch[i].next_access = (*oracle)[written + i];
      }
      writer.write(batch[i]);
    }
    written += got;
  }
  if (oracle != nullptr && written != oracle->size()) {
    throw TraceError(reader.path() + ": has fewer requests than in the oracle pass");
  }
  writer.close();
  return written;
}

int run_convert(int argc, char** argv) {
  po::options_description opts("convert options");
  std::string in_path;
  std::string out_path;
  std::string format;
  bool strict = false;
  bool oracle = false;
  int zstd_level = 3;
  std::string arrival_text = "burst";
  uint64_t seed = 1;
  opts.add_options()("help,h", "show this help")("trace", po::value(&in_path)->required(),
                                                 "input trace (positional), - for stdin")(
      "arrival", po::value(&arrival_text)->default_value("burst"),
      "traces timed in whole seconds (twitter, oracle, kvcache): burst keeps the times (a native "
      "OUT is marked so replays place each second's requests as for the source), uniform or "
      "poisson writes sub-second times")("seed", po::value(&seed)->default_value(1),
                                         "seed for --arrival poisson")(
      "out,o", po::value(&out_path)->required(),
      "output trace: native (compressed if it ends in .zst), or generic CSV if it ends in .csv")(
      "oracle", po::bool_switch(&oracle),
      "fill next_access (each request's next request for the same key) in a first pass; "
      "needs 16 bytes of memory per request and a file, not stdin")(
      "zstd-level", po::value(&zstd_level)->default_value(3), "zstd level for .zst output (1..19)");
  add_read_options(opts, format, strict);
  po::positional_options_description pos;
  pos.add("trace", 1);
  po::variables_map vm;
  if (!parse(argc, argv, opts, pos, vm,
             "usage: memext-sim convert TRACE --out OUT [--oracle] [--format F] [--strict]\n"
             "                          [--arrival burst|uniform|poisson] [--seed N]\n\n"
             "Rewrites any supported trace in the native format, which replays fastest\n"
             "(OUT.mxt, or OUT.mxt.zst compressed), or as generic CSV with every field\n"
             "when OUT ends in .csv (for inspection; it reads back unchanged).")) {
    return 0;
  }
  if (zstd_level < 1 || zstd_level > 19) {
    throw po::error("--zstd-level " + std::to_string(zstd_level) +
                    " is out of range (allowed: 1..19)");
  }
  if (oracle && in_path == "-") {
    throw po::error("--oracle reads the trace twice, so TRACE must be a file, not '-'");
  }
  const std::optional<memext::Arrival> arrival = memext::parse_arrival(arrival_text);
  if (!arrival) {
    throw po::error("--arrival '" + arrival_text +
                    "' is not an arrival (allowed: burst, uniform, poisson)");
  }
  memext::TraceReadOptions read_options{format_option(format), strict};
  read_options.arrival = *arrival;
  // As replay mixes its --seed: convert --arrival poisson --seed N writes the
  // times replay --seed N would use.
  memext::SimOptions seeded;
  seeded.seed = seed;
  read_options.arrival_seed = memext::trace_read_options(seeded).arrival_seed;
  std::vector<int64_t> next_access;
  if (oracle) {
    auto first_pass = memext::open_trace(in_path, read_options);
    next_access = memext::compute_next_access(*first_pass);
  }
  auto reader = memext::open_trace(in_path, read_options);
  const std::vector<int64_t>* oracle_data = oracle ? &next_access : nullptr;
  uint64_t written = 0;
  if (out_path.ends_with(".csv")) {
    memext::CsvTraceWriter writer(out_path);
    written = copy_trace(*reader, writer, oracle_data);
  } else {
    memext::NativeWriterOptions wo;
    wo.zstd_level = zstd_level;
    if (oracle || reader->format() == memext::TraceFormat::kOracleGeneral) {
      wo.flags |= memext::kNativeFlagOracle;
    }
    if (*arrival == memext::Arrival::kBurst && reader->second_resolution()) {
      wo.flags |= memext::kNativeFlagSecondResolution;
    }
    memext::NativeTraceWriter writer(out_path, wo);
    written = copy_trace(*reader, writer, oracle_data);
  }
  std::printf("wrote %s: %llu requests from %s (%s)%s\n", out_path.c_str(),
              static_cast<unsigned long long>(written), in_path.c_str(),
              std::string(memext::trace_format_name(reader->format())).c_str(),
              oracle ? " with oracle next_access" : "");
  print_read_errors(*reader);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(std::cout);
    return 0;
  }
  for (const Subcommand& c : kSubcommands) {
    if (c.name != command) continue;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const po::error& e) {
      std::fprintf(stderr, "memext-sim %s: %s (see memext-sim %s --help)\n", argv[1], e.what(),
                   argv[1]);
    } catch (const WorkloadError& e) {
      std::fprintf(stderr, "memext-sim %s: %s\n", argv[1], e.what());
    } catch (const TraceError& e) {
      std::fprintf(stderr, "memext-sim %s: %s\n", argv[1], e.what());
    }
    return 2;
  }
  std::string names;
  for (const Subcommand& c : kSubcommands)
    names += (names.empty() ? "" : ", ") + std::string(c.name);
  std::fprintf(stderr, "memext-sim: unknown command '%s' (allowed: %s; see memext-sim --help)\n",
               argv[1], names.c_str());
  return 2;
}
