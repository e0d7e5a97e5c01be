// plan/ — the planning layer: drivers of `memext-sim replay` that answer
// capacity questions (sweeps over flags and sizes, their merged tables, Slurm
// scale-out; sampling, curves and plan build on these). It never reaches
// into the engine: every figure comes from an ordinary replay report.
//
// sweep.h — run a grid: each cell one deterministic replay, as a child
// process `memext-sim replay ... --out DIR/cells/<id>/report.json.tmp`
// renamed when it exits 0, N at a time; finished cells are skipped on a
// rerun; the result is merged into DIR/sweep.json and DIR/sweep.csv.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "plan/sweep_dir.h"
#include "plan/sweep_merge.h"
#include "plan/sweep_spec.h"

namespace memext {

struct SweepRunOptions {
  std::string out_dir;
  unsigned jobs = 1;  // cells run at once
  // The memext-sim to run cells with; empty = this process's own binary.
  std::string sim_binary;
  bool progress = true;  // a line on stderr per finished cell
};

struct SweepOutcome {
  size_t cells = 0;
  size_t resumed = 0;               // finished before this run
  size_t ran = 0;                   // finished in this run
  std::vector<std::string> failed;  // "c0003: exit 1 (see DIR/cells/c0003/replay.log)"
  SweepTable table;                 // merged (rows of every finished cell)
};

// Prepares DIR (the resume rule of prepare_sweep_dir), runs every unfinished
// cell, merges. Throws SweepError when DIR cannot be used.
SweepOutcome run_sweep(const SweepSpec& spec, const SweepRunOptions& options);

// Runs one cell in this process (a Slurm array task): a no-op when it has
// finished already. `cell` is an id (c0003) or an index. Returns the replay's
// exit code. Throws SweepError.
int run_sweep_cell(const std::string& dir, const std::string& cell);

// The path of the running memext-sim (resolved /proc/self/exe).
std::string own_binary_path();

}  // namespace memext
