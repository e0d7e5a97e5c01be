// server/src/operator_options.h — memcached 1.6.18's flags for running the
// process and guarding the admin surface, beside the cache's own flags in
// config.h: -d, -P, -r, -k, -L, -F, -A, -X, -W, -R, -D, -i, -e and the -o
// options idle_timeout, maxconns_fast, hash_algorithm, watcher_logbuf_size,
// worker_logbuf_size, read_buf_mem_limit, track_sizes, inline_ascii_resp.
//
// Kept apart from config.cc so the flags of other areas (protocols, TLS)
// can grow there without touching these. Pure functions; thread-safe.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace memext::server {

struct OperatorConfig {
  bool daemonize = false;         // -d
  std::string pid_file;           // -P
  bool core_dumps = false;        // -r
  bool lock_memory = false;       // -k
  bool large_pages = false;       // -L
  bool flush_enabled = true;      // -F turns off
  bool shutdown_enabled = false;  // -A
  bool dump_enabled = true;       // -X turns off
  bool watch_enabled = true;      // -W turns off
  uint32_t reqs_per_event = 20;   // -R
  char prefix_delimiter = ':';    // -D
  bool detail_enabled = false;    // -D turns on, as does `stats detail on`
  int32_t idle_timeout = 0;       // -o idle_timeout (seconds; <= 0 never kicks)
  bool maxconns_fast = true;      // -o maxconns_fast / no_maxconns_fast
  std::string hash_algorithm = "murmur3";
  uint32_t watcher_logbuf_size = 256u << 10;
  uint32_t worker_logbuf_size = 64u << 10;
  uint32_t read_buf_mem_limit = 0;  // bytes (given in MB); 0 = unlimited
  bool track_sizes = false;
  std::string memory_file;  // -e: restartable cache (memory_file.h)
};

// The strings Program_options fills for these flags.
struct OperatorFlagText {
  std::string pid_file, reqs_per_event, delimiter, memory_file;
};

void add_operator_options(boost::program_options::options_description& desc,
                          OperatorFlagText& text);

// Sets `ops` from the parsed flags; throws ConfigError naming a bad value.
void apply_operator_options(const boost::program_options::variables_map& vm,
                            const OperatorFlagText& text, OperatorConfig& ops);

// One -o option of this file's list: true when it was one (and applied),
// false for any other name. Throws ConfigError for a bad value.
bool apply_operator_suboption(OperatorConfig& ops, const std::string& name,
                              const std::string& value);

// `-i`: the license text, as `memcached -i` prints its own.
std::string license_text();

// `no_modern` also switches memcached's connection and hash defaults back.
void apply_no_modern(OperatorConfig& ops);

}  // namespace memext::server
