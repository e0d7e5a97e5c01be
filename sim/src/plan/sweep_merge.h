// sweep_merge.h — the merged table of a sweep: one row per finished cell
// (its flags and summarize_report of its report), written as DIR/sweep.json
// (schema memext-sim-sweep/1) and DIR/sweep.csv. Reads only DIR, so the
// local runner and a Slurm merge job produce the same files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/sweep_spec.h"

namespace memext {

inline constexpr std::string_view kSweepTableSchema = "memext-sim-sweep/1";

struct SweepTable {
  nlohmann::json json;               // the sweep.json object
  std::vector<std::string> missing;  // ids of cells without a report
};

// Builds the table from DIR's cell reports. Throws SweepError on a report
// that cannot be read.
SweepTable build_sweep_table(const std::string& dir, const SweepSpec& spec);

// The rows as CSV: flag.<axis> columns, id, then the summary fields (nested
// objects flattened with dots), null as an empty field.
std::string sweep_table_csv(const nlohmann::json& table);

// build_sweep_table + writes DIR/sweep.json and DIR/sweep.csv atomically.
SweepTable merge_sweep(const std::string& dir, const SweepSpec& spec);

}  // namespace memext
