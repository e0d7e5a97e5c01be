// server/src/server_context.h — what every connection of one server shares:
// the engine behind its mutex, the server-level counters that `stats`
// prints, and the settings.
//
// Thread-safety: the Engine is not thread-safe, so every engine call happens
// with SharedEngine::mutex held; critical sections copy values out and never
// wait on IO. Counters are relaxed atomics (statistics only).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "config.h"
#include "memext/engine.h"
#include "memext/stats.h"

namespace memext {
class ExtStore;
}

namespace memext::server {

struct SharedEngine {
  explicit SharedEngine(const EngineConfig& config) : engine(config) {}
  std::mutex mutex;
  Engine engine;
  // The extstore layer when -o ext_path is given; guarded by `mutex` too.
  ExtStore* flash = nullptr;
};

struct ServerCounters {
  std::atomic<uint64_t> curr_connections{0};
  std::atomic<uint64_t> total_connections{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> connection_structures{0};
  std::atomic<uint64_t> bytes_read{0};
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> cmd_meta{0};
  std::atomic<uint64_t> store_too_large{0};
  std::atomic<uint64_t> store_no_memory{0};
  std::atomic<uint64_t> conn_yields{0};
  std::atomic<bool> accepting_conns{true};
};

struct ServerContext {
  ServerContext(const ServerConfig& cfg, SharedEngine& eng, int64_t started_unix)
      : config(cfg), engine(eng), process_started(started_unix), verbosity(cfg.verbose) {}
  const ServerConfig& config;
  SharedEngine& engine;
  ServerCounters counters;
  int64_t process_started;  // unix seconds of rel time 0 (start - 2, like memcached)
  std::atomic<int> verbosity;
  // `stats reset`: the engine keeps its counters, so the server remembers
  // their values at the reset and prints the difference. Guarded by
  // engine.mutex.
  Stats reset_baseline;
  uint64_t reset_total_connections = 0;
  uint64_t reset_rejected_connections = 0;
  uint64_t reset_bytes_read = 0;
  uint64_t reset_bytes_written = 0;
  uint64_t reset_cmd_meta = 0;
  uint64_t reset_store_too_large = 0;
  uint64_t reset_store_no_memory = 0;
};

}  // namespace memext::server
