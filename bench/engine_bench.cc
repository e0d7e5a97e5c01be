// engine_bench — throughput and per-item memory of the RAM engine in phantom
// mode (the simulator's configuration).
//
// Memory per item is measured two ways: the engine's own metadata_bytes()
// (item records + hash slots + out-of-line key bytes) and the growth of the
// process's resident set (/proc/self/statm) while the items are inserted.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "memext/engine.h"
#include "memext/lru_maintainer.h"

namespace {

struct Args {
  uint64_t items = 2'000'000;
  uint64_t ops = 10'000'000;
  uint32_t key_size = 8;
  uint32_t value_size = 100;
  uint64_t memory_mb = 1024;
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [--items N] [--ops N] [--key-size BYTES] [--value-size BYTES] [--memory MB]\n"
      "Inserts N items into a phantom-mode engine with unbounded memory and reports bytes of\n"
      "metadata per item (engine count and RSS growth), then runs N ops of 90%% get / 10%% set\n"
      "over a skewed key space in an engine limited to --memory MB and reports ops/second.\n"
      "Defaults: --items 2000000 --ops 10000000 --key-size 8 --value-size 100 --memory 1024\n",
      argv0);
}

bool parse_args(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage(argv[0]);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "error: %s needs a value\n", argv[i]);
      return false;
    }
    char* end = nullptr;
    const uint64_t value = std::strtoull(argv[++i], &end, 10);
    if (*end != '\0' || value == 0) {
      std::fprintf(stderr, "error: %s wants a positive integer, got '%s'\n", argv[i - 1], argv[i]);
      return false;
    }
    if (flag == "--items") {
      args.items = value;
    } else if (flag == "--ops") {
      args.ops = value;
    } else if (flag == "--key-size" && value <= 250) {
      args.key_size = static_cast<uint32_t>(value);
    } else if (flag == "--value-size" && value < (1u << 20)) {
      args.value_size = static_cast<uint32_t>(value);
    } else if (flag == "--memory") {
      args.memory_mb = value;
    } else {
      std::fprintf(stderr, "error: unknown flag or out-of-range value: %s %s\n", argv[i - 1],
                   argv[i]);
      return false;
    }
  }
  return true;
}

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * 4096;
}

// Key bytes for id: the id in the first 8 bytes, padded to key_size.
std::string_view make_key(uint64_t id, uint32_t key_size, char* buffer) {
  std::memset(buffer, 'k', key_size);
  std::memcpy(buffer, &id, std::min<uint32_t>(8, key_size));
  return {buffer, key_size};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU seconds of this process; on a shared machine ops per CPU second is the
// steadier figure.
double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    usage(argv[0]);
    return 2;
  }
  char key_buffer[256];

  {
    memext::EngineConfig config;
    config.phantom = true;
    config.memory_limit = 1ull << 50;  // nothing is evicted while measuring
    const uint64_t rss_before = resident_bytes();
    memext::Engine engine(config);
    engine.set_time(100);
    memext::StoreRequest request;
    request.value_len = args.value_size;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    for (uint64_t id = 0; id < args.items; ++id) {
      request.key = make_key(id, args.key_size, key_buffer);
      engine.store(request);
    }
    const double elapsed = seconds_since(start);
    const double cpu = cpu_seconds() - cpu_start;
    const uint64_t rss_after = resident_bytes();
    const memext::Stats stats = engine.stats();
    std::printf("phantom insert: %llu items, %.2f M sets/s wall, %.2f M sets per CPU second\n",
                static_cast<unsigned long long>(stats.curr_items), args.items / elapsed / 1e6,
                args.items / cpu / 1e6);
    std::printf("metadata per item (engine count): %.1f bytes (key size %u)\n",
                static_cast<double>(engine.metadata_bytes()) / stats.curr_items, args.key_size);
    std::printf("memory per item (RSS growth):     %.1f bytes\n",
                static_cast<double>(rss_after - rss_before) / stats.curr_items);
  }

  memext::EngineConfig config;
  config.phantom = true;
  config.memory_limit = args.memory_mb << 20;
  memext::Engine engine(config);
  memext::LruMaintainer maintainer(engine);
  std::mt19937_64 rng(42);
  // Skewed ids: squaring a uniform variate concentrates requests on low ids.
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const uint64_t key_space = args.items * 2;
  std::vector<uint64_t> ids(1 << 20);
  for (uint64_t& id : ids) {
    const double u = uniform(rng);
    id = static_cast<uint64_t>(u * u * key_space);
  }
  memext::StoreRequest request;
  request.value_len = args.value_size;
  memext::Micros now_us = 100 * memext::kMicrosPerSecond;
  memext::Micros next_maintain = 0;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  for (uint64_t op = 0; op < args.ops; ++op) {
    if ((op & 1023) == 0) {
      now_us += 1000;  // 1 ms of virtual time per 1024 ops
      engine.set_time(static_cast<memext::rel_time_t>(now_us / memext::kMicrosPerSecond));
      if (now_us >= next_maintain) next_maintain = maintainer.step(now_us);
    }
    const uint64_t id = ids[op & (ids.size() - 1)] + (op >> 20);
    const std::string_view key = make_key(id, args.key_size, key_buffer);
    if (op % 10 == 0) {
      request.key = key;
      engine.store(request);
    } else if (!engine.get(key).hit()) {
      request.key = key;
      engine.store(request);
    }
  }
  const double elapsed = seconds_since(start);
  const double cpu = cpu_seconds() - cpu_start;
  const memext::Stats stats = engine.stats();
  std::printf(
      "mixed 90%% get / 10%% set (+set on miss), %llu MB limit: %.2f M ops/s wall, %.2f M ops "
      "per CPU second\n",
      static_cast<unsigned long long>(args.memory_mb), args.ops / elapsed / 1e6,
      args.ops / cpu / 1e6);
  std::printf("  hits %llu misses %llu evictions %llu items %llu\n",
              static_cast<unsigned long long>(stats.get_hits),
              static_cast<unsigned long long>(stats.get_misses),
              static_cast<unsigned long long>(stats.evictions),
              static_cast<unsigned long long>(stats.curr_items));
  return 0;
}
