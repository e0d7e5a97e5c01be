// engine_demo — runs a fixed, deterministic workload through the RAM engine
// (with its LRU maintainer stepped in virtual time) and prints the engine's
// stats as JSON. Same arguments give the same output on every run.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>

#include "memext/engine.h"
#include "memext/lru_maintainer.h"
#include "memext/options.h"

namespace {

void usage(const char* argv0) {
  std::printf(
      "usage: %s [--ops N] [--keys N] [--seed N] [--real] [memcached options]\n"
      "\n"
      "Replays a deterministic mix (80%% get with set-on-miss, 12%% set, 3%% delete,\n"
      "2%% touch, 2%% incr, 1%% append) over a skewed key space with mixed value sizes\n"
      "(64 B .. 700 KB, so some items are chunked) and TTLs, 1000 ops per virtual second,\n"
      "stepping the LRU maintainer, then prints {\"stats\",\"slabs\",\"items\"} JSON with\n"
      "memcached's stat names.\n"
      "\n"
      "  --ops N      operations to run (default 2000000)\n"
      "  --keys N     distinct keys (default 200000)\n"
      "  --seed N     random seed (default 1)\n"
      "  --real       store value bytes (default: phantom mode, sizes only)\n"
      "  memcached options as memcached takes them: -m MB, -f FACTOR, -n BYTES, -I SIZE,\n"
      "  -M, -C, -o opt1=v,opt2 (e.g. -o hot_lru_pct=30,temporary_ttl=60). Default -m 64.\n",
      argv0);
}

bool parse_count(const char* flag, const char* text, uint64_t& out) {
  char* end = nullptr;
  out = std::strtoull(text, &end, 10);
  if (*end != '\0' || end == text) {
    std::fprintf(stderr, "error: %s wants a non-negative integer, got '%s'\n", flag, text);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t ops = 2'000'000, keys = 200'000, seed = 1;
  memext::EngineConfig config;
  config.phantom = true;
  config.process_started = 1'700'000'000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(argv[0]);
      return 0;
    }
    if (arg == "--real") {
      config.phantom = false;
      continue;
    }
    const bool takes_value = arg == "--ops" || arg == "--keys" || arg == "--seed" || arg == "-m" ||
                             arg == "-f" || arg == "-n" || arg == "-I" || arg == "-o";
    if (takes_value && i + 1 >= argc) {
      std::fprintf(stderr, "error: %s needs a value\n", argv[i]);
      return 2;
    }
    if (arg == "--ops" || arg == "--keys" || arg == "--seed") {
      uint64_t& target = arg == "--ops" ? ops : (arg == "--keys" ? keys : seed);
      if (!parse_count(argv[i], argv[i + 1], target)) return 2;
      ++i;
      continue;
    }
    memext::OptionResult result;
    if (arg == "-o") {
      result = memext::apply_memcached_suboptions(config, argv[++i]);
    } else if (arg.size() == 2 && arg[0] == '-') {
      const std::string name(1, arg[1]);
      const bool flag_only = arg == "-M" || arg == "-C";
      result = memext::apply_memcached_option(config, name, flag_only ? "" : argv[++i]);
    } else {
      result.status = memext::OptionStatus::kUnknownOption;
      result.error = "unknown argument " + std::string(arg);
    }
    if (!result.ok()) {
      std::fprintf(stderr, "error: %s (see --help)\n", result.error.c_str());
      return 2;
    }
  }
  if (keys == 0) {
    std::fprintf(stderr, "error: --keys must be at least 1\n");
    return 2;
  }
  const std::string config_error = memext::validate_config(config);
  if (!config_error.empty()) {
    std::fprintf(stderr, "error: %s\n", config_error.c_str());
    return 2;
  }

  memext::Engine engine(config);
  memext::LruMaintainer maintainer(engine);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const std::string bytes(700'000, 'x');
  memext::Micros now_us = 100 * memext::kMicrosPerSecond;
  memext::Micros next_maintain = 0;
  for (uint64_t op = 0; op < ops; ++op) {
    now_us += 1000;  // 1000 ops per virtual second
    engine.set_time(static_cast<memext::rel_time_t>(now_us / memext::kMicrosPerSecond));
    while (next_maintain <= now_us) next_maintain = maintainer.step(now_us);

    const double u = uniform(rng);
    const uint64_t id = static_cast<uint64_t>(u * u * u * keys);
    const std::string key = "user:" + std::to_string(id);
    // Value size is a property of the key so rewrites keep their class.
    const uint64_t size_pick = (id * 2654435761u) % 1000;
    uint32_t value_len = 64 + static_cast<uint32_t>(size_pick % 1500);
    if (size_pick == 7) value_len = 700'000;
    const int64_t ttl = id % 5 == 0 ? 120 : 0;

    memext::StoreRequest set;
    set.key = key;
    set.value = std::string_view(bytes.data(), value_len);
    set.value_len = value_len;
    set.client_flags = static_cast<uint32_t>(id % 3);
    set.exptime = ttl;

    const uint64_t dice = rng() % 100;
    if (dice < 80) {
      if (!engine.get(key).hit()) engine.store(set);
    } else if (dice < 92) {
      engine.store(set);
    } else if (dice < 95) {
      engine.remove(key);
    } else if (dice < 97) {
      engine.touch(key, 300);
    } else if (dice < 99) {
      const std::string counter = "counter:" + std::to_string(id % 100);
      if (engine.incr(counter, 1).result == memext::DeltaResult::kNotFound) {
        engine.set(counter, config.phantom ? std::string_view() : std::string_view("0"));
      }
    } else {
      set.mode = memext::StoreMode::kAppend;
      set.value_len = 16;
      set.value = std::string_view(bytes.data(), 16);
      engine.store(set);
    }
  }
  std::printf("%s\n", memext::to_json(engine.stats()).dump(2).c_str());
  return 0;
}
