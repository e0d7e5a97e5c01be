// The checks and counters every Device shares, and the aligned-buffer helpers.
#include "memext/device.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace memext {

namespace {
constexpr size_t kDirectIoAlignment = 4096;

bool misaligned(uint64_t value, uint32_t alignment) {
  return alignment > 1 && value % alignment != 0;
}
}  // namespace

int Device::submit(IoRequest* req) {
  const bool out_of_range = req->len == 0 || req->offset > size_ || req->len > size_ - req->offset;
  const bool bad_alignment = misaligned(req->offset, alignment_) ||
                             misaligned(req->len, alignment_) ||
                             misaligned(reinterpret_cast<uintptr_t>(req->buf), alignment_);
  const bool missing_buffer = req->buf == nullptr && stores_data();
  if (out_of_range || bad_alignment || missing_buffer) {
    ++stats_.rejected;
    return -EINVAL;
  }
  req->result = 0;
  req->completed_at_ns = 0;
  const int rc = submit_impl(req);
  if (rc != 0) return rc;
  if (req->op == IoOp::kRead) {
    ++stats_.reads_submitted;
  } else {
    ++stats_.writes_submitted;
  }
  ++stats_.in_flight;
  return 0;
}

size_t Device::reap(IoRequest** out, size_t max, bool wait) {
  if (max == 0) return 0;
  const size_t n = reap_impl(out, max, wait && stats_.in_flight > 0);
  for (size_t i = 0; i < n; ++i) {
    const IoRequest* req = out[i];
    --stats_.in_flight;
    if (req->result < 0) {
      ++stats_.errors;
    } else if (req->op == IoOp::kRead) {
      stats_.bytes_read += static_cast<uint64_t>(req->result);
    } else {
      stats_.bytes_written += static_cast<uint64_t>(req->result);
    }
  }
  return n;
}

int64_t submit_and_wait(Device& dev, IoRequest* req) {
  const int rc = dev.submit(req);
  if (rc != 0) return rc;
  dev.flush();
  IoRequest* done = nullptr;
  // The precondition (nothing else in flight) means the first completion is
  // ours; the loop only guards against a device that reaps nothing.
  while (dev.reap(&done, 1, true) == 1) {
    if (done == req) return req->result;
  }
  return -EIO;
}

char* alloc_aligned(size_t len) {
  void* p = nullptr;
  const size_t rounded = (len + kDirectIoAlignment - 1) / kDirectIoAlignment * kDirectIoAlignment;
  if (posix_memalign(&p, kDirectIoAlignment, rounded == 0 ? kDirectIoAlignment : rounded) != 0) {
    throw std::bad_alloc();
  }
  std::memset(p, 0, rounded);
  return static_cast<char*>(p);
}

void free_aligned(char* p) {
  std::free(p);
}

}  // namespace memext
