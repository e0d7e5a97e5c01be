#include "operator_options.h"

#include <boost/program_options.hpp>
#include <charconv>

#include "config.h"

namespace po = boost::program_options;

namespace memext::server {
namespace {

bool parse_int(const std::string& text, int64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

int64_t parse_ranged(const std::string& flag, const std::string& text, int64_t min, int64_t max) {
  int64_t v = 0;
  if (!parse_int(text, v) || v < min || v > max) {
    throw ConfigError(flag + ": invalid value '" + text + "' (allowed: integer " +
                      std::to_string(min) + ".." + std::to_string(max) + ")");
  }
  return v;
}

}  // namespace

void add_operator_options(po::options_description& desc, OperatorFlagText& text) {
  // clang-format off
  desc.add_options()
    ("daemon,d", "run as a daemon")
    ("pidfile,P", po::value(&text.pid_file), "save PID in <file> (removed at exit with -d)")
    ("enable-coredumps,r", "maximize core file limit")
    ("lock-memory,k", "lock down all paged memory (a warning when the system refuses)")
    ("enable-largepages,L", "check for transparent huge pages as memcached does; item memory "
                            "then follows the system's THP mode")
    ("disable-flush-all,F", "disable flush_all command")
    ("enable-shutdown,A", "enable ascii \"shutdown\" command")
    ("disable-dumping,X", "disable stats cachedump and lru_crawler metadump")
    ("disable-watch,W", "disable watch commands")
    ("max-reqs-per-event,R", po::value(&text.reqs_per_event),
     "maximum number of requests per event before the connection yields (default: 20)")
    ("prefix-delimiter,D", po::value(&text.delimiter), "<char> between key prefixes and IDs for per-prefix stats "
                                       "(default: \":\"); turns `stats detail` on")
    ("license,i", "print the license and exit")
    ("memory-file,e", po::value(&text.memory_file), "restartable cache: the items are saved to <file> "
                                                    "(and <file>.meta) at a graceful stop (SIGUSR1) "
                                                    "and restored at the next start");
  // clang-format on
}

void apply_operator_options(const po::variables_map& vm, const OperatorFlagText& text,
                            OperatorConfig& ops) {
  ops.daemonize = vm.count("daemon") > 0;
  ops.pid_file = text.pid_file;
  ops.core_dumps = vm.count("enable-coredumps") > 0;
  ops.lock_memory = vm.count("lock-memory") > 0;
  ops.large_pages = vm.count("enable-largepages") > 0;
  if (vm.count("disable-flush-all")) ops.flush_enabled = false;
  if (vm.count("enable-shutdown")) ops.shutdown_enabled = true;
  if (vm.count("disable-dumping")) ops.dump_enabled = false;
  if (vm.count("disable-watch")) ops.watch_enabled = false;
  if (!text.reqs_per_event.empty()) {
    ops.reqs_per_event =
        static_cast<uint32_t>(parse_ranged("-R", text.reqs_per_event, 1, INT32_MAX));
  }
  if (vm.count("prefix-delimiter")) {
    if (text.delimiter.empty())
      throw ConfigError("-D: no delimiter given (allowed: one character)");
    // memcached uses the first character.
    ops.prefix_delimiter = text.delimiter[0];
    ops.detail_enabled = true;
  }
  if (vm.count("memory-file")) ops.memory_file = text.memory_file;
}

bool apply_operator_suboption(OperatorConfig& ops, const std::string& name,
                              const std::string& value) {
  if (name == "idle_timeout") {
    ops.idle_timeout = static_cast<int32_t>(parse_ranged("-o idle_timeout", value, -1, INT32_MAX));
    return true;
  }
  if (name == "maxconns_fast" || name == "no_maxconns_fast") {
    ops.maxconns_fast = name == "maxconns_fast";
    return true;
  }
  if (name == "hash_algorithm") {
    if (value != "jenkins" && value != "murmur3" && value != "xxh3") {
      throw ConfigError("-o hash_algorithm: unknown value '" + value +
                        "' (allowed: jenkins, murmur3, xxh3)");
    }
    ops.hash_algorithm = value;
    return true;
  }
  if (name == "watcher_logbuf_size" || name == "worker_logbuf_size") {
    auto kb = static_cast<uint32_t>(parse_ranged("-o " + name, value, 1, 1 << 20));
    (name == "watcher_logbuf_size" ? ops.watcher_logbuf_size : ops.worker_logbuf_size) = kb << 10;
    return true;
  }
  if (name == "read_buf_mem_limit") {
    auto mb = static_cast<uint32_t>(parse_ranged("-o read_buf_mem_limit", value, 0, 4095));
    ops.read_buf_mem_limit = mb << 20;
    return true;
  }
  if (name == "track_sizes") {
    ops.track_sizes = true;
    return true;
  }
  return false;
}

void apply_no_modern(OperatorConfig& ops) {
  ops.maxconns_fast = false;
  ops.hash_algorithm = "jenkins";
}

std::string license_text() {
  return std::string("memcached ") + kVersion +
         " (memext-server)\n\n"
         "memext-server re-implements the behaviour of memcached 1.6.18 in its own code; it\n"
         "contains no memcached source. memcached is Copyright (c) 2003, Danga Interactive,\n"
         "Inc., under the BSD 3-clause license that `memcached -i` prints.\n";
}

}  // namespace memext::server
