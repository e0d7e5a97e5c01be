#include "background_steps.h"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

#include "lock_holds.h"
#include "server_context.h"

namespace memext::server {

BackgroundSteps::BackgroundSteps(Clock::time_point epoch) : epoch_(epoch) {}

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
    const Micros now = now_micros();
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (due_[i] <= now) due_[i] = steps_[i](now);
      next = std::min(next, due_[i]);
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

CompactorRunner::CompactorRunner(SharedEngine& shared, std::vector<std::unique_ptr<Device>> readers)
    : shared_(shared), readers_(std::move(readers)) {}

CompactorRunner::~CompactorRunner() = default;

void CompactorRunner::note_hold(std::chrono::steady_clock::duration held) {
  const auto ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(held).count());
  longest_hold_ns_ = std::max(longest_hold_ns_, ns);
}

Micros CompactorRunner::step(Micros now) {
  using std::chrono::steady_clock;
  CompactorRead read;
  {
    ExclusiveSection lock(shared_.mutex, Holder::kCompactorBegin);
    const auto taken = steady_clock::now();
    read = shared_.flash->compactor_begin(now);
    note_hold(steady_clock::now() - taken);
  }
  if (!read.wanted) return read.next;
  const auto io_started = steady_clock::now();
  int64_t result = -EIO;
  if (read.file_index < readers_.size()) {
    IoRequest req{IoOp::kRead, read.offset, read.length, read.buffer};
    result = submit_and_wait(*readers_[read.file_index], &req);
  }
  // The read's time counts towards the wake-up, as in a thread that sleeps
  // after its work.
  const auto io_micros =
      std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - io_started)
          .count();
  ExclusiveSection lock(shared_.mutex, Holder::kCompactorFinish);
  const auto taken = steady_clock::now();
  const Micros next =
      shared_.flash->compactor_finish(now + static_cast<Micros>(io_micros), read, result);
  note_hold(steady_clock::now() - taken);
  return next;
}

std::vector<std::unique_ptr<Device>> open_compactor_readers(const ExtConfig& config, bool uring) {
  std::vector<std::unique_ptr<Device>> readers;
  for (const ExtPathConfig& path : config.paths) {
    // One read at a time: a small ring is enough.
    readers.push_back(uring ? make_uring_device(path.path, path.size_bytes, 4)
                            : make_file_device(path.path, path.size_bytes));
  }
  return readers;
}

}  // namespace memext::server
