// MemoryDevice: a RAM-backed Device for tests. IOs are staged at submit and
// performed, in submission order, by the next reap().
#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "memext/device.h"

namespace memext {

namespace {

class MemoryDevice final : public Device {
 public:
  explicit MemoryDevice(uint64_t size) : Device(size, 1), bytes_(new char[size]()) {}

  std::string describe() const override { return "memory:" + std::to_string(size()); }

 protected:
  int submit_impl(IoRequest* req) override {
    queued_.push_back(req);
    return 0;
  }

  size_t reap_impl(IoRequest** out, size_t max, bool /*wait*/) override {
    size_t n = 0;
    while (n < max && !queued_.empty()) {
      IoRequest* req = queued_.front();
      queued_.pop_front();
      char* at = bytes_.get() + req->offset;
      if (req->op == IoOp::kRead) {
        std::memcpy(req->buf, at, req->len);
      } else {
        std::memcpy(at, req->buf, req->len);
      }
      req->result = req->len;
      out[n++] = req;
    }
    return n;
  }

 private:
  std::unique_ptr<char[]> bytes_;
  std::deque<IoRequest*> queued_;
};

}  // namespace

std::unique_ptr<Device> make_memory_device(uint64_t size) {
  return std::make_unique<MemoryDevice>(size);
}

}  // namespace memext
