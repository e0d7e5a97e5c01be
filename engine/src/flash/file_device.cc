// FileDevice: pread/pwrite on a regular file or block device. IOs are
// staged at submit and performed synchronously, in order, inside reap().
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "flash/deferred_device.h"
#include "flash/device_file.h"
#include "memext/device.h"

namespace memext {

namespace {

class FileDevice final : public flash::DeferredDevice {
 public:
  FileDevice(const std::string& path, uint64_t size)
      : DeferredDevice(size, 1), path_(path), fd_(flash::open_device_file(path, size, false)) {}
  ~FileDevice() override { flash::close_device_file(fd_); }

  std::string describe() const override {
    return "file:" + path_ + " (" + std::to_string(size()) + " bytes, pread/pwrite)";
  }

 protected:
  int64_t perform(const IoRequest& req) override { return transfer(req); }

 private:
  // Loops over partial transfers; stops early only at end of file, which is
  // then reported as a short result.
  int64_t transfer(const IoRequest& req) const {
    uint64_t done = 0;
    while (done < req.len) {
      const off_t at = static_cast<off_t>(req.offset + done);
      const ssize_t rc = req.op == IoOp::kRead ? ::pread(fd_, req.buf + done, req.len - done, at)
                                               : ::pwrite(fd_, req.buf + done, req.len - done, at);
      if (rc < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      if (rc == 0) break;
      done += static_cast<uint64_t>(rc);
    }
    return static_cast<int64_t>(done);
  }

  std::string path_;
  int fd_;
};

}  // namespace

std::unique_ptr<Device> make_file_device(const std::string& path, uint64_t size) {
  return std::make_unique<FileDevice>(path, size);
}

}  // namespace memext
