// server/src/server_context.h — what every connection of one server shares:
// the engine behind its mutex, the server-level counters that `stats`
// prints, and the settings.
//
// Thread-safety: the Engine is not thread-safe, so every engine call happens
// with SharedEngine::mutex held; critical sections copy values out and never
// wait on IO. Counters are relaxed atomics (statistics only).
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "auth_file.h"
#include "config.h"
#include "conn_registry.h"
#include "event_logger.h"
#include "memext/engine.h"
#include "memext/stats.h"
#include "prefix_stats.h"

namespace memext {
class ExtStore;
class LruCrawler;
}  // namespace memext

namespace memext::server {

class TlsContext;

// The engine lock. Critical sections are short (a lookup, a copy of a
// value), while a lock that sleeps costs a futex wait, a wake-up and two
// context switches — several microseconds in a VM. So a waiter spins a
// little before sleeping: glibc's adaptive mutex.
class EngineMutex {
 public:
  EngineMutex() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&mutex_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~EngineMutex() { pthread_mutex_destroy(&mutex_); }
  EngineMutex(const EngineMutex&) = delete;
  EngineMutex& operator=(const EngineMutex&) = delete;

  void lock() { pthread_mutex_lock(&mutex_); }
  bool try_lock() { return pthread_mutex_trylock(&mutex_) == 0; }
  void unlock() { pthread_mutex_unlock(&mutex_); }

 private:
  pthread_mutex_t mutex_;
};

struct SharedEngine {
  explicit SharedEngine(const EngineConfig& config) : engine(config) {}
  EngineMutex mutex;
  Engine engine;
  // The extstore layer when -o ext_path is given; guarded by `mutex` too.
  ExtStore* flash = nullptr;
  // The LRU crawler stepping beside the engine (nullptr in tests without
  // one); guarded by `mutex` too.
  LruCrawler* crawler = nullptr;
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
  std::atomic<uint64_t> idle_kicks{0};
  std::atomic<uint64_t> cmd_flush_refused{0};  // -F: memcached counts them in cmd_flush
  std::atomic<uint64_t> auth_cmds{0};          // -S and -Y
  std::atomic<uint64_t> auth_errors{0};
  std::atomic<bool> accepting_conns{true};
};

struct ServerContext {
  ServerContext(const ServerConfig& cfg, SharedEngine& eng, int64_t started_unix)
      : config(cfg),
        engine(eng),
        process_started(started_unix),
        verbosity(cfg.verbose),
        prefix_stats(cfg.ops.prefix_delimiter, cfg.ops.detail_enabled),
        logger(cfg.ops.worker_logbuf_size, cfg.ops.watcher_logbuf_size) {}
  const ServerConfig& config;
  SharedEngine& engine;
  ServerCounters counters;
  int64_t process_started;  // unix seconds of rel time 0 (start - 2, like memcached)
  std::atomic<int> verbosity;
  // `stats detail` (-D).
  PrefixStats prefix_stats;
  // `stats conns`.
  ConnRegistry conns;
  // -Z: the certificates, refresh_certs and the TLS stats; null without -Z.
  TlsContext* tls = nullptr;
  // -Y's users, loaded before the first connection (nullptr without -Y).
  std::unique_ptr<const AuthFile> auth_file;
  // `watch`: the engine's and the connections' events as memcached's log
  // lines (the Server starts its thread and attaches it to the engine).
  EventLogger logger;
  // `shutdown [graceful]` (-A): asks the server to stop; set by the Server
  // (empty in tests without one).
  std::function<void(bool graceful)> request_shutdown;
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
  uint64_t reset_cmd_flush_refused = 0;
  uint64_t reset_auth_cmds = 0;
  uint64_t reset_auth_errors = 0;
};

}  // namespace memext::server
