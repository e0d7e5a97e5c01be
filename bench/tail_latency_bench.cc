// Get tail latency under compaction, memext-server against memcached 1.6.18
// with the same flags in the same run (issue 12). For each server: one
// writer thread overwrites --keys keys of --value bytes at random, flat out
// (pipelined noreply sets), so the flash tier fragments and compacts
// continuously; after --warmup seconds one reader thread times every single
// get (one request in flight, every latency kept) for --seconds. Rounds
// alternate which server goes first, since the machine is shared and its
// load drifts. Prints p50/p99/p99.9/max, gets served, the writer's sets and
// each server's extstore stats per run, the load average around each run,
// and the memext/memcached ratios of each round. A memext-server built with
// -DMEMEXT_LOCK_HOLD_STATS=ON prints its EngineLock holds by kind on exit;
// --holds shows them. Written in C++ because a Python client's own
// per-request time was most of a get's (its p50 0.22 ms against 0.12 ms
// here). Never run by ctest.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu_pinning.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string memext = "build/server/memext-server";
  std::string memcached = "/usr/bin/memcached";
  double seconds = 60;
  double warmup = 3;
  double idle = 0;
  unsigned keys = 30000;
  unsigned value = 4096;
  unsigned rounds = 2;
  unsigned threads = 2;
  std::string memory = "32";
  std::string ext =
      "ext_page_size=8,ext_wbuf_size=2,ext_path={path}:256m,ext_item_size=64,"
      "ext_item_age=0";
  std::string dir = "/tmp";
  bool holds = false;
  bool memext_only = false;
  unsigned cgroup_mb = 0;  // 0: no memory cgroup
};

int usage(const char* argv0, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: %s [--memext PATH] [--memcached PATH] [--seconds S] [--warmup S]\n"
               "          [--keys N] [--value BYTES] [--rounds N] [--threads N] [-m MB]\n"
               "          [--ext OPTIONS] [--dir DIR] [--idle S] [--holds] [--memext-only]\n"
               "          [--cgroup-mb MB]\n"
               "Get latency (every request timed) while a second client overwrites keys flat\n"
               "out, memext-server and memcached with the same flags, rounds alternating.\n"
               "  --ext     the -o string; {path} becomes a file in --dir (default\n"
               "            %s)\n"
               "  --idle    seconds each server sits idle after it starts, before the\n"
               "            writer (default 0): an idle server's background threads back\n"
               "            off, and how long decides whether the storm starves the item\n"
               "            headers' slab class and misses (issue 14)\n"
               "  --holds   print memext-server's stderr (its lock-hold report when built\n"
               "            with -DMEMEXT_LOCK_HOLD_STATS=ON)\n"
               "  --cgroup-mb  run each server in a fresh memory cgroup of MB (process\n"
               "            memory plus page cache; root, cgroup v1 or v2; default 0 = none).\n"
               "            memcached 1.6.18 reads and writes extstore through the page\n"
               "            cache, memext-server with O_DIRECT: without a limit this\n"
               "            machine's free RAM holds the whole ext_path file, and\n"
               "            memcached's \"flash\" reads are memory reads. A limit near\n"
               "            -m leaves a page cache far smaller than the flash data, as on\n"
               "            a box whose flash holds more than its RAM.\n",
               argv0, Options().ext.c_str());
  return code;
}

// This VM's cache-line transfer between its first two CPUs (0 with fewer).
double probe_line_transfer() {
  try {
    return memext::bench::line_transfer_ns(memext::bench::first_two_cpus());
  } catch (const std::exception&) {
    return 0;
  }
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = -1;
  in >> one;
  return one;
}

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int connect_to(uint16_t port, double deadline_s = 10) {
  const auto end = Clock::now() + std::chrono::duration<double>(deadline_s);
  for (;;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    ::close(fd);
    if (Clock::now() > end) throw std::runtime_error("server did not accept connections");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
}

// Appends what the socket has to `buf`; throws on a closed connection.
void receive_some(int fd, std::string& buf) {
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("server closed the connection");
    buf.append(chunk, static_cast<size_t>(n));
    return;
  }
}

