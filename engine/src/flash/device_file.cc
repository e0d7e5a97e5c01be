#include "flash/device_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace memext::flash {

namespace {

[[noreturn]] void fail(int fd, const std::string& path, const std::string& step, int err) {
  if (fd >= 0) ::close(fd);
  throw std::runtime_error(path + ": " + step + " failed: " + std::strerror(err));
}

// Leaves fd open when it throws; the caller releases the lock first.
void make_addressable(int fd, const std::string& path, uint64_t size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(-1, path, "fstat", errno);
  if (S_ISBLK(st.st_mode)) {
    uint64_t device_bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &device_bytes) != 0) fail(-1, path, "BLKGETSIZE64", errno);
    if (device_bytes < size) {
      throw std::runtime_error(path + ": block device holds " + std::to_string(device_bytes) +
                               " bytes, fewer than the " + std::to_string(size) + " requested");
    }
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error(path + ": not a regular file or block device");
  }
  if (static_cast<uint64_t>(st.st_size) >= size) return;
  // Reserving the blocks up front turns "disk full" into a start-up error
  // instead of a failed flush later; filesystems without fallocate get a
  // sparse file.
  if (::fallocate(fd, 0, 0, static_cast<off_t>(size)) == 0) return;
  const int err = errno;
  if (err != EOPNOTSUPP && err != ENOSYS) fail(-1, path, "fallocate", err);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) fail(-1, path, "ftruncate", errno);
}

// The exclusive flock keeps a second process off the store. Inside one
// process several devices may open the same file (one io_uring per server
// worker), so the lock is taken once per file and held, through a dup of the
// first descriptor, until the last device on it closes. Devices are created
// and destroyed from any thread at start-up and shutdown, hence the mutex.
struct FileLock {
  int lock_fd = -1;
  unsigned users = 0;
  pid_t owner = 0;  // a forked child inherits the map but not the right to skip the lock
};
using FileKey = std::pair<dev_t, ino_t>;

std::mutex& lock_registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<FileKey, FileLock>& lock_registry() {
  static std::map<FileKey, FileLock> registry;
  return registry;
}

void acquire_lock(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(fd, path, "fstat", errno);
  const FileKey key{st.st_dev, st.st_ino};
  std::lock_guard<std::mutex> guard(lock_registry_mutex());
  auto it = lock_registry().find(key);
  if (it != lock_registry().end()) {
    if (it->second.owner == ::getpid()) {
      ++it->second.users;
      return;
    }
    ::close(it->second.lock_fd);
    lock_registry().erase(it);
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      ::close(fd);
      throw std::runtime_error(path + ": locked by another process (flock: " + std::strerror(err) +
                               ")");
    }
    fail(fd, path, "flock", err);
  }
  const int lock_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (lock_fd < 0) fail(fd, path, "dup", errno);
  lock_registry()[key] = FileLock{lock_fd, 1, ::getpid()};
}

void release_lock(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  std::lock_guard<std::mutex> guard(lock_registry_mutex());
  auto it = lock_registry().find({st.st_dev, st.st_ino});
  if (it == lock_registry().end() || --it->second.users > 0) return;
  ::close(it->second.lock_fd);
  lock_registry().erase(it);
}

}  // namespace

int open_device_file(const std::string& path, uint64_t size, bool direct) {
  int flags = O_RDWR | O_CREAT | O_CLOEXEC;
  if (direct) flags |= O_DIRECT;
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    const int err = errno;
    if (direct && err == EINVAL) {
      throw std::runtime_error(path + ": open with O_DIRECT refused (" + std::strerror(err) +
                               "); the filesystem may not support direct IO, use a file device");
    }
    fail(-1, path, "open", err);
  }
  acquire_lock(fd, path);
  try {
    make_addressable(fd, path, size);
  } catch (...) {
    release_lock(fd);
    ::close(fd);
    throw;
  }
  return fd;
}

void close_device_file(int fd) {
  if (fd < 0) return;
  release_lock(fd);
  ::close(fd);
}

}  // namespace memext::flash
