#include "plan/sweep_command.h"

#include <charconv>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "plan/slurm_submit.h"
#include "plan/sweep.h"

namespace memext {

namespace {

struct SweepCommandLine {
  std::string trace;
  std::vector<std::string> replay_args;
  std::vector<SweepAxis> axes;
  std::string out_dir;
  unsigned jobs = 0;  // 0 = every core
  bool slurm = false;
  SlurmOptions slurm_options;
  std::string cell_dir, cell;  // --cell DIR CELL
  std::string merge_dir;       // --merge DIR
  bool help = false;
};

std::string help_text() {
  return "usage: memext-sim sweep TRACE --grid NAME=v1,v2,... [--grid ...] [replay options]\n"
         "                        [memcached flags] --out DIR [--jobs N]\n"
         "                        [--slurm [--partition P] [--sbatch-arg ARG]...]\n"
         "       memext-sim sweep --merge DIR\n"
         "       memext-sim sweep --cell DIR ID|INDEX\n"
         "\n"
         "Replays TRACE once per cell of the cross product of the --grid axes, each cell an\n"
         "ordinary deterministic `memext-sim replay` with the fixed flags plus the cell's\n"
         "values (its report in DIR/cells/<id>/report.json, the same as a single replay with\n"
         "those args), and merges the cells into DIR/sweep.json and DIR/sweep.csv: per cell\n"
         "the flags, hit / byte-hit / RAM-hit / flash-hit ratios, misses by cause, flash\n"
         "bytes written, DWPD, RAM bytes and RAM used, compaction rescues and lost.\n"
         "Every cell's args are checked before anything runs. DIR/sweep_spec.json lists\n"
         "each cell's full replay args; traces/SWEEP_SCHEMA.md documents DIR and the table.\n"
         "\n"
         "  --grid NAME=v1,v2,...   an axis (repeatable). NAME: " +
         sweep_axis_names_help() +
         ".\n"
         "  --out DIR               the sweep directory (required). A rerun with the same\n"
         "                          trace, flags and grid resumes: finished cells are kept;\n"
         "                          a different sweep into the same DIR is refused.\n"
         "  --jobs N                replays at once (default: the number of cores)\n"
         "  --slurm                 submit the unfinished cells as Slurm job arrays (sbatch\n"
         "                          --array), one cell per task, as many arrays as the\n"
         "                          cluster's MaxArraySize needs (scontrol show config;\n"
         "                          1001 if it cannot tell), and a merge job that runs\n"
         "                          after all of them; DIR, TRACE and this memext-sim must\n"
         "                          be at the same paths on every node. Returns after\n"
         "                          submitting.\n"
         "  --partition P           the Slurm partition (default: the cluster's)\n"
         "  --sbatch-arg ARG        an extra sbatch option for every job, e.g.\n"
         "                          --sbatch-arg=--time=2:00:00 (repeatable)\n"
         "  --merge DIR             write DIR/sweep.json and sweep.csv from the finished\n"
         "                          cells (exit 1 when some are missing)\n"
         "  --cell DIR ID|INDEX     run one cell of DIR in this process (a Slurm task)\n"
         "  -h, --help              this help\n"
         "\n"
         "Everything else is passed to each replay (see memext-sim replay --help), e.g.\n"
         "  memext-sim sweep trace.mxt -o ext_path=/flash:8g --grid m=1024,2048,4096 \\\n"
         "      --grid ext_path_size=8g,16g --grid ext_item_age=0,3600 --out sweep-1\n";
}

// Replay options that stand alone (every other --name takes a value).
bool replay_switch(std::string_view name) {
  return name == "strict" || name == "help" || name == "disable-evictions" || name == "disable-cas";
}

bool parse_jobs(std::string_view text, unsigned* out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size() && *out >= 1 && *out <= 4096;
}

// Returns "" or the error.
std::string parse_command_line(int argc, char** argv, SweepCommandLine* out) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view name = arg, value;
    bool inline_value = false;
    if (arg.starts_with("--")) {
      if (size_t eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inline_value = true;
      }
    }
    auto take_value = [&]() -> std::string {
      if (inline_value) return "";
      if (i + 1 >= args.size()) return std::string(name) + " needs a value";
      value = args[++i];
      return "";
    };
    std::string error;
    if (arg == "-h" || arg == "--help") {
      out->help = true;
      return "";
    } else if (name == "--grid") {
      if (error = take_value(); error.empty()) {
        SweepAxis axis;
        error = parse_grid_option(value, &axis);
        out->axes.push_back(std::move(axis));
      }
    } else if (name == "--out") {
      if (error = take_value(); error.empty()) out->out_dir = std::string(value);
    } else if (name == "--jobs") {
      if (error = take_value(); error.empty() && !parse_jobs(value, &out->jobs)) {
        error = "--jobs '" + std::string(value) + "' must be an integer from 1 to 4096";
      }
    } else if (name == "--slurm") {
      out->slurm = true;
    } else if (name == "--partition") {
      if (error = take_value(); error.empty()) out->slurm_options.partition = std::string(value);
    } else if (name == "--sbatch-arg") {
      if (error = take_value(); error.empty()) {
        out->slurm_options.sbatch_args.emplace_back(value);
      }
    } else if (name == "--merge") {
      if (error = take_value(); error.empty()) out->merge_dir = std::string(value);
    } else if (name == "--cell") {
      if (i + 2 >= args.size()) return "--cell needs DIR and a cell id or index";
      out->cell_dir = std::string(args[i + 1]);
      out->cell = std::string(args[i + 2]);
      i += 2;
    } else if (arg.starts_with("--")) {
      out->replay_args.emplace_back(arg);
      if (!inline_value && !replay_switch(arg.substr(2)) && i + 1 < args.size()) {
        out->replay_args.emplace_back(args[++i]);
      }
    } else if (arg.size() >= 2 && arg[0] == '-') {
      out->replay_args.emplace_back(arg);
      const char letter = arg[1];
      const bool takes_value =
          letter == 'o' || letter == 'm' || letter == 'I' || letter == 'f' || letter == 'n';
      if (takes_value && arg.size() == 2 && i + 1 < args.size()) {
        out->replay_args.emplace_back(args[++i]);
      }
    } else if (out->trace.empty()) {
      out->trace = std::string(arg);
    } else {
      return "unexpected argument '" + std::string(arg) + "' (one trace path only)";
    }
    if (!error.empty()) return error;
  }
  if (!out->cell_dir.empty() || !out->merge_dir.empty()) return "";
  if (out->trace.empty())
    return "no trace given (usage: memext-sim sweep TRACE --grid ... --out DIR)";
  if (out->out_dir.empty()) return "no --out DIR given (the sweep's directory)";
  if (out->slurm && out->jobs != 0)
    return "--jobs is for local runs; --slurm runs one cell per array task";
  if (!out->slurm &&
      (!out->slurm_options.partition.empty() || !out->slurm_options.sbatch_args.empty())) {
    return "--partition and --sbatch-arg need --slurm";
  }
  return "";
}

