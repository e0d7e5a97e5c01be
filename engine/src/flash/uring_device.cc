// UringDevice: io_uring over an O_DIRECT file. submit() stages an SQE,
// flush() hands staged SQEs to the kernel, reap() drains CQEs.
#include <liburing.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "flash/device_file.h"
#include "memext/device.h"

namespace memext {

namespace {

constexpr uint32_t kDirectIoAlignment = 4096;

class UringDevice final : public Device {
 public:
  UringDevice(const std::string& path, uint64_t size, unsigned queue_depth)
      : Device(size, kDirectIoAlignment), path_(path), queue_depth_(queue_depth) {
    if (queue_depth == 0) throw std::invalid_argument("io_uring queue depth must be at least 1");
    if (size % kDirectIoAlignment != 0) {
      throw std::invalid_argument(path + ": size " + std::to_string(size) +
                                  " is not a multiple of 4096 as O_DIRECT requires");
    }
    // The ring first: when io_uring is refused (seccomp, sysctl) the caller
    // should hear about that, not about the file.
    const int rc = io_uring_queue_init(queue_depth, &ring_, 0);
    if (rc < 0) {
      throw std::runtime_error(std::string("io_uring not permitted here (io_uring_queue_init: ") +
                               std::strerror(-rc) + "); use a file device");
    }
    try {
      fd_ = flash::open_device_file(path, size, true);
    } catch (...) {
      io_uring_queue_exit(&ring_);
      throw;
    }
    // A registered file spares each IO the kernel's fd lookup and reference
    // count; without it IOs use the plain descriptor.
    fixed_file_ = io_uring_register_files(&ring_, &fd_, 1) == 0;
  }

  ~UringDevice() override {
    // Completions still owed by the kernel must land before the ring goes.
    while (in_kernel_ > 0) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe(&ring_, &cqe) != 0) break;
      io_uring_cqe_seen(&ring_, cqe);
      --in_kernel_;
    }
    io_uring_queue_exit(&ring_);
    flash::close_device_file(fd_);
  }

  int completion_fd() const override { return ring_.ring_fd; }

  std::string describe() const override {
    return "uring:" + path_ + " (" + std::to_string(size()) + " bytes, O_DIRECT, depth " +
           std::to_string(queue_depth_) + ")";
  }

 protected:
  int submit_impl(IoRequest* req) override {
    // Bounding in-flight IOs by the queue depth keeps the completion ring
    // (twice the depth) from ever overflowing.
    if (staged_ + in_kernel_ >= queue_depth_) return -EAGAIN;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return -EAGAIN;
    const int fd = fixed_file_ ? 0 : fd_;
    if (req->op == IoOp::kRead) {
      io_uring_prep_read(sqe, fd, req->buf, req->len, req->offset);
    } else {
      io_uring_prep_write(sqe, fd, req->buf, req->len, req->offset);
    }
    if (fixed_file_) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, req);
    ++staged_;
    return 0;
  }

  void flush_impl() override {
    if (staged_ == 0) return;
    const int rc = io_uring_submit(&ring_);
    if (rc > 0) {
      staged_ -= static_cast<unsigned>(rc);
      in_kernel_ += static_cast<unsigned>(rc);
    }
  }

  size_t reap_impl(IoRequest** out, size_t max, bool wait) override {
    size_t n = drain(out, max);
    if (n > 0 || !wait) return n;
    flush_impl();
    while (n == 0 && in_kernel_ > 0) {
      io_uring_cqe* cqe = nullptr;
      const int rc = io_uring_wait_cqe(&ring_, &cqe);
      if (rc == -EINTR) continue;
      if (rc < 0) break;
      n = drain(out, max);
    }
    return n;
  }

 private:
  size_t drain(IoRequest** out, size_t max) {
    size_t n = 0;
    io_uring_cqe* cqe = nullptr;
    while (n < max && io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe != nullptr) {
      auto* req = static_cast<IoRequest*>(io_uring_cqe_get_data(cqe));
      req->result = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      --in_kernel_;
      out[n++] = req;
    }
    return n;
  }

  std::string path_;
  unsigned queue_depth_;
  io_uring ring_{};
  int fd_ = -1;
  bool fixed_file_ = false;
  unsigned staged_ = 0;     // SQEs filled but not yet given to the kernel
  unsigned in_kernel_ = 0;  // submitted, completion not yet reaped
};

}  // namespace

std::unique_ptr<Device> make_uring_device(const std::string& path, uint64_t size,
                                          unsigned queue_depth) {
  return std::make_unique<UringDevice>(path, size, queue_depth);
}

}  // namespace memext
