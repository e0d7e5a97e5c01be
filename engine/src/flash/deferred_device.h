// flash/deferred_device.h — the shared shape of the synchronous devices
// (memory and pread/pwrite file): submit only queues, and reap performs the
// queued IOs in submission order, so completions still arrive through
// reap() as they do on io_uring and callers cannot tell the difference.
// Not thread-safe, like every Device.
#pragma once

#include <cstdint>
#include <deque>

#include "memext/device.h"

namespace memext::flash {

class DeferredDevice : public Device {
 public:
  using Device::Device;

 protected:
  // Performs one IO now; returns bytes transferred or -errno.
  virtual int64_t perform(const IoRequest& req) = 0;

  int submit_impl(IoRequest* req) final {
    queued_.push_back(req);
    return 0;
  }

  size_t reap_impl(IoRequest** out, size_t max, bool /*wait*/) final {
    size_t n = 0;
    while (n < max && !queued_.empty()) {
      IoRequest* req = queued_.front();
      queued_.pop_front();
      req->result = perform(*req);
      out[n++] = req;
    }
    return n;
  }

 private:
  std::deque<IoRequest*> queued_;
};

}  // namespace memext::flash
