// server/src/background_steps.h — runs the engine's background work (LRU
// maintainer and crawler, the one-second clock; the extstore flusher; the
// extstore compactor) on threads of their own, one BackgroundSteps per
// thread as memcached has one thread per concern, each step at the wake-up
// time it asked for.
//
// Why not Asio timers: under load the flusher asks to run again every few
// hundred microseconds (memcached's WRITE_SLEEP_MIN backoff). With a timer
// each wake-up cost a timerfd_settime plus an epoll_wait; here it is one
// futex wait with a deadline, like memcached's usleep in its own threads.
//
// Locking: a Step is called WITHOUT the engine lock and takes
// SharedEngine::mutex itself, for as short as it can. No step does device IO
// while it holds the lock: the flusher's and the compactor's wbuf writes are
// only queued for the ExtStore's IO threads (ExtStoreOptions::io_thread), and
// the compactor's readback runs between two lock acquisitions
// (CompactorRunner). Thread-safety: add() before start(); stop() from any
// thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "memext/device.h"
#include "memext/extstore.h"
#include "memext/time.h"

namespace memext::server {

struct SharedEngine;

class BackgroundSteps {
 public:
  using Clock = std::chrono::steady_clock;
  // Called without the engine lock and the current time in microseconds
  // since `epoch`; returns when it wants to run next (same scale).
  using Step = std::function<Micros(Micros now)>;

  explicit BackgroundSteps(Clock::time_point epoch);
  ~BackgroundSteps();
  BackgroundSteps(const BackgroundSteps&) = delete;
  BackgroundSteps& operator=(const BackgroundSteps&) = delete;

  void add(Step step);
  void start();
  // Returns once the thread has finished its current step and exited.
  void stop();

 private:
  void run();
  Micros now_micros() const;

  Clock::time_point epoch_;
  std::vector<Step> steps_;
  std::vector<Micros> due_;
  std::mutex wait_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// The compactor's step as plan -> IO -> finish: ExtStore::compactor_begin
// under the engine lock, the region's readback on the compactor thread's own
// devices (one per ext_path, in config order) with the lock free, then
// compactor_finish under the lock. Used from one thread.
class CompactorRunner {
 public:
  CompactorRunner(SharedEngine& shared, std::vector<std::unique_ptr<Device>> readers);
  ~CompactorRunner();
  CompactorRunner(const CompactorRunner&) = delete;
  CompactorRunner& operator=(const CompactorRunner&) = delete;

  // Precondition: shared.flash is set. Returns the next wake time.
  Micros step(Micros now);

  // Longest single hold of the engine lock by a step, in nanoseconds. Read
  // it on the stepping thread or once that thread has stopped.
  uint64_t longest_lock_hold_ns() const { return longest_hold_ns_; }

 private:
  void note_hold(std::chrono::steady_clock::duration held);

  SharedEngine& shared_;
  std::vector<std::unique_ptr<Device>> readers_;
  uint64_t longest_hold_ns_ = 0;
};

// Opens the compactor thread's read devices on the store's ext_path files:
// io_uring + O_DIRECT when `uring`, else pread. Throws what the device
// factories throw.
std::vector<std::unique_ptr<Device>> open_compactor_readers(const ExtConfig& config, bool uring);

}  // namespace memext::server
