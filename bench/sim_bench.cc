// sim_bench: replay throughput and memory per cached object of memext-sim.
//
//   sim_bench TRACE [memext-sim replay flags...]
//
// Replays TRACE once with the given flags (RAM-only unless -o ext_path= is
// among them) and prints requests/second on one core (wall clock around the
// replay loop, trace reading included) and the peak RSS growth per cached
// object: (VmHWM after - VmRSS before the engine exists) / curr_items, next
// to the engine's own metadata_bytes() / curr_items. Run one configuration
// per process: VmHWM is a process-wide high-water mark. bench/sim_bench.sh
// generates the 50M-request trace and runs both configurations.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "memext/engine.h"
#include "replay/replay.h"
#include "replay/sim_options.h"
#include "traces/trace_reader.h"

namespace {

// A field of /proc/self/status in kB ("VmHWM", "VmRSS"); 0 if absent.
uint64_t proc_status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') {
      return std::stoull(line.substr(n + 1));
    }
  }
  return 0;
}

// CPU time of this thread: the machine may be shared, so throughput per
// CPU-second is the figure comparable with the one-core target.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::printf(
        "usage: sim_bench TRACE [memext-sim replay flags...]\n\n"
        "Replays TRACE and prints requests/second (one core) and peak RSS growth per\n"
        "cached object. Flags are memext-sim replay's (see memext-sim replay --help).\n");
    return argc < 2 ? 2 : 0;
  }
  std::vector<const char*> args = {"replay"};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back("--progress");
  args.push_back("off");
  memext::SimOptions options;
  if (std::string error =
          memext::parse_sim_options(static_cast<int>(args.size()), args.data(), &options);
      !error.empty()) {
    std::fprintf(stderr, "sim_bench: %s\n", error.c_str());
    return 2;
  }
  try {
    memext::TraceReadOptions read_options;
    read_options.format = options.format;
    auto reader = memext::open_trace(options.trace_path, read_options);
    const uint64_t baseline_kb = proc_status_kb("VmRSS");
    memext::Replayer replay(options, reader->format() == memext::TraceFormat::kOracleGeneral);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_seconds();
    replay.run(*reader);
    const double cpu = thread_cpu_seconds() - cpu_start;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const uint64_t hwm_kb = proc_status_kb("VmHWM");
    const memext::Stats st = replay.engine().stats();
    const memext::ReplayCounters& c = replay.counters();
    const double items = st.curr_items == 0 ? 1.0 : static_cast<double>(st.curr_items);
    std::printf("mode              %s\n", options.engine.ext.enabled() ? "flash" : "ram-only");
    std::printf("requests          %llu\n", static_cast<unsigned long long>(c.requests));
    std::printf("seconds           %.3f\n", secs);
    std::printf("requests_per_s    %.0f (wall clock)\n", static_cast<double>(c.requests) / secs);
    std::printf("cpu_seconds       %.3f\n", cpu);
    std::printf("requests_per_cpu_s %.0f (one core, unaffected by other load)\n",
                static_cast<double>(c.requests) / cpu);
    std::printf("hit_ratio         %.4f (ram %llu, flash %llu, misses %llu)\n",
                c.gets == 0 ? 0.0 : static_cast<double>(c.hits_ram + c.hits_flash) / c.gets,
                static_cast<unsigned long long>(c.hits_ram),
                static_cast<unsigned long long>(c.hits_flash),
                static_cast<unsigned long long>(c.misses));
    std::printf("curr_items        %llu\n", static_cast<unsigned long long>(st.curr_items));
    std::printf("evictions         %llu\n", static_cast<unsigned long long>(st.evictions));
    std::printf("rss_baseline_kb   %llu\n", static_cast<unsigned long long>(baseline_kb));
    std::printf("rss_peak_kb       %llu\n", static_cast<unsigned long long>(hwm_kb));
    std::printf("rss_per_item      %.1f bytes\n",
                static_cast<double>(hwm_kb - baseline_kb) * 1024.0 / items);
    std::printf("metadata_per_item %.1f bytes (engine metadata_bytes)\n",
                static_cast<double>(replay.engine().metadata_bytes()) / items);
    std::printf("lru_steps         %llu\n",
                static_cast<unsigned long long>(replay.lru_maintainer_steps()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sim_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