int report_merge(const SweepTable& table, const std::string& dir) {
  std::fprintf(stderr, "sweep: %zu rows in %s/sweep.json and %s/sweep.csv\n",
               table.json.at("rows").size(), dir.c_str(), dir.c_str());
  if (table.missing.empty()) return 0;
  std::string ids;
  for (const std::string& id : table.missing) ids += " " + id;
  std::fprintf(stderr, "sweep: %zu cells have no report yet:%s\n", table.missing.size(),
               ids.c_str());
  return 1;
}

}  // namespace

int sweep_main(int argc, char** argv) {
  SweepCommandLine line;
  if (const std::string error = parse_command_line(argc, argv, &line); !error.empty()) {
    std::fprintf(stderr, "memext-sim sweep: %s\n", error.c_str());
    return 2;
  }
  if (line.help) {
    std::fputs(help_text().c_str(), stdout);
    return 0;
  }
  try {
    if (!line.cell_dir.empty()) return run_sweep_cell(line.cell_dir, line.cell);
    if (!line.merge_dir.empty()) {
      return report_merge(merge_sweep(line.merge_dir, load_sweep_spec(line.merge_dir)),
                          line.merge_dir);
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(line.trace, ec)) {
      std::fprintf(stderr, "memext-sim sweep: trace '%s' is not a file\n", line.trace.c_str());
      return 2;
    }
    SweepSpec spec;
    if (const std::string error = build_sweep_spec(line.trace, line.replay_args, line.axes, &spec);
        !error.empty()) {
      std::fprintf(stderr, "memext-sim sweep: %s\n", error.c_str());
      return 2;
    }
    if (line.slurm) {
      prepare_sweep_dir(line.out_dir, spec);
      line.slurm_options.sim_binary = own_binary_path();
      const SlurmSubmission s = submit_sweep_to_slurm(line.out_dir, spec, line.slurm_options);
      if (s.cells == 0) {
        std::fprintf(stderr, "sweep: every cell has finished; merging here\n");
        return report_merge(merge_sweep(line.out_dir, spec), line.out_dir);
      }
      std::string arrays;
      for (const std::string& id : s.array_job_ids) arrays += (arrays.empty() ? "" : " ") + id;
      std::printf("submitted %zu of %zu cells: array job%s %s, merge job %s (logs in %s)\n",
                  s.cells, spec.cells.size(), s.array_job_ids.size() == 1 ? "" : "s",
                  arrays.c_str(), s.merge_job_id.c_str(), s.script_dir.c_str());
      if (s.array_job_ids.size() > 1) {
        std::printf("(%zu arrays of at most %zu tasks: the cluster's MaxArraySize)\n",
                    s.array_job_ids.size(), s.max_array_size);
      }
      return 0;
    }
    SweepRunOptions options;
    options.out_dir = line.out_dir;
    options.jobs = line.jobs != 0 ? line.jobs : std::max(1u, std::thread::hardware_concurrency());
    const SweepOutcome outcome = run_sweep(spec, options);
    const int code = report_merge(outcome.table, line.out_dir);
    for (const std::string& failure : outcome.failed) {
      std::fprintf(stderr, "sweep: failed: %s\n", failure.c_str());
    }
    return outcome.failed.empty() ? code : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memext-sim sweep: %s\n", e.what());
    return 1;
  }
}

}  // namespace memext
