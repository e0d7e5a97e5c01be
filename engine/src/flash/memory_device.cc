// MemoryDevice: a RAM-backed Device for tests. IOs are staged at submit and
// performed, in submission order, by the next reap().
#include <cstring>
#include <memory>
#include <string>

#include "flash/deferred_device.h"

namespace memext {

namespace {

class MemoryDevice final : public flash::DeferredDevice {
 public:
  explicit MemoryDevice(uint64_t size) : DeferredDevice(size, 1), bytes_(new char[size]()) {}

  std::string describe() const override { return "memory:" + std::to_string(size()); }

 protected:
  int64_t perform(const IoRequest& req) override {
    char* at = bytes_.get() + req.offset;
    if (req.op == IoOp::kRead) {
      std::memcpy(req.buf, at, req.len);
    } else {
      std::memcpy(at, req.buf, req.len);
    }
    return static_cast<int64_t>(req.len);
  }

 private:
  std::unique_ptr<char[]> bytes_;
};

}  // namespace

std::unique_ptr<Device> make_memory_device(uint64_t size) {
  return std::make_unique<MemoryDevice>(size);
}

}  // namespace memext
