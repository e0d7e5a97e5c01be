#include "flash/device_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace memext::flash {

namespace {

[[noreturn]] void fail(int fd, const std::string& path, const std::string& step, int err) {
  if (fd >= 0) ::close(fd);
  throw std::runtime_error(path + ": " + step + " failed: " + std::strerror(err));
}

void make_addressable(int fd, const std::string& path, uint64_t size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(fd, path, "fstat", errno);
  if (S_ISBLK(st.st_mode)) {
    uint64_t device_bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &device_bytes) != 0) fail(fd, path, "BLKGETSIZE64", errno);
    if (device_bytes < size) {
      ::close(fd);
      throw std::runtime_error(path + ": block device holds " + std::to_string(device_bytes) +
                               " bytes, fewer than the " + std::to_string(size) + " requested");
    }
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(path + ": not a regular file or block device");
  }
  if (static_cast<uint64_t>(st.st_size) >= size) return;
  // Reserving the blocks up front turns "disk full" into a start-up error
  // instead of a failed flush later; filesystems without fallocate get a
  // sparse file.
  if (::fallocate(fd, 0, 0, static_cast<off_t>(size)) == 0) return;
  const int err = errno;
  if (err != EOPNOTSUPP && err != ENOSYS) fail(fd, path, "fallocate", err);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) fail(fd, path, "ftruncate", errno);
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
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      ::close(fd);
      throw std::runtime_error(
          path + ": locked by another user of the file (flock: " + std::strerror(err) + ")");
    }
    fail(fd, path, "flock", err);
  }
  make_addressable(fd, path, size);
  return fd;
}

void close_device_file(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace memext::flash
