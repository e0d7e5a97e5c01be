// server/src/server_context.h — what every connection of one server shares:
// the engine behind its mutex, the server-level counters that `stats`
// prints, and the settings.
//
// Thread-safety: SharedEngine::mutex is the EngineLock (memext/engine_lock.h,
// design in engine/README.md). Gets try Engine::try_get_shared under its
// shared side (fetch_and_use in flash_reader.h), stores try
// Engine::try_store_concurrent under its mutator side; every other engine,
// ExtStore and crawler call holds the exclusive side. Critical sections copy
// values out and never wait on IO. Counters are relaxed atomics (statistics
// only); those every request bumps are per-thread (per_thread_counter.h). Lock order: the engine
// lock, then ConnRegistry's and PrefixStats' mutexes (which never call into the engine).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "auth_file.h"
#include "buffer_budget.h"
#include "config.h"
#include "conn_registry.h"
#include "event_logger.h"
#include "memext/engine.h"
#include "memext/engine_lock.h"
#include "memext/stats.h"
#include "per_thread_counter.h"
#include "prefix_stats.h"
#include "request_recorder.h"

namespace memext {
class ExtStore;
class LruCrawler;
}  // namespace memext

namespace memext::server {

class TlsContext;

struct SharedEngine {
  explicit SharedEngine(const EngineConfig& config) : engine(config) {
    // Shared gets queue their COLD -> WARM moves (GetOptions::defer_relink)
    // and concurrent stores retire records; every exclusive acquisition
    // catches up with both first.
    mutex.set_on_exclusive([](void* e) { static_cast<Engine*>(e)->catch_up(); }, &engine);
  }
  EngineLock mutex;
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
  // Bumped by every read, write or meta command on every worker: per-thread
  // stripes (memcached's per-thread stats), summed by `stats`.
  PerThreadCounter bytes_read;
  PerThreadCounter bytes_written;
  PerThreadCounter cmd_meta;
  std::atomic<uint64_t> store_too_large{0};
  std::atomic<uint64_t> store_no_memory{0};
  PerThreadCounter conn_yields;
  std::atomic<uint64_t> idle_kicks{0};
  std::atomic<uint64_t> read_buf_oom{0};  // -o read_buf_mem_limit (buffer_budget.h)
  std::atomic<uint64_t> response_obj_oom{0};
  std::atomic<uint64_t> cmd_flush_refused{0};  // -F: memcached counts them in cmd_flush
  std::atomic<uint64_t> auth_cmds{0};          // -S and -Y
  std::atomic<uint64_t> auth_errors{0};
  std::atomic<bool> accepting_conns{true};
  std::atomic<uint64_t> listen_disabled_num{0};  // no_maxconns_fast
  std::atomic<uint64_t> time_in_listen_disabled_us{0};
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
  // `record` and -o record_path: the request stream as a native trace.
  RequestRecorder recorder;
  // `shutdown [graceful]` (-A): asks the server to stop; set by the Server
  // (empty in tests without one).
  std::function<void(bool graceful)> request_shutdown;
  // Called on a worker thread after a client connection is gone (the
  // listeners resume under no_maxconns_fast); set before the first accept.
  std::function<void()> connection_closed;
  // Every worker's buffers, for the stats lines (filled before the workers
  // start, read-only afterwards).
  std::vector<const BufferBudget*> buffer_budgets;
  // memcached counts its listening sockets as connections: in
  // total_connections, and in curr_connections less one. Set at start.
  uint32_t listening_conns = 0;
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
  uint64_t reset_read_buf_oom = 0;
  uint64_t reset_response_obj_oom = 0;
  // memcached zeroes these thread stats too, though its responses and
  // bundles stay: what is given back after the reset counts below zero.
  uint64_t reset_response_obj_count = 0;
  uint64_t reset_response_obj_bundles = 0;
  uint64_t reset_listen_disabled_num = 0;
  uint64_t reset_time_in_listen_disabled_us = 0;
};

}  // namespace memext::server
