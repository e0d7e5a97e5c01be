#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "config.h"

using namespace memext::server;

namespace {
ServerConfig parse(std::vector<const char*> args, CommandLineAction* action = nullptr) {
  args.insert(args.begin(), "memext-server");
  ServerConfig config;
  std::ostringstream out;
  CommandLineAction a = parse_command_line(static_cast<int>(args.size()), args.data(), config, out);
  if (action) *action = a;
  return config;
}
}  // namespace

TEST_CASE("memcached flags map onto the config") {
  ServerConfig c =
      parse({"-p",  "12000", "-m", "128", "-t",  "2",  "-c", "50", "-l", "127.0.0.1,::1", "-U", "0",
             "-vv", "-I",    "2m", "-f",  "1.5", "-n", "64", "-M", "-C"});
  CHECK(c.port == 12000);
  CHECK(c.engine.memory_limit == 128ull << 20);
  CHECK(c.threads == 2);
  CHECK(c.max_connections == 50);
  REQUIRE(c.listen.size() == 2);
  CHECK(c.listen[1] == "::1");
  CHECK(c.verbose == 2);
  CHECK(c.engine.item_size_max == 2u << 20);
  CHECK(c.engine.growth_factor == doctest::Approx(1.5));
  CHECK(c.engine.chunk_min_size == 64);
  CHECK_FALSE(c.engine.evict_to_free);
  CHECK_FALSE(c.engine.use_cas);
}

TEST_CASE("-p and -U follow memcached: -1 is any free port, -U alone moves TCP too") {
  CHECK(parse({}).udp_port == 0);
  ServerConfig c = parse({"-U", "12001"});
  CHECK(c.udp_port == 12001);
  CHECK(c.port == 12001);
  c = parse({"-U", "0"});
  CHECK(c.port == 11211);
  c = parse({"-p", "-1", "-U", "-1"});
  CHECK(c.port == -1);
  CHECK(c.udp_port == -1);
  c = parse({"-p", "0", "-U", "12002"});
  CHECK(c.port == 0);
  CHECK(c.udp_port == 12002);
}

TEST_CASE("-o suboptions reach the engine config, repeated ext_path included") {
  ServerConfig c = parse({"-o", "ext_path=/tmp/a:64m,ext_item_age=0,hot_lru_pct=30", "-o",
                          "ext_path=/tmp/b:1g:compact,slab_chunk_max=262144"});
  REQUIRE(c.engine.ext.paths.size() == 2);
  CHECK(c.engine.ext.paths[1].bucket == "compact");
  CHECK(c.engine.ext.item_age == 0);
  CHECK(c.engine.hot_lru_pct == 30);
  CHECK(c.engine.slab_chunk_max == 262144u);  // bytes, as memcached 1.6.18 reads it
}