// Length of a complete get response at the start of `buf` ("END\r\n" or one
// "VALUE k f n\r\n<n bytes>\r\nEND\r\n"), or 0 while incomplete. Sets *hit.
size_t get_response_length(const std::string& buf, bool* hit) {
  const size_t eol = buf.find("\r\n");
  if (eol == std::string::npos) return 0;
  if (buf.compare(0, 5, "END\r\n") == 0) {
    *hit = false;
    return 5;
  }
  if (buf.compare(0, 6, "VALUE ") != 0) {
    throw std::runtime_error("unexpected get response: " + buf.substr(0, eol));
  }
  const size_t last_space = buf.rfind(' ', eol);
  const size_t bytes = std::stoul(buf.substr(last_space + 1, eol - last_space - 1));
  const size_t total = eol + 2 + bytes + 2 + 5;
  if (buf.size() < total) return 0;
  if (buf.compare(total - 5, 5, "END\r\n") != 0)
    throw std::runtime_error("get response without END");
  *hit = true;
  return total;
}

std::map<std::string, std::string> server_stats(uint16_t port) {
  const int fd = connect_to(port);
  send_all(fd, "stats\r\n");
  std::string buf;
  while (buf.size() < 5 || buf.compare(buf.size() - 5, 5, "END\r\n") != 0) receive_some(fd, buf);
  ::close(fd);
  std::map<std::string, std::string> stats;
  std::istringstream lines(buf);
  std::string stat, name, value;
  while (lines >> stat >> name >> value) {
    if (stat == "STAT") stats[name] = value;
  }
  return stats;
}

struct RunResult {
  std::vector<uint64_t> latency_ns;  // sorted
  uint64_t hits = 0;
  uint64_t sets_sent = 0;
  double load_before = 0;
  double load_after = 0;
  double line_transfer_ns = 0;  // cpu_pinning.h's probe, just before the run
  std::map<std::string, std::string> stats;
  std::string server_stderr;
  std::string cgroup_memory;  // the cgroup's process and page-cache memory at the end

  double at_ms(double q) const {
    if (latency_ns.empty()) return 0;
    const size_t i = std::min(latency_ns.size() - 1, static_cast<size_t>(q * latency_ns.size()));
    return static_cast<double>(latency_ns[i]) / 1e6;
  }
  double max_ms() const {
    return latency_ns.empty() ? 0 : static_cast<double>(latency_ns.back()) / 1e6;
  }
  uint64_t over_ms(double ms) const {
    const auto limit = static_cast<uint64_t>(ms * 1e6);
    return static_cast<uint64_t>(latency_ns.end() -
                                 std::upper_bound(latency_ns.begin(), latency_ns.end(), limit));
  }
  std::string stat(const std::string& name) const {
    const auto it = stats.find(name);
    return it == stats.end() ? "-" : it->second;
  }
};

