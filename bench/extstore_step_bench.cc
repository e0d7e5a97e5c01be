// Cost of the extstore background steps on a full engine: how long one
// flusher_step takes when there is nothing to move (the common idle case,
// memcached polls every ~200 us) and while it is moving items to flash
// (memory device, real mode); then the longest single flusher_step with
// synchronous and with asynchronous wbuf flushes on a file device (and on
// io_uring when permitted), the time a server holds its engine lock in one
// step. Wall-clock figures; prints results; never run by ctest.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
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

struct StepFigures {
  double longest_us = 0;
  double median_us = 0;       // of the steps that moved items
  uint64_t longest_step = 0;  // its index
  double first_us = 0;        // step 0 first touches wbuf memory and the file: kept apart
  double total_ms = 0;
  uint64_t steps = 0;
  uint64_t objects = 0;
  uint64_t flushes = 0;
};

// 64 MB of 16 KB items over a 256 MB extstore file with 4 MB wbufs and
// default pages; ext_item_age 0 moves every COLD item. Times each
// flusher_step while a driver calls it when asked (kWriteSleepMin retries
// included) until everything is on flash.
StepFigures longest_flusher_step(const std::string& path, ExtDeviceKind kind, bool async) {
  EngineConfig config;
  config.memory_limit = 96ull << 20;
  config.ext.item_age = 0;
  config.ext.paths.push_back({path, 256ull << 20, ""});
  Engine engine(config);
  LruMaintainer lru(engine);
  ExtStoreOptions options;
  options.async_flush = async;
  auto ext = open_ext_store(engine, config.ext, kind, options);
  const std::string value(16 * 1024, 'v');
  rel_time_t t = 10;
  engine.set_time(t);
  for (int i = 0; i < 4096; ++i) engine.set("key:" + std::to_string(i), value);
  t += 10;
  engine.set_time(t);
  Micros now = Micros{t} * kMicrosPerSecond;
  for (int i = 0; i < 200; ++i) lru.step(now + i * 1000);
  StepFigures f;
  std::vector<double> moving_us;
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t before = ext->stats(false).store.objects_written;
    const auto start = Clock::now();
    const Micros next = ext->flusher_step(now);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (f.steps == 0) {
      f.first_us = us;
    } else if (us > f.longest_us) {
      f.longest_us = us;
      f.longest_step = f.steps;
    }
    if (ext->stats(false).store.objects_written != before) moving_us.push_back(us);
    f.total_ms += us / 1000.0;
    ++f.steps;
    if (next > now + kWriteSleepMin && ext->flushes_in_flight() == 0) break;
    now = std::max(next, now + 1);
  }
  std::sort(moving_us.begin(), moving_us.end());
  if (!moving_us.empty()) f.median_us = moving_us[moving_us.size() / 2];
  const ExtStoreStats st = ext->stats(false);
  f.objects = st.store.objects_written;
  f.flushes = st.store.wbuf_flushes;
  return f;
}

void print_figures(const char* name, const StepFigures& f) {
  std::printf(
      "%-12s longest flusher_step after the first %8.1f us (step #%llu), first %8.1f us, "
      "median moving step %8.1f us (%llu steps, %.1f ms in steps, %llu objects, %llu wbuf "
      "flushes)\n",
      name, f.longest_us, static_cast<unsigned long long>(f.longest_step), f.first_us, f.median_us,
      static_cast<unsigned long long>(f.steps), f.total_ms,
      static_cast<unsigned long long>(f.objects), static_cast<unsigned long long>(f.flushes));
}

// Each run gets a fresh file, so no run overwrites blocks another allocated.
void run_mode(const std::string& dir, const char* name, ExtDeviceKind kind, bool async) {
  const std::string path =
      dir + "/memext_step_bench_" + std::to_string(::getpid()) + "_" + std::to_string(async);
  std::remove(path.c_str());
  try {
    print_figures(name, longest_flusher_step(path, kind, async));
  } catch (const std::runtime_error& e) {
    std::printf("%s skipped: %s\n", name, e.what());
  }
  std::remove(path.c_str());
}

