// A Device wrapper that injects the faults a real flash device produces, for
// the fault tests: short reads and writes, EIO on read and write, ENOSPC on
// write, a flipped bit in what a read returns, and a read that returns the
// bytes of another page (a misdirected or lost IO). Everything else passes
// through to the wrapped device. Faults are armed per direction for the next
// N IOs (or all until disarmed). Single-threaded, like every Device.
#pragma once

#include <cerrno>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "memext/device.h"

namespace memext::testing {

enum class Fault : uint8_t {
  kNone,
  kShortRead,   // read: half the bytes
  kReadError,   // read: -EIO, buffer untouched
  kBitFlip,     // read: full length, one bit flipped at flip_at (clamped to the IO)
  kOtherPage,   // read: full length, from offset + redirect (another page's bytes)
  kWriteError,  // write: -EIO, nothing written
  kNoSpace,     // write: -ENOSPC, nothing written
  kShortWrite,  // write: only the first half written, and reported so
};

inline bool is_write_fault(Fault f) {
  return f == Fault::kWriteError || f == Fault::kNoSpace || f == Fault::kShortWrite;
}

class FaultyDevice final : public Device {
 public:
  explicit FaultyDevice(std::unique_ptr<Device> inner)
      : Device(inner->size(), inner->alignment()), inner_(std::move(inner)) {}

  std::string describe() const override { return "faulty " + inner_->describe(); }
  bool stores_data() const override { return inner_->stores_data(); }

  // The next `count` IOs of the fault's direction get it; count < 0: every
  // one until disarm().
  void arm(Fault fault, int count = -1) {
    Armed& a = is_write_fault(fault) ? write_ : read_;
    a.fault = fault;
    a.left = count;
  }
  void disarm() { read_ = write_ = Armed{}; }
  void set_flip_at(uint64_t byte) { flip_at_ = byte; }
  // kOtherPage reads from offset + delta (wrapping around the device).
  void set_redirect(int64_t delta) { redirect_ = delta; }
  // IOs that got a fault so far.
  uint64_t injected() const { return injected_; }
  Device& inner() { return *inner_; }

 protected:
  int submit_impl(IoRequest* req) override {
    const Fault fault = take(req->op == IoOp::kWrite ? write_ : read_);
    switch (fault) {
      case Fault::kNone:
        return inner_->submit(req);
      case Fault::kReadError:
      case Fault::kWriteError:
        req->result = -EIO;
        failed_.push_back(req);
        return 0;
      case Fault::kNoSpace:
        req->result = -ENOSPC;
        failed_.push_back(req);
        return 0;
      case Fault::kShortRead:
      case Fault::kBitFlip:
        after_[req] = fault;
        return inner_->submit(req);
      case Fault::kShortWrite: {
        after_[req] = fault;
        IoRequest& half = shadows_.emplace_back(*req);
        half.len = round_down(req->len / 2);
        half.user = req;
        if (half.len == 0) {
          shadows_.pop_back();
          req->result = 0;
          failed_.push_back(req);
          return 0;
        }
        return submit_shadow(half);
      }
      case Fault::kOtherPage: {
        IoRequest& moved = shadows_.emplace_back(*req);
        const uint64_t span = size() - req->len + 1;
        const int64_t to =
            (static_cast<int64_t>(req->offset) + redirect_) % static_cast<int64_t>(span);
        moved.offset =
            round_down(static_cast<uint64_t>(to < 0 ? to + static_cast<int64_t>(span) : to));
        moved.user = req;
        return submit_shadow(moved);
      }
    }
    return -EINVAL;
  }

  size_t reap_impl(IoRequest** out, size_t max, bool wait) override {
    size_t n = 0;
    while (n < max && !failed_.empty()) {
      out[n++] = failed_.front();
      failed_.pop_front();
    }
    if (n == max) return n;
    std::vector<IoRequest*> done(max - n);
    const size_t got = inner_->reap(done.data(), done.size(), wait && n == 0);
    for (size_t i = 0; i < got; ++i) out[n++] = finish(done[i]);
    return n;
  }

 private:
  struct Armed {
    Fault fault = Fault::kNone;
    int left = 0;
  };

  Fault take(Armed& a) {
    if (a.fault == Fault::kNone || a.left == 0) return Fault::kNone;
    if (a.left > 0) --a.left;
    ++injected_;
    return a.fault;
  }

  uint64_t round_down(uint64_t len) const { return len / alignment() * alignment(); }

  int submit_shadow(IoRequest& shadow) {
    const int rc = inner_->submit(&shadow);
    if (rc != 0) forget(&shadow);
    return rc;
  }

  void forget(IoRequest* shadow) {
    for (auto it = shadows_.begin(); it != shadows_.end(); ++it) {
      if (&*it == shadow) {
        shadows_.erase(it);
        return;
      }
    }
  }

  // The caller's request for a completed inner IO, with the fault applied.
  IoRequest* finish(IoRequest* done) {
    IoRequest* req = done;
    for (IoRequest& s : shadows_) {
      if (&s == done) {
        req = static_cast<IoRequest*>(s.user);
        req->result = s.result < 0 ? s.result : (s.len == req->len ? req->len : s.result);
        req->completed_at_ns = s.completed_at_ns;
        forget(done);
        break;
      }
    }
    const auto it = after_.find(req);
    if (it == after_.end()) return req;
    const Fault fault = it->second;
    after_.erase(it);
    if (req->result <= 0) return req;
    if (fault == Fault::kShortRead) {
      req->result = static_cast<int64_t>(round_down(req->len / 2));
    } else if (fault == Fault::kBitFlip && req->buf != nullptr) {
      const uint64_t at = flip_at_ < req->len ? flip_at_ : req->len - 1;
      req->buf[at] = static_cast<char>(req->buf[at] ^ 0x10);
    }
    return req;
  }

  std::unique_ptr<Device> inner_;
  Armed read_;
  Armed write_;
  uint64_t flip_at_ = 0;
  int64_t redirect_ = 0;
  uint64_t injected_ = 0;
  std::deque<IoRequest*> failed_;
  std::map<IoRequest*, Fault> after_;
  std::list<IoRequest> shadows_;  // stable addresses while in flight
};

}  // namespace memext::testing