void writer_loop(uint16_t port, const Options& opt, const std::atomic<bool>& stop,
                 uint64_t* sets_sent) {
  const int fd = connect_to(port);
  std::mt19937_64 rng(1);
  const std::string value(opt.value, 'v');
  std::string batch;
  char header[96];
  char sink[65536];
  uint64_t sent = 0;
  try {
    while (!stop.load(std::memory_order_relaxed)) {
      batch.clear();
      for (int i = 0; i < 64; ++i) {
        const int n = std::snprintf(header, sizeof header, "set key:%u 0 0 %u noreply\r\n",
                                    static_cast<unsigned>(rng() % opt.keys), opt.value);
        batch.append(header, static_cast<size_t>(n));
        batch.append(value);
        batch.append("\r\n");
      }
      send_all(fd, batch);
      sent += 64;
      // noreply sets answer only errors; never let them fill the socket.
      while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer: %s\n", e.what());
  }
  ::close(fd);
  *sets_sent = sent;
}

void reader_loop(uint16_t port, const Options& opt, RunResult* out) {
  const int fd = connect_to(port);
  std::mt19937_64 rng(2);
  std::string buf;
  char request[64];
  out->latency_ns.reserve(static_cast<size_t>(opt.seconds * 50000));
  const auto end = Clock::now() + std::chrono::duration<double>(opt.seconds);
  while (Clock::now() < end) {
    const int n = std::snprintf(request, sizeof request, "get key:%u\r\n",
                                static_cast<unsigned>(rng() % opt.keys));
    const auto t0 = Clock::now();
    send_all(fd, std::string(request, static_cast<size_t>(n)));
    bool hit = false;
    size_t len = 0;
    while ((len = get_response_length(buf, &hit)) == 0) receive_some(fd, buf);
    const auto t1 = Clock::now();
    if (len != buf.size()) throw std::runtime_error("more than one get response");
    buf.clear();
    out->latency_ns.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    if (hit) ++out->hits;
  }
  ::close(fd);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A memory cgroup for one server run (see --cgroup-mb), removed when the
// run ends; its page-cache charges go to the parent then.
class MemoryCgroup {
 public:
  MemoryCgroup(const std::string& tag, unsigned mb) {
    if (mb == 0) return;
    const std::string limit = std::to_string(static_cast<uint64_t>(mb) << 20);
    const bool v1 = ::access("/sys/fs/cgroup/memory", W_OK) == 0;
    dir_ = (v1 ? "/sys/fs/cgroup/memory/" : "/sys/fs/cgroup/") + tag;
    if (::mkdir(dir_.c_str(), 0755) != 0) {
      const std::string why = std::strerror(errno);
      dir_.clear();
      throw std::runtime_error("cannot create memory cgroup " + tag + " (--cgroup-mb needs root " +
                               "and a writable cgroup v1 or v2 memory controller): " + why);
    }
    // A v2 hierarchy without the memory controller enabled has no
    // memory.max: the run would go unlimited, so refuse instead.
    const std::string limit_file = dir_ + (v1 ? "/memory.limit_in_bytes" : "/memory.max");
    std::ofstream out(limit_file);
    out << limit << std::flush;
    if (!out) {
      ::rmdir(dir_.c_str());
      dir_.clear();
      throw std::runtime_error("cannot set the memory cgroup's limit in " + limit_file +
                               " (is the memory controller enabled?)");
    }
    v1_ = v1;
  }
  ~MemoryCgroup() {
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;
  // The command that joins this cgroup, then execs args (args unchanged
  // without a cgroup).
  std::vector<std::string> wrap(std::vector<std::string> args) const {
    if (dir_.empty()) return args;
    std::vector<std::string> shell = {"/bin/sh", "-c",
                                      "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", dir_};
    shell.insert(shell.end(), args.begin(), args.end());
    return shell;
  }
  // "process X MB, page cache Y MB" from memory.stat (empty without a cgroup).
  std::string memory_use() const {
    if (dir_.empty()) return "";
    std::ifstream in(dir_ + "/memory.stat");
    const std::string process_key = v1_ ? "rss" : "anon";
    const std::string cache_key = v1_ ? "cache" : "file";
    double process = -1;
    double cache = -1;
    std::string key;
    double value = 0;
    while (in >> key >> value) {
      if (key == process_key) process = value / (1 << 20);
      if (key == cache_key) cache = value / (1 << 20);
    }
    char line[96];
    std::snprintf(line, sizeof line, "process %.0f MB, page cache %.0f MB", process, cache);
    return line;
  }

 private:
  std::string dir_;
  bool v1_ = false;
};

RunResult run_server(const std::string& binary, const std::string& name, const Options& opt) {
  const std::string tag = name + "_" + std::to_string(::getpid());
  const std::string path = opt.dir + "/tail_latency_" + tag;
  const std::string err_path = opt.dir + "/tail_latency_" + tag + ".stderr";
  std::string ext = opt.ext;
  for (size_t at; (at = ext.find("{path}")) != std::string::npos;) ext.replace(at, 6, path);
  const uint16_t port = free_port();
  std::vector<std::string> args = {
      binary,     "-p", std::to_string(port),        "-U", "0", "-l", "127.0.0.1", "-m",
      opt.memory, "-t", std::to_string(opt.threads), "-o", ext};
  if (::geteuid() == 0) {
    args.push_back("-u");
    args.push_back("root");
  }
  ::unlink(path.c_str());
  // Neither server starts with the other's file or its own last one cached.
  ::sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "1";
  const MemoryCgroup cgroup("memext-tail-" + tag, opt.cgroup_mb);
  args = cgroup.wrap(std::move(args));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));

  RunResult result;
  try {
    ::close(connect_to(port));
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.idle));
    result.load_before = load_average();
    result.line_transfer_ns = probe_line_transfer();
    std::atomic<bool> stop{false};
    std::thread writer(writer_loop, port, std::cref(opt), std::cref(stop), &result.sets_sent);
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.warmup));
    std::thread reader;
    std::string reader_error;
    reader = std::thread([&] {
      try {
        reader_loop(port, opt, &result);
      } catch (const std::exception& e) {
        reader_error = e.what();
      }
    });
    reader.join();
    stop = true;
    writer.join();
    if (!reader_error.empty()) throw std::runtime_error("reader: " + reader_error);
    result.stats = server_stats(port);
    result.cgroup_memory = cgroup.memory_use();
    result.load_after = load_average();
  } catch (...) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::unlink(path.c_str());
    throw;
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::unlink(path.c_str());
  result.server_stderr = read_file(err_path);
  ::unlink(err_path.c_str());
  std::sort(result.latency_ns.begin(), result.latency_ns.end());
  return result;
}

