// plan/ — the planning layer: drivers of replay that answer capacity
// questions (sweeps, sampled what-ifs, curves, plan, calibration). They build
// replay command lines and read reports; they never reach into the engine.
//
// plan.h — `memext-sim plan`: the cheapest RAM + flash + ext_* configuration
// that meets a hit-ratio target under a DWPD limit. A coarse grid of RAM
// sizes x flash sizes is replayed (sampled with --sample), the RAM size of
// each flash size is refined between the last grid point that misses the
// target and the first that meets it: first where a hit-ratio curve fitted to
// the grid points (plan/curve_fit.h) crosses the target, then by bisection.
// For each flash size the searched ext_* settings (--search) are then varied
// one at a time (coarse values, then the midpoints next to the best) at the
// largest grid RAM that missed the targets, and when a setting does better
// there the RAM search runs again with it. The cheapest candidate is
// confirmed by a full replay. When nothing meets the targets the result
// names the limit that binds: the ceiling (first-request misses), RAM taken
// by item headers of flash objects, or the drive's DWPD.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace memext {

// One ext_* setting the plan searches: its values in the order given; the
// first is where the search starts (memcached's default in the defaults).
struct PlanSearchAxis {
  std::string name;
  std::vector<std::string> values;
};

// name=value pairs of ext_* settings, in the order of PlanOptions::search.
using PlanSettings = std::vector<std::pair<std::string, std::string>>;

// The ext_* options --search takes (each numeric; other -o options pass
// through unchanged and are not searched).
const std::vector<std::string>& plan_searchable_options();

struct PlanOptions {
  std::string trace_path;
  std::vector<std::string> base_args;  // replay options and memcached flags, passed through
  double target_hit_ratio = 0;
  double max_dwpd = 0;           // 0 = no limit
  std::string drive_preset;      // model preset for --device; empty = default
  uint64_t drive_bytes = 0;      // 0 = no drive given: DWPD against the ext_path size
  double drive_tbw = 0;          // terabytes written over the drive's life; 0 = default
  double cost_ram_per_gb = 4.0;  // $ per GB
  double cost_flash_per_gb = 0.1;
  double sample_rate = 1;             // grid replays' --sample; the winner is replayed in full
  std::vector<uint64_t> ram_mb;       // RAM grid (-m values)
  std::vector<uint64_t> flash_bytes;  // flash grid (0 = no flash tier)
  uint32_t refine_steps = 3;          // bisection steps per flash size
  // ext_* settings searched at each flash size > 0; empty = none.
  std::vector<PlanSearchAxis> search;
  std::string flash_path = "/var/lib/memcached/extstore";
  std::string out_path = "plan.json";
  bool help = false;
};

// "" or an error naming the bad argument. argv[0] is "plan".
std::string parse_plan_options(int argc, const char* const* argv, PlanOptions* out);
std::string plan_help();

// One replayed configuration with its figures (full-scale units where the
// replay was sampled: bytes written are divided by the rate).
struct PlanCandidate {
  uint64_t ram_mb = 0;
  uint64_t flash_bytes = 0;
  PlanSettings settings;  // the searched ext_* values (none without flash)
  double sample_rate = 1;
  double hit_ratio = 0;
  double byte_hit_ratio = 0;
  double ceiling_hit_ratio = 0;
  double flash_bytes_per_day = 0;
  double dwpd = 0;                // against the drive (or the ext_path size)
  double flash_fill = 0;          // extstore bytes used / ext_path size at the end
  double ram_used_bytes = 0;      // slab pages held at the end (report totals), full scale
  double flash_header_bytes = 0;  // of it, item headers of flash objects, full scale
  bool headers_fill_ram = false;  // the report's headers_fill_ram warning
  double cost = 0;                // of max(-m, ram_used_bytes) and the flash size
  bool meets = false;
  std::vector<std::string> args;  // the replay's arguments
};

// The most replays run_plan can run: at the grid's --sample rate, and full
// confirmations (0 when the grid is not sampled: its replays are full).
struct PlanReplayBound {
  uint64_t sampled = 0;
  uint64_t full = 0;
};
PlanReplayBound plan_replay_bound(const PlanOptions& options);

// Runs the search (many replays); `log` gets a line per replay (may be null).
nlohmann::json run_plan(const PlanOptions& options, std::FILE* log);

// Replays trace with args (replay options and memcached flags) in-process;
// returns its report. Throws on bad arguments or an unreadable trace.
nlohmann::json replay_report(const std::string& trace, const std::vector<std::string>& args);

int plan_main(int argc, char** argv);

}  // namespace memext
