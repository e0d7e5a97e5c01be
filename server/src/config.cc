#include "config.h"

#include <boost/program_options.hpp>
#include <cstdio>
#include <ostream>
#include <string_view>

#include "memext/options.h"
#include "memext/pagestore.h"
#include "memext/slabs.h"

namespace po = boost::program_options;

namespace memext::server {
namespace {

// memcached -o sub-options that have no counterpart in memext (its own
// hash, logging and connection knobs). Accepted so existing
// memcached command lines start; listed at -v so nobody mistakes them for
// being honoured.
constexpr std::string_view kIgnoredSuboptions[] = {
    "hashpower",         "tail_repair_time",    "slab_reassign",        "no_slab_reassign",
    "slab_automove",     "slab_automove_ratio", "slab_automove_window", "no_hashexpand",
    "inline_ascii_resp", "resp_obj_mem_limit",  "drop_privileges",      "no_drop_privileges",
};

bool is_ignored_suboption(std::string_view name) {
  for (std::string_view ignored : kIgnoredSuboptions) {
    if (ignored == name) return true;
  }
  return false;
}

// memcached's own refusal when it refuses the value too, else memext's
// clearer message.
ConfigError engine_option_error(const std::string& option, const OptionResult& r) {
  if (!r.memcached_line.empty()) {
    return ConfigError::memcached(r.memcached_line, r.memcached_exit_status);
  }
  return ConfigError(option + ": " + r.error);
}

void apply_engine_option(EngineConfig& engine, std::string_view flag, std::string_view name,
                         std::string_view value) {
  OptionResult r = apply_memcached_option(engine, name, value);
  if (r.ok()) return;
  throw engine_option_error(std::string(flag), r);
}

// memcached counts -v occurrences (-v, -vv, -vvv); Program_options cannot,
// so verbosity flags are taken out of argv before it runs.
std::vector<std::string> strip_verbosity(int argc, const char* const* argv, int& verbose) {
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--verbose") {
      ++verbose;
      continue;
    }
    if (arg.size() >= 2 && arg[0] == '-' && arg[1] == 'v' &&
        arg.find_first_not_of('v', 1) == std::string_view::npos) {
      verbose += static_cast<int>(arg.size() - 1);
      continue;
    }
    rest.emplace_back(arg);
  }
  return rest;
}

uint32_t parse_uint(const std::string& flag, const std::string& text, uint64_t min, uint64_t max) {
  size_t used = 0;
  unsigned long long v = 0;
  try {
    if (text.empty() || text[0] == '-') throw std::invalid_argument(text);
    v = std::stoull(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v < min || v > max) {
    throw ConfigError(flag + ": invalid value '" + text + "' (allowed: integer " +
                      std::to_string(min) + ".." + std::to_string(max) + ")");
  }
  return static_cast<uint32_t>(v);
}

// -p and -U: a port, 0 (off) or -1 (any free port).
int32_t parse_port(const std::string& flag, const std::string& text) {
  if (text == "-1") return -1;
  return static_cast<int32_t>(parse_uint(flag, text, 0, 65535));
}

// memcached's rules, in its order: SASL needs the binary protocol (the
// default then) and no UDP; the auth file the ASCII protocol (the default
// then, also with -S) and no UDP.
void apply_authentication_rules(ServerConfig& config, bool protocol_given) {
  if (config.sasl) {
    if (!protocol_given) {
      config.protocol = BindingProtocol::kBinary;
    } else if (config.protocol != BindingProtocol::kBinary) {
      throw ConfigError::memcached("ERROR: You cannot allow the ASCII protocol while using SASL.",
                                   64);
    }
    if (config.udp_port != 0) {
      throw ConfigError::memcached(
          "ERROR: Cannot enable UDP while using binary SASL authentication.", 64);
    }
  }
  if (config.ascii_auth) {
    if (!protocol_given) {
      config.protocol = BindingProtocol::kAscii;
    } else if (config.protocol != BindingProtocol::kAscii) {
      throw ConfigError::memcached(
          "ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.",
          64);
    }
    if (config.udp_port != 0) {
      throw ConfigError::memcached(
          "Cannot use UDP with ascii authentication enabled (-U 0 to disable)", 64);
    }
  }
}

// memcached (getopt) takes the last of a repeated flag (`-t 2 -t 4` runs
// four threads), but accumulates -l and -o; Program_options would refuse the
// repeat, so the earlier occurrences are dropped before it stores them.
void keep_last_of_repeated(po::parsed_options& parsed) {
  std::vector<po::option>& options = parsed.options;
  for (size_t i = 0; i < options.size(); ++i) {
    const std::string& key = options[i].string_key;
    if (key == "listen" || key == "extended") continue;
    for (size_t later = i + 1; later < options.size(); ++later) {
      if (options[later].string_key == key) {
        options.erase(options.begin() + static_cast<std::ptrdiff_t>(i));
        --i;
        break;
      }
    }
  }
}

// extstore_init's checks, which memcached makes only when it opens the
// store (the engine itself takes any page size: the simulator's --sample
// scales pages below 2 MB).
void check_memcached_extstore_limits(const ExtConfig& ext) {
  if (!ext.enabled()) return;
  uint64_t total_pages = 0;
  for (const ExtPathConfig& path : ext.paths) total_pages += path.size_bytes / ext.page_size;
  std::string problem = memcached_extstore_limits_error(ext.page_size, ext.wbuf_size, total_pages);
  if (!problem.empty()) {
    throw ConfigError::memcached("Failed to initialize external storage: " + problem, 1);
  }
}

}  // namespace