void compare_flush_modes(const std::string& dir) {
  std::printf("flusher_step wall time, 4 MB wbufs, 4096 x 16 KB items, files in %s:\n",
              dir.c_str());
  run_mode(dir, "file sync", ExtDeviceKind::kFile, false);
  run_mode(dir, "file async", ExtDeviceKind::kFile, true);
  run_mode(dir, "uring sync", ExtDeviceKind::kUring, false);
  run_mode(dir, "uring async", ExtDeviceKind::kUring, true);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
      continue;
    }
    std::printf(
        "usage: %s [--dir DIR]\n"
        "  Fills a 64 MB engine with 1 KB items over a 256 MB memory-device extstore\n"
        "  and times flusher_step (moving, then idle) and compactor_step (idle); then\n"
        "  reports the longest single flusher_step with synchronous and asynchronous\n"
        "  wbuf flushes over a 256 MB file in DIR (default /tmp).\n",
        argv[0]);
    return arg == "--help" ? 0 : 2;
  }
  EngineConfig config;
  config.memory_limit = 64ull << 20;
  config.ext.paths.push_back({"bench", 256ull << 20, ""});
  Engine engine(config);
  LruMaintainer lru(engine);
  auto ext = open_ext_store(engine, config.ext, ExtDeviceKind::kMemory);
  const std::string value(1000, 'v');
  rel_time_t t = 10;
  engine.set_time(t);
  double moving_ns = 0;
  uint64_t moving_steps = 0;
  for (int i = 0; i < 200'000; ++i) {
    engine.set("key:" + std::to_string(i), value);
    if (i % 1000 == 999) {
      engine.set_time(++t);
      const Micros now = Micros{t} * kMicrosPerSecond;
      lru.step(now);
      const auto start = Clock::now();
      while (ext->flusher_step(now) == now) ++moving_steps;
      moving_ns += std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    }
  }
  // Let the maintainer age HOT items into COLD, then drain what the flusher
  // wants to move: the idle steps below look at non-empty COLD tails.
  t += 10;
  engine.set_time(t);
  const Micros now = Micros{t} * kMicrosPerSecond;
  for (int i = 0; i < 200; ++i) lru.step(now + i * 1000);
  while (ext->flusher_step(now) == now) ++moving_steps;
  const int idle_steps = 20'000;
  auto start = Clock::now();
  Micros wake = now;
  for (int i = 0; i < idle_steps; ++i) wake = ext->flusher_step(wake);
  const double idle_ns =
      std::chrono::duration<double, std::nano>(Clock::now() - start).count() / idle_steps;
  start = Clock::now();
  wake = now;
  for (int i = 0; i < idle_steps; ++i) wake = ext->compactor_step(wake);
  const double compact_ns =
      std::chrono::duration<double, std::nano>(Clock::now() - start).count() / idle_steps;
  const ExtStoreStats st = ext->stats();
  std::printf("objects written %llu, moving steps %llu, %.1f us per moving step\n",
              static_cast<unsigned long long>(st.store.objects_written),
              static_cast<unsigned long long>(moving_steps),
              moving_steps ? moving_ns / 1000.0 / moving_steps : 0.0);
  const Stats ram = engine.stats();
  uint64_t cold = 0;
  for (const ItemClassStats& c : ram.items) cold += c.number_cold;
  std::printf("RAM: items %llu (COLD %llu), evictions %llu\n",
              static_cast<unsigned long long>(ram.curr_items),
              static_cast<unsigned long long>(cold),
              static_cast<unsigned long long>(ram.evictions));
  std::printf("idle flusher_step: %.2f us\nidle compactor_step: %.2f us\n", idle_ns / 1000.0,
              compact_ns / 1000.0);
  compare_flush_modes(dir);
  return 0;
}
