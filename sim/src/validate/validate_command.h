// `memext-sim validate TRACE --server HOST:PORT [--speed X]`: replays a trace
// against a live memcached-compatible server, then the same requests at the
// times they were sent through the simulator configured as the server
// reports itself, and compares the two (validate_compare.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "replay/sim_options.h"
#include "traces/trace_reader.h"
#include "validate/validate_compare.h"

namespace memext {

struct ValidateOptions {
  std::string trace_path;
  std::string host;
  std::string port;
  double speed = 1;  // 0 = as fast as possible
  uint32_t connections = 4;
  uint32_t window = 128;
  TraceFormat format = TraceFormat::kAuto;
  Arrival arrival = Arrival::kPoisson;
  uint64_t seed = 1;
  FillOnMiss fill_on_miss = FillOnMiss::kAuto;
  std::string device = "model:nvme-gen4";
  // --server-idle: how long the server ran before the first request (the
  // simulator's --idle-before); negative: from its `stats` uptime.
  double server_idle_s = -1;
  Thresholds thresholds;
  std::string out_path;
  std::string recorded_path;  // empty: a temporary file
  std::string sim_report_path;
  std::vector<std::string> sim_flags;  // after --: memcached flags for the simulator only
  bool help = false;
};

// Parses argv[1..argc); "" on success, else the error naming the bad value.
std::string parse_validate_options(int argc, const char* const* argv, ValidateOptions* out);

std::string validate_help();

// Exit status: 0 within the thresholds, 1 not, 2 on errors.
int validate_main(int argc, char** argv);

}  // namespace memext