void print_run(const std::string& name, const RunResult& r) {
  std::printf(
      "%-9s p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms  gets %zu (hits %llu, >1ms %llu, "
      ">10ms %llu)  sets sent %llu  load %.1f->%.1f  line transfer %.0f ns\n"
      "          stats: cmd_set %s evictions %s extstore_objects_written %s "
      "extstore_compact_rescues %s extstore_compact_lost %s get_extstore %s "
      "get_flushed %s extstore_pages_free %s\n",
      name.c_str(), r.at_ms(0.5), r.at_ms(0.99), r.at_ms(0.999), r.max_ms(), r.latency_ns.size(),
      static_cast<unsigned long long>(r.hits), static_cast<unsigned long long>(r.over_ms(1)),
      static_cast<unsigned long long>(r.over_ms(10)), static_cast<unsigned long long>(r.sets_sent),
      r.load_before, r.load_after, r.line_transfer_ns, r.stat("cmd_set").c_str(),
      r.stat("evictions").c_str(), r.stat("extstore_objects_written").c_str(),
      r.stat("extstore_compact_rescues").c_str(), r.stat("extstore_compact_lost").c_str(),
      r.stat("get_extstore").c_str(), r.stat("get_flushed").c_str(),
      r.stat("extstore_pages_free").c_str());
  if (!r.cgroup_memory.empty()) std::printf("          cgroup: %s\n", r.cgroup_memory.c_str());
  std::fflush(stdout);
}

