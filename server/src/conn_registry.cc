#include "conn_registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <cstdio>
#include <cstring>

namespace memext::server {

std::chrono::steady_clock::time_point coarse_now() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(std::chrono::seconds(ts.tv_sec) +
                                               std::chrono::nanoseconds(ts.tv_nsec));
}

namespace {

const char* state_name(ConnState s) {
  switch (s) {
    case ConnState::kListening:
      return "conn_listening";
    case ConnState::kNewCmd:
      return "conn_new_cmd";
    case ConnState::kRead:
      return "conn_read";
    case ConnState::kParseCmd:
      return "conn_parse_cmd";
    case ConnState::kNread:
      return "conn_nread";
    case ConnState::kWrite:
      return "conn_mwrite";
    case ConnState::kClosing:
      break;
  }
  return "conn_closing";
}

}  // namespace

std::string conn_address_text(const sockaddr* addr, size_t len, bool udp) {
  const std::string ip4 = udp ? "udp:" : "tcp:";
  const std::string ip6 = udp ? "udp6:[" : "tcp6:[";
  char ip[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    return ip4 + ip + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    return ip6 + ip + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  if (addr->sa_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(addr);
    const size_t path_len = len > offsetof(sockaddr_un, sun_path)
                                ? strnlen(un->sun_path, len - offsetof(sockaddr_un, sun_path))
                                : 0;
    return "unix:" + std::string(un->sun_path, path_len);
  }
  return "unknown";
}

void ConnRegistry::add(const std::shared_ptr<ConnStatus>& conn) {
  std::lock_guard lock(mutex_);
  by_fd_[conn->fd] = conn;
}

void ConnRegistry::remove(const std::shared_ptr<ConnStatus>& conn) {
  std::lock_guard lock(mutex_);
  auto it = by_fd_.find(conn->fd);
  if (it != by_fd_.end() && it->second == conn) by_fd_.erase(it);
}

std::string ConnRegistry::stats_text() const {
  std::string out;
  const int64_t now = ConnStatus::now_secs();
  std::lock_guard lock(mutex_);
  for (const auto& [fd, c] : by_fd_) {
    const std::string prefix = "STAT " + std::to_string(fd) + ":";
    if (c->udp) out += prefix + "UDP UDP\r\n";
    out += prefix + "addr " + c->addr + "\r\n";
    if (!c->listen_addr.empty()) out += prefix + "listen_addr " + c->listen_addr + "\r\n";
    out += prefix + "state " + state_name(c->state.load(std::memory_order_relaxed)) + "\r\n";
    const int64_t idle = now - c->last_command_secs.load(std::memory_order_relaxed);
    out += prefix + "secs_since_last_cmd " + std::to_string(idle < 0 ? 0 : idle) + "\r\n";
  }
  return out;
}

}  // namespace memext::server
