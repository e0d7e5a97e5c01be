// memext-server: a memcached 1.6.18 compatible cache server (text and meta
// protocols) with the extstore flash tier; see server/src/server.h.
#include <iostream>
#include <memory>

#include "auth_file.h"
#include "config.h"
#include "memory_file.h"
#include "process_setup.h"
#include "server.h"

int main(int argc, char** argv) {
  using namespace memext::server;
  ServerConfig config;
  try {
    if (parse_command_line(argc, argv, config, std::cout) == CommandLineAction::kExit) return 0;
  } catch (const ConfigError& e) {
    std::cerr << (e.verbatim() ? "" : "memext-server: ") << e.what() << "\n";
    return e.exit_status();
  }
  const OperatorConfig& ops = config.ops;
  // memcached's order: core limit, large pages, daemon, then the memory
  // lock in the daemon, all before any thread starts.
  std::unique_ptr<PidFile> pid_file;
  try {
    if (ops.core_dumps) enable_core_dumps();
    if (ops.large_pages) check_large_pages();
    if (ops.daemonize) daemonize(ops.core_dumps, config.verbose > 0);
    if (ops.lock_memory) lock_memory();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 71;
  }
  if (config.verbose >= 2) std::cerr << slab_class_table_text(config.engine);
  for (const std::string& name : config.ignored_suboptions) {
    if (config.verbose >= 1) std::cerr << "-o " << name << ": accepted, has no effect in memext\n";
  }
  try {
    std::optional<int64_t> restored_started;
    if (!ops.memory_file.empty()) {
      if (std::optional<RestartClock> clock = check_memory_file(config)) {
        restored_started = clock->process_started;
      }
    }
    Server server(config, restored_started);
    // Once SIGTERM is handled: whoever reads the pid and signals it at once
    // must find the file removed at exit.
    if (!ops.pid_file.empty()) pid_file = std::make_unique<PidFile>(ops.pid_file, ops.daemonize);
    server.run();
    // memcached announces a graceful stop at any verbosity.
    if (server.stopped_gracefully()) {
      std::cerr << "Gracefully stopping\n";
      if (config.verbose >= 1) std::cerr << "all background threads stopped\n";
    } else if (config.verbose >= 1) {
      std::cerr << "Exiting normally\n";
    }
  } catch (const ConfigError& e) {
    // -Z's certificates: memcached prints its line without a program name.
    std::cerr << e.what() << "\n";
    return e.exit_status();
  } catch (const AuthStartupError& e) {
    // memcached's own message and status.
    std::cerr << e.what() << "\n";
    return 1;
  } catch (const ExtStoreOpenError& e) {
    std::cerr << "memext-server: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "memext-server: " << e.what() << "\n";
    return 71;
  }
  return 0;
}
