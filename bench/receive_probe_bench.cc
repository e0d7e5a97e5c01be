// What the server's receive costs over a plain recv(): memext-server reads
// a connection with recvmmsg(2) of two messages, the second a one-byte
// probe that sees a FIN queued behind the data (Asio's epoll reactor is
// edge-triggered, so a FIN that arrived with the data raises no new event;
// server/src/socket_receive.cc). memcached reads with one read(2) under a
// level-triggered epoll. This times a plain recv(2) against the server's
// own receive_status on a loopback TCP connection, one thread, a 50-byte
// request sent before each receive: CPU time per receive (the ACK a
// receive sends back through loopback included), both kinds each round.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "socket_receive.h"

namespace {

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

// A connected loopback pair: [0] the client's end, [1] the server's.
void connect_pair(int fds[2]) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  check(listener >= 0, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  check(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
  check(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
  check(::listen(listener, 1) == 0, "listen");
  fds[0] = ::socket(AF_INET, SOCK_STREAM, 0);
  check(::connect(fds[0], reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect");
  fds[1] = ::accept(listener, nullptr, nullptr);
  check(fds[1] >= 0, "accept");
  const int one = 1;
  ::setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::close(listener);
}

// The server's receive itself (server/src/socket_receive.cc).
ssize_t probed_receive(int fd, char* buf, size_t size) {
  boost::system::error_code ec;
  size_t bytes = 0;
  memext::server::receive_status(fd, buf, size, ec, bytes);
  return ec ? -1 : static_cast<ssize_t>(bytes);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  int per_round = 100'000;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      std::printf("usage: %s [--rounds N] [--receives N]\n%s", argv[0],
                  "  CPU time per receive on loopback TCP: recv(2) against memext-server's\n"
                  "  recvmmsg(2) with a one-byte FIN probe (server/src/socket_receive.cc).\n");
      return 0;
    }
    if ((arg == "--rounds" || arg == "--receives") && i + 1 < argc) {
      const int n = std::atoi(argv[++i]);
      if (n < 1 || n > 10'000'000) {
        std::fprintf(stderr, "%s %s: want 1 to 10000000\n", arg.c_str(), argv[i]);
        return 2;
      }
      (arg == "--rounds" ? rounds : per_round) = n;
      continue;
    }
    std::fprintf(stderr, "unknown argument '%s' (try --help)\n", arg.c_str());
    return 2;
  }
  try {
    int fds[2];
    connect_pair(fds);
    char request[50];
    std::memset(request, 'g', sizeof request);
    char buf[2048];
    for (int round = 1; round <= rounds; ++round) {
      double ns[2] = {0, 0};
      for (int kind = 0; kind < 2; ++kind) {
        for (int i = 0; i < per_round; ++i) {
          check(::send(fds[0], request, sizeof request, 0) == sizeof request, "send");
          const double t0 = thread_cpu_ns();
          const ssize_t got = kind == 0 ? ::recv(fds[1], buf, sizeof buf, MSG_DONTWAIT)
                                        : probed_receive(fds[1], buf, sizeof buf);
          ns[kind] += thread_cpu_ns() - t0;
          check(got == sizeof request, "receive");
        }
      }
      std::printf("round %d: recv %.0f ns, recvmmsg with probe %.0f ns (+%.0f ns) per receive\n",
                  round, ns[0] / per_round, ns[1] / per_round, (ns[1] - ns[0]) / per_round);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