std::string slab_class_table_text(const EngineConfig& config) {
  SlabClassTable table(config);
  std::string text;
  char line[96];
  for (uint32_t id = 1; id <= table.largest(); ++id) {
    std::snprintf(line, sizeof line, "slab class %3u: chunk size %9u perslab %7u\n", id,
                  table[id].size, table[id].perslab);
    text += line;
  }
  return text;
}

CommandLineAction parse_command_line(int argc, const char* const* argv, ServerConfig& config,
                                     std::ostream& out) {
  std::vector<std::string> args = strip_verbosity(argc, argv, config.verbose);

  std::string port, udp_port, memory, conns, threads, item_max, factor, min_size, mask, backlog,
      protocol;
  std::vector<std::string> listen, suboptions;
  po::options_description desc(
      "memext-server — a memcached 1.6.18 compatible cache server with an extstore flash tier.\n"
      "Usage: memext-server [options]\n\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("version,V", "print version and exit")
    ("port,p", po::value(&port), "TCP port to listen on (default: 11211; 0 = none, -1 = any "
                                 "free port)")
    ("listen,l", po::value(&listen), "interface(s) to listen on, comma separated "
                                     "(default: all addresses)")
    ("udp-port,U", po::value(&udp_port), "UDP port to listen on (default: 0, off; -1 = any free "
                                         "port); without -p the TCP port follows it")
    ("unix-socket,s", po::value(&config.unix_socket), "UNIX socket path to listen on "
                                                      "(disables network support)")
    ("unix-mask,a", po::value(&mask), "access mask for the UNIX socket, in octal (default: 700)")
    ("memory-limit,m", po::value(&memory), "item memory in megabytes (default: 64)")
    ("conn-limit,c", po::value(&conns), "max simultaneous connections (default: 1024)")
    ("threads,t", po::value(&threads), "number of worker threads (default: 4)")
    ("max-item-size,I", po::value(&item_max), "maximum item size, e.g. 1m, 2m (default: 1m)")
    ("slab-growth-factor,f", po::value(&factor), "chunk size growth factor (default: 1.25)")
    ("slab-min-size,n", po::value(&min_size), "min space for key+value+flags (default: 48)")
    ("user,u", po::value(&config.user), "assume the identity of <username> (only when run as root)")
    ("disable-evictions,M", "return an error on memory exhausted instead of evicting")
    ("disable-cas,C", "disable use of CAS")
    ("listen-backlog,b", po::value(&backlog), "listen backlog (default: 1024)")
    ("protocol,B", po::value(&protocol), "protocol: auto, ascii or binary (default: auto, "
                                         "negotiated by each connection's first byte)")
    ("enable-ssl,Z", "enable TLS on the TCP listeners (-o ssl_chain_cert=FILE required; "
                     "\"-l notls:HOST:PORT\" keeps a listener plain)")
    ("enable-sasl,S", "turn on SASL authentication (binary protocol; Cyrus SASL service "
                      "\"memcached\", configured by $SASL_CONF_PATH/memcached.conf)")
    ("auth-file,Y", po::value(&config.auth_file), "enable ASCII protocol authentication. "
                                                  "format: user:pass\\nuser2:pass2\\n")
    ("verbose,v", "verbose (print errors/warnings); -vv also prints the slab class table")
    ("extended,o", po::value(&suboptions), "comma separated list of extended options, as in "
        "memcached: ext_path=FILE:SIZE[:bucket], ext_page_size, ext_wbuf_size, ext_threads, "
        "ext_io_depth, ext_item_size, ext_item_age, ext_low_ttl, ext_recache_rate, "
        "ext_compact_under, ext_drop_under, ext_max_frag, ext_drop_unread, ext_max_sleep, "
        "slab_automove_freeratio, slab_chunk_max, hot_lru_pct, warm_lru_pct, hot_max_factor, "
        "warm_max_factor, temporary_ttl, lru_maintainer, no_lru_maintainer, lru_segmented, "
        "no_lru_segmented, lru_crawler, no_lru_crawler, lru_crawler_sleep, lru_crawler_tocrawl, "
        "modern, no_modern, ssl_chain_cert, ssl_key, ssl_keyformat, ssl_verify_mode (0 none, "
        "1 request, 2 require, 3 once), ssl_ciphers, ssl_ca_cert, ssl_wbuf_size, "
        "ssl_session_cache, ssl_kernel_tls, ssl_min_version (0 tlsv1.0, 1 tlsv1.1, 2 tlsv1.2, "
        "3 tlsv1.3; default 2), record_path=PREFIX (record requests from startup to "
        "PREFIX.0001.mxt.zst ...), record_sample=R (0 < R <= 1, keys sampled by hash), "
        "record_max_bytes=N (start the next file past N bytes; k, m, g; default 1g, 0 = one file)");
  // clang-format on
  OperatorFlagText operator_text;
  add_operator_options(desc, operator_text);

  po::variables_map vm;
  try {
    po::parsed_options parsed = po::command_line_parser(args).options(desc).run();
    keep_last_of_repeated(parsed);
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    throw ConfigError("unknown option '" + e.get_option_name() + "' (see --help)");
  } catch (const po::error& e) {
    throw ConfigError(std::string(e.what()) + " (see --help)");
  }
  if (vm.count("help")) {
    out << desc << "\n";
    return CommandLineAction::kExit;
  }
  if (vm.count("version")) {
    out << "memcached " << kVersion << " (memext-server)\n";
    return CommandLineAction::kExit;
  }
  if (vm.count("license")) {
    out << license_text();
    return CommandLineAction::kExit;
  }
  apply_operator_options(vm, operator_text, config.ops);
  config.tls.enabled = vm.count("enable-ssl") > 0;

  if (!port.empty()) config.port = parse_port("-p", port);
  if (!udp_port.empty()) {
    config.udp_port = parse_port("-U", udp_port);
    if (port.empty() && config.udp_port != 0) config.port = config.udp_port;
  }
  for (const std::string& item : listen) {
    size_t start = 0;
    while (start <= item.size()) {
      size_t comma = item.find(',', start);
      if (comma == std::string::npos) comma = item.size();
      std::string addr = item.substr(start, comma - start);
      if (addr.empty()) throw ConfigError("-l '" + item + "': empty interface name");
      config.listen.push_back(addr);
      start = comma + 1;
    }
  }
  if (!mask.empty()) {
    size_t used = 0;
    unsigned long m = 0;
    try {
      m = std::stoul(mask, &used, 8);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != mask.size() || m > 0777) {
      throw ConfigError("-a: invalid mask '" + mask + "' (allowed: octal 000..777)");
    }
    config.unix_mask = static_cast<uint32_t>(m);
  }
  if (!conns.empty()) config.max_connections = parse_uint("-c", conns, 1, 1u << 24);
  if (!threads.empty()) {
    if (threads.find_first_not_of("0123456789") != std::string::npos ||
        threads.find_first_not_of('0') == std::string::npos) {
      throw ConfigError::memcached("Number of threads must be greater than 0", 1);
    }
    config.threads = parse_uint("-t", threads, 1, 256);
  }
  if (!backlog.empty()) config.backlog = parse_uint("-b", backlog, 1, 1u << 20);
  if (protocol == "auto") {
    config.protocol = BindingProtocol::kAuto;
  } else if (protocol == "ascii") {
    config.protocol = BindingProtocol::kAscii;
  } else if (protocol == "binary") {
    config.protocol = BindingProtocol::kBinary;
  } else if (!protocol.empty()) {
    throw ConfigError("-B: invalid protocol '" + protocol + "' (allowed: auto, ascii, binary)");
  }

  if (!memory.empty()) apply_engine_option(config.engine, "-m", "m", memory);
  if (!item_max.empty()) apply_engine_option(config.engine, "-I", "I", item_max);
  if (!factor.empty()) apply_engine_option(config.engine, "-f", "f", factor);
  if (!min_size.empty()) apply_engine_option(config.engine, "-n", "n", min_size);
  if (vm.count("disable-evictions")) apply_engine_option(config.engine, "-M", "M", "");
  if (vm.count("disable-cas")) apply_engine_option(config.engine, "-C", "C", "");

  bool ext_path_given = false;
  for (const std::string& csv : suboptions) {
    for (const auto& [name, value] : parse_suboptions(csv)) {
      // memcached sizes each ext_path in pages as it parses it.
      if (name == "ext_page_size" && ext_path_given) {
        throw ConfigError::memcached("Must specify ext_page_size before any ext_path arguments", 1);
      }
      ext_path_given = ext_path_given || name == "ext_path";
      if (apply_operator_suboption(config.ops, name, value)) continue;
      if (apply_tls_suboption(config.tls, name, value)) continue;
      if (apply_record_suboption(config.record, config.record_at_start, name, value)) continue;
      if (name == "no_modern") apply_no_modern(config.ops);
      OptionResult r = apply_memcached_option(config.engine, name, value);
      if (r.ok()) continue;
      if (r.status == OptionStatus::kUnknownOption && is_ignored_suboption(name)) {
        config.ignored_suboptions.push_back(name);
        continue;
      }
      if (r.status == OptionStatus::kUnknownOption) {
        throw ConfigError("-o: illegal suboption \"" + name + "\"" + " (see --help)");
      }
      throw engine_option_error("-o " + name, r);
    }
  }
  if (config.tls.enabled && config.port == 0) {
    throw ConfigError::memcached("ERROR: You cannot enable SSL without a TCP port.", 64);
  }
  if (config.udp_port != 0 && config.engine.ext.enabled()) {
    throw ConfigError("Cannot use UDP with extstore enabled (-U 0 to disable)");
  }
  config.sasl = vm.count("enable-sasl") > 0;
  config.ascii_auth = vm.count("auth-file") > 0;
  apply_authentication_rules(config, !protocol.empty());
  // memcached preallocates its item memory for -L and for -e's memory file,
  // which also holds the rest of -m in the global page pool.
  config.engine.slab_prealloc = config.ops.large_pages || !config.ops.memory_file.empty();
  config.engine.slab_prefill_global = !config.ops.memory_file.empty();
  ConfigProblem problem = check_config(config.engine);
  if (!problem.memcached_line.empty()) {
    throw ConfigError::memcached(problem.memcached_line, problem.memcached_exit_status);
  }
  if (!problem.empty()) throw ConfigError(problem.message);
  check_memcached_extstore_limits(config.engine.ext);
  return CommandLineAction::kRun;
}

}  // namespace memext::server
