// Calibrates ExtStoreOptions::flusher_ns_per_object and flusher_ns_per_kib:
// the CPU time the write flusher spends per object it moves to flash (an
// LRU pull, a header item, the copy into the wbuf, a crc32c) and per KiB
// of it. For each value size, fills an engine with items, lets the LRU
// maintainer age them into COLD and times flusher_step (real mode, a memory
// device, so the wbuf write is a copy, as a pwrite into the page cache is)
// until every item is on flash, with the modelled cost switched off. Fits
// time per object = a + b * KiB by least squares over the sizes. As a
// reference measured in the same run it also times a bare copy + crc32c of
// the same bytes and prints the flusher/reference ratio. Prints results;
// never run by ctest.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "memext/crc32c.h"
#include "memext/engine.h"
#include "memext/extstore.h"
#include "memext/lru_maintainer.h"

using namespace memext;

namespace {

using Clock = std::chrono::steady_clock;

struct Figure {
  uint32_t value_size = 0;
  uint64_t objects = 0;
  double ns_per_object = 0;
  double reference_ns = 0;  // copy + crc32c of the same bytes
};

Figure measure(uint32_t value_size) {
  const uint64_t bytes = 192ull << 20;
  const auto count = static_cast<int>(bytes / (value_size + 100));
  EngineConfig config;
  config.memory_limit = 512ull << 20;
  config.ext.item_age = 0;
  config.ext.item_size = 64;
  config.ext.page_size = 8ull << 20;
  config.ext.wbuf_size = 2ull << 20;
  config.ext.paths.push_back({"bench", 1ull << 30, ""});
  Engine engine(config);
  LruMaintainer lru(engine);
  ExtStoreOptions options;
  options.flusher_ns_per_object = 0;
  options.flusher_ns_per_kib = 0;
  auto ext = open_ext_store(engine, config.ext, ExtDeviceKind::kMemory, options);
  const std::string value(value_size, 'v');
  rel_time_t t = 10;
  engine.set_time(t);
  for (int i = 0; i < count; ++i) engine.set("key:" + std::to_string(i), value);
  t += 10;
  engine.set_time(t);
  Micros now = Micros{t} * kMicrosPerSecond;
  for (int i = 0; i < 400; ++i) lru.step(now + i * 1000);
  double ns = 0;
  for (int i = 0; i < 10'000'000; ++i) {
    const auto start = Clock::now();
    const Micros next = ext->flusher_step(now);
    ns += std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    if (next > now + kWriteSleepMin && ext->flushes_in_flight() == 0) break;
    now = std::max(next, now + 1);
  }
  Figure f;
  f.value_size = value_size;
  f.objects = ext->stats(false).store.objects_written;
  f.ns_per_object = f.objects == 0 ? 0 : ns / static_cast<double>(f.objects);
  std::vector<char> dst(value_size + 64);
  uint32_t crc = 0;
  const int reps = 20'000;
  const auto start = Clock::now();
  for (int i = 0; i < reps; ++i) {
    std::memcpy(dst.data(), value.data(), value_size);
    crc ^= crc32c(0, dst.data(), value_size);
  }
  f.reference_ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / reps;
  if (crc == 1) std::printf(" ");
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    std::printf(
        "usage: %s\n"
        "  Times the extstore write flusher per object moved for values of 1, 4, 16\n"
        "  and 64 KB (real mode, memory device, 2 MB wbufs) and fits\n"
        "  ns per object = a + b * KiB, the calibration of ExtStoreOptions::\n"
        "  flusher_ns_per_object (a) and flusher_ns_per_kib (b).\n",
        argv[0]);
    return std::string(argv[1]) == "--help" ? 0 : 2;
  }
  std::vector<Figure> figures;
  for (const uint32_t size : {1024u, 4096u, 16384u, 65536u}) {
    figures.push_back(measure(size));
    const Figure& f = figures.back();
    std::printf(
        "value %6u B: %8llu objects, %8.0f ns per object; copy+crc32c %7.0f ns; ratio %.2f\n",
        f.value_size, static_cast<unsigned long long>(f.objects), f.ns_per_object, f.reference_ns,
        f.reference_ns == 0 ? 0.0 : f.ns_per_object / f.reference_ns);
  }
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const Figure& f : figures) {
    const double x = f.value_size / 1024.0;
    sx += x;
    sy += f.ns_per_object;
    sxx += x * x;
    sxy += x * f.ns_per_object;
  }
  const double n = static_cast<double>(figures.size());
  const double b = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double a = (sy - b * sx) / n;
  std::printf("fit: %.0f ns per object + %.0f ns per KiB (defaults: %u + %u)\n", a, b,
              kFlusherNsPerObject, kFlusherNsPerKib);
  return 0;
}
