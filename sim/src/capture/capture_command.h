// `memext-sim capture HOST:PORT --duration S [--sample R] --out TRACE`:
// records a live memcached's (or memext-server's) gets and stores through
// memcached 1.6's `watch fetchers mutations` into a native trace.
#pragma once

#include <cstdint>
#include <string>

namespace memext {

struct CaptureOptions {
  std::string host;
  std::string port;
  double duration_s = 0;  // 0: until SIGINT or SIGTERM
  double sample_rate = 1;
  uint64_t sample_seed = 0;
  std::string out_path;
  int zstd_level = 3;
  bool help = false;
};

// Parses argv[1..argc); "" on success, else the error.
std::string parse_capture_options(int argc, const char* const* argv, CaptureOptions* out);

int capture_main(int argc, char** argv);

}  // namespace memext
