// Cost of the extstore background steps on a full engine: how long one
// flusher_step takes when there is nothing to move (the common idle case,
// memcached polls every ~200 us) and while it is moving items to flash.
// Memory device, real mode. Prints results; never run by ctest.
#include <chrono>
#include <cstdio>
#include <string>

#include "memext/device.h"
#include "memext/engine.h"
#include "memext/extstore.h"
#include "memext/lru_maintainer.h"

using namespace memext;

int main(int argc, char** argv) {
  if (argc > 1) {
    std::printf(
        "usage: %s\n  Fills a 64 MB engine with 1 KB items over a 256 MB memory-device extstore\n"
        "  and times flusher_step (moving, then idle) and compactor_step (idle).\n",
        argv[0]);
    return std::string(argv[1]) == "--help" ? 0 : 2;
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
  using Clock = std::chrono::steady_clock;
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
  return 0;
}
