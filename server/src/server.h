// server/src/server.h — memext-server's process: the engine (and extstore),
// one Asio io_context per worker thread, the listeners, and the background
// thread that drives time and the engine's step() objects.
//
// Threads: `threads` workers each run their own io_context (connections are
// handed out round-robin at accept); one background thread runs the
// listeners, signal handling, the clock (memcached's current_time, pushed
// into the engine every second) and the LruMaintainer / extstore flusher /
// compactor steps on timers that honour each step's returned wake-up time.
// Every engine call takes SharedEngine::mutex.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "config.h"

namespace memext::server {

// An ext_path that cannot be opened; memcached exits with status 1 for it.
class ExtStoreOpenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Server {
 public:
  // Builds the engine, opens the flash files and binds the listeners. Throws
  // std::runtime_error (or ConfigError) with a one-line reason. With
  // `restored_process_started` (a valid -e meta file, memory_file.h) the
  // clock resumes from that epoch and the memory file's items are loaded.
  explicit Server(const ServerConfig& config,
                  std::optional<int64_t> restored_process_started = std::nullopt);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until SIGINT/SIGTERM (or stop()), then shuts down cleanly.
  void run();
  void stop();
  // After run(): true when it stopped on SIGUSR1 or `shutdown graceful`
  // (memcached's graceful stop), false on SIGINT, SIGTERM or `shutdown`.
  bool stopped_gracefully() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memext::server
