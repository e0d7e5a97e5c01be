// IoThreadDevice: a Device whose IO runs on a thread of its own, so that the
// thread that submits (the server's background steps, holding the engine
// lock) never enters the kernel for IO. Like memcached's extstore IO thread:
// requests are queued under a lock of the device's own, performed elsewhere,
// and their completions queued back.
//
// Locking: mutex_ guards handed_ (flushed requests for the IO thread),
// done_ (completions for reap) and stopping_; the IO thread never holds it
// while it submits to or waits on `inner_`. staged_ belongs to the owner
// thread (submit/flush), inner_ to the IO thread.
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "memext/device.h"

namespace memext {

namespace {

class IoThreadDevice final : public Device {
 public:
  explicit IoThreadDevice(std::unique_ptr<Device> inner)
      : Device(inner->size(), inner->alignment()), inner_(std::move(inner)) {
    thread_ = std::thread([this] { run(); });
  }

  ~IoThreadDevice() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_one();
    thread_.join();
  }

  bool stores_data() const override { return inner_->stores_data(); }
  std::string describe() const override { return inner_->describe() + ", on an IO thread"; }

 protected:
  int submit_impl(IoRequest* req) override {
    staged_.push_back(req);
    return 0;
  }

  void flush_impl() override {
    if (staged_.empty()) return;
    {
      std::lock_guard lock(mutex_);
      handed_.insert(handed_.end(), staged_.begin(), staged_.end());
    }
    staged_.clear();
    work_.notify_one();
  }

  size_t reap_impl(IoRequest** out, size_t max, bool wait) override {
    // Staged requests would never complete: hand them over before waiting.
    if (wait) flush_impl();
    std::unique_lock lock(mutex_);
    if (wait) completed_.wait(lock, [this] { return !done_.empty(); });
    size_t n = 0;
    while (n < max && !done_.empty()) {
      out[n++] = done_.front();
      done_.pop_front();
    }
    return n;
  }

 private:
  void run() {
    std::deque<IoRequest*> backlog;  // handed over, not yet accepted by inner_
    size_t in_flight = 0;            // accepted by inner_, not yet reaped
    IoRequest* reaped[16];
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return stopping_ || !handed_.empty() || in_flight > 0; });
        if (stopping_ && handed_.empty() && backlog.empty() && in_flight == 0) return;
        backlog.insert(backlog.end(), handed_.begin(), handed_.end());
        handed_.clear();
      }
      std::vector<IoRequest*> refused;
      while (!backlog.empty()) {
        IoRequest* req = backlog.front();
        const int rc = inner_->submit(req);
        if (rc == -EAGAIN && in_flight > 0) break;  // the queue drains as IOs complete
        backlog.pop_front();
        if (rc != 0) {
          req->result = rc;
          refused.push_back(req);
        } else {
          ++in_flight;
        }
      }
      inner_->flush();
      size_t n = in_flight > 0 ? inner_->reap(reaped, 16, true) : 0;
      in_flight -= n;
      if (n > 0 || !refused.empty()) {
        {
          std::lock_guard lock(mutex_);
          done_.insert(done_.end(), refused.begin(), refused.end());
          done_.insert(done_.end(), reaped, reaped + n);
        }
        completed_.notify_all();
      }
    }
  }

  std::unique_ptr<Device> inner_;
  std::vector<IoRequest*> staged_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable completed_;
  std::vector<IoRequest*> handed_;
  std::deque<IoRequest*> done_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Device> make_io_thread_device(std::unique_ptr<Device> inner) {
  return std::make_unique<IoThreadDevice>(std::move(inner));
}

}  // namespace memext
