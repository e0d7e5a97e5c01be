// server/src/config.h — memext-server's command line: memcached 1.6.18's
// flags (-p, -l, -U, -s, -m, -c, -t, -I, -f, -n, -v, -u, -M, -C, -o ...) and
// their meanings, parsed with Boost.Program_options into ServerConfig.
//
// Engine options (-m, -f, -n, -I, -M, -C and the -o sub-options the engine
// knows) go through memext::apply_memcached_option so the server and the
// simulator accept exactly the same spelling. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

#include "memext/config.h"
#include "operator_options.h"
#include "record_options.h"
#include "tls_options.h"

namespace memext::server {

inline constexpr const char* kVersion = "1.6.18";

// -B: which protocol connections speak; kAuto decides by the first byte.
enum class BindingProtocol : uint8_t { kAuto, kAscii, kBinary };

struct ServerConfig {
  int32_t port = 11211;                         // -p: 0 = no TCP, -1 = any free port
  std::vector<std::string> listen;              // -l (comma separated, repeatable); empty = all
  std::string unix_socket;                      // -s
  uint32_t unix_mask = 0700;                    // -a
  uint32_t max_connections = 1024;              // -c
  uint32_t threads = 4;                         // -t
  int verbose = 0;                              // -v, -vv, -vvv
  std::string user;                             // -u
  uint32_t backlog = 1024;                      // -b
  std::vector<std::string> ignored_suboptions;  // memcached -o options without effect here
  EngineConfig engine;
  OperatorConfig ops;  // -d -P -r -k -L -F -A -X -W -R -D, idle_timeout, ...
  TlsConfig tls;       // -Z and -o ssl_*
  // -o record_sample, record_max_bytes: defaults of `record start`;
  // record_path also records from startup (record_at_start).
  RecordSettings record;
  bool record_at_start = false;

  BindingProtocol protocol = BindingProtocol::kAuto;  // -B
  // -U: 0 = no UDP (1.6's default), -1 = any free port. Given without -p,
  // the TCP port follows it, as in memcached.
  int32_t udp_port = 0;

  bool sasl = false;        // -S: SASL over the binary protocol
  bool ascii_auth = false;  // -Y given
  std::string auth_file;    // -Y: "user:password" lines
};

// A command line that cannot be used; what() names the option, the bad value
// and what is allowed. main() prints it after "memext-server: " and exits 64
// (EX_USAGE), unless it is one of memcached's own refusals (memcached()),
// which is printed and exits exactly as memcached does, for scripts that
// read either.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& what) : std::runtime_error(what) {}

  static ConfigError memcached(const std::string& line, int exit_status) {
    ConfigError e(line);
    e.verbatim_ = true;
    e.exit_status_ = exit_status;
    return e;
  }
  bool verbatim() const { return verbatim_; }
  int exit_status() const { return exit_status_; }

 private:
  bool verbatim_ = false;
  int exit_status_ = 64;
};

enum class CommandLineAction { kRun, kExit };

// Parses argv. Prints --help / --version text to `out` and returns kExit for
// them. Throws ConfigError on any unknown, malformed or inconsistent option.
CommandLineAction parse_command_line(int argc, const char* const* argv, ServerConfig& config,
                                     std::ostream& out);

// memcached -vv's slab class table ("slab class   1: chunk size        96
// perslab   10922"), one line per class.
std::string slab_class_table_text(const EngineConfig& config);

}  // namespace memext::server
