// server/src/conn_registry.h — what `stats conns` prints: every listener and
// client connection by descriptor, with its address, the listener it came
// through, memcached's name for its state and the seconds since its last
// command.
//
// A connection owns its ConnStatus and updates the atomics on its worker
// thread; the registry (one mutex, taken at open, close and `stats conns`)
// lets any thread read them. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

struct sockaddr;

namespace memext::server {

// The steady clock read from the kernel's last tick (CLOCK_MONOTONIC_COARSE,
// the same base as std::chrono::steady_clock, a few milliseconds behind it):
// a vDSO load instead of a clock-source read. The clock for per-request
// bookkeeping counted in seconds (idle_timeout, `stats conns`), read on every
// request where steady_clock::now() was ~1.4% of the server's CPU.
std::chrono::steady_clock::time_point coarse_now();

// memcached's connection states, as `stats conns` names them.
enum class ConnState : uint8_t { kListening, kNewCmd, kRead, kParseCmd, kNread, kWrite, kClosing };

struct ConnStatus {
  int fd = -1;
  std::string addr;         // "tcp:127.0.0.1:11211", "tcp6:[::1]:11211", "unix:/path"
  std::string listen_addr;  // empty for a listener
  bool udp = false;         // a worker's descriptor of a UDP socket: memcached's "UDP" line
  std::atomic<ConnState> state{ConnState::kNewCmd};
  std::atomic<int64_t> last_command_secs{0};  // steady clock, whole seconds

  void touch() { touch(coarse_now()); }
  void touch(std::chrono::steady_clock::time_point now) {
    last_command_secs.store(secs(now), std::memory_order_relaxed);
  }
  static int64_t now_secs() { return secs(coarse_now()); }
  static int64_t secs(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  }
};

// "tcp:IP:PORT" / "tcp6:[IP]:PORT" / "unix:PATH" for a socket address
// ("udp:" / "udp6:" with `udp`).
std::string conn_address_text(const sockaddr* addr, size_t len, bool udp = false);

class ConnRegistry {
 public:
  void add(const std::shared_ptr<ConnStatus>& conn);
  // Removes `conn` unless its descriptor was reused by a newer entry.
  void remove(const std::shared_ptr<ConnStatus>& conn);
  // The `stats conns` lines (without END), by descriptor.
  std::string stats_text() const;

 private:
  mutable std::mutex mutex_;
  std::map<int, std::shared_ptr<ConnStatus>> by_fd_;
};

}  // namespace memext::server