TEST_CASE("bad options fail naming the option") {
  auto message = [](std::vector<const char*> args) {
    try {
      parse(args);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message({"-U", "-2"}).find("-U: invalid value '-2'") != std::string::npos);
  CHECK(message({"-o", "bogus_option=1"}).find("bogus_option") != std::string::npos);
  CHECK(message({"-o", "hot_lru_pct=abc"}).find("hot_lru_pct") != std::string::npos);
  CHECK(message({"-t", "0"}) == "Number of threads must be greater than 0");  // memcached's
  CHECK(message({"-t", "300"}).find("-t") != std::string::npos);
  CHECK(message({"-o", "ext_path=/tmp/a:64m,ext_page_size=8"}) ==
        "Must specify ext_page_size before any ext_path arguments");
  CHECK(message({"-o", "ext_page_size=3,ext_wbuf_size=3,ext_path=/tmp/a:64m"}) ==
        "Failed to initialize external storage: page_size and wbuf_size must be divisible by "
        "1024*1024*2");
  CHECK(message({"-p", "70000"}).find("-p") != std::string::npos);
  CHECK(message({"--frobnicate"}) == "unknown option '--frobnicate' (see --help)");
  CHECK(message({"-p", "1", "-j"}) == "unknown option '-j' (see --help)");
  // nan and inf once reached the slab class table and crashed it (SIGFPE).
  // A number memcached refuses too gets its line.
  CHECK(message({"-f", "0.5"}) == "Factor must be greater than 1");
  CHECK(message({"-f", "abc"}) ==
        "-f: invalid value 'abc' for option f: growth factor must be a number greater than 1");
  CHECK(message({"-f", "nan"}) ==
        "-f: invalid value 'nan' for option f: growth factor must be a number greater than 1");
  CHECK(message({"-f", "inf"}) ==
        "-f: invalid value 'inf' for option f: growth factor must be a number greater than 1");
  CHECK(message({"--slab-growth-factor", "-inf"}).find("'-inf'") != std::string::npos);
}

TEST_CASE("a repeated flag takes its last value, -l and -o accumulate") {
  ServerConfig c = parse({"-t", "3", "-t", "5", "-M", "-M", "-l", "127.0.0.1", "-l", "::1", "-o",
                          "hot_lru_pct=30", "-o", "warm_lru_pct=30"});
  CHECK(c.threads == 5u);
  CHECK_FALSE(c.engine.evict_to_free);
  CHECK(c.listen == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(c.engine.hot_lru_pct == 30);
  CHECK(c.engine.warm_lru_pct == 30);
}

TEST_CASE("--help and --version exit") {
  CommandLineAction a = CommandLineAction::kRun;
  parse({"--help"}, &a);
  CHECK(a == CommandLineAction::kExit);
  parse({"-V"}, &a);
  CHECK(a == CommandLineAction::kExit);
}

TEST_CASE("slab class table matches memcached -vv") {
  memext::EngineConfig e;
  std::string text = slab_class_table_text(e);
  CHECK(
      text.starts_with("slab class   1: chunk size        96 perslab   10922\n"
                       "slab class   2: chunk size       120 perslab    8738\n"));
  CHECK(text.find("slab class  39: chunk size    524288 perslab       2\n") != std::string::npos);
}

TEST_CASE("-Z and the ssl_* options as memcached spells and checks them") {
  ServerConfig c = parse({"-Z", "-o",
                          "ssl_chain_cert=c.pem,ssl_key=k.pem,ssl_verify_mode=3,ssl_min_version=3,"
                          "ssl_wbuf_size=4,ssl_session_cache,ssl_keyformat=2"});
  CHECK(c.tls.enabled);
  CHECK(c.tls.chain_cert == "c.pem");
  CHECK(c.tls.key == "k.pem");
  CHECK(c.tls.verify_mode == 3);
  CHECK(tls_verify_flags(c.tls.verify_mode) == 7);  // memcached's "once": PEER|FAIL|CLIENT_ONCE
  CHECK(c.tls.min_version == 3);
  CHECK(c.tls.wbuf_size == 4096);
  CHECK(c.tls.session_cache);
  CHECK(c.tls.keyformat == 2);
  CHECK_FALSE(c.tls.ca_cert.has_value());
  CHECK(tls_version_name(c.tls.min_version) == "tlsv1.3");

  auto error = [](const char* options) {
    try {
      parse({"-Z", "-o", options});
    } catch (const ConfigError& e) {
      CHECK(e.exit_status() == 1);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(error("ssl_min_version=tlsv1.3") == "could not parse argument to ssl_min_version");
  CHECK(error("ssl_min_version=4") == "Invalid ssl_min_version. Use help to see valid options.");
  CHECK(error("ssl_min_version") == "Missing ssl_min_version argument");
  CHECK(error("ssl_verify_mode=-1") == "Invalid ssl_verify_mode. Use help to see valid options.");
  CHECK(error("ssl_wbuf_size=-1") == "could not parse argument to ssl_wbuf_size");
  CHECK_THROWS_AS(parse({"-Z", "-p", "0"}), ConfigError);
}

TEST_CASE("-l entries: notls: prefix, host:port, bracketed IPv6") {
  ListenSpec s = parse_listen_spec("notls:127.0.0.1:11212");
  CHECK(s.notls);
  CHECK(s.host == "127.0.0.1");
  CHECK(s.port == 11212);
  s = parse_listen_spec("127.0.0.1");
  CHECK_FALSE(s.notls);
  CHECK_FALSE(s.port.has_value());
  s = parse_listen_spec("[::1]:9");
  CHECK(s.host == "::1");
  CHECK(s.port == 9);
  s = parse_listen_spec("::1");
  CHECK(s.host == "::1");
  CHECK_FALSE(s.port.has_value());
  CHECK_THROWS(parse_listen_spec("localhost:http"));
}
