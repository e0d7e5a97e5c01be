// Prints how long one cache line takes to move between the first two CPUs
// this process may use (bench/cpu_pinning.h), median of a few probes. The
// server benches print it beside each run: on this VM it moves between
// ~60 ns and ~230 ns within minutes, and every multi-threaded figure that
// shares lines (the engine's, memcached's, the kernel's sockets) with it.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "cpu_pinning.h"

int main(int argc, char** argv) {
  if (argc > 1) {
    const bool help = std::strcmp(argv[1], "--help") == 0;
    std::fprintf(help ? stdout : stderr,
                 "%susage: %s\n  Prints line_transfer_ns=N: the mean time one cache line takes to "
                 "move between\n  the first two CPUs this process may use (median of 5 probes of "
                 "100000 hand-overs).\n",
                 help ? "" : "unknown argument\n", argv[0]);
    return help ? 0 : 2;
  }
  try {
    const std::vector<int> cpus = memext::bench::first_two_cpus();
    std::vector<double> probes;
    for (int i = 0; i < 5; ++i) probes.push_back(memext::bench::line_transfer_ns(cpus));
    std::sort(probes.begin(), probes.end());
    std::printf("line_transfer_ns=%.0f\n", probes[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}
