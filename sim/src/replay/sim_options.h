// sim_options.h — the command line of `memext-sim replay`: the trace, the
// replay's own switches, and memcached's flags (-m, -I, -f, -n, -M, -C and
// -o sub-options) parsed by the engine's options.h, so an operator can paste
// the flags of a production memcached unchanged.
//
// Parsing is pure (no I/O); errors name the bad argument and what is allowed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "memext/config.h"
#include "memext/extstore.h"
#include "replay/sample_scaling.h"
#include "ssd/ssd_presets.h"
#include "traces/trace_reader.h"

namespace memext {

enum class FillOnMiss : uint8_t { kAuto, kOn, kOff };
enum class ProgressMode : uint8_t { kAuto, kOn, kOff };
enum class SimDeviceKind : uint8_t { kModel, kFile };

// The simulator's default write amplification for the model SSD. The presets
// estimate WA from over-provisioning for uniformly random overwrites (7.64 at
// OP 0.07), but extstore writes whole wbufs sequentially and frees whole
// pages, which an FTL sees as near-sequential: WA close to 1. A spec that
// names wa= keeps its own value.
inline constexpr double kSimDefaultWriteAmplification = 1.0;

struct SimOptions {
  std::string trace_path;
  TraceFormat format = TraceFormat::kAuto;
  bool strict = false;
  // --arrival: where a second's requests go in one-second-resolution traces.
  // Poisson by default: many independent clients add up to Poisson arrivals
  // (traces/README.md, "Arrival within a second").
  Arrival arrival = Arrival::kPoisson;

  EngineConfig engine;
  // The memcached flags exactly as given, for the report.
  std::vector<std::string> memcached_flags;

  std::string device_spec = "model:nvme-gen4";  // as given
  SimDeviceKind device_kind = SimDeviceKind::kModel;
  SsdModelParams model;    // kModel: parsed spec (wa defaulted, see above)
  std::string model_spec;  // kModel: canonical spec
  std::string file_path;   // kFile: empty = each ext_path's own file
  // --flusher-cost: the write flusher's modelled CPU time per object it moves
  // and per KiB of it (ExtStoreOptions; 0,0 is a flusher that costs nothing).
  uint32_t flusher_ns_per_object = kFlusherNsPerObject;
  uint32_t flusher_ns_per_kib = kFlusherNsPerKib;
  // --flusher-pacing: whose storage_write_thread the flusher paces itself as.
  FlusherPacing flusher_pacing = FlusherPacing::k1_6_20;

  // --idle-before: seconds the server's background threads ran idle before
  // the first request (a live server started that long before the trace):
  // the first request runs at this virtual time, the threads from 0, so
  // their idle backoffs have grown as a live server's have.
  double idle_before_s = 0;

  uint64_t seed = 1;
  double interval_s = 60;
  double time_scale = 1;
  FillOnMiss fill_on_miss = FillOnMiss::kAuto;
  ProgressMode progress = ProgressMode::kAuto;
  std::string out_path;       // empty = no JSON file
  uint64_t max_requests = 0;  // 0 = whole trace
  // --warmup: the report's steady_state counts from the first request at or
  // after warmup_s of virtual time, or after warmup_requests requests.
  std::string warmup_spec;  // as given; empty = no warmup
  double warmup_s = 0;
  uint64_t warmup_requests = 0;
  // --sample: the fraction of keys replayed. parse_sim_options leaves engine
  // as given; apply_sample_scaling (replay_command.h) scales it and records
  // the full configuration and the rules in sample.
  double sample_rate = 1;
  uint64_t sample_seed = 0;  // --sample-seed: another sample of the same rate
  SampleScaling sample;
  bool help = false;
};

// Parses argv[1..argc) (argv[0] is the subcommand name). Returns "" on
// success, else the error message. Sets phantom mode for model devices.
std::string parse_sim_options(int argc, const char* const* argv, SimOptions* out);

// How the replay opens its trace: format, strictness, arrival (seeded by
// --seed, mixed so it does not correlate with the replay's other draws).
TraceReadOptions trace_read_options(const SimOptions& options);

// Text for --help.
std::string sim_options_help();

// "on"/"off"/"auto" etc.
const char* fill_on_miss_name(FillOnMiss mode);

// What --fill-on-miss auto means for a trace of `format`: on for oracle
// (reads only: nothing would ever be cached) and kvcache (a production
// look-aside cache's trace: a miss is followed by a fill from the backing
// store that the trace does not record, as CacheLib's cachebench replays it
// with enableLookaside).
bool fill_on_miss_by_default(TraceFormat format);

}  // namespace memext
