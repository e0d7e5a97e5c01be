// sweep_spec.h — what a sweep runs: the grid's axes expanded into cells, each
// cell the full argument list of one `memext-sim replay`, checked by the
// replay's own option parser before anything runs. Stored as
// DIR/sweep_spec.json (schema memext-sim-sweep-spec/1) so a rerun can tell
// whether DIR holds the same sweep.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace memext {

// One grid axis: a memcached flag letter (m, I, f, n, M, C), an -o option
// name (ext_item_age, ...), ext_path_size or sample, and its values as given.
struct SweepAxis {
  std::string name;
  std::vector<std::string> values;
};

struct SweepCell {
  std::string id;                 // c0000, c0001, ... in cross-product order
  std::vector<std::string> args;  // replay args: the trace first, no --out
  std::vector<std::pair<std::string, std::string>> flags;  // axis name -> value, axis order
};

struct SweepSpec {
  std::string trace;                   // absolute path
  std::vector<std::string> base_args;  // replay args without the trace and --out
  std::vector<SweepAxis> axes;
  std::vector<SweepCell> cells;
};

inline constexpr std::string_view kSweepSpecSchema = "memext-sim-sweep-spec/1";

// "m=64,128" -> {m, {64, 128}}. Returns "" or the error (text names the bad
// part). Checks the shape only; build_sweep_spec checks names and values.
std::string parse_grid_option(std::string_view text, SweepAxis* out);

// The names an axis may have, for errors and --help.
std::string sweep_axis_names_help();

// Expands the cross product (the last axis varies fastest) and parses every
// cell's args with the replay's parser. Returns "" or an error naming the bad
// axis, value or cell and what is allowed.
std::string build_sweep_spec(const std::string& trace, const std::vector<std::string>& base_args,
                             const std::vector<SweepAxis>& axes, SweepSpec* out);

nlohmann::json sweep_spec_to_json(const SweepSpec& spec);
// Returns "" or what is wrong with the JSON.
std::string sweep_spec_from_json(const nlohmann::json& json, SweepSpec* out);

}  // namespace memext
