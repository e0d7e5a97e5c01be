// memext-server: a memcached 1.6.18 compatible cache server (text and meta
// protocols) with the extstore flash tier; see server/src/server.h.
#include <iostream>

#include "config.h"
#include "server.h"

int main(int argc, char** argv) {
  using namespace memext::server;
  ServerConfig config;
  try {
    if (parse_command_line(argc, argv, config, std::cout) == CommandLineAction::kExit) return 0;
  } catch (const ConfigError& e) {
    std::cerr << "memext-server: " << e.what() << "\n";
    return 64;
  }
  if (config.verbose >= 2) std::cerr << slab_class_table_text(config.engine);
  for (const std::string& name : config.ignored_suboptions) {
    if (config.verbose >= 1) std::cerr << "-o " << name << ": accepted, has no effect in memext\n";
  }
  try {
    Server server(config);
    server.run();
  } catch (const ExtStoreOpenError& e) {
    std::cerr << "memext-server: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "memext-server: " << e.what() << "\n";
    return 71;
  }
  return 0;
}
