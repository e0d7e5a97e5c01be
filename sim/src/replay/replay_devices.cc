#include "replay/replay_devices.h"

#include <algorithm>

namespace memext {

ModelShadowDevice::ModelShadowDevice(ModelDevice& model)
    : Device(model.size(), model.alignment()), model_(model) {}

ModelShadowDevice::~ModelShadowDevice() = default;

int ModelShadowDevice::submit_impl(IoRequest* req) {
  if (free_.empty()) {
    shadows_.push_back(std::make_unique<IoRequest>());
    free_.push_back(shadows_.back().get());
  }
  IoRequest* shadow = free_.back();
  *shadow = IoRequest{};
  shadow->op = req->op;
  shadow->offset = req->offset;
  shadow->len = req->len;
  shadow->user = this;
  if (const int rc = model_.submit(shadow); rc != 0) return rc;
  free_.pop_back();
  if (req->op == IoOp::kWrite) {
    writes_.emplace(shadow, req);
    return 0;
  }
  req->result = req->len;
  req->completed_at_ns = model_.now_ns();
  done_.push_back(req);
  return 0;
}

size_t ModelShadowDevice::reap_impl(IoRequest** out, size_t max, bool) {
  const size_t n = std::min(max, done_.size());
  std::copy(done_.begin(), done_.begin() + static_cast<std::ptrdiff_t>(n), out);
  done_.erase(done_.begin(), done_.begin() + static_cast<std::ptrdiff_t>(n));
  return n;
}

bool ModelShadowDevice::release(IoRequest* req) {
  if (req->user != this) return false;
  if (const auto it = writes_.find(req); it != writes_.end()) {
    IoRequest* write = it->second;
    write->result = req->result;
    write->completed_at_ns = req->completed_at_ns;
    done_.push_back(write);
    writes_.erase(it);
  }
  free_.push_back(req);
  return true;
}

}  // namespace memext
