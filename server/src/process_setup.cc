#include "process_setup.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace memext::server {

void enable_core_dumps() {
  struct rlimit old {};
  getrlimit(RLIMIT_CORE, &old);
  struct rlimit want {
    RLIM_INFINITY, RLIM_INFINITY
  };
  if (setrlimit(RLIMIT_CORE, &want) != 0) {
    want.rlim_cur = want.rlim_max = old.rlim_max;
    setrlimit(RLIMIT_CORE, &want);
  }
  struct rlimit now {};
  if (getrlimit(RLIMIT_CORE, &now) != 0 || now.rlim_cur == 0) {
    throw std::runtime_error("failed to ensure corefile creation");
  }
}

void check_large_pages() {
  struct stat st {};
  if (::stat("/sys/kernel/mm/transparent_hugepage/enabled", &st) != 0 || !S_ISREG(st.st_mode)) {
    throw std::runtime_error(
        "Transparent huge pages support not detected.\n"
        "Cannot enable large pages on this system\n(There is no support for large pages)");
  }
}

void daemonize(bool keep_cwd, bool keep_stdio) {
  std::fflush(nullptr);
  switch (::fork()) {
    case -1:
      throw std::runtime_error(std::string("failed to daemon() in order to daemonize: ") +
                               std::strerror(errno));
    case 0:
      break;
    default:
      ::_exit(EXIT_SUCCESS);
  }
  if (::setsid() == -1) {
    throw std::runtime_error(std::string("setsid: ") + std::strerror(errno));
  }
  if (std::signal(SIGHUP, SIG_IGN) == SIG_ERR) throw std::runtime_error("Failed to ignore SIGHUP");
  if (!keep_cwd && ::chdir("/") != 0) {
    throw std::runtime_error(std::string("chdir /: ") + std::strerror(errno));
  }
  if (keep_stdio) return;
  int null = ::open("/dev/null", O_RDWR);
  if (null < 0) throw std::runtime_error(std::string("open /dev/null: ") + std::strerror(errno));
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
  if (null > 2) ::close(null);
}

void lock_memory() {
  if (::mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    std::fprintf(stderr, "warning: -k invalid, mlockall() failed: %s\n", std::strerror(errno));
  }
}

PidFile::PidFile(std::string path, bool remove_at_exit) : path_(std::move(path)) {
  {
    std::ifstream old(path_);
    long pid = 0;
    if (old >> pid && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0) {
      std::fprintf(stderr, "WARNING: The pid file contained the following (running) pid: %ld\n",
                   pid);
    }
  }
  const std::string tmp = path_ + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "Could not open the pid file %s for writing: %s\n", tmp.c_str(),
                 std::strerror(errno));
    return;
  }
  std::fprintf(f, "%ld\n", static_cast<long>(::getpid()));
  if (std::fclose(f) != 0) {
    std::fprintf(stderr, "Could not close the pid file %s: %s\n", tmp.c_str(),
                 std::strerror(errno));
    return;
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    std::fprintf(stderr, "Could not rename the pid file from %s to %s: %s\n", tmp.c_str(),
                 path_.c_str(), std::strerror(errno));
    return;
  }
  remove_ = remove_at_exit;
}

PidFile::~PidFile() {
  if (remove_ && ::unlink(path_.c_str()) != 0) {
    std::fprintf(stderr, "Could not remove the pid file %s: %s\n", path_.c_str(),
                 std::strerror(errno));
  }
}

uint32_t memcached_client_limit(uint32_t maxconns, uint32_t threads, size_t listeners,
                                size_t ext_files) {
  const uint64_t first_client_fd = 6 + uint64_t{4} * threads + listeners + ext_files;
  return maxconns >= first_client_fd + 1 ? static_cast<uint32_t>(maxconns - 1 - first_client_fd)
                                         : 0;
}

void write_port_file(const std::vector<ListeningPort>& ports) {
  const char* name = std::getenv("MEMCACHED_PORT_FILENAME");
  if (name == nullptr) return;
  const std::string final_name = name;
  const std::string lock_name = final_name + ".lck";
  FILE* f = std::fopen(lock_name.c_str(), "a");
  if (f == nullptr) {
    std::fprintf(stderr, "Failed to open \"%s\": %s\n", lock_name.c_str(), std::strerror(errno));
    return;
  }
  for (const ListeningPort& p : ports) std::fprintf(f, "%s: %u\n", p.kind, p.port);
  std::fclose(f);
  if (std::rename(lock_name.c_str(), final_name.c_str()) != 0) {
    std::fprintf(stderr, "Failed to rename \"%s\" to \"%s\": %s\n", lock_name.c_str(),
                 final_name.c_str(), std::strerror(errno));
  }
}

}  // namespace memext::server
