// sweep_dir.h — a sweep directory on disk (Contract 1): DIR/sweep_spec.json,
// DIR/cells/<id>/report.json (present = the cell finished: written to a temp
// name and renamed), DIR/sweep.json and DIR/sweep.csv. The resume rule lives
// here: a DIR is reused only for the very same spec.
#pragma once

#include <stdexcept>
#include <string>

#include "plan/sweep_spec.h"

namespace memext {

// A sweep directory that cannot be used (other spec, unreadable, ...).
struct SweepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string sweep_spec_path(const std::string& dir);
std::string cell_dir(const std::string& dir, const SweepCell& cell);
std::string cell_report_path(const std::string& dir, const SweepCell& cell);
std::string cell_report_temp_path(const std::string& dir, const SweepCell& cell);
std::string cell_log_path(const std::string& dir, const SweepCell& cell);

// Creates DIR and writes the spec, or checks that DIR already holds this
// very spec (a resumed sweep). Throws SweepError naming what differs.
void prepare_sweep_dir(const std::string& dir, const SweepSpec& spec);

// Reads DIR/sweep_spec.json. Throws SweepError.
SweepSpec load_sweep_spec(const std::string& dir);

bool cell_finished(const std::string& dir, const SweepCell& cell);

// Writes text to path through path.tmp and a rename, so readers never see a
// partial file. Throws SweepError.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace memext
