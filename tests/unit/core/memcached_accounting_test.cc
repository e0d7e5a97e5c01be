// Runs the same commands against Debian's memcached and against the engine
// and compares the memory accounting memcached reports (`stats`,
// `stats slabs`). Skipped with a message when the binary is absent.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "test_helpers.h"

using namespace memext;

namespace {

constexpr const char* kMemcached = "/usr/bin/memcached";

class MemcachedProcess {
 public:
  explicit MemcachedProcess(int port) : port_(port) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port_text = std::to_string(port);
      execl(kMemcached, kMemcached, "-u", "root", "-p", port_text.c_str(), "-U", "0", "-l",
            "127.0.0.1", "-m", "64", "-t", "1", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~MemcachedProcess() {
    if (fd_ >= 0) close(fd_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool connect_with_retry() {
    for (int attempt = 0; attempt < 200; ++attempt) {
      fd_ = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
      if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return true;
      close(fd_);
      fd_ = -1;
      usleep(20'000);  // waiting for a child process to listen, not for engine time
    }
    return false;
  }

  // Sends a command and reads until the reply ends with one of `ends`.
  std::string call(const std::string& command, const std::string& end = "\r\n") {
    send(fd_, command.data(), command.size(), 0);
    std::string reply;
    char buffer[65536];
    while (reply.size() < end.size() || reply.compare(reply.size() - end.size(), end.size(), end)) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      reply.append(buffer, static_cast<size_t>(n));
    }
    return reply;
  }

  std::map<std::string, uint64_t> stats(const std::string& which) {
    std::map<std::string, uint64_t> out;
    std::istringstream lines(call("stats " + which + "\r\n", "END\r\n"));
    std::string stat, name, value;
    while (lines >> stat >> name >> value) {
      if (stat == "STAT") {
        try {
          out[name] = std::stoull(value);
        } catch (...) {
        }
      }
    }
    return out;
  }

 private:
  int port_;
  pid_t pid_ = -1;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("memory accounting equals memcached's for the same commands") {
  if (!std::filesystem::exists(kMemcached)) {
    MESSAGE("SKIPPED: " << kMemcached << " is not installed; apt-get install memcached to run");
    return;
  }
  MemcachedProcess memcached(20000 + getpid() % 20000);
  REQUIRE(memcached.connect_with_retry());
  Engine engine(testing::small_config(64));
  engine.set_time(100);

  struct Set {
    std::string key;
    uint32_t flags;
    size_t len;
  };
  const Set sets[] = {
      {"a", 0, 1},
      {"b", 5, 10},
      {"key_of_some_length", 0, 300},
      {"flags", 123, 300},
      {"c", 0, 5000},
      {"d", 1, 40000},
      {"e", 0, 200000},
      {"chunked", 0, 600000},
      {"chunked_flags", 9, 900000},
      {"exact", 0, 524288 - 48 - 5 - 1 - 2 - 8},
      {"over", 0, 524288 - 48 - 4 - 1 - 2 - 8 + 1},
      {"b", 0, 20},  // overwrite
  };
  for (const Set& s : sets) {
    const std::string value(s.len, 'v');
    const std::string reply =
        memcached.call("set " + s.key + " " + std::to_string(s.flags) + " 0 " +
                       std::to_string(s.len) + "\r\n" + value + "\r\n");
    CHECK(reply == "STORED\r\n");
    CHECK(engine.set(s.key, value, s.flags).result == StoreResult::kStored);
  }
  CHECK(memcached.call("append a 0 0 3\r\nxyz\r\n") == "STORED\r\n");
  testing::store(engine, StoreMode::kAppend, "a", "xyz");
  CHECK(memcached.call("delete c\r\n") == "DELETED\r\n");
  engine.remove("c");
  CHECK(memcached.call("set n 0 0 2\r\n99\r\n") == "STORED\r\n");
  engine.set("n", "99");
  CHECK(memcached.call("incr n 1\r\n") == "100\r\n");
  CHECK(engine.incr("n", 1).value == 100);

  std::map<std::string, uint64_t> theirs = memcached.stats("");
  Stats ours = engine.stats();
  CHECK(ours.curr_items == theirs["curr_items"]);
  CHECK(ours.total_items == theirs["total_items"]);
  CHECK(ours.bytes == theirs["bytes"]);
  CHECK(ours.cmd_set == theirs["cmd_set"]);
  CHECK(ours.incr_hits == theirs["incr_hits"]);
  CHECK(ours.delete_hits == theirs["delete_hits"]);

  std::map<std::string, uint64_t> slabs = memcached.stats("slabs");
  CHECK(ours.active_slabs == slabs["active_slabs"]);
  for (const SlabClassStats& c : ours.slabs) {
    const std::string prefix = std::to_string(c.id) + ":";
    INFO("slab class " << c.id);
    CHECK(c.chunk_size == slabs[prefix + "chunk_size"]);
    CHECK(c.total_pages == slabs[prefix + "total_pages"]);
    CHECK(c.used_chunks == slabs[prefix + "used_chunks"]);
    CHECK(c.free_chunks == slabs[prefix + "free_chunks"]);
  }
  CHECK(ours.total_malloced == slabs["total_malloced"]);
}
