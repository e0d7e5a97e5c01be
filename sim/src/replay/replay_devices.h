// replay_devices.h — the Device the replay hands to ExtStore in front of a
// model SSD.
//
// ExtStore does its own IO (wbuf flushes, compaction reads) while the replay
// keeps clients' flash reads in flight on the same model SSD in virtual
// time. This proxy puts a copy of each of ExtStore's IOs (a shadow) on the
// model at the current virtual time, so it occupies the SSD's units, delays
// reads and counts as written bytes, without taking clients' completions.
// A read (the compactor's readback) is complete at once, as the compactor
// thread waits for it (phantom mode needs no bytes); a wbuf write completes
// when the model finishes its shadow, so the page's wbuf stays busy for as
// long as the SSD takes to write it (ExtStore's async_flush), as memcached's
// does. The owner reaps the model and hands shadow completions back through
// release(); ExtStore reaps the finished writes from this device. Not
// thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "memext/device.h"
#include "ssd/ssd_model.h"

namespace memext {

class ModelShadowDevice final : public Device {
 public:
  explicit ModelShadowDevice(ModelDevice& model);
  ~ModelShadowDevice() override;

  ModelDevice& model() { return model_; }
  bool stores_data() const override { return false; }
  std::string describe() const override { return "shadow of " + model_.describe(); }

  // True when req (reaped from the model) is one of this proxy's shadows;
  // then it is recycled, and the write it shadows becomes complete.
  bool release(IoRequest* req);

 protected:
  int submit_impl(IoRequest* req) override;
  size_t reap_impl(IoRequest** out, size_t max, bool wait) override;

 private:
  ModelDevice& model_;
  std::vector<std::unique_ptr<IoRequest>> shadows_;  // owned, in flight or free
  std::vector<IoRequest*> free_;
  std::vector<IoRequest*> done_;                       // the caller's requests, complete
  std::unordered_map<IoRequest*, IoRequest*> writes_;  // shadow -> the caller's write
};

}  // namespace memext
