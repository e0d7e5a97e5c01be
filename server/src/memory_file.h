// server/src/memory_file.h — memcached's restartable cache (-e FILE).
//
// memcached mmaps FILE as its item memory and, on a graceful stop
// (SIGUSR1, `shutdown graceful`), writes FILE.meta: "Tmain" and "K<name>
// <value>" lines with the settings a restart must match and its clock.
// At the next start a valid, matching meta file brings the items back and
// is removed at once (a crash later starts empty). memext writes the
// engine's snapshot (memext/restart.h) into FILE at the stop instead of
// living in it, and the same meta lines beside it; the start-up checks,
// their messages and the time rule (the clock resumes from the first
// start's process_started, so TTLs ran on during the stop) are memcached's.
// Single-threaded: called before the server starts and after it stopped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config.h"
#include "memext/engine.h"

namespace memext::server {

// What a valid meta file carries over.
struct RestartClock {
  int64_t process_started = 0;  // unix seconds of rel time 0 at the first start
};

// Reads and validates FILE.meta against `config`, printing memcached's
// [restart] lines, and removes it. nullopt: start with a clean cache.
// Throws std::runtime_error when FILE cannot be opened (memcached aborts).
std::optional<RestartClock> check_memory_file(const ServerConfig& config);

// Links FILE's items into `engine` (empty, its clock set); prints the
// reason and leaves the engine empty when FILE is not a valid snapshot.
void load_memory_file(const ServerConfig& config, Engine& engine);

// Writes the snapshot to FILE and then FILE.meta; `now` is the engine's
// current time, `process_started` its epoch. Prints and returns false when
// a write fails (the next start is then clean).
bool save_memory_file(const ServerConfig& config, const Engine& engine, rel_time_t now,
                      int64_t process_started);

}  // namespace memext::server
