#include "background_steps.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "server_context.h"

namespace memext::server {

BackgroundSteps::BackgroundSteps(SharedEngine& shared, Clock::time_point epoch)
    : shared_(shared), epoch_(epoch) {}

BackgroundSteps::~BackgroundSteps() {
  stop();
}

void BackgroundSteps::add(Step step) {
  steps_.push_back(std::move(step));
  due_.push_back(0);
}

void BackgroundSteps::start() {
  thread_ = std::thread([this] { run(); });
}

void BackgroundSteps::stop() {
  {
    std::lock_guard lock(wait_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Micros BackgroundSteps::now_micros() const {
  return static_cast<Micros>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - epoch_).count());
}

void BackgroundSteps::run() {
  for (;;) {
    Micros next = std::numeric_limits<Micros>::max();
    {
      std::lock_guard lock(shared_.mutex);
      const Micros now = now_micros();
      for (size_t i = 0; i < steps_.size(); ++i) {
        if (due_[i] <= now) due_[i] = steps_[i](now);
        next = std::min(next, due_[i]);
      }
    }
    std::unique_lock lock(wait_mutex_);
    if (next != std::numeric_limits<Micros>::max()) {
      wake_.wait_until(lock, epoch_ + std::chrono::microseconds(next),
                       [this] { return stopping_; });
    } else {
      wake_.wait(lock, [this] { return stopping_; });
    }
    if (stopping_) return;
  }
}

}  // namespace memext::server
