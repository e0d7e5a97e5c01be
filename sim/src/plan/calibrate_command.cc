#include "plan/calibrate_command.h"

#include <charconv>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/calibrate.h"
#include "plan/calibrate_fio.h"
#include "ssd/ssd_presets.h"
#include "ssd/ssd_spec_file.h"

namespace memext {

namespace {

struct CalibrateArgs {
  std::vector<std::string> fio_paths;
  std::string out_path;
  std::string json_path;
  CalibrateOptions options;
  bool help = false;
};

// Returns "" or the error for the command line.
std::string parse_args(int argc, char** argv, CalibrateArgs* args) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      args->help = true;
      continue;
    }
    if (!arg.starts_with("--") || arg == "-") {
      if (arg.starts_with("-")) return "unknown option '" + std::string(arg) + "' (see --help)";
      args->fio_paths.emplace_back(arg);
      continue;
    }
    std::string name(arg.substr(2));
    std::string value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (name == "out" || name == "json" || name == "base" || name == "seed") {
      if (i + 1 >= argc) return "--" + name.append(" needs a value");
      value = argv[++i];
    }
    if (name == "out") {
      args->out_path = value;
    } else if (name == "json") {
      args->json_path = value;
    } else if (name == "base") {
      args->options.base_spec = value;
      std::string expanded;
      SsdModelParams probe;
      std::string error = expand_ssd_spec_file(value, &expanded);
      if (error.empty()) error = parse_ssd_model_spec(expanded, &probe);
      if (!error.empty()) return "--base '" + value + "': " + error;
    } else if (name == "seed") {
      auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), args->options.seed);
      if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
        return "--seed '" + value + "' is not an unsigned integer";
      }
    } else {
      return "unknown option '--" + name + "' (allowed: --out, --json, --base, --seed, --help)";
    }
  }
  if (args->help) return "";
  if (args->fio_paths.empty()) return "needs at least one fio JSON file (see --help)";
  if (args->out_path.empty()) return "needs --out DRIVE.spec";
  return "";
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

}  // namespace

std::string calibrate_help() {
  return "usage: memext-sim calibrate FIO.json... --out DRIVE.spec [--json FIT.json]\n"
         "                            [--base SPEC] [--seed N]\n"
         "\n"
         "Fits the simulator's SSD model (units, per-IO service time and unit transfer\n"
         "rates, IOPS and bandwidth caps) to fio measurements of a real device, and\n"
         "writes DRIVE.spec for `replay --device model:@DRIVE.spec` and\n"
         "`plan --drive @DRIVE.spec:CAPACITY`. Each measurement is compared with the\n"
         "model run on the job's own IO pattern (the code replays use), and the table\n"
         "of measured against modelled IOPS, latency and MB/s is printed and kept as\n"
         "comments in DRIVE.spec.\n"
         "\n"
         "FIO.json is `fio --output-format=json` output; jobs must run one at a time\n"
         "(stonewall; group_reporting with numjobs > 1). Give, for each direction:\n"
         "queue-depth-1 jobs at two block sizes up to the chunk (4k and 16k: fixed\n"
         "service time and unit rate), random 4k at several depths (units, IOPS cap),\n"
         "a large-block job at depth (bandwidth cap), and a mixed randrw job\n"
         "(interference). bench/fio_calibrate.sh runs such a set and calibrates.\n"
         "Write amplification is left at 1 (seconds of fio do not reach steady-state\n"
         "garbage collection); set op= or wa= after the path to model it.\n"
         "\n"
         "options:\n"
         "  --out DRIVE.spec   the calibrated spec (comments, then one spec line)\n"
         "  --json FIT.json    the fit as JSON: spec, per-measurement figures, errors\n"
         "  --base SPEC        model spec to start from (default model:nvme-gen4; also\n"
         "                     model:@FILE); its chunk_kb, op, align and the values\n"
         "                     the jobs do not identify are kept\n"
         "  --seed N           seed of the model runs' random offsets (default 1)\n"
         "  -h, --help         this help\n";
}

int calibrate_main(int argc, char** argv) {
  CalibrateArgs args;
  if (std::string error = parse_args(argc, argv, &args); !error.empty()) {
    std::fprintf(stderr, "memext-sim calibrate: %s\n", error.c_str());
    return 2;
  }
  if (args.help) {
    std::fputs(calibrate_help().c_str(), stdout);
    return 0;
  }
  try {
    std::vector<FioJob> jobs;
    for (const std::string& path : args.fio_paths) {
      std::vector<FioJob> more = read_fio_file(path);
      jobs.insert(jobs.end(), more.begin(), more.end());
    }
    const CalibrationResult result = calibrate_ssd_model(jobs, args.options);
    std::fputs(calibration_table(result).c_str(), stdout);
    if (!write_file(args.out_path, calibration_spec_file(result, args.fio_paths))) {
      std::fprintf(stderr, "memext-sim calibrate: cannot write '%s'\n", args.out_path.c_str());
      return 1;
    }
    if (!args.json_path.empty() &&
        !write_file(args.json_path, calibration_to_json(result).dump(2) + "\n")) {
      std::fprintf(stderr, "memext-sim calibrate: cannot write '%s'\n", args.json_path.c_str());
      return 1;
    }
    std::printf("spec: %s\nwritten to %s\n", format_ssd_model_spec(result.params).c_str(),
                args.out_path.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memext-sim calibrate: %s\n", e.what());
    return 1;
  }
}

}  // namespace memext