bool parse_args(int argc, char** argv, Options* opt, int* exit_code) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      *exit_code = usage(argv[0], 0);
      return false;
    }
    if (arg == "--holds") {
      opt->holds = true;
      continue;
    }
    if (arg == "--memext-only") {
      opt->memext_only = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", arg.c_str());
      *exit_code = usage(argv[0], 2);
      return false;
    }
    const std::string v = argv[++i];
    try {
      if (arg == "--memext") {
        opt->memext = v;
      } else if (arg == "--memcached") {
        opt->memcached = v;
      } else if (arg == "--dir") {
        opt->dir = v;
      } else if (arg == "--ext") {
        opt->ext = v;
      } else if (arg == "-m") {
        opt->memory = v;
      } else if (arg == "--seconds" || arg == "--warmup") {
        const double s = std::stod(v);
        if (!(s > 0)) throw std::invalid_argument("not positive");
        (arg == "--seconds" ? opt->seconds : opt->warmup) = s;
      } else if (arg == "--idle") {
        const double s = std::stod(v);
        if (!(s >= 0) || s > 3600) throw std::invalid_argument("out of range");
        opt->idle = s;
      } else if (arg == "--cgroup-mb") {
        const unsigned long n = std::stoul(v);
        if (n < 16 || n > 1'000'000) throw std::invalid_argument("out of range");
        opt->cgroup_mb = static_cast<unsigned>(n);
      } else if (arg == "--keys" || arg == "--value" || arg == "--rounds" || arg == "--threads") {
        const unsigned long n = std::stoul(v);
        if (n == 0 || n > 100'000'000) throw std::invalid_argument("out of range");
        unsigned& field = arg == "--keys"     ? opt->keys
                          : arg == "--value"  ? opt->value
                          : arg == "--rounds" ? opt->rounds
                                              : opt->threads;
        field = static_cast<unsigned>(n);
      } else {
        std::fprintf(stderr, "unknown option %s\n", arg.c_str());
        *exit_code = usage(argv[0], 2);
        return false;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "%s %s: expected %s\n", arg.c_str(), v.c_str(),
                   arg == "--idle"        ? "seconds from 0 to 3600"
                   : arg == "--cgroup-mb" ? "megabytes from 16 to 1000000"
                                          : "a positive number");
      *exit_code = 2;
      return false;
    }
  }
  for (const std::string* b : {&opt->memext, &opt->memcached}) {
    if (::access(b->c_str(), X_OK) != 0) {
      std::fprintf(stderr, "not an executable: %s\n", b->c_str());
      *exit_code = 2;
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  int exit_code = 0;
  if (!parse_args(argc, argv, &opt, &exit_code)) return exit_code;
  std::printf(
      "flags: -m %s -t %u -o %s; %u keys x %u B; %.0f s timed after %.0f s warm-up, "
      "servers idle %.1f s first; memory cgroup %u MB (0 = none)\n",
      opt.memory.c_str(), opt.threads, opt.ext.c_str(), opt.keys, opt.value, opt.seconds,
      opt.warmup, opt.idle, opt.cgroup_mb);
  try {
    for (unsigned round = 0; round < opt.rounds; ++round) {
      std::printf("round %u\n", round + 1);
      const bool memext_first = round % 2 == 0;
      RunResult m, c;
      for (int turn = 0; turn < 2; ++turn) {
        if ((turn == 0) == memext_first) {
          m = run_server(opt.memext, "memext", opt);
          print_run("memext", m);
          if (opt.holds && !m.server_stderr.empty()) std::printf("%s", m.server_stderr.c_str());
        } else if (!opt.memext_only) {
          c = run_server(opt.memcached, "memcached", opt);
          print_run("memcached", c);
        }
      }
      if (opt.memext_only) continue;
      std::printf(
          "memext/memcached: p99 %.2fx  p99.9 %.2fx  max %.2fx  gets served %.2fx  sets %.2fx\n",
          m.at_ms(0.99) / c.at_ms(0.99), m.at_ms(0.999) / c.at_ms(0.999), m.max_ms() / c.max_ms(),
          static_cast<double>(m.latency_ns.size()) / static_cast<double>(c.latency_ns.size()),
          static_cast<double>(m.sets_sent) / static_cast<double>(c.sets_sent));
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tail_latency_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
