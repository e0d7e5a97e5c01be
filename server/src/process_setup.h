// server/src/process_setup.h — what memcached 1.6.18 does to its process
// around serving: -r (core limit), -d (daemonize), -P (pid file), -k
// (mlockall), -L (the huge page check) and MEMCACHED_PORT_FILENAME (the
// listening ports, for harnesses that start it with -p 0 or random ports).
//
// Called from main() on the only thread, before the Server starts its
// threads (fork keeps only the calling thread). Messages are memcached's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "operator_options.h"

namespace memext::server {

// -r: raises RLIMIT_CORE as far as allowed; throws std::runtime_error when
// core files stay off.
void enable_core_dumps();

// -L: memcached checks the kernel's transparent huge page support and refuses
// to start without it. Throws std::runtime_error with its message.
void check_large_pages();

// -d: fork, the parent exits 0, the child leads a new session, ignores
// SIGHUP, works in / (unless -r, so cores land in the start directory) and
// has stdin/stdout/stderr on /dev/null (unless verbose, which keeps them).
void daemonize(bool keep_cwd, bool keep_stdio);

// -k: mlockall; a warning on stderr when refused, as memcached.
void lock_memory();

// -P: the pid written to FILE.tmp, renamed to FILE; removed again by the
// destructor when `remove_at_exit` (memcached removes it only with -d).
class PidFile {
 public:
  PidFile(std::string path, bool remove_at_exit);
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  std::string path_;
  bool remove_ = false;
};

struct ListeningPort {
  const char* kind;  // "TCP INET", "TCP INET6", "UDP INET", ...
  uint16_t port;
};

// How many client connections memcached 1.6.18 admits with -c `maxconns`:
// it refuses an accepted socket whose descriptor is >= maxconns - 1, and its
// first client descriptor follows stdin/out/err, 3 of its own, 4 per worker
// thread, the listening sockets and the extstore files. memext-server's
// descriptors differ, so it counts connections against this figure instead.
uint32_t memcached_client_limit(uint32_t maxconns, uint32_t threads, size_t listeners,
                                size_t ext_files);

// Writes "KIND: PORT" lines to $MEMCACHED_PORT_FILENAME (via a .lck file
// renamed into place) when the variable is set.
void write_port_file(const std::vector<ListeningPort>& ports);

}  // namespace memext::server
