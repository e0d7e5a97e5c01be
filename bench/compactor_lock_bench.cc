// How long a compactor step holds the engine lock, before and after the
// readback moved out of it (issue 12). Same workload twice in one process:
// 30K keys of 4 KB overwritten flat out over a 256 MB extstore file with
// 8 MB pages and 2 MB wbufs (the memext-server flags), the LRU
// maintainer, flusher and compactor stepped in between by one driver.
//   before: the server's old shape, compactor_step() under the lock (the
//           region readback on the store's io_uring device inside it);
//   after:  compactor_begin() under the lock, the readback on a device of
//           the compactor's own, compactor_finish() under the lock; each of
//           the two acquisitions is one hold.
// Prints the hold distribution of each and the ratios; never run by ctest.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "memext/device.h"
#include "memext/engine.h"
#include "memext/extstore.h"
#include "memext/lru_maintainer.h"

using namespace memext;

namespace {

using Clock = std::chrono::steady_clock;

// A thread's CPU time: a hold's wall time minus the time the (loaded)
// machine had the thread descheduled, and minus any wait for IO.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Times one lock acquisition, wall and CPU.
struct HoldTimer {
  Clock::time_point wall = Clock::now();
  double cpu = thread_cpu_us();
};

struct Holds {
  std::vector<double> us;      // wall time of each lock acquisition
  std::vector<double> cpu_us;  // its thread CPU time
  uint64_t reads = 0;          // objects_read: compactor regions (no client reads here)
  uint64_t rescues = 0;
  uint64_t sets = 0;
  void add(const HoldTimer& t) {
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t.wall).count());
    cpu_us.push_back(thread_cpu_us() - t.cpu);
  }
  double at(double q, bool cpu = false) const {
    if (us.empty()) return 0;
    std::vector<double> s = cpu ? cpu_us : us;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, static_cast<size_t>(q * static_cast<double>(s.size())))];
  }
};

double since_us(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

Holds run(const std::string& path, ExtDeviceKind kind, bool split, double seconds) {
  EngineConfig config;
  config.memory_limit = 32ull << 20;
  config.ext.page_size = 8ull << 20;
  config.ext.wbuf_size = 2ull << 20;
  config.ext.item_size = 64;
  config.ext.item_age = 0;
  config.ext.paths.push_back({path, 256ull << 20, ""});
  Engine engine(config);
  LruMaintainer lru(engine);
  auto ext = open_ext_store(engine, config.ext, kind, split ? kIoThread : kAsyncFlush);
  std::unique_ptr<Device> reader;
  if (split) {
    reader = kind == ExtDeviceKind::kUring ? make_uring_device(path, 256ull << 20, 4)
                                           : make_file_device(path, 256ull << 20);
  }
  const std::string value(4096, 'v');
  const auto start = Clock::now();
  auto micros = [&] { return static_cast<Micros>(since_us(start)) + 10'000'000; };
  Micros lru_due = 0;
  Micros flusher_due = 0;
  Micros compactor_due = 0;
  Holds holds;
  uint64_t key = 1;
  while (since_us(start) < seconds * 1e6) {
    for (int i = 0; i < 256; ++i) {
      // Random overwrites leave every page partly live: it fragments.
      key = key * 6364136223846793005ull + 1442695040888963407ull;
      engine.set("key:" + std::to_string((key >> 33) % 30'000), value);
      ++holds.sets;
    }
    const Micros now = micros();
    engine.set_time(static_cast<rel_time_t>(now / 1'000'000));
    if (now >= lru_due) lru_due = lru.step(now);
    for (int i = 0; i < 64 && now >= flusher_due; ++i) flusher_due = ext->flusher_step(now);
    if (now < compactor_due) continue;
    // Every step taken while a page is being compacted counts (a split
    // step's sliced continuations too); idle checks do not.
    const bool was_compacting = ext->compacting();
    if (!split) {
      const HoldTimer taken;
      compactor_due = ext->compactor_step(now);
      if (was_compacting || ext->compacting()) holds.add(taken);
      continue;
    }
    const HoldTimer begin_taken;
    const CompactorRead read = ext->compactor_begin(now);
    if (was_compacting || ext->compacting()) holds.add(begin_taken);
    if (!read.wanted) {
      compactor_due = read.next;
      continue;
    }
    IoRequest req{IoOp::kRead, read.offset, read.length, read.buffer};
    const int64_t rc = submit_and_wait(*reader, &req);
    const HoldTimer finish_taken;
    compactor_due = ext->compactor_finish(micros(), read, rc);
    holds.add(finish_taken);
  }
  const ExtStoreStats st = ext->stats(false);
  holds.rescues = st.compact_rescues;
  holds.reads = st.store.objects_read;
  return holds;
}

void print(const char* name, const Holds& h) {
  for (const bool cpu : {false, true}) {
    std::printf(
        "%-7s %s per lock hold: median %8.1f us  p90 %8.1f us  p99 %8.1f us  max %8.1f us\n", name,
        cpu ? "CPU " : "wall", h.at(0.5, cpu), h.at(0.9, cpu), h.at(0.99, cpu), h.at(1.0, cpu));
  }
  std::printf("%-7s (%zu holds, %llu readbacks, %llu rescues, %llu sets)\n", name, h.us.size(),
              static_cast<unsigned long long>(h.reads), static_cast<unsigned long long>(h.rescues),
              static_cast<unsigned long long>(h.sets));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  double seconds = 10;
  bool uring = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
      if (seconds <= 0) {
        std::fprintf(stderr, "--seconds: '%s' is not a positive number\n", argv[i]);
        return 2;
      }
    } else if (arg == "--file") {
      uring = false;
    } else {
      std::printf(
          "usage: %s [--dir DIR] [--seconds N] [--file]\n"
          "  Overwrites 30K x 4 KB keys over a 256 MB extstore file in DIR (default /tmp)\n"
          "  for N seconds (default 10) twice: compactor steps under the lock as one call,\n"
          "  then split around their readback; prints how long each holds the engine lock.\n"
          "  --file uses pread/pwrite instead of io_uring + O_DIRECT.\n",
          argv[0]);
      return arg == "--help" ? 0 : 2;
    }
  }
  const ExtDeviceKind kind = uring ? ExtDeviceKind::kUring : ExtDeviceKind::kFile;
  Holds before;
  Holds after;
  for (int split = 0; split < 2; ++split) {
    const std::string path = dir + "/memext_compactor_lock_bench_" + std::to_string(::getpid());
    std::remove(path.c_str());
    try {
      (split ? after : before) = run(path, kind, split != 0, seconds);
    } catch (const std::runtime_error& e) {
      std::fprintf(stderr, "skipped: %s\n", e.what());
      std::remove(path.c_str());
      return 1;
    }
    std::remove(path.c_str());
  }
  print("before", before);
  print("after", after);
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0; };
  for (const bool cpu : {false, true}) {
    std::printf("before/after %s: median %.1fx  p90 %.1fx  p99 %.1fx  max %.1fx\n",
                cpu ? "CPU " : "wall", ratio(before.at(0.5, cpu), after.at(0.5, cpu)),
                ratio(before.at(0.9, cpu), after.at(0.9, cpu)),
                ratio(before.at(0.99, cpu), after.at(0.99, cpu)),
                ratio(before.at(1.0, cpu), after.at(1.0, cpu)));
  }
  return 0;
}
